"""``medvision-tasks report RUN_DIR... [--out DIR]``: the leaderboard report of lmms-eval runs (docs/report.md).

Exit status: 0 on success, 2 when the input cannot be used (a message names the folder, file,
line or field).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.report import files
from medvision_tasks.report.build import (
    RUN_COLUMNS,
    Report,
    ReportOptions,
    build_report,
    runs_overview,
    versions_overview,
)
from medvision_tasks.report.paper import RANDOM_BOX_DRAWS
from medvision_tasks.report.runs import ReportInputError, read_runs
from medvision_tasks.report.tables import escape_markdown, tables_to_csv, to_csv, to_markdown
from medvision_tasks.report.upstream_labels import MINIMUM_GROUP_SIZE

PROG = "medvision-tasks report"
DEFAULT_OUT = Path("medvision-report")
"""Where the report goes without ``--out``: a folder in the current directory, never inside the runs read."""
# Printed on the terminal at the end of a run, so a newcomer sees the leaderboard.
HEADLINE_TABLES = ("table2_detection", "table3_tumor_lesion_size", "table4_angle_distance")
logger = logging.getLogger(__name__)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The report's argument parser (also used by ``medvision-tasks report``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Leaderboard report of MedVision runs: paper Tables 2-4 with best-three marks and bootstrap "
            "intervals, per-label and plane-OOD tables, detection by box size with a random-box baseline, "
            "plots, and one self-contained HTML page."
        ),
    )
    parser.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="lmms-eval --output_path folder(s) of runs made with --log_samples (any folder above the results files works)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder to write report.html, report.md, tables/ and plots/ into (default: ./{DEFAULT_OUT})",
    )
    parser.add_argument(
        "--paper", action="store_true", help="add the paper's published numbers as marked reference rows"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap and the random-box baseline (default 0)"
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples per headline number; 0 turns intervals off (default 1000)",
    )
    parser.add_argument(
        "--min-group-docs",
        type=int,
        default=MINIMUM_GROUP_SIZE,
        metavar="N",
        help=f"Table 2 averages regions of at least N docs (default {MINIMUM_GROUP_SIZE}, the paper's rule; docs/report.md)",
    )
    parser.add_argument(
        "--random-draws",
        type=int,
        default=RANDOM_BOX_DRAWS,
        metavar="K",
        help=f"random boxes per doc for the box-size baseline (default {RANDOM_BOX_DRAWS}, as the paper)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument(
        "--screenshot", action="store_true", help="also save report.png with headless Chromium (must be installed)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def _markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(escape_markdown(str(c)) for c in cells) + " |"

    return "\n".join([line(head), line(["---"] * len(head)), *(line(row) for row in rows)]) + "\n"


def runs_markdown(report: Report) -> str:
    """The runs read and their package versions, as Markdown (the HTML page shows the same)."""
    text = "### Runs read\n\n" + _markdown_table(RUN_COLUMNS, runs_overview(report.runs))
    packages, rows, differing = versions_overview(report.runs)
    if packages:
        text += "\n### Package versions\n\n" + _markdown_table(["run", "date", *packages], rows)
        if differing:
            text += f"\n- Versions differ between runs for: {', '.join(sorted(differing))}.\n"
    return text + "\n"


def write_report(args: argparse.Namespace) -> list[Path]:
    """Read the runs, compute the tables and write every output; returns the files written."""
    runs = read_runs(args.run_dirs, progress=False if args.quiet else None)
    options = ReportOptions(
        seed=args.seed,
        n_bootstrap=args.bootstrap,
        min_group_docs=args.min_group_docs,
        paper=args.paper,
        random_draws=args.random_draws,
    )
    report = build_report(runs, options)
    out: Path = args.out
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for table in report.tables:
        for suffix, text in ((".md", to_markdown(table)), (".csv", to_csv(table))):
            written.append(files.write_text(tables_dir / f"{table.key}{suffix}", text))
    all_csv = out / "tables.csv"
    files.write_text(all_csv, tables_to_csv(report.tables))
    markdown = out / "report.md"
    files.write_text(
        markdown,
        "# MedVision leaderboard report\n\n" + runs_markdown(report) + "\n".join(to_markdown(t) for t in report.tables),
    )
    written += [all_csv, markdown]
    figures = []
    if not args.no_plots:
        try:
            from medvision_tasks.report.plots import draw_all  # matplotlib only when plotting
        except ImportError as error:
            logger.warning(
                "MedVision: no figures: %s (pip install 'medvision-tasks[report]', or pass --no-plots)", error
            )
        else:
            figures = draw_all(report, out / "plots")
            written += [figure.path for figure in figures]
    from medvision_tasks.report.html import write_html

    page = write_html(report, figures, out / "report.html")
    written.append(page)
    if args.screenshot:
        from medvision_tasks.report.screenshot import screenshot

        written.append(screenshot(page, out / "report.png").path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the report command.

    Args:
        argv: arguments after ``report`` (default ``sys.argv[1:]``).

    Returns:
        0 on success, 2 when the input cannot be used (message on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seed < 0 or args.bootstrap < 0 or args.random_draws < 1 or args.min_group_docs < 0:
        parser.error("--seed, --bootstrap and --min-group-docs must be >= 0 and --random-draws >= 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        written = write_report(args)
    except (ReportInputError, FileNotFoundError) as error:
        messages.error(f"report: {error}")
        return 2
    if not args.quiet:
        headline = (args.out / "tables" / f"{key}.md" for key in HEADLINE_TABLES)
        print("\n".join(path.read_text(encoding="utf-8") for path in headline if path.is_file()))
        page = next(p for p in written if p.name == "report.html")
        messages.info(f"report wrote {len(written)} files to {args.out}; open {page}", stream=sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
