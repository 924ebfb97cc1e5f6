"""Leaderboard report of MedVision runs (``medvision-tasks report``).

Modules, one concern each:

- :mod:`.runs`: reading lmms-eval output folders (results JSON, per-doc samples, what tells runs apart);
- :mod:`.grouping`: systems (leaderboard rows) and which docs are one doc;
- :mod:`.upstream_labels`: the benchmark's label maps and Table 2 constants, as data;
- :mod:`.paper`: the paper's aggregation (groups, per-group numbers, weighted means, thresholds,
  box-size bins, the random-box baseline);
- :mod:`.diagnosis`: seeing or computing: the coordinate-only and no-image variants beside the full
  task, and each model's error split into localisation and arithmetic;
- :mod:`.bootstrap`: seeded percentile-bootstrap intervals;
- :mod:`.build`: every table's numbers; :mod:`.tables`: ranking marks, Markdown, CSV;
- :mod:`.reference`: the paper's published numbers;
- :mod:`.plots`: PNG figures; :mod:`.html`: the self-contained page;
  :mod:`.screenshot`: headless-Chromium screenshot;
- :mod:`.cli`: the command line.

Importing this package is cheap (no matplotlib, no lmms-eval).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """``medvision-tasks report RUN_DIR... [--out DIR] [--paper] [--seed S] [--bootstrap N]``.

    Args:
        argv: the arguments after ``report``; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for unusable input.
    """
    from medvision_tasks.report.cli import main as cli_main

    return cli_main(argv)


__all__ = ["main"]
