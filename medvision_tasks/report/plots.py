"""PNG figures of the report (matplotlib's object API: no pyplot, no display, no global state).

- per-group bars per model, the paper's Figure 3: detection recall / precision / F1, T/L MRE,
  A/D MRE;
- detection metrics against box size, with the random-box baseline;
- error distributions per model: detection IoU, T/L and A/D relative error;
- seeing or computing: each model's error split into localisation and arithmetic, and per doc
  the two parts against each other (:mod:`.diagnosis`).

Rules every figure keeps, so that a reader can trust it:

- **Axes start where the quantity starts**: percentages of docs and overlaps run from 0 to 100 on
  a linear axis. Relative errors span decades and use a log axis that says so in its label and
  starts at a stated floor (1 %, or the decade below the smallest value when that is lower), with
  bars drawn from the floor, so a 55 % error is a long bar, never a stub near the origin.
- **A readable size whatever the number of groups**: per-group figures show the groups with
  the most docs (at most :data:`MAX_BARS` bars per panel, :data:`MAX_GROUPS` groups), and say
  how many more are in the per-group table. Labels are wrapped and the label column sized to
  them; box-size ticks are percentages every 10 %, never one label per bin.
- **Overlapping series stay distinguishable**: each model has its own colour, marker and line
  style, and lines are offset sideways by a fraction of a bin.
- **Models with nothing to draw are named in a note** under the figure, not given an empty
  legend entry.

Each ``*_figure`` function returns a :class:`Drawn` (figure and notes) or None when nothing can
be drawn; :func:`draw_all` saves them and returns :class:`FigureFile` entries for the page.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from medvision_tasks.families import DETECTION, FAMILIES
from medvision_tasks.record import DocRecord
from medvision_tasks.report import files
from medvision_tasks.report.build import Report
from medvision_tasks.report.diagnosis import QUESTIONS, split_of
from medvision_tasks.report.grouping import System
from medvision_tasks.report.html import FigureFile
from medvision_tasks.report.paper import BOX_SIZE_EDGES, box_size_label
from medvision_tasks.report.tables import SOURCE_BASELINE, Table
from medvision_tasks.steps import RIGHT

DPI = 110
MAX_GROUPS = 30
"""Per-group figures show at most this many groups (those with the most docs)."""
MAX_BARS = 90
"""... and at most this many bars per panel (groups x models)."""
LOG_FLOOR_PERCENT = 1.0
"""A log axis of relative errors starts here, or at the decade below the smallest value if lower."""
SPLIT_FLOOR_PERCENT = 0.1
"""The per-doc axes of the error split start here, two decades below the 10 % line between right and wrong,
whatever the rounding of exact answers (drawn at the floor)."""
_LOCALISATION, _ARITHMETIC = "tab:blue", "tab:orange"
_LABEL_WRAP = 40
_METRIC_NAMES = {
    "recall": "Recall (%)",
    "precision": "Precision (%)",
    "f1": "F1 (%)",
    "iou": "IoU (%)",
    "mre": "MRE (%)",
    "iou>0.5": "IoU>0.5 (%)",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
_LINESTYLES = ("-", "--", "-.", ":")


@dataclass
class Drawn:
    """A drawn figure and the notes a reader needs beside it."""

    figure: Figure
    notes: list[str] = field(default_factory=list)


def _colors(n: int) -> list:
    cmap = mpl.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _style(index: int) -> dict:
    """Marker and line style of the ``index``-th series: no two of the first 40 alike."""
    return {
        "marker": _MARKERS[index % len(_MARKERS)],
        "linestyle": _LINESTYLES[(index // len(_MARKERS)) % len(_LINESTYLES)],
    }


def log_floor(values: np.ndarray) -> float:
    """The start of a log axis of percentages: 1 %, or the decade below the smallest positive value if lower."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return LOG_FLOOR_PERCENT
    return min(LOG_FLOOR_PERCENT, 10.0 ** math.floor(math.log10(float(positive.min()))))


