"""``medvision-tasks prepare MANIFEST --out DIR``, or ``prepare --public ROOT --out DIR``: the builder's command line.

``--public ROOT`` builds the paper's test docs from the public MedVision data as downloaded
(``ROOT/Datasets/<dataset>/`` with its benchmark plans); ``--tasks`` names the upstream lists or
tasks (default: the paper's ``detect``, ``TL`` and ``AD``). Both forms may be combined.

Exit status: 0 when every case built cleanly, 1 when some case or import reported a problem (the
others are still written, every problem is listed in ``summary.json``), 2 when the manifest or
the arguments are unusable (nothing is built).

On a cluster: one array job per shard (``--shard I/N``, all with the same ``--out`` on a shared
file system), then one ``--merge`` run (docs/data.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.driver import parse_shard, prepare
from medvision_tasks.builder.layout import SPLITS, SUMMARY_FILE
from medvision_tasks.builder.manifest import ManifestError, load_manifest, public_request
from medvision_tasks.builder.public_plan import TL_EXCLUSION_FILE
from medvision_tasks.builder.spec import PAPER_DOCS_PER_TASK, PAPER_MIN_AD_TARGET, PAPER_PLAN_VERSION, Manifest
from medvision_tasks.builder.upstream_tasks import PAPER_LISTS, PAPER_SET

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
        "volumes, masks and landmarks named in a YAML manifest, and/or the paper's test docs from the "
        "public MedVision data (--public; docs/data.md).",
    )
    parser.add_argument("manifest", type=Path, nargs="?", help="the YAML manifest (optional with --public)")
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
        help="build only units I, I+N, I+2N, ... (0 <= I < N; manifest cases, then public plan files) into the "
        "shared case cache of --out; write no docs",
    )
    parser.add_argument(
        "--merge", action="store_true", help="build nothing: write the docs from the units the --shard runs cached"
    )
    public = parser.add_argument_group(
        "the public MedVision data",
        "Build the exact test docs of the public builder from ROOT/Datasets/<dataset>/benchmark_plan_*_v<version>.json.gz "
        "(no volume is decoded; no network).",
    )
    public.add_argument("--public", type=Path, metavar="ROOT", help="the folder holding Datasets/ (MedVision_DATA_DIR)")
    public.add_argument(
        "--tasks",
        nargs="+",
        metavar="NAME",
        help=f"paper lists ({', '.join(f'{n}[-CoT]' for n in PAPER_LISTS)}), upstream task-list .json files, "
        f"or task names (default: {' '.join(PAPER_SET)})",
    )
    public.add_argument(
        "--plan-version", default=PAPER_PLAN_VERSION, help="plan version (default: the paper's %(default)s)"
    )
    public.add_argument(
        "--cap", type=int, default=PAPER_DOCS_PER_TASK, help="first N docs per task (default %(default)s)"
    )
    public.add_argument("--no-cap", action="store_true", help="keep every doc of each task")
    public.add_argument(
        "--tl-exclusions",
        nargs="+",
        type=Path,
        metavar="PATH",
        default=[],
        help=f"folders holding <dataset>/{TL_EXCLUSION_FILE}, or such files (default: beside each dataset's plans)",
    )
    public.add_argument(
        "--no-tl-exclusions",
        action="store_true",
        help="keep the T/L slices the exclusion lists name (not the paper's set)",
    )
    public.add_argument(
        "--min-ad-target",
        type=float,
        default=PAPER_MIN_AD_TARGET,
        help="drop A/D docs with a smaller target (default %(default)s)",
    )
    public.add_argument(
        "--check-volumes", type=int, default=0, metavar="N", help="check N docs per task against their volumes"
    )
    public.add_argument(
        "--volumes",
        choices=("keep", "link", "copy"),
        default="keep",
        help="docs name the downloaded files (keep, default), or links / copies under DIR/volumes/imported/",
    )
    return parser


def _manifest(args: argparse.Namespace) -> Manifest:
    """The manifest file, with a ``public:`` request added from the options when ``--public`` is given."""
    if args.manifest is not None:
        manifest = load_manifest(args.manifest)
    else:
        manifest = Manifest(path=Path("prepare --public"), base_dir=Path.cwd())
    if args.public is not None:
        entry = {
            "data_dir": str(args.public),
            "tasks": args.tasks or list(PAPER_SET),
            "plan_version": args.plan_version,
            "cap": None if args.no_cap else args.cap,
            "tl_exclusions": [str(p) for p in args.tl_exclusions],
            "use_tl_exclusions": not args.no_tl_exclusions,
            "min_ad_target": args.min_ad_target,
            "check_volumes": args.check_volumes,
            "volumes": args.volumes,
        }
        manifest.public.append(public_request(entry, Path.cwd(), manifest.path, "--public"))
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Run ``prepare`` from the command line.

    Args:
        argv: the arguments after ``prepare`` (default ``sys.argv[1:]``).

    Returns:
        The exit status (module docstring).
    """
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    # SIGTERM (a scheduler's stop) unwinds like Ctrl-C, so no partial file is left behind.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.manifest is None and args.public is None:
        parser.error("give a MANIFEST, or --public ROOT (or both)")
    if args.tasks and args.public is None:
        parser.error("--tasks needs --public ROOT")
    try:
        shard = None if args.shard is None else parse_shard(args.shard)
        report = prepare(
            _manifest(args),
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
            f"prepare shard {args.shard} cached its cases and plan files in {report.out_dir}: built {report.cases_built}, "
            f"reused {report.cases_reused}, failed {report.cases_failed}; run --merge once every shard is done"
        )
        return 1 if report.errors else 0
    counts = ", ".join(
        f"{split} " + " ".join(f"{f}={n}" for f, n in report.doc_counts[split].items()) for split in SPLITS
    )
    skipped = report.summary["skips"]["total"]
    messages.info(
        f"prepare wrote {report.out_dir}: {counts}; {skipped} skipped (see {SUMMARY_FILE}); "
        f"cases and plan files built {report.cases_built}, reused {report.cases_reused}, failed {report.cases_failed}"
    )
    return 1 if report.errors else 0
