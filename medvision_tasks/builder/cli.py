"""``medvision-tasks prepare MANIFEST --out DIR``: the builder's command line.

Exit status: 0 when every case built cleanly, 1 when some case or import reported a problem (the
others are still written, every problem is listed in ``summary.json``), 2 when the manifest or
the arguments are unusable (nothing is built).

On a cluster: one array job per shard (``--shard I/N``, all with the same ``--out`` on a shared
file system), then one ``--merge`` run (docs/data.md).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.driver import parse_shard, prepare
from medvision_tasks.builder.layout import SPLITS, SUMMARY_FILE
from medvision_tasks.builder.manifest import ManifestError

PROG = "medvision-tasks prepare"
MEMORY_PER_WORKER = 2 * 2**30
"""Memory one worker may need (bytes): a 512x512x600 int16 case, its mask and their copies."""


def default_workers() -> int:
    """Worker processes when ``--workers`` is not given: the CPUs this process may use, as many as memory allows."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        memory = cpus * MEMORY_PER_WORKER
    return max(1, min(cpus, memory // MEMORY_PER_WORKER))


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
        "--workers",
        type=int,
        default=default_workers(),
        help="parallel worker processes (default: the usable CPUs, one per 2 GiB of memory)",
    )
    parser.add_argument("--seed", type=int, default=None, help="split seed (default: the manifest's seed)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every case; write no .cases/ cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="build only cases I, I+N, I+2N, ... (0 <= I < N) into the shared case cache of --out; write no docs",
    )
    parser.add_argument(
        "--merge", action="store_true", help="build nothing: write the docs from the cases the --shard runs cached"
    )
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
        shard = None if args.shard is None else parse_shard(args.shard)
        report = prepare(
            args.manifest,
            args.out,
            workers=args.workers,
            seed=args.seed,
            use_cache=not args.no_cache,
            progress=not args.quiet,
            shard=shard,
            merge=args.merge,
        )
    except (ManifestError, ValueError) as error:
        messages.error(str(error))
        return 2
    for message in report.errors:
        messages.error(message)
    if shard is not None:
        messages.info(
            f"prepare shard {args.shard} cached its cases in {report.out_dir}: built {report.cases_built}, "
            f"reused {report.cases_reused}, failed {report.cases_failed}; run --merge once every shard is done"
        )
        return 1 if report.errors else 0
    counts = ", ".join(
        f"{split} " + " ".join(f"{f}={n}" for f, n in report.doc_counts[split].items()) for split in SPLITS
    )
    skipped = report.summary["skips"]["total"]
    messages.info(
        f"prepare wrote {report.out_dir}: {counts}; {skipped} skipped (see {SUMMARY_FILE}); "
        f"cases built {report.cases_built}, reused {report.cases_reused}, failed {report.cases_failed}"
    )
    return 1 if report.errors else 0
