"""One self-contained HTML page: styles inline, figures embedded as base64 PNG, no scripts.

Opened from disk, e-mailed or archived, it shows everything without any other file.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from medvision_tasks import __version__
from medvision_tasks.chance import (
    ANGLE_RANGE_DEGREES,
    DISTANCE_RANGE_MM,
    TL_MAJOR_RANGE_MM,
    TL_MINOR_FRACTION_RANGE,
)
from medvision_tasks.report import files
from medvision_tasks.report.build import RUN_COLUMNS, Report, runs_overview, versions_overview
from medvision_tasks.report.tables import SOURCE_BASELINE, SOURCE_PAPER, Cell, Column, Table, format_value
from medvision_tasks.report.upstream_labels import MINIMUM_GROUP_SIZE


@dataclass
class FigureFile:
    """A saved figure of the page: title, PNG path, notes for its caption (:func:`.plots.draw_all`)."""

    title: str
    path: Path
    notes: list[str] = field(default_factory=list)


_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem auto; max-width: 1500px;
       padding: 0 1rem; color: #1d232a; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #dde3ea; }
h3 { margin-top: 1.6rem; } .sub { color: #5b6773; margin-top: 0; }
nav ul { columns: 2; } .caption { color: #39434d; font-size: .92rem; max-width: 1100px; }
.scroll { overflow-x: auto; } td.differs { background: #fde2d6; } table { border-collapse: collapse; font-size: .86rem; margin: .6rem 0 .4rem; }
th, td { border: 1px solid #d4dbe2; padding: .25rem .45rem; } th { background: #eef2f6; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.label { white-space: nowrap; } .ci { display: block; color: #6b7785; font-size: .74rem; }
tr.paper td { background: #fbf7ec; color: #5d5340; font-style: italic; }
tr.baseline td { background: #f1f1f1; color: #444; }
.badge { font-size: .68rem; font-style: normal; border-radius: .6rem; padding: 0 .4rem; margin-left: .35rem;
         background: #e7d9b0; color: #4a3d12; } .badge.base { background: #d8d8d8; color: #333; }
.medal { display: inline-block; min-width: 1.05rem; height: 1.05rem; line-height: 1.05rem; border-radius: 50%;
         text-align: center; font-size: .68rem; font-weight: 700; color: #222; font-style: normal; }
.medal.m1 { background: #e6c34a; } .medal.m2 { background: #c4cad0; } .medal.m3 { background: #d79b6a; }
.r1 { background: #fff4c2; } .r2 { background: #eef0f3; } .r3 { background: #f7e6d8; }
ul.notes { font-size: .84rem; color: #39434d; } figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e3e8ee; }
figcaption { font-size: .88rem; color: #39434d; } details { margin: .6rem 0; } summary { cursor: pointer; font-weight: 600; }
code { background: #f1f4f7; padding: 0 .2rem; border-radius: 3px; }
"""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell_html(cell: Cell | None, column: Column) -> str:
    if cell is None:
        return '<td class="num">–</td>'
    classes = ["num"] + ([f"r{cell.rank}"] if cell.rank else [])
    text = _e(format_value(cell.value, column.decimals))
    if cell.rank:
        # A drawn badge, not the emoji: headless and minimal systems often lack an emoji font.
        text += f' <span class="medal m{cell.rank}" title="rank {cell.rank}">{cell.rank}</span>'
    text += _e(cell.note)
    if cell.ci is not None and not math.isnan(cell.ci[0]):
        text += f'<span class="ci">{_e(format_value(cell.ci[0], column.decimals))}–{_e(format_value(cell.ci[1], column.decimals))}</span>'
    title = f' title="{cell.n_docs} docs"' if cell.n_docs is not None else ""
    return f'<td class="{" ".join(classes)}"{title}>{text}</td>'


