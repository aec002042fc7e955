#!/usr/bin/env bash
# Screenshots of the editor: open a sample photo, paint a mask, remove, show the alpha map.
#
# Usage: tools/screenshots.sh OUT_DIR [extra arguments for tools/screenshot_driver.py]
#
# Needs an X virtual framebuffer and the libraries Qt's xcb platform plugin loads. This script installs
# nothing; on Debian/Ubuntu:
#   apt-get install -y xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 \
#     libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libegl1 libgl1 \
#     libfontconfig1 libdbus-1-3 imagemagick
# (imagemagick provides `import`, used for a whole-screen capture next to the per-window PNGs.)
set -euo pipefail

out="${1:?usage: tools/screenshots.sh OUT_DIR}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
display="${SCREENSHOT_DISPLAY:-:99}"
mkdir -p "$out"

Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    [ -e "/tmp/.X11-unix/X${display#:}" ] && break
    sleep 0.1
done

export DISPLAY="$display" QT_QPA_PLATFORM=xcb
export FUSIONPAINT_HOME="${FUSIONPAINT_HOME:-$(mktemp -d)}"  # fresh settings, the user's stay untouched
# The driver saves each window state with QWidget.grab() and, while the result is shown, the whole
# screen with `import -window root` (screen_result.png).
"$python" "$root/tools/screenshot_driver.py" "$out" "$@"