def _plain_log_axis(ax, floor: float, top: float) -> None:
    """A log x axis from ``floor`` to ``top`` with ticks written as plain numbers (1, 10, 100), not powers."""
    ax.set_xscale("log")
    ax.set_xlim(floor, top)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def _note_list(names: Sequence[str]) -> str:
    return ", ".join(names)


def per_label_figure(table: Table, metrics: Sequence[str], title: str, *, log_scale: bool = False) -> Drawn | None:
    """Horizontal grouped bars: one row per group, one bar per model, one panel per metric.

    Args:
        table: a ``per_label_<family>`` table (label columns group, model, docs).
        metrics: metrics to draw, one panel each (percent).
        title: figure title.
        log_scale: a log value axis from :func:`log_floor` (relative errors), else linear from 0 to 100.

    Returns:
        None when the table has no row or no model has a value to draw.
    """
    if not table.rows:
        return None
    docs: dict[str, int] = {}  # a group's docs: the most any model was asked
    for row in table.rows:
        docs[row.labels["group"]] = max(docs.get(row.labels["group"], 0), int(row.labels["docs"].replace(",", "")))
    models = list(dict.fromkeys(row.labels["model"] for row in table.rows))
    all_groups = list(docs)
    values = {m: np.full((len(all_groups), len(models)), np.nan) for m in metrics}
    for row in table.rows:
        i, j = all_groups.index(row.labels["group"]), models.index(row.labels["model"])
        for m in metrics:
            cell = row.cells.get(("all", m))
            if cell is not None:
                values[m][i, j] = cell.value
    # A model without a parsed answer has nothing to draw: undefined errors, or scores that are 0 only by failure.
    answered = np.zeros(len(models), dtype=bool)
    for row in table.rows:
        success = row.cells.get(("all", "sr"))
        answered[models.index(row.labels["model"])] |= success is not None and success.value > 0
    drawable = [
        j for j in range(len(models)) if answered[j] and any(np.isfinite(values[m][:, j]).any() for m in metrics)
    ]
    notes = []
    silent = [models[j] for j in range(len(models)) if j not in drawable]
    if silent:
        notes.append(f"Nothing to draw (no parsed answer) for: {_note_list(silent)}.")
    if not drawable:
        return None
    limit = max(5, min(MAX_GROUPS, MAX_BARS // len(drawable)))
    # Most docs first; ties keep the table's order (axial first, then by name).
    shown = sorted(range(len(all_groups)), key=lambda i: -docs[all_groups[i]])[:limit]
    shown.sort()
    if len(all_groups) > len(shown):
        notes.append(
            f"Showing the {len(shown)} groups with the most docs of {len(all_groups)}; every group is in the "
            "per-group table."
        )
    groups = [all_groups[i] for i in shown]
    models_drawn = [models[j] for j in drawable]
    data = {m: values[m][np.ix_(shown, drawable)] for m in metrics}
    wrapped = [textwrap.fill(f"{g} ({docs[g]:,})", _LABEL_WRAP) for g in groups]
    lines_per_label = max(label.count("\n") + 1 for label in wrapped)
    bar = 0.8 / len(models_drawn)
    row_inches = max(0.3 * lines_per_label, 0.17 * len(models_drawn))
    label_inches = 0.085 * max(len(line) for label in wrapped for line in label.splitlines())
    legend_rows = math.ceil(len(models_drawn) / 2)
    height = 1.6 + 0.25 * legend_rows + len(groups) * row_inches
    fig = Figure(figsize=(4.2 * len(metrics) + label_inches + 0.6, height), layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    colors = _colors(len(models_drawn))
    y = np.arange(len(groups))
    for ax, m in zip(axes, metrics):
        floor = log_floor(data[m]) if log_scale else 0.0
        for j, model in enumerate(models_drawn):
            series = data[m][:, j]
            offsets = y - 0.4 + bar * (j + 0.5)
            if log_scale:
                # Bars start at the floor; a value at or below it (0 % included) is a marker on the floor.
                lengths = np.where(series > floor, series - floor, np.nan)
                ax.barh(offsets, lengths, left=floor, height=bar, color=colors[j], label=model)
                low = np.isfinite(series) & (series <= floor)
                ax.plot(np.full(low.sum(), floor), offsets[low], "|", color=colors[j], markersize=8)
            else:
                ax.barh(offsets, series, height=bar, color=colors[j], label=model)
                zero = np.isfinite(series) & (series == 0)
                ax.plot(np.zeros(zero.sum()), offsets[zero], "|", color=colors[j], markersize=8)
        name = _METRIC_NAMES.get(m, m)
        if log_scale:
            finite = data[m][np.isfinite(data[m])]
            top = max(float(finite.max()) if finite.size else 100.0, floor * 10) * 1.5
            _plain_log_axis(ax, floor, top)
            ax.set_xlabel(f"{name}, log scale; bars start at {floor:g} %")
        else:
            ax.set_xlim(0.0, 100.0)
            ax.set_xlabel(name)
        if len(metrics) > 1:
            ax.set_title(name)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, wrapped, fontsize="small")
    axes[0].set_ylim(len(groups) - 0.5, -0.5)  # first group on top, no empty margins
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize="small")
    fig.suptitle(title)
    if log_scale or any(np.any(data[m] == 0) for m in metrics):
        notes.append(
            "Group labels show their docs; a tick at the axis start marks a value at or below it"
            + (" (0 included)." if log_scale else " (0).")
        )
    return Drawn(fig, notes)


def _bin_centres() -> dict[str, float]:
    """Upstream's box-size bin labels (``<5%``, ``5–10%``, ..., ``≥90%``) -> their centres in % of the image."""
    edges = [0.0, *(100.0 * edge for edge in BOX_SIZE_EDGES), 100.0]
    return {box_size_label(i): (edges[i] + edges[i + 1]) / 2 for i in range(len(edges) - 1)}


BOX_SIZE_SPREAD = 2.0
"""Sideways spread, in % of the image, between the first and the last series of the box-size figure."""


def box_size_figure(table: Table, metrics: Sequence[str] = ("recall", "precision", "f1", "iou")) -> Drawn | None:
    """Detection metrics per box-size bin: a line per model, the random baseline in black.

    Series that would hide each other stay visible: they are offset sideways (within the bin),
    earlier series are drawn wider and with larger hollow markers, so equal points show as nested
    shapes of different colours; series with the very same numbers are also named in a note.
    """
    if not table.rows:
        return None
    models = list(dict.fromkeys(row.labels["model"] for row in table.rows if row.source != SOURCE_BASELINE))
    answered = {
        row.labels["model"] for row in table.rows if row.cells.get(("all", "sr")) and row.cells[("all", "sr")].value > 0
    }
    silent = [model for model in models if model not in answered]
    models = [model for model in models if model in answered]
    baseline = [row for row in table.rows if row.source == SOURCE_BASELINE]
    centres = _bin_centres()
    series_list = [(model, [r for r in table.rows if r.labels["model"] == model]) for model in models]
    if baseline:
        series_list.append((baseline[0].labels["model"], baseline))
    n_series = len(series_list)
    step = BOX_SIZE_SPREAD / (n_series - 1) if n_series > 1 else 0.0
    fig = Figure(figsize=(11.0, 8.2 + 0.22 * math.ceil(n_series / 2)), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
    colors = _colors(len(models))
    for ax, m in zip(axes, metrics):
        for index, (name, rows) in enumerate(series_list):
            x = np.array([centres[r.labels["box area"]] for r in rows]) + index * step - BOX_SIZE_SPREAD / 2
            y = np.array([r.cells[("all", m)].value for r in rows])
            if rows is baseline:
                style = {"color": "black", "linestyle": (0, (4, 2)), "marker": "x", "linewidth": 1.6, "markersize": 6}
            else:
                style = {
                    "color": colors[index],
                    **_style(index),
                    "linewidth": max(1.0, 3.2 - 0.45 * index),
                    "markersize": max(4.0, 10.0 - 1.2 * index),
                    "markerfacecolor": "none",
                    "markeredgewidth": 1.6,
                }
            ax.plot(x, y, label=name, alpha=0.85, **style)
        ax.set_title(_METRIC_NAMES.get(m, m))
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xticks(np.arange(0, 101, 10))
        ax.grid(alpha=0.3)
    for ax in axes[2:]:
        ax.set_xlabel("target box area / image area (%)")
    for ax in axes[::2]:
        ax.set_ylabel("%")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize="small")
    fig.suptitle("Detection by box size (axial); points at bin centres (<5 %, 5 % bins, ≥90 %)")
    spread = (
        f"Lines are offset sideways by up to {BOX_SIZE_SPREAD:g} % of the image and drawn from wide to thin, so "
        "equal values stay visible."
    )
    notes = [spread] + ([f"Nothing to draw (no parsed answer) for: {_note_list(silent)}."] if silent else [])
    numbers = {
        name: tuple((r.labels["box area"], *(r.cells[("all", m)].value for m in metrics)) for r in rows)
        for name, rows in series_list
    }
    same: dict[tuple, list[str]] = {}
    for name, values in numbers.items():
        same.setdefault(values, []).append(name)
    for names in same.values():
        if len(names) > 1:
            notes.append(f"Identical numbers in every bin: {' = '.join(names)}.")
    return Drawn(fig, notes)


def error_figure(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str) -> Drawn | None:
    """Per model, the spread of per-doc scores: IoU (detection, 0-100 %) or relative error (log axis).

    Parse failures are left out (they have no error; SR counts them), so the boxes show answered
    docs only; models without an answered doc are named in a note.
    """
    names, data, silent = [], [], []
    for system, families in systems.items():
        records = families.get(family, [])
        if not records:
            continue
        parsed = [r for r in records if r.parsed]
        values = [100.0 * r.iou for r in parsed] if family == DETECTION else [100.0 * r.rel_error for r in parsed]
        if values:
            names.append(system.name)
            data.append(np.asarray(values))
        else:
            silent.append(system.name)
    notes = [f"No parsed answer to draw for: {_note_list(silent)}."] if silent else []
    if not data:
        return None
    wrapped = [textwrap.fill(name, 48) for name in names]
    label_inches = 0.085 * max(len(line) for label in wrapped for line in label.splitlines())
    fig = Figure(figsize=(7.5 + label_inches, 1.5 + 0.5 * len(names)), layout="constrained")
    ax = fig.subplots()
    if family == DETECTION:
        ax.boxplot(data, orientation="horizontal", tick_labels=wrapped, showfliers=True, flierprops={"markersize": 2})
        ax.set_xlabel("IoU of answered docs (%)")
        ax.set_xlim(0, 100)
        ax.set_title("Detection: IoU per doc")
    else:
        floor = log_floor(np.concatenate(data))
        # An exact answer (error 0) has no place on a log axis: it is drawn at the floor.
        clipped = [np.maximum(values, floor) for values in data]
        ax.boxplot(
            clipped, orientation="horizontal", tick_labels=wrapped, showfliers=True, flierprops={"markersize": 2}
        )
        top = max(float(max(v.max() for v in clipped)), floor * 10) * 1.5
        _plain_log_axis(ax, floor, top)
        ax.axvline(10.0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(f"relative error of answered docs (%, log scale from {floor:g} %; dotted: 10 %)")
        ax.set_title(f"{FAMILIES[family].title}: relative error per doc")
        if any(np.any(values < floor) for values in data):
            notes.append(f"Errors below {floor:g} % (exact answers included) are drawn at {floor:g} %.")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return Drawn(fig, notes)


def error_split_figure(systems: Mapping[System, Mapping[str, list[DocRecord]]]) -> Drawn | None:
    """Seeing or computing, one row of panels per question type (box, T/L size, distance, angle).

    Left: per model, how much of its final error each part explains, a bar split from 0 to
    100 % into the error from its points (localisation) and its arithmetic, with the verdict.
    Right: every doc of a CoT model, its points' error relative to the true segments' size (x)
    against its answer's error relative to the target from its points' value (y), both on log
    axes from a stated floor, with the 10 % lines between right and wrong, so a model that sees
    right and computes wrong fills the upper-left quadrant.
    """
    rows = []
    for metric_type, question in QUESTIONS.items():
        entries = []
        for system in sorted(systems):
            records = [r for rs in systems[system].values() for r in rs if r.metric_type == metric_type]
            split = split_of(records)
            if split is not None:
                entries.append((system, split, [r.steps for r in records if r.steps is not None]))
        if entries:
            rows.append((question, entries))
    if not any(split.read for _, entries in rows for _, split, _ in entries):
        return None  # no readable points anywhere: the table says so, an empty figure would not
    notes: list[str] = []
    threshold = 100.0 * RIGHT
    names = list(dict.fromkeys(system.name for _, entries in rows for system, _, _ in entries))
    colors = dict(zip(names, _colors(len(names))))
    styles = {name: _style(i) for i, name in enumerate(names)}
    wrapped = {name: textwrap.fill(name, 38) for name in names}
    label_inches = 0.085 * max(len(line) for label in wrapped.values() for line in label.splitlines())
    heights = [max(2.6, 0.5 * len(entries) * max(w.count("\n") + 1 for w in wrapped.values())) for _, entries in rows]
    fig = Figure(figsize=(12.5 + label_inches, 0.9 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(rows), 2, squeeze=False, gridspec_kw={"height_ratios": heights, "width_ratios": [1, 1]})
    pairs_all = [
        (100.0 * steps.localisation_rel, 100.0 * steps.arithmetic_rel)
        for _, entries in rows
        for _, _, analysed in entries
        for steps in analysed
        if steps.localisation_rel is not None and steps.arithmetic_rel is not None
    ]
    floor = SPLIT_FLOOR_PERCENT
    top = max([threshold * 10, *(v for pair in pairs_all for v in pair)]) * 1.5
    without_split, without_pairs = [], []
    for (question, entries), (bars, scatter) in zip(rows, axes):
        y = np.arange(len(entries))
        for i, (system, split, analysed) in enumerate(entries):
            explained = split.explained_by_localisation
            if explained is None:
                without_split.append(f"{system.name} ({question})")
                bars.text(2, i, "no error to split", va="center", fontsize="small", color="dimgrey")
            else:
                bars.barh(i, 100.0 * explained, color=_LOCALISATION)
                bars.barh(i, 100.0 * (1 - explained), left=100.0 * explained, color=_ARITHMETIC)
            bars.text(101, i, split.verdict, va="center", fontsize="small")
        bars.set_yticks(y, [wrapped[system.name] for system, _, _ in entries], fontsize="small")
        bars.set_ylim(len(entries) - 0.5, -0.5)
        bars.set_xlim(0, 100)
        bars.set_xlabel("share of the final error explained (%)")
        bars.set_title(f"{question}: what the error comes from", fontsize="medium")
        bars.grid(axis="x", alpha=0.3)
        drawn_any = False
        for system, split, analysed in entries:
            if split.coordinates_only:
                continue  # no arithmetic of the model's: nothing to place on the y axis
            pairs = np.asarray(
                [
                    (100.0 * s.localisation_rel, 100.0 * s.arithmetic_rel)
                    for s in analysed
                    if s.localisation_rel is not None and s.arithmetic_rel is not None
                ]
            )
            if pairs.size == 0:
                without_pairs.append(f"{system.name} ({question})")
                continue
            drawn_any = True
            shown = np.maximum(pairs, floor)
            scatter.plot(
                shown[:, 0],
                shown[:, 1],
                linestyle="none",
                marker=styles[system.name]["marker"],
                color=colors[system.name],
                alpha=0.7,
                markersize=5,
                label=system.name,
            )
        for axis_setter in (scatter.set_xscale, scatter.set_yscale):
            axis_setter("log")
        # A margin below the floor, so that the docs drawn at it stay whole; the floor is a grey line.
        scatter.set_xlim(floor / 1.8, top)
        scatter.set_ylim(floor / 1.8, top)
        scatter.axvline(floor, color="lightgrey", linewidth=0.8)
        scatter.axhline(floor, color="lightgrey", linewidth=0.8)
        for axis in (scatter.xaxis, scatter.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        scatter.axvline(threshold, color="grey", linestyle=":", linewidth=1)
        scatter.axhline(threshold, color="grey", linestyle=":", linewidth=1)
        corners = (
            (floor * 1.3, top / 1.3, "sees right,\ncomputes wrong", "left", "top"),
            (top / 1.3, top / 1.3, "sees wrong,\ncomputes wrong", "right", "top"),
            (floor * 1.3, floor * 1.3, "sees right,\ncomputes right", "left", "bottom"),
            (top / 1.3, floor * 1.3, "sees wrong,\ncomputes right", "right", "bottom"),
        )
        for x, y_text, text, ha, va in corners:
            scatter.text(x, y_text, text, ha=ha, va=va, fontsize="x-small", color="dimgrey")
        scatter.set_xlabel(f"points' error, % of the true size (log from {floor:g} %)")
        scatter.set_ylabel("arithmetic error, % of target (log)")
        scatter.set_title(f"{question}: per doc (dotted: {threshold:g} %)", fontsize="medium")
        if drawn_any:
            scatter.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    legend = [
        Patch(color=_LOCALISATION, label="from the points (localisation)"),
        Patch(color=_ARITHMETIC, label="arithmetic"),
    ]
    fig.legend(handles=legend, loc="outside lower center", ncol=2, fontsize="small")
    fig.suptitle("Seeing or computing: each model's error split into localisation and arithmetic")
    if without_split:
        notes.append(
            "No split to draw (no doc with both parts known, or both under 0.01 % of the target) for: "
            f"{_note_list(without_split)}."
        )
    if without_pairs:
        notes.append(
            f"No doc with both parts known (no ground-truth points, or no readable points and answer) for: "
            f"{_note_list(without_pairs)}."
        )
    if any(split.coordinates_only for _, entries in rows for _, split, _ in entries):
        notes.append("Coordinate-only rows are in the bars only: their arithmetic is the plugin's, not the model's.")
    notes.append(
        f"Per-doc errors at or below {floor:g} % (exact ones included) are drawn on the grey line at {floor:g} %."
    )
    return Drawn(fig, notes)


def _save(drawn: Drawn, title: str, path: Path) -> FigureFile:
    with files.replacing(path) as partial:
        drawn.figure.savefig(partial, dpi=DPI, bbox_inches="tight")
    return FigureFile(title, path, drawn.notes)


def draw_all(report: Report, out_dir: Path) -> list[FigureFile]:
    """Every figure of the report, saved as PNG in ``out_dir``, in report order.

    Labels come from data: a ``$`` in one must print as a dollar sign, not start matplotlib's
    mathtext (``$\\frac{a}{$`` made the plots raise), so mathtext is off while drawing.
    """
    with mpl.rc_context({"text.parse_math": False}):
        return _draw_all(report, out_dir)


def _draw_all(report: Report, out_dir: Path) -> list[FigureFile]:
    figures: list[FigureFile] = []
    per_label = {t.key: t for t in report.per_label}
    specs = [
        ("per_label_detection", ("recall", "precision", "f1"), "Detection per region (cf. paper Figure 3a)", False),
        ("per_label_tl", ("mre",), "Tumor/lesion size: MRE per label group (cf. Figure 3b)", True),
        ("per_label_ad", ("mre",), "Angle/distance: MRE per measurement (cf. Figure 3c)", True),
    ]
    for key, metrics, title, log_scale in specs:
        if key in per_label:
            drawn = per_label_figure(per_label[key], metrics, title, log_scale=log_scale)
            if drawn:
                figures.append(_save(drawn, title, out_dir / f"{key}.png"))
    if report.box_size is not None:
        drawn = box_size_figure(report.box_size)
        if drawn:
            figures.append(
                _save(drawn, "Detection by box size, with the random-box baseline", out_dir / "box_size.png")
            )
    for family in FAMILIES.values():
        drawn = error_figure(report.full_systems, family.name)
        if drawn:
            title = f"{family.title}: {'IoU' if family.name == DETECTION else 'error'} distribution"
            figures.append(_save(drawn, title, out_dir / f"errors_{family.name}.png"))
    drawn = error_split_figure(report.systems)
    if drawn:
        figures.append(_save(drawn, "Seeing or computing: the error split", out_dir / "error_split.png"))
    return figures