def table_html(table: Table) -> str:
    """A table with a two-level header (subset over metric) when it has several subsets."""
    parts = [f'<h3 id="{_e(table.key)}">{_e(table.title)}</h3>', f'<p class="caption">{_e(table.caption)}</p>']
    if not table.rows:
        parts.append("<p><em>No data for this table in the runs given.</em></p>")
        return "\n".join(parts)
    subsets = [
        (label, len(list(cols)))
        for label, cols in groupby(table.columns, key=lambda c: (c.subset, c.subset_label, c.subset_note))
    ]
    two_levels = len(subsets) > 1
    head = ["<tr>"]
    span = ' rowspan="2"' if two_levels else ""
    head += [f"<th{span}>{_e(name)}</th>" for name in table.label_columns]
    if two_levels:
        head += [
            f'<th colspan="{n}">{_e(label[1])}'
            + (f'<span class="ci">{_e(label[2])}</span>' if label[2] else "")
            + "</th>"
            for label, n in subsets
        ]
        head.append("</tr><tr>")
    head += [f"<th>{_e(column.metric_label)}</th>" for column in table.columns]
    head.append("</tr>")
    body = []
    for row in table.rows:
        css = {SOURCE_PAPER: ' class="paper"', SOURCE_BASELINE: ' class="baseline"'}.get(row.source, "")
        labels = []
        for index, name in enumerate(table.label_columns):
            text = _e(row.labels.get(name, ""))
            if index == 0 and row.source == SOURCE_PAPER:
                text += '<span class="badge">paper</span>'
            if index == 0 and row.source == SOURCE_BASELINE:
                text += '<span class="badge base">baseline</span>'
            labels.append(f'<td class="label">{text}</td>')
        cells = [_cell_html(row.cells.get(column.key), column) for column in table.columns]
        body.append(f"<tr{css}>" + "".join(labels + cells) + "</tr>")
    parts.append(
        f'<div class="scroll"><table><thead>{"".join(head)}</thead><tbody>{"".join(body)}</tbody></table></div>'
    )
    if table.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(note)}</li>" for note in table.notes) + "</ul>")
    return "\n".join(parts)


def _figure_html(figure: FigureFile) -> str:
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    notes = "".join(f"<br>{_e(note)}" for note in figure.notes)
    return (
        f'<figure><img alt="{_e(figure.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(figure.title)} (<code>{_e(figure.path.name)}</code>){notes}</figcaption></figure>"
    )


def _simple_table(
    head: Sequence[str], rows: Sequence[Sequence[str]], highlight: set[tuple[int, int]] = frozenset()
) -> str:
    """A plain table of text cells (already escaped); ``highlight`` marks ``(row, column)`` cells."""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="label{" differs" if (i, j) in highlight else ""}">{cell}</td>' for j, cell in enumerate(row)
        )
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f'<div class="scroll"><table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>'


def _runs_html(report: Report) -> str:
    rows = [[_e(value) for value in row] for row in runs_overview(report.runs)]
    for run, row in zip(report.runs, rows):
        row[-1] = f'<span title="{_e(run.model_args or "no model arguments")}">{row[-1]}</span>'
    head = [*RUN_COLUMNS[:-1], f"{RUN_COLUMNS[-1]} (hover: --model_args)"]
    return _simple_table(head, rows) + _versions_html(report)


def _versions_html(report: Report) -> str:
    """Per run, the versions of the packages that change scores; a package whose version differs is marked."""
    packages, rows, differing = versions_overview(report.runs)
    if not packages:
        return "<p><em>No package versions recorded in these runs.</em></p>"
    marked = {(i, j) for j, p in enumerate(packages, start=2) if p in differing for i in range(len(rows))}
    note = (
        '<ul class="notes"><li>Highlighted: a package whose version differs between runs; their numbers may differ '
        "for that reason alone.</li></ul>"
        if differing
        else ""
    )
    caption = (
        '<p class="caption">Package versions per run: lmms-eval as its results file says; the others as the per-doc '
        "records name them (runs whose records name none show –).</p>"
    )
    escaped = [[_e(value) for value in row] for row in rows]
    return "<h3>Package versions</h3>" + caption + _simple_table(["run", "date", *packages], escaped, marked) + note


