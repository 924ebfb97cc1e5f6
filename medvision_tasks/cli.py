"""The ``medvision-tasks`` command: ``path``, ``prepare`` and ``report``."""

from __future__ import annotations

import argparse
import sys
from importlib import resources

USAGE = """medvision-tasks COMMAND [ARGS]

commands:
  path                    print the task folder for `lmms-eval --include_path`
  prepare MANIFEST --out DIR
                          build MedVision docs from raw volumes, masks and landmarks
  report RUN_DIR... --out DIR
                          leaderboard tables, per-label breakdowns and plots from lmms-eval outputs
"""


def task_folder() -> str:
    """The installed folder holding the MedVision task YAMLs."""
    return str(resources.files("medvision_tasks.tasks"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
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
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
