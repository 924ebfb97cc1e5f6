"""The ``medvision-tasks`` command: ``path``, ``prepare``, ``report`` and ``upstream``.

``prepare`` is :mod:`medvision_tasks.builder.cli`, ``report`` is :mod:`medvision_tasks.report.cli`,
``upstream`` is :mod:`medvision_tasks.upstream.cli`; each is imported only when asked for, so ``medvision-tasks path`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources

from medvision_tasks import __version__, messages

USAGE = """usage: medvision-tasks COMMAND [ARGS]

commands:
  path                    print the task folder for `lmms-eval --include_path`
  prepare [MANIFEST] [--public ROOT] --out DIR
                          build MedVision docs from raw volumes, masks and landmarks, or the paper's
                          test docs from the public MedVision data (docs/data.md)
  report RUN_DIR... [--out DIR]
                          leaderboard tables, per-label breakdowns and plots from lmms-eval outputs
                          (docs/report.md; default --out: ./medvision-report)
  upstream LMMS_EVAL_CHECKOUT
                          write the tasks into an lmms-eval checkout as a pull request (docs/upstream.md)

options:
  -h, --help              this help; `medvision-tasks COMMAND -h` for a command's options
  --version               the installed version
"""
BROKEN_PIPE_STATUS = 141
"""Exit status when the reader of our output goes away (``| head``): 128 + SIGPIPE, as a shell reports it."""


def task_folder() -> str:
    """The installed folder holding the MedVision task YAMLs (``yaml_tasks/`` in the repository)."""
    return str(resources.files("medvision_tasks.tasks"))


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"medvision-tasks {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "path":
        argparse.ArgumentParser(prog="medvision-tasks path", description="print the task folder").parse_args(rest)
        print(task_folder())
        return 0
    if command == "prepare":
        from medvision_tasks.builder.cli import main as prepare_main

        return prepare_main(rest)
    if command == "report":
        from medvision_tasks.report import main as report_main

        return report_main(rest)
    if command == "upstream":
        from medvision_tasks.upstream import main as upstream_main

        return upstream_main(rest)
    messages.error(f"unknown command {command!r}")
    print(USAGE, end="", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run ``medvision-tasks``.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).

    Returns:
        The command's exit status; :data:`BROKEN_PIPE_STATUS` when stdout was closed by its
        reader, without a traceback.
    """
    try:
        try:
            return _dispatch(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
    except BrokenPipeError:
        # Nothing more can reach the reader; point stdout at /dev/null so the exit flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_STATUS


if __name__ == "__main__":
    sys.exit(main())
