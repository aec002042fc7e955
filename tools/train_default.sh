#!/usr/bin/env bash
# The long background run that trains a default model's weights on the CPU, resumed across many sittings.
#
# Usage: tools/train_default.sh ARCH [start|status|pause|continue|stop|finish]
#        (ARCH: a network whose recipe in trainer/arches/ARCH.py has default_weights_args: dfnet, dmfn)
#
#   start     (default) resume the run exactly from its checkpoint; without one start it from the weights an
#             earlier sitting on this machine kept (RUN-kept.safetensors beside the run folder), else (a new machine)
#             from the shipped weights (resources/weights/ARCH.safetensors, their training totals in
#             ARCH.training.json). Never starts a second copy. Runs at the lowest priority (nice 19) and returns at
#             once. Weights never go into the repository unless they ship (tools/ship_default.py).
#   status    pid, state and the last progress line
#   pause     SIGSTOP (before benchmarks and the test suite); continue: SIGCONT
#   stop      SIGTERM: the trainer writes a checkpoint and exits; waits for it
#   finish    stop, score the checkpoint on the validation photos (the rivals' scores are reused from
#             trainer/recipes/val-*.json while the pairs are the same), append the rows and keep the weights when
#             they beat the kept ones (tools/progress_row.py; RUN-kept.safetensors); then commit the progress rows.
#             DMFN: stroke masks against Telea and NS, trainer/recipes/dmfn-progress.md, kept by VGG distance.
#             DFNet (phase 2): stroke masks and the lasso object-removal set against PatchMatch alone,
#             trainer/recipes/dfnet-phase2-progress.md and dfnet-phase2-lasso-progress.md, kept by Gram distance.
#
# Run folder (checkpoint.pt, previews/, train.log, train.pid, base.json): $FUSIONPAINT_DEFAULT_RUN, else the user's
# runs folder / default-ARCH. Photos: $FUSIONPAINT_DATASETS/photos/train, $FUSIONPAINT_DATASETS defaulting to
# ../shared/datasets beside the repository (research-licensed; never copied into the project); validation:
# photos/val and masks/. The recipe is the recipe's default_weights_args (trainer/arches/ARCH.py); trainer/recipes/
# README.md explains it. The scoring of a sitting (finish) is per network below.
set -euo pipefail

arch="${1:?usage: tools/train_default.sh ARCH [start|status|pause|continue|stop|finish]}"
action="${2:-start}"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
datasets="${FUSIONPAINT_DATASETS:-$root/../shared/datasets}"
shipped="$root/resources/weights/$arch.safetensors"

default_weights_args() {
    # the recipe's training arguments, one a line; exits 2 naming the networks that have them
    (cd "$root" && "$python" - "$arch" <<'PY'
import sys

from trainer.arches import recipe_for, trainable_arches

known = [a for a in trainable_arches() if recipe_for(a).default_weights_args]
if sys.argv[1] not in known:
    print(f"error: no default-weights recipe for '{sys.argv[1]}' (known: {', '.join(known)})", file=sys.stderr)
    sys.exit(2)
print("\n".join(recipe_for(sys.argv[1]).default_weights_args))
PY
    )
}

run="${FUSIONPAINT_DEFAULT_RUN:-$("$python" -c 'from engine.paths import user_runs_dir; print(user_runs_dir())')/default-$arch}"
kept="$run-kept.safetensors"
pidfile="$run/train.pid"
# a sitting trains only a few hundred steps and may end without a clean stop: write the checkpoint often enough
# that such an end loses minutes, not the sitting
checkpoint_every=25
log="$run/train.log"

running_pid() {
    # the pid of the live trainer of this run folder, or nothing
    [ -f "$pidfile" ] || return 0
    local pid
    pid="$(cat "$pidfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "train" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
    fi
}

pid="$(running_pid)"
case "$action" in
    start)
        if [ -n "$pid" ]; then
            echo "already running: pid $pid ($run)"
            exit 0
        fi
        recipe_lines="$(default_weights_args)" || exit 2
        mapfile -t recipe <<<"$recipe_lines"
        recipe=(--model "$arch" "${recipe[@]}")
        mkdir -p "$run"
        cd "$root"
        if [ -f "$run/checkpoint.pt" ]; then
            args=(train --resume "$run" --compile --checkpoint-every "$checkpoint_every" --json-progress)
            what="resumed from $run/checkpoint.pt"
        else
            photos="$datasets/photos/train"
            [ -d "$photos" ] || { echo "error: photo folder not found: $photos" >&2; exit 2; }
            init=(--init default --seed 0)
            what="started in $run"
            for start_weights in "$kept" "$shipped"; do
                [ -f "$start_weights" ] || continue
                # continue those weights with their totals; a new seed so the photo and hole order is new too
                if [ "$start_weights" = "$kept" ]; then card="${kept%.safetensors}.json"
                else card="${shipped%.safetensors}.training.json"; fi
                cp "$card" "$run/base.json"
                seed="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["total_steps"])' \
                        "$run/base.json")"
                init=(--init "$start_weights" --seed "$seed")
                what="started in $run from $start_weights"
                break
            done
            args=(train "${recipe[@]}" --data "$photos" "${init[@]}" --steps 1000000000 --no-evaluate
                  --name "default-$arch" --run-dir "$run" --checkpoint-every "$checkpoint_every" --json-progress)
        fi
        OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" nohup nice -n 19 "$python" -m main "${args[@]}" >>"$log" 2>&1 &
        echo $! >"$pidfile"
        echo "$what: pid $! (log: $log)"
        ;;
    status)
        if [ -n "$pid" ]; then
            echo "pid $pid, state $(awk '{print $3}' "/proc/$pid/stat") ($run)"
        else
            echo "not running ($run)"
        fi
        grep '"event": "step"' "$log" 2>/dev/null | tail -n 1 || true
        ;;
    pause|continue)
        [ -n "$pid" ] || { echo "not running"; exit 0; }
        if [ "$action" = pause ]; then kill -STOP "$pid"; else kill -CONT "$pid"; fi
        echo "$action: pid $pid"
        ;;
    stop)
        [ -n "$pid" ] || { echo "not running"; exit 0; }
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 1; done
        echo "stopped: pid $pid; last checkpoint in $run"
        grep '"event": "stopped"' "$log" | tail -n 1 || true
        ;;
    finish)
        "$0" "$arch" stop
        cd "$root"
        score=(env OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$python" tools/progress_row.py "$run"
               --images "$datasets/photos/val")
        if [ "$arch" = dfnet ]; then
            # phase 2: the editor's default must beat PatchMatch alone; 20 pairs per bin of each set (~10 minutes)
            "${score[@]}" --masks "$datasets/masks" --limit 20 --rival patchmatch \
                --log "trainer/recipes/dfnet-phase2-progress.md" \
                --baselines-cache "trainer/recipes/val-patchmatch.json" --json "$run/val-report.json"
            "${score[@]}" --lasso --limit 20 --rival patchmatch --log "trainer/recipes/dfnet-phase2-lasso-progress.md" \
                --keep "$kept" --keep-by gram_dist --baselines-cache "trainer/recipes/val-lasso-patchmatch.json" \
                --json "$run/val-lasso-report.json"
        else
            "${score[@]}" --masks "$datasets/masks" --log "trainer/recipes/$arch-progress.md" --keep "$kept" \
                --baselines-cache "trainer/recipes/val-baselines.json" --json "$run/val-report.json"
        fi
        ;;
    *) echo "error: unknown action '$action'" >&2; exit 2 ;;
esac
