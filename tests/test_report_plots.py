"""Figures a reader can trust (issue 15): axes from zero or a labelled log axis from a floor, bounded sizes, notes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medvision_tasks.report.plots import (
    MAX_BARS,
    box_size_figure,
    error_figure,
    log_floor,
    per_label_figure,
)
from medvision_tasks.report.tables import SOURCE_BASELINE, Cell, Column, Row, Table


def _per_label(rows, metrics=("mre", "sr")):
    """rows: (group, model, docs, {metric: value})."""
    table = Table(
        "per_label_tl", "t", "", ["group", "datasets", "model", "docs"], [Column("all", "", m) for m in metrics]
    )
    for group, model, docs, values in rows:
        cells = {("all", m): Cell(v) for m, v in values.items()}
        table.rows.append(Row({"group": group, "datasets": "D", "model": model, "docs": str(docs)}, cells))
    return table


def _bars(ax):
    return [patch for patch in ax.patches]


def test_relative_errors_use_a_labelled_log_axis_whose_bars_start_at_the_floor():
    # The case: a 55 % MRE next to 2 % ones must be a long bar, not a stub at the axis origin.
    table = _per_label(
        [
            ("a @ CT (A)", "good", 10, {"mre": 2.0, "sr": 100.0}),
            ("b @ CT (A)", "good", 10, {"mre": 3.0, "sr": 100.0}),
            ("a @ CT (A)", "bad", 10, {"mre": 55.0, "sr": 100.0}),
            ("b @ CT (A)", "bad", 10, {"mre": 300.0, "sr": 100.0}),
        ]
    )
    drawn = per_label_figure(table, ["mre"], "t", log_scale=True)
    (ax,) = drawn.figure.axes
    assert ax.get_xscale() == "log"
    assert ax.get_xlim()[0] == pytest.approx(1.0)  # the 1 % floor, not the smallest value (2 %)
    assert "log scale; bars start at 1 %" in ax.get_xlabel()
    lefts = {round(bar.get_x(), 9) for bar in _bars(ax)}
    assert lefts == {1.0}
    ends = sorted(bar.get_x() + bar.get_width() for bar in _bars(ax))
    assert ends == pytest.approx([2.0, 3.0, 55.0, 300.0])
    # the axis prints plain numbers, not powers of ten
    ax.figure.canvas.draw()
    assert {t.get_text() for t in ax.get_xticklabels() if t.get_text()} >= {"1", "10", "100"}


def test_log_floor_drops_a_decade_below_one_percent_only_when_needed():
    assert log_floor(np.array([55.0, 2.0])) == 1.0
    assert log_floor(np.array([0.3, 12.0, math.nan])) == pytest.approx(0.1)
    assert log_floor(np.array([0.0, 0.04])) == pytest.approx(0.01)
    assert log_floor(np.array([math.nan])) == 1.0


def test_percent_axes_run_from_zero_to_one_hundred():
    table = _per_label(
        [("a @ CT (A)", "m", 5, {"recall": 40.0, "sr": 100.0}), ("b @ CT (A)", "m", 5, {"recall": 0.0, "sr": 100.0})],
        metrics=("recall", "sr"),
    )
    drawn = per_label_figure(table, ["recall"], "t")
    (ax,) = drawn.figure.axes
    assert ax.get_xscale() == "linear" and ax.get_xlim() == (0.0, 100.0)
    assert {bar.get_x() for bar in _bars(ax)} == {0.0}


def test_many_groups_show_the_largest_within_a_bounded_size_and_say_so():
    models = [f"model {k}" for k in range(3)]
    rows = [
        (f"group {g:03d} @ CT (A)", model, 10 + g, {"mre": 10.0 + g, "sr": 100.0})
        for g in range(300)
        for model in models
    ]
    drawn = per_label_figure(_per_label(rows), ["mre"], "t", log_scale=True)
    (ax,) = drawn.figure.axes
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert len(shown) == 30 == len(_bars(ax)) / 3 and 30 * 3 <= MAX_BARS
    assert shown[0].startswith("group 270") and shown[-1].startswith("group 299")  # the most docs
    assert drawn.notes[0] == "Showing the 30 groups with the most docs of 300; every group is in the per-group table."
    width, height = drawn.figure.get_size_inches()
    assert height < 20 and width < 12


def test_models_with_nothing_to_draw_are_named_not_given_an_empty_legend_entry():
    table = _per_label(
        [
            ("a @ CT (A)", "answers", 4, {"mre": 20.0, "sr": 100.0}),
            ("a @ CT (A)", "never parses", 4, {"mre": math.nan, "sr": 0.0}),
        ]
    )
    drawn = per_label_figure(table, ["mre"], "t", log_scale=True)
    (legend,) = drawn.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["answers"]
    assert "Nothing to draw (no parsed answer) for: never parses." in drawn.notes
    # detection: a model that never parsed scores 0 everywhere, which is nothing to draw either
    detection = _per_label(
        [
            ("a @ CT (A)", "answers", 4, {"recall": 50.0, "sr": 100.0}),
            ("a @ CT (A)", "never parses", 4, {"recall": 0.0, "sr": 0.0}),
        ],
        metrics=("recall", "sr"),
    )
    drawn = per_label_figure(detection, ["recall"], "t")
    assert [t.get_text() for t in drawn.figure.legends[0].get_texts()] == ["answers"]


def _box_table(series):
    """series: model -> [(bin label, iou)]; the last model is the baseline."""
    table = Table("box_size", "t", "", ["box area", "model", "docs"], [Column("all", "", "iou")])
    names = list(series)
    for name in names:
        for label, value in series[name]:
            source = SOURCE_BASELINE if name == names[-1] else "run"
            cells = {("all", m): Cell(value) for m in ("recall", "precision", "f1", "iou")}
            cells[("all", "sr")] = Cell(0.0 if name == "mute" else 100.0)
            table.rows.append(Row({"box area": label, "model": name, "docs": "5"}, cells, source))
    return table


def test_identical_box_size_lines_stay_apart_and_ticks_never_crowd():
    same = [("<5%", 40.0), ("5–10%", 50.0), ("≥90%", 60.0)]
    drawn = box_size_figure(_box_table({"a": same, "b": same, "mute": same, "random": same}))
    ax = drawn.figure.axes[0]
    lines = ax.get_lines()
    xs = [tuple(line.get_xdata()) for line in lines]
    assert len(set(xs)) == 3  # offset sideways: equal values do not hide each other
    assert max(abs(a - b) for a, b in zip(xs[0], xs[-1])) == pytest.approx(2.0)  # within the 5 % bin
    assert lines[0].get_linewidth() > lines[1].get_linewidth()  # the first drawn wider: the second shows on top
    assert lines[0].get_markersize() > lines[1].get_markersize() and lines[0].get_markerfacecolor() == "none"
    assert "Identical numbers in every bin: a = b = random." in drawn.notes
    assert "Nothing to draw (no parsed answer) for: mute." in drawn.notes
    assert "mute" not in [t.get_text() for t in drawn.figure.legends[0].get_texts()]
    assert len({line.get_marker() for line in lines}) == 3 and lines[-1].get_color() == "black"
    assert ax.get_ylim() == (0.0, 100.0) and ax.get_xlim() == (0.0, 100.0)
    assert list(ax.get_xticks()) == list(range(0, 101, 10))  # 11 ticks whatever the number of bins


def test_error_spread_names_models_without_an_answer():
    from medvision_tasks.report.grouping import System
    from tests.helpers.records import measurement_record, typed

    answered = typed([measurement_record(f"a{i}", "D", "tl", "size", errors=(1.0, 0.1 * (i + 1))) for i in range(4)])
    silent = typed([measurement_record(f"s{i}", "D", "tl", "size", errors=None) for i in range(4)])
    systems = {System("ok", "w"): {"tl": answered}, System("mute", "w"): {"tl": silent}}
    drawn = error_figure(systems, "tl")
    (ax,) = drawn.figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ok (w) · plain"]
    assert drawn.notes == ["No parsed answer to draw for: mute (w) · plain."]
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] == pytest.approx(1.0)