def _method_html(report: Report) -> str:
    o = report.options
    rule = "the paper's rule" if o.min_group_docs == MINIMUM_GROUP_SIZE else "not the paper's 50"
    items = [
        (
            "Tables 2-4 aggregate as the MedVision benchmark's summarizers do (<code>medvision_tasks/report/paper.py"
            "</code>): per-group numbers from the per-doc records, then means over groups weighted by their docs. "
            "Every per-group number is a mean over docs of the per-doc values lmms-eval aggregates; the check table "
            "at the end compares each task with the number lmms-eval wrote."
        ),
        (
            "Table 2: docs pooled across datasets into the benchmark's regions (upstream's label_map_regroup, "
            "e.g. 'Liver @ CT (A)'); miscellaneous/others regions and regions under "
            f"{o.min_group_docs} docs ({rule}) left out, with no fallback; a region is tumor/lesion when its name "
            "says tumor, lesion or metastatic. Table 3: groups of upstream's label_map_rename, those without a parsed "
            "answer left out of every number. Table 4: one group per measurement, planes pooled, targets below 0.1 "
            "skipped."
        ),
        (
            "Marks 1-3 (🥇🥈🥉 in Markdown): best three per column on the value as shown (ties share a rank, "
            "the next is skipped), lower is better for MAE and MRE; SR is not ranked (as in the paper); a score shown "
            "as 0 gets no mark; rows are ranked only against rows on the same docs; published rows are ranked among "
            "themselves."
        ),
        (
            f"Intervals: 95 % percentile bootstrap, {o.n_bootstrap} resamples, seed {o.seed}, docs resampled within "
            "each group, so the weights stay fixed."
        ),
        (
            f"Random boxes: the benchmark's random model, width uniform in 1..W then left edge uniform in 0..W-w (rows "
            f"likewise), {o.random_draws} boxes per doc in the box-size table with their scores averaged per doc, "
            f"seeded (the benchmark's were not). The <code>medvision_random</code> model answers the first such box, "
            f"T/L major axis U{list(TL_MAJOR_RANGE_MM)} mm with minor = major × U{list(TL_MINOR_FRACTION_RANGE)}, "
            f"distances U{list(DISTANCE_RANGE_MM)} mm, angles U{list(ANGLE_RANGE_DEGREES)} degrees."
        ),
        "Planes: axial is in-distribution; coronal and sagittal test plane out-of-distribution generalisation.",
    ]
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


OPEN_TABLE_ROWS = 60
"""Tables of at most this many rows are shown open; longer ones fold into a summary line."""


def _folded(table: Table) -> str:
    """A long table folded into a summary line (open when short)."""
    is_open = " open" if len(table.rows) <= OPEN_TABLE_ROWS else ""
    summary = f"{table.title} ({_count(len(table.rows), 'row')})"
    return f"<details{is_open}><summary>{_e(summary)}</summary>{table_html(table)}</details>"


def write_html(report: Report, figures: Sequence[FigureFile], path: Path) -> Path:
    """Write the page and return its path.

    Args:
        report: a :class:`.build.Report`.
        figures: from :func:`.plots.draw_all`.
        path: the HTML file to write.
    """
    by_name = {figure.path.stem: figure for figure in figures}

    def figures_of(*names: str) -> str:
        return "\n".join(_figure_html(by_name[name]) for name in names if name in by_name)

    sections: list[tuple[str, str, str]] = []
    sections.append(("runs", "Runs read", _runs_html(report)))
    sections.append(
        ("leaderboard", "Leaderboard (paper Tables 2-4)", "\n".join(table_html(t) for t in report.headline))
    )
    figure3 = figures_of("per_label_detection", "per_label_tl", "per_label_ad")
    if figure3:
        sections.append(("per-label-figures", "Per-group performance (paper Figure 3)", figure3))
    if report.per_label:
        sections.append(("per-label", "Per-group tables", "\n".join(_folded(t) for t in report.per_label)))
    if report.planes:
        sections.append(("planes", "In-distribution vs plane OOD", "\n".join(table_html(t) for t in report.planes)))
    if report.box_size is not None:
        sections.append(("box-size", "Detection by box size", figures_of("box_size") + _folded(report.box_size)))
    errors = figures_of("errors_detection", "errors_tl", "errors_ad")
    if errors:
        sections.append(("errors", "Error distributions", errors))
    if report.diagnosis:
        content = figures_of("error_split") + "\n" + "\n".join(table_html(t) for t in report.diagnosis)
        sections.append(("seeing-or-computing", "Seeing or computing: variants and the error split", content))
    if report.consistency is not None:
        sections.append(("check", "Check against lmms-eval", _folded(report.consistency)))
    sections.append(("method", "How the numbers are made", _method_html(report)))

    nav = (
        "<nav><ul>"
        + "".join(f'<li><a href="#{key}">{_e(title)}</a></li>' for key, title, _ in sections)
        + "</ul></nav>"
    )
    body = "\n".join(
        f'<section id="{key}"><h2>{_e(title)}</h2>\n{content}</section>' for key, title, content in sections
    )
    n_models = len({run.checkpoint for run in report.runs})
    n_rows = len(report.full_systems)
    controls = len(report.systems) - n_rows
    control_rows = f" and {_count(controls, 'control row')}" if controls else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MedVision leaderboard report</title><style>{_STYLE}</style></head>
<body><h1>MedVision leaderboard report</h1>
<p class="sub">{_count(n_models, "model")} in {_count(len(report.runs), "run")}, {_count(n_rows, "leaderboard row")}{control_rows};
medvision-tasks {_e(__version__)}; seed {report.options.seed}, {report.options.n_bootstrap} bootstrap resamples.</p>
{nav}
{body}
</body></html>
"""
    return files.write_text(path, page)
