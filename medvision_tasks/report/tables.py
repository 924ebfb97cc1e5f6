"""Report tables: data model, best-three marks, Markdown and CSV.

A :class:`Table` has label columns (model, label, bin, ...) and value columns, each a
``(subset, metric)`` pair such as ``("anatomy", "iou")``. Cells hold the number, its
bootstrap interval, the docs behind it and its rank.

Ranking (the paper's 🥇/🥈/🥉): within each column, rows are ranked separately by source
(the user's runs among themselves, published rows among themselves) and, among the user's
runs, by doc set: runs evaluated on different docs are never ranked together
(:func:`mark_doc_sets` letters the sets when a table holds more than one). Ranks are on the
value as shown (rounded to the column's decimals), higher first except for ``mae`` and ``mre``.
Ties share a rank and the next rank is skipped (competition ranking: 80, 80, 70 are 🥇, 🥇,
🥉). Success rate is not ranked, as in the paper: it measures answer format, not accuracy, and
is 100 for most models. Undefined values (shown as ``–``) are not ranked. A column whose ranked
values are all equal (or that has a single row) gets no marks: nobody is better than anybody;
and in a higher-is-better column a value shown as 0 never gets a mark (a column whose best
value is 0 gets none).

CSV is long, one number per line: ``table``, the first label column, ``subset, metric, value``
(for the headline tables exactly the columns of the paper's ``reference/paper_tables.csv``:
``table, model, subset, metric, value``), the interval, docs, rank and source, then the other
label columns.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medvision_tasks.metrics import LOWER_IS_BETTER

UNRANKED_METRICS = frozenset({"sr"})
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
METRIC_LABELS = {
    "recall": "R",
    "precision": "P",
    "f1": "F1",
    "iou": "IoU",
    "sr": "SR",
    "iou>0.5": "IoU>0.5",
    "mae": "MAE",
    "mre": "MRE",
    "mre<0.1": "MRE<0.1",
    "value": "",
}
SOURCE_RUN = "run"
SOURCE_PAPER = "paper"
"""Rows of the paper's own numbers (``--paper``); not the ``published`` scoring protocol."""
SOURCE_BASELINE = "baseline"
MISSING = "–"


@dataclass
class Cell:
    """One number of a table.

    Attributes:
        value: the number (percent, or mm/degrees for MAE); NaN when undefined.
        ci: 95 % bootstrap interval ``(low, high)``, or None when not computed.
        n_docs: docs behind the number (None for published numbers).
        rank: 1-3 for the best three of its column and source, else None.
        note: a footnote mark, e.g. ``"†"``.
    """

    value: float
    ci: tuple[float, float] | None = None
    n_docs: int | None = None
    rank: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Column:
    """A value column: one metric of one subset."""

    subset: str
    subset_label: str
    metric: str
    decimals: int = 1
    subset_note: str = ""
    """Extra header text for HTML, e.g. ``2 label groups, 150 docs``; Markdown keeps it in notes."""

    @property
    def metric_label(self) -> str:
        """Short metric name as in the paper (R, P, F1, IoU, ...); thresholds as upstream writes them (``F1>0.7``)."""
        if self.metric in METRIC_LABELS:
            return METRIC_LABELS[self.metric]
        for sign in (">", "<"):
            name, found, threshold = self.metric.partition(sign)
            if found and name in METRIC_LABELS:
                return f"{METRIC_LABELS[name]}{sign}{threshold}"
        return self.metric

    @property
    def key(self) -> tuple[str, str]:
        """``(subset, metric)``, the key of the column's cells in :attr:`Row.cells`."""
        return (self.subset, self.metric)


