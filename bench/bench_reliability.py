"""Reliability harness: hostile files, file systems, settings and names, and interrupted saves, counted per category.

Each hostile case (tests/data/hostile.py: the inputs that once failed, plus seeded random damage of every format,
odd modes, odd masks and hostile weights files) runs ``fusionpaint remove`` in a fresh process, in a folder of its
own. Each scenario (links and special files, settings files, names, scan bombs, many holes) builds its folder (the
user folders under it, as FUSIONPAINT_HOME) and runs its command in a fresh process: a ``fusionpaint`` command line, or
the editor's settings reader on a file.
An outcome is one of: success (exit 0, only ``warning:`` lines), clean error (one ``error:`` line, after any
warnings), partial (a folder's photos written, some skipped with one line each), traceback, other output, hang (no
exit within the timeout) or killed by a signal. Every run is also checked for files left behind, for data lost (an
input changed, or a file a scenario keeps - an older output, a settings file set aside - not as it was), for a
scenario's wrong result (another outcome than expected, words it must show missing, an escape sequence printed) and
for a pickled payload that ran.

Interrupted saves: a 12-megapixel removal is sent SIGTERM, SIGINT or SIGKILL while its output is being written over
an older output. Counted: temporary files left behind and whether the target is the whole old or the whole new file.

    python bench/bench_reliability.py                      # 10 random cases per kind, 12 interruptions per signal
    python bench/bench_reliability.py --per-kind 40 --kills 30
    python bench/bench_reliability.py --only settings --only names --kills 0   # some categories only
"""

import argparse
import hashlib
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.hostile import (  # noqa: E402
    CLEAN,
    Case,
    Scenario,
    judge,
    prepare,
    random_cases,
    regression_cases,
    restore_permissions,
    scenario_cases,
    settings_command,
)

OUTCOMES = ("success", "clean error", "partial", "traceback", "other output", "hang", "signal")


def _command(folder: Path, case: Case) -> list[str]:
    command = [sys.executable, str(ROOT / "main.py"), "remove", str(folder / case.photo[0]), "--mask",
               str(folder / case.mask[0]), "-o", str(folder / case.output), "--device", "cpu"]
    if case.weights:
        command += ["--model", str(folder / case.weights[0])]
    return command


def classify(code: int | None, err: str) -> str:
    """The outcome of one run from its exit code (None = timed out) and stderr."""
    lines = err.strip().splitlines()
    if code is None:
        return "hang"
    if code < 0:
        return "signal"
    if "Traceback" in err:
        return "traceback"
    warnings_only = all(line.startswith("warning: ") for line in lines)
    if code == 0 and warnings_only:
        return "success"
    if code in (1, 2) and lines and lines[-1].startswith("error: ") and all(
            line.startswith("warning: ") for line in lines[:-1]):
        return "clean error"
    return "other output"


