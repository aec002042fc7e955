"""FusionPaint entry point: no arguments (or photo paths) opens the editor; subcommands run headless.

    fusionpaint [PHOTO ...]
    fusionpaint remove IMAGE --mask MASK -o OUT [--model NAME|PATH] [--device auto|cpu|cuda|mps] ...
    fusionpaint remove --images DIR --masks DIR|FILE -o DIR
    fusionpaint models [--json]
    fusionpaint train --model dfnet|dmfn --data DIR ...
    fusionpaint evaluate --model NAME|PATH --images DIR --masks DIR|--lasso [--json report.json]
    fusionpaint gallery [--models A,B] --images DIR --masks DIR|--lasso [--pairs N] -o DIR
    fusionpaint runs [list [--json] | rename OLD NEW | delete NAME]
"""

import argparse
import os
import signal
import sys
import threading

SUBCOMMANDS = ("remove", "models", "train", "evaluate", "gallery", "runs")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser with every subcommand registered."""
    from engine.cli import add_subcommands as add_engine_subcommands
    from trainer.cli import add_subcommands as add_trainer_subcommands

    parser = argparse.ArgumentParser(
        prog="fusionpaint",
        description="Remove unwanted objects from photos. Without a subcommand the editor opens.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    add_engine_subcommands(subparsers)
    add_trainer_subcommands(subparsers)
    return parser


EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 1


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM during a subcommand, so it unwinds like Ctrl+C: temporary files
    are removed on the way out (the trainer installs its own handler, which checkpoints first)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run FusionPaint; returns the process exit code (130 after Ctrl+C, 143 after SIGTERM, with one line instead
    of a traceback; quietly 1 when the reader of the output went away, as in ``fusionpaint models | head``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
            from app.qt_app import run_app

            return run_app(argv)
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            return _run_subcommand(argv)
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            return _run_subcommand(argv)
        finally:
            signal.signal(signal.SIGTERM, previous)
    except BrokenPipeError:
        # as Python's documentation advises: send what is left to the null device, so the flush at exit cannot fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED


def _run_subcommand(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "func", None) is None:
        build_parser().print_help()
        return 2
    code = args.func(args)
    sys.stdout.flush()  # here, so a reader that went away is seen while BrokenPipeError can still be handled
    return code


if __name__ == "__main__":
    sys.exit(main())