@dataclass
class Row:
    """One row: label values (by label column) and cells (by ``(subset, metric)``).

    ``doc_set`` identifies the docs behind the row's numbers (runs only; None for published and
    baseline rows): rows are ranked only against rows of the same doc set.
    """

    labels: dict[str, str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    source: str = SOURCE_RUN
    doc_set: frozenset | None = None


@dataclass
class Table:
    """A report table.

    Attributes:
        key: file stem and CSV ``table`` value, e.g. ``table2_detection``.
        title: heading.
        caption: what the numbers are (units, grouping).
        label_columns: names of the row label columns, in order.
        columns: value columns, in order; consecutive columns of one subset share a header.
        rows: rows, in order.
        notes: footnotes (plain text).
        ranked: whether best-three marks apply.
    """

    key: str
    title: str
    caption: str
    label_columns: list[str]
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ranked: bool = False


def format_value(value: float | None, decimals: int = 1) -> str:
    """A number as shown: fixed decimals, ``–`` when missing or undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.{decimals}f}"


def _shown(value: float, decimals: int) -> float:
    return round(value, decimals)


DOC_SET_COLUMN = "doc set"


def _cohorts(table: Table) -> dict[tuple[str, frozenset | None], list[Row]]:
    """Rows ranked together: one source and one doc set; baseline rows are never ranked."""
    cohorts: dict[tuple[str, frozenset | None], list[Row]] = {}
    for row in table.rows:
        if row.source != SOURCE_BASELINE:
            cohorts.setdefault((row.source, row.doc_set), []).append(row)
    return cohorts


def assign_ranks(table: Table) -> None:
    """Set :attr:`Cell.rank` to 1-3 for the best three per column, source and doc set (module doc)."""
    for row in table.rows:
        for cell in row.cells.values():
            cell.rank = None
    if not table.ranked:
        return
    for column in table.columns:
        if column.metric in UNRANKED_METRICS:
            continue
        higher_is_better = column.metric not in LOWER_IS_BETTER
        sign = -1.0 if higher_is_better else 1.0
        for rows in _cohorts(table).values():
            cells = [
                row.cells[column.key]
                for row in rows
                if column.key in row.cells and not math.isnan(row.cells[column.key].value)
            ]
            keys = [sign * _shown(cell.value, column.decimals) for cell in cells]
            if len(set(keys)) < 2:
                continue  # one row, or all tied: nobody is better, nothing to mark
            for cell, key in zip(cells, keys):
                rank = 1 + sum(other < key for other in keys)
                nothing = higher_is_better and key == 0.0  # a score of 0 is no achievement
                cell.rank = rank if rank <= 3 and not nothing else None


def mark_doc_sets(table: Table) -> None:
    """When a table's runs were evaluated on different docs, letter each run's doc set.

    Adds the label column ``doc set`` (A: the set most rows share, then by size) and a note;
    :func:`assign_ranks` already ranks each doc set on its own. Nothing changes when every run
    row has the same docs.
    """
    sets = [row.doc_set for row in table.rows if row.source == SOURCE_RUN and row.doc_set is not None]
    distinct = list(dict.fromkeys(sets))
    if len(distinct) < 2:
        return
    distinct.sort(key=lambda docs: (-sets.count(docs), -len(docs)))
    letters = {docs: chr(ord("A") + i) if i < 26 else f"S{i + 1}" for i, docs in enumerate(distinct)}
    for row in table.rows:
        if row.source == SOURCE_RUN and row.doc_set is not None:
            row.labels[DOC_SET_COLUMN] = letters[row.doc_set]
    if DOC_SET_COLUMN not in table.label_columns:
        table.label_columns.append(DOC_SET_COLUMN)
    described = "; ".join(f"{letters[docs]}: {len(docs):,} docs" for docs in distinct)
    table.notes.append(
        f"Not all runs here were evaluated on the same docs ({described}): marks rank each doc set on its own, "
        "and numbers of different doc sets are not comparable."
    )


def cell_text(cell: Cell | None, column: Column, *, with_ci: bool = True) -> str:
    """Plain-text cell: ``72.0🥇 (70.1–73.9)†``."""
    if cell is None:
        return MISSING
    text = format_value(cell.value, column.decimals)
    if cell.rank:
        text += " " + MEDALS[cell.rank]
    if with_ci and cell.ci is not None and not math.isnan(cell.ci[0]):
        text += f" ({format_value(cell.ci[0], column.decimals)}–{format_value(cell.ci[1], column.decimals)})"
    return text + cell.note


# What a Markdown renderer would read as raw HTML (CommonMark: a tag, comment, declaration or processing
# instruction opens with "<" and one of these) or as a character reference ("&name;", "&#10;").
_MARKUP_OPENING = re.compile(r"<(?=[A-Za-z/!?])")
_CHARACTER_REFERENCE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")


def escape_markdown(text: str) -> str:
    """Data text (labels, names) as one Markdown table cell: ``|`` escaped, HTML markup shown as text, one line.

    Only a ``<`` that would open markup and an ``&`` that would start a character reference are
    escaped, so a header such as ``MRE<0.1`` stays readable as plain text (on the terminal too).
    """
    text = _CHARACTER_REFERENCE.sub("&amp;", text)
    return _MARKUP_OPENING.sub("&lt;", text).replace("|", "\\|").replace("\n", " ")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @`` (a formula) gets a leading ``'``.

    Numbers stay numbers (``-3.5`` is a value, not a formula).
    """
    if not text.startswith(_FORMULA_STARTS):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def header_labels(table: Table) -> list[str]:
    """One header per value column: ``subset metric`` (subset left out when there is one)."""
    subsets = {column.subset for column in table.columns}
    if len(subsets) == 1:
        return [column.metric_label for column in table.columns]
    return [f"{column.subset_label} {column.metric_label}".strip() for column in table.columns]


def to_markdown(table: Table, *, with_ci: bool = True) -> str:
    """The table as GitHub Markdown: heading, caption, table, notes."""
    lines = [f"### {table.title}", "", table.caption, ""]
    if not table.rows:
        lines += ["_No data for this table in the runs given._", ""]
        return "\n".join(lines)
    headers = [name.capitalize() for name in table.label_columns] + header_labels(table)
    lines.append("| " + " | ".join(escape_markdown(h) for h in headers) + " |")
    align = ["---"] * len(table.label_columns) + ["---:"] * len(table.columns)
    lines.append("| " + " | ".join(align) + " |")
    for row in table.rows:
        labels = [row.labels.get(name, "") for name in table.label_columns]
        if row.source == SOURCE_PAPER and labels:
            labels[0] = f"_{labels[0]}_ (paper)"
        values = [cell_text(row.cells.get(column.key), column, with_ci=with_ci) for column in table.columns]
        lines.append("| " + " | ".join(escape_markdown(v) for v in labels + values) + " |")
    if table.notes:
        lines.append("")
        lines += [f"- {escape_markdown(note)}" for note in table.notes]
    lines.append("")
    return "\n".join(lines)


CSV_FIELDS_TAIL = ["subset", "metric", "value", "ci_low", "ci_high", "n_docs", "rank", "source"]


def csv_fields(label_columns: Sequence[str]) -> list[str]:
    """``table``, the first label column, :data:`CSV_FIELDS_TAIL`, the other label columns."""
    return ["table", *label_columns[:1], *CSV_FIELDS_TAIL, *label_columns[1:]]


def csv_rows(table: Table) -> list[dict[str, str]]:
    """Long-format rows: one per cell, with the fields of :func:`csv_fields`."""
    out = []
    for row in table.rows:
        for column in table.columns:
            cell = row.cells.get(column.key)
            if cell is None:
                continue
            line = {"table": table.key}
            line.update({name: row.labels.get(name, "") for name in table.label_columns})
            line.update(
                {
                    "subset": column.subset,
                    "metric": column.metric,
                    "value": "" if math.isnan(cell.value) else repr(float(cell.value)),
                    "ci_low": "" if cell.ci is None or math.isnan(cell.ci[0]) else repr(float(cell.ci[0])),
                    "ci_high": "" if cell.ci is None or math.isnan(cell.ci[1]) else repr(float(cell.ci[1])),
                    "n_docs": "" if cell.n_docs is None else str(cell.n_docs),
                    "rank": "" if cell.rank is None else str(cell.rank),
                    "source": row.source,
                }
            )
            out.append({name: csv_cell(text) for name, text in line.items()})
    return out


def to_csv(table: Table) -> str:
    """The table as long-format CSV text (header included)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=csv_fields(table.label_columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(table))
    return buffer.getvalue()


def tables_to_csv(tables: Sequence[Table]) -> str:
    """Several tables in one long CSV; label columns are the union over tables."""
    firsts = list(dict.fromkeys(table.label_columns[0] for table in tables if table.label_columns))
    others = list(dict.fromkeys(name for table in tables for name in table.label_columns if name not in firsts))
    fields = ["table", *firsts, *CSV_FIELDS_TAIL, *others]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", restval="")
    writer.writeheader()
    for table in tables:
        writer.writerows(csv_rows(table))
    return buffer.getvalue()
