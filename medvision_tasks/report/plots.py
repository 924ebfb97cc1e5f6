"""PNG figures of the report (matplotlib's object API: no pyplot, no display, no global state).

- per-label bars per model, the paper's Figure 3: detection recall / precision / F1, T/L MRE,
  A/D MRE;
- detection metrics against box size, with the random-box baseline dashed;
- error distributions per model: detection IoU, T/L and A/D relative error (log scale).

Each function draws from computed tables or records and returns the file it wrote, or None
when there is nothing to draw.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from medvision_tasks.families import DETECTION, FAMILIES
from medvision_tasks.record import DocRecord
from medvision_tasks.report.build import Report
from medvision_tasks.report.grouping import System
from medvision_tasks.report.tables import SOURCE_BASELINE, Table

DPI = 110
_LABEL_WRAP = 48  # characters per line of a bar label
_MAX_HEIGHT_INCHES = 60.0
_METRIC_NAMES = {
    "recall": "Recall (%)",
    "precision": "Precision (%)",
    "f1": "F1 (%)",
    "iou": "IoU (%)",
    "mre": "MRE (%)",
    "iou>0.5": "IoU>0.5 (%)",
}


def _colors(n: int) -> list:
    cmap = mpl.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def per_label_bars(
    table: Table, metrics: Sequence[str], path: Path, title: str, *, log_scale: bool = False
) -> Path | None:
    """Horizontal grouped bars: one group per label, one bar per model, one panel per metric.

    Args:
        table: a ``per_label_<family>`` table (label columns label, dataset, model).
        metrics: metrics to draw, one panel each.
        path: PNG to write.
        title: figure title.
        log_scale: logarithmic value axis (relative errors span decades).
    """
    if not table.rows:
        return None
    labels = list(dict.fromkeys(row.labels["group"] for row in table.rows))
    models = list(dict.fromkeys(row.labels["model"] for row in table.rows))
    values = {m: np.full((len(labels), len(models)), np.nan) for m in metrics}
    for row in table.rows:
        i = labels.index(row.labels["group"])
        j = models.index(row.labels["model"])
        for m in metrics:
            cell = row.cells.get(("all", m))
            if cell is not None:
                values[m][i, j] = cell.value
    bar = 0.8 / len(models)
    height = min(_MAX_HEIGHT_INCHES, 1.5 + len(labels) * max(0.35, 0.16 * len(models)))
    # Long measurement names wrap; the label column gets the width of the longest line.
    wrapped = [textwrap.fill(label, _LABEL_WRAP) for label in labels]
    label_inches = 0.075 * max(len(line) for label in wrapped for line in label.splitlines())
    fig = Figure(figsize=(4.5 * len(metrics) + label_inches + 0.5, height), layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)
    colors = _colors(len(models))
    y = np.arange(len(labels))
    for ax, m in zip(axes[0], metrics):
        for j, model in enumerate(models):
            data = values[m][:, j]
            if log_scale:
                data = np.where(data > 0, data, np.nan)
            ax.barh(y - 0.4 + bar * (j + 0.5), data, height=bar, color=colors[j], label=model)
        if len(metrics) > 1:
            ax.set_title(_METRIC_NAMES.get(m, m))
        ax.set_xlabel(_METRIC_NAMES.get(m, m) + (" (log scale)" if log_scale else ""))
        if log_scale and np.isfinite(values[m]).any() and np.nanmax(values[m]) > 0:
            ax.set_xscale("log")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, wrapped)
    axes[0][0].set_ylim(len(labels) - 0.5, -0.5)  # first label on top, no empty margins
    fig.legend(
        *axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=min(4, len(models)), fontsize="small"
    )
    fig.suptitle(title)
    return _save(fig, path)


def box_size_lines(
    table: Table, path: Path, metrics: Sequence[str] = ("recall", "precision", "f1", "iou")
) -> Path | None:
    """Detection metrics per box-size bin, a line per model, the random baseline dashed."""
    if not table.rows:
        return None
    bins = list(dict.fromkeys(row.labels["box area"] for row in table.rows))
    models = list(dict.fromkeys(row.labels["model"] for row in table.rows if row.source != SOURCE_BASELINE))
    baseline = [row for row in table.rows if row.source == SOURCE_BASELINE]
    fig = Figure(figsize=(4.0 * len(metrics) + 2.5, 4.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)
    colors = _colors(len(models))
    x = np.arange(len(bins))
    for ax, m in zip(axes[0], metrics):
        for j, model in enumerate(models):
            series = np.full(len(bins), np.nan)
            for row in table.rows:
                if row.labels["model"] == model and row.source != SOURCE_BASELINE:
                    series[bins.index(row.labels["box area"])] = row.cells[("all", m)].value
            ax.plot(x, series, marker="o", color=colors[j], label=model)
        if baseline:
            series = np.full(len(bins), np.nan)
            for row in baseline:
                series[bins.index(row.labels["box area"])] = row.cells[("all", m)].value
            ax.plot(x, series, linestyle="--", color="black", marker="x", label=baseline[0].labels["model"])
        ax.set_xticks(x, bins, rotation=90)
        ax.set_xlabel("target box area / image area")
        ax.set_title(_METRIC_NAMES.get(m, m))
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    fig.suptitle("Detection by box size (axial)")
    return _save(fig, path)


def error_distributions(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str, path: Path
) -> Path | None:
    """Per model, the spread of per-doc errors: IoU (detection) or relative error (T/L, A/D).

    Parse failures are left out (they have no error; SR counts them); detection failures
    would score IoU 0 and are left out too, so the box shows answered docs only.
    """
    names, data = [], []
    for system, families in systems.items():
        records = [r for r in families.get(family, []) if r.parsed]
        if family == DETECTION:
            values = [100.0 * r.iou for r in records]
        else:
            values = [100.0 * r.rel_error for r in records if r.rel_error > 0]
        if values:
            names.append(system.name)
            data.append(values)
    if not data:
        return None
    fig = Figure(figsize=(9, 1.2 + 0.45 * len(names)), layout="constrained")
    ax = fig.subplots()
    ax.boxplot(data, orientation="horizontal", tick_labels=names, showfliers=True, flierprops={"markersize": 2})
    if family == DETECTION:
        ax.set_xlabel("IoU of answered docs (%)")
        ax.set_xlim(0, 100)
        ax.set_title("Detection: IoU per doc")
    else:
        ax.set_xscale("log")
        ax.axvline(10.0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("relative error of answered docs (%, log scale; dotted: 10 %)")
        ax.set_title(f"{FAMILIES[family].title}: relative error per doc")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def draw_all(report: Report, out_dir: Path) -> list[tuple[str, Path]]:
    """Every figure of the report; returns ``(title, path)`` pairs in report order."""
    figures: list[tuple[str, Path]] = []
    per_label = {t.key: t for t in report.per_label}
    specs = [
        ("per_label_detection", ("recall", "precision", "f1"), "Detection per label (cf. paper Figure 3a)", False),
        ("per_label_tl", ("mre",), "Tumor/lesion size: MRE per label (cf. Figure 3b)", True),
        ("per_label_ad", ("mre",), "Angle/distance: MRE per measurement (cf. Figure 3c)", True),
    ]
    for key, metrics, title, log_scale in specs:
        if key in per_label:
            path = per_label_bars(per_label[key], metrics, out_dir / f"{key}.png", title, log_scale=log_scale)
            if path:
                figures.append((title, path))
    if report.box_size is not None:
        path = box_size_lines(report.box_size, out_dir / "box_size.png")
        if path:
            figures.append(("Detection by box size, with the random-box baseline", path))
    for family in FAMILIES.values():
        title = f"{family.title}: {'IoU' if family.name == DETECTION else 'error'} distribution"
        path = error_distributions(report.systems, family.name, out_dir / f"errors_{family.name}.png")
        if path:
            figures.append((title, path))
    return figures
