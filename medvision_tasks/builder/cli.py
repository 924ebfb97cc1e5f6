"""``medvision-tasks prepare MANIFEST --out DIR``: the builder's command line.

Exit status: 0 when every case built cleanly, 1 when some case or import reported a problem (the
others are still written, every problem is listed in ``summary.json``), 2 when the manifest or
the arguments are unusable (nothing is built).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.driver import prepare
from medvision_tasks.builder.layout import SPLITS, SUMMARY_FILE
from medvision_tasks.builder.manifest import ManifestError

PROG = "medvision-tasks prepare"
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Worker processes when ``--workers`` is not given: the CPUs, at most 4."""
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def build_parser() -> argparse.ArgumentParser:
    """The ``prepare`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build MedVision docs (detection, tumor/lesion size, angle/distance) from "
        "volumes, masks and landmarks named in a YAML manifest (format: docs/data.md).",
    )
    parser.add_argument("manifest", type=Path, help="the YAML manifest")
    parser.add_argument("--out", type=Path, required=True, help="output directory (for MEDVISION_DATA_DIR)")
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="parallel worker processes (default: CPUs, at most 4)"
    )
    parser.add_argument("--seed", type=int, default=None, help="split seed (default: the manifest's seed)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every case; write no .cases/ cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``prepare`` from the command line.

    Args:
        argv: the arguments after ``prepare`` (default ``sys.argv[1:]``).

    Returns:
        The exit status (module docstring).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        report = prepare(
            args.manifest,
            args.out,
            workers=args.workers,
            seed=args.seed,
            use_cache=not args.no_cache,
            progress=not args.quiet,
        )
    except ManifestError as error:
        messages.error(str(error))
        return 2
    for message in report.errors:
        messages.error(message)
    counts = ", ".join(
        f"{split} " + " ".join(f"{f}={n}" for f, n in report.doc_counts[split].items()) for split in SPLITS
    )
    skipped = report.summary["skips"]["total"]
    messages.info(
        f"prepare wrote {report.out_dir}: {counts}; {skipped} skipped (see {SUMMARY_FILE}); "
        f"cases built {report.cases_built}, reused {report.cases_reused}, failed {report.cases_failed}"
    )
    return 1 if report.errors else 0