def run_hostile(case: Case, folder: Path, marker: Path, timeout_s: float) -> dict:
    folder.mkdir()
    inputs = [case.photo, case.mask] + ([case.weights] if case.weights else [])
    for name, data in inputs:
        (folder / name).write_bytes(data)
    try:
        done = subprocess.run(_command(folder, case), capture_output=True, text=True, timeout=timeout_s)
        code, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, err = None, (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
    outcome = classify(code, err)
    expected = {name for name, _ in inputs} | ({case.output} if outcome == "success" else set())
    left = sorted({p.name for p in folder.iterdir()} - expected)
    changed = [name for name, data in inputs
               if hashlib.sha256((folder / name).read_bytes()).digest() != hashlib.sha256(data).digest()]
    return {"outcome": outcome, "left": left, "lost": changed, "wrong": [], "payload_ran": marker.exists(),
            "err": err.strip().splitlines()[-1:] if err.strip() else []}


def run_scenario(scenario: Scenario, folder: Path, marker: Path, timeout_s: float) -> dict:
    """Build ``scenario`` in ``folder``, run its command in a fresh process: what `tests.data.hostile.judge` found."""
    run, before, listed = prepare(scenario, folder)
    command = (settings_command(run.argv[0]) if run.entry == "settings"
               else [sys.executable, str(ROOT / "main.py"), *run.argv])
    env = {**os.environ, "FUSIONPAINT_HOME": str(folder / "home")}
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = None, ""
        err = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    try:
        return {**judge(run, folder, before, listed, code, out, err), "payload_ran": marker.exists()}
    finally:
        restore_permissions(folder)


def _noise_photo(path: Path, width: int, height: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path, compress_level=9)


def run_interrupted(folder: Path, sig: int, rng: random.Random) -> dict:
    """One removal whose output save is interrupted by ``sig``; the folder holds photo.png, mask.png and an older
    out.png. Returns what was left: temporary files, and whether out.png is the old file, a new whole file, or
    damaged."""
    old = (folder / "old.png").read_bytes()
    (folder / "out.png").write_bytes(old)
    command = [sys.executable, str(ROOT / "main.py"), "remove", str(folder / "photo.png"), "--mask",
               str(folder / "mask.png"), "-o", str(folder / "out.png"), "--model", "opencv-telea"]
    # as from a terminal: Ctrl+C raises KeyboardInterrupt even when this harness runs in the background (where
    # SIGINT is ignored, and a child would inherit that)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:  # wait for the save's temporary file
        if any(p.name.endswith(".tmp") for p in folder.iterdir()):
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.6))  # somewhere inside the save (encoding a 12 MP noise PNG takes seconds)
    interrupted = process.poll() is None
    if interrupted:
        process.send_signal(sig)
    err = process.communicate(timeout=120)[1]
    temps = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    for name in temps:
        (folder / name).unlink()
    data = (folder / "out.png").read_bytes()
    if data == old:
        state = "old"
    else:
        try:
            with Image.open(folder / "out.png") as image:
                image.load()
            state = "new"
        except Exception:  # noqa: BLE001 - any decoding failure means a damaged file
            state = "damaged"
    lines = err.strip().splitlines()
    return {"interrupted": interrupted, "temps": len(temps), "state": state,
            "one_line": len(lines) <= 1 and "Traceback" not in err}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=10, help="random damaged files per format and kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=12, help="interrupted saves per signal (0: none)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run counts as a hang")
    parser.add_argument("--only", action="append", metavar="CATEGORY",
                        help="run only this category (repeat for several; default: all)")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"seed {args.seed}, {args.per_kind} random cases per kind", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        marker = tmp_path / "payload-ran"
        cases: list[Case | Scenario] = [*regression_cases(str(marker)), *random_cases(args.seed, args.per_kind),
                                        *scenario_cases()]
        if args.only:
            unknown = set(args.only) - {case.category for case in cases}
            if unknown:
                parser.error(f"no category {', '.join(sorted(unknown))}")
            cases = [case for case in cases if case.category in args.only]
        table: dict[str, Counter] = defaultdict(Counter)
        problems = []
        start = time.monotonic()
        for i, case in enumerate(cases):
            run = run_scenario if isinstance(case, Scenario) else run_hostile
            result = run(case, tmp_path / f"case{i}", marker, args.timeout)
            row = table[case.category]
            row["cases"] += 1
            row[result["outcome"]] += 1
            row["files left"] += bool(result["left"])
            row["data lost"] += bool(result["lost"])
            row["wrong result"] += bool(result["wrong"])
            row["payload ran"] += result["payload_ran"]
            if result["outcome"] not in CLEAN or result["left"] or result["lost"] or result["wrong"]:
                problems.append((case.category, case.name, result))
        columns = ("cases", *OUTCOMES, "files left", "data lost", "wrong result", "payload ran")
        print(f"\n| {'category':<24} |" + "".join(f" {c} |" for c in columns))
        print(f"|{'-' * 26}|" + "".join(f"{'-' * (len(c) + 1)}:|" for c in columns))
        total = Counter()
        for category, row in table.items():
            total.update(row)
            print(f"| {category:<24} |" + "".join(f" {row[c]:>{len(c)}} |" for c in columns))
        print(f"| {'**all**':<24} |" + "".join(f" {total[c]:>{len(c)}} |" for c in columns))
        print(f"\n({len(cases)} runs in {time.monotonic() - start:.0f} s)")
        for category, name, result in problems:
            print(f"PROBLEM {category} / {name}: {result}")

        if args.kills:
            folder = tmp_path / "interrupted"
            folder.mkdir()
            _noise_photo(folder / "photo.png", 4000, 3000, 0)
            _noise_photo(folder / "old.png", 400, 300, 1)
            mask = np.zeros((3000, 4000), np.uint8)
            mask[1000:1300, 1500:1900] = 255
            Image.fromarray(mask).save(folder / "mask.png")
            rng = random.Random(args.seed)
            print(f"\n{'signal':<10}{'trials':>8}{'during save':>13}{'temp left':>11}{'old':>6}{'new':>6}"
                  f"{'damaged':>9}{'one line':>10}")
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
                counts = Counter()
                for _ in range(args.kills):
                    result = run_interrupted(folder, sig, rng)
                    counts["trials"] += 1
                    counts["during save"] += result["interrupted"]
                    counts["temp left"] += result["temps"] > 0
                    counts[result["state"]] += 1
                    counts["one line"] += result["one_line"]
                print(f"{sig.name:<10}{counts['trials']:>8}{counts['during save']:>13}{counts['temp left']:>11}"
                      f"{counts['old']:>6}{counts['new']:>6}{counts['damaged']:>9}{counts['one line']:>10}",
                      flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "default")  # show every warning a user would see
    sys.exit(main())
