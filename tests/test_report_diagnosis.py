"""Seeing or computing in the report: the variants beside the full task, and the error split, from hand-made records.

Every number below is derived by hand from the step analyses written here (their own derivation
from answers is tests/test_steps.py's).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from medvision_tasks.record import DocRecord
from medvision_tasks.report.build import ReportOptions, build_report
from medvision_tasks.report.diagnosis import error_split_table, split_of, variants_table
from medvision_tasks.report.grouping import System
from medvision_tasks.report.plots import error_split_figure
from medvision_tasks.report.runs import Run, TaskRun
from medvision_tasks.steps import StepAnalysis
from tests.helpers.records import measurement_record

FRAME = (64.0, 64.0)


def _record(key: str, *, rel_error: float | None, steps: StepAnalysis | None, variant: str = "cot") -> DocRecord:
    parsed = rel_error is not None
    base = DocRecord.from_dict(
        measurement_record(key, "D", "tl", "size", errors=(rel_error * 10, rel_error) if parsed else None)
    )
    return replace(base, variant=variant, steps=steps)


def _steps(loc_mm, loc_rel, arith, arith_rel, from_points_rel, *, points=True, status=("ok", "ok")):
    return StepAnalysis(
        status=status,
        points=((0.1, 0.1), (0.2, 0.2), (0.3, 0.3), (0.4, 0.4)) if points else None,
        true_points=((0.1, 0.1), (0.2, 0.2), (0.3, 0.3), (0.4, 0.4)),
        frame_mm=FRAME,
        points_value=(10.0, 5.0) if points else None,
        localisation_error=loc_mm,
        localisation_rel=loc_rel,
        arithmetic_error=arith,
        arithmetic_rel=arith_rel,
        error_from_points=None if from_points_rel is None else 10 * from_points_rel,
        error_from_points_rel=from_points_rel,
    )


# Model A, CoT: two docs whose points were read (both within 10 % of the true size; arithmetic off by
# 30 % and 20 % of the target), one whose steps were malformed.
COT = [
    _record("a", rel_error=0.35, steps=_steps(0.5, 0.05, 3.0, 0.3, 0.1)),
    _record("b", rel_error=0.2, steps=_steps(0.2, 0.02, 2.0, 0.2, 0.0)),
    _record("c", rel_error=0.5, steps=_steps(None, None, None, None, None, points=False, status=("malformed", "ok"))),
]
# Model B, coordinates only: points 30 % and 5 % of the true size off; the plugin measured them.
COORDS = [
    _record("a", rel_error=0.2, steps=_steps(3.0, 0.3, None, None, 0.2, status=None), variant="coords"),
    _record("b", rel_error=0.1, steps=_steps(0.5, 0.05, None, None, 0.1, status=None), variant="coords"),
]
A_COT = System("A", "A", task_variant="cot")
B_COORDS = System("B", "B", task_variant="coords")


def test_the_split_of_a_cot_model():
    split = split_of(COT)
    assert (split.docs, split.read) == (3, 2)
    assert split.localisation_mm == pytest.approx(0.35)  # (0.5 + 0.2) / 2
    assert split.sees_right == 1.0  # 0.05 and 0.02 are below 0.1
    assert split.arithmetic == pytest.approx(2.5)  # (3 + 2) / 2
    assert split.computes_right == 0.0  # 0.3 and 0.2 are not
    # The error from the points over both parts, pooled: (0.1 + 0) / (0.1 + 0.3 + 0 + 0.2) = 1/6.
    assert split.explained_by_localisation == pytest.approx(1 / 6)
    assert split.final_rel == pytest.approx((0.35 + 0.2 + 0.5) / 3)
    assert split.verdict == "computes wrong, sees right"


def test_the_split_of_coordinate_only_answers_and_a_tie():
    split = split_of(COORDS)
    assert split.coordinates_only and split.arithmetic is None and split.computes_right is None
    assert split.sees_right == 0.5  # one of two: half the docs is a majority
    assert split.explained_by_localisation == 1.0
    assert split.verdict == "computed by the plugin, sees right"
    assert split_of([replace(r, steps=None) for r in COT]) is None  # plain answers have no split


def test_the_error_split_table_reads_as_the_split():
    table = error_split_table({A_COT: {"tl": COT}, B_COORDS: {"tl": COORDS}})
    rows = {row.labels["model"]: row for row in table.rows}
    a = rows["A · CoT"]
    assert a.labels["question"] == "Tumor/lesion size" and a.labels["docs"] == "3"
    assert a.labels["verdict"] == "computes wrong, sees right"
    assert a.cells[("seeing", "read (%)")].value == pytest.approx(200 / 3)
    assert a.cells[("explained", "localisation (%)")].value == pytest.approx(100 / 6)
    assert a.cells[("explained", "arithmetic (%)")].value == pytest.approx(500 / 6)
    b = rows["B · coordinates only"]
    assert b.labels["verdict"] == "computed by the plugin, sees right"
    assert b.cells[("computing", "error")].value != b.cells[("computing", "error")].value  # NaN: not the model's
    assert error_split_table({System("P", "P"): {"tl": [replace(r, steps=None) for r in COT]}}) is None


def test_the_figure_splits_each_bar_and_places_each_doc():
    drawn = error_split_figure({A_COT: {"tl": COT}, B_COORDS: {"tl": COORDS}})
    bars, scatter = drawn.figure.axes[0], drawn.figure.axes[1]
    widths = [round(patch.get_width(), 6) for patch in bars.patches]
    assert widths == [round(100 / 6, 6), round(500 / 6, 6), 100.0, 0.0]  # A: 1/6 localisation; B: all of it
    (line,) = scatter.get_lines()[:1]
    assert list(line.get_xdata()) == pytest.approx([5.0, 2.0]) and list(line.get_ydata()) == pytest.approx([30.0, 20.0])
    assert any("Coordinate-only rows are in the bars only" in note for note in drawn.notes)


def test_answers_without_readable_points_get_a_note_and_no_figure():
    unread = [COT[2], replace(COT[2], doc_key="d")]  # malformed steps: no points read
    table = error_split_table({A_COT: {"tl": unread}})
    (row,) = table.rows
    assert row.cells[("seeing", "read (%)")].value == 0.0
    assert table.notes[0] == (
        "No answer held points the step analysis could read, so no error is split and no figure is drawn."
    )
    assert error_split_figure({A_COT: {"tl": unread}}) is None
    # One readable doc anywhere and the figure is drawn, the note is not given.
    assert error_split_figure({A_COT: {"tl": COT}}) is not None
    assert not any("no figure is drawn" in note for note in error_split_table({A_COT: {"tl": COT}}).notes)


def _run(tasks: dict[str, tuple[str, list[DocRecord]]], checkpoint: str) -> Run:
    run = Run(model=checkpoint, model_id=checkpoint, model_args="", date="20240101_000000", results_path=Path("r"))
    run.checkpoint = checkpoint
    for task, (variant, records) in tasks.items():
        run.tasks[task] = TaskRun(task, "tl", variant, {}, records, Path("s"), protocol="published")
    return run


def test_controls_stay_out_of_the_paper_tables_and_sit_beside_the_full_task():
    plain = [_record(k, rel_error=e, steps=None, variant="plain") for k, e in (("a", 0.1), ("b", 0.3))]
    blind = [_record(k, rel_error=e, steps=None, variant="no_visual") for k, e in (("a", 0.5), ("b", 0.7))]
    runs = [
        _run({"medvision_tl": ("plain", plain), "medvision_tl_no_visual": ("no_visual", blind)}, "M"),
        _run({"medvision_tl_coords": ("coords", COORDS)}, "M"),
        _run({"medvision_tl": ("plain", plain)}, "medvision_random"),
    ]
    report = build_report(runs, ReportOptions(n_bootstrap=0))
    table3 = next(t for t in report.headline if t.key == "table3_tumor_lesion_size")
    assert [row.labels["model"] for row in table3.rows] == [
        "M · published · plain",
        "medvision_random · published · plain",
    ]
    variants = next(t for t in report.diagnosis if t.key == "variants_tl")
    assert [column.subset for column in variants.columns if column.metric == "mre"] == ["plain", "coords", "no_visual"]
    row = next(r for r in variants.rows if r.labels["model"] == "M · published")
    assert row.cells[("plain", "mre")].value == pytest.approx(20.0)  # (10 + 30) / 2 %
    assert row.cells[("no_visual", "mre")].value == pytest.approx(60.0)
    assert row.cells[("coords", "mre")].value == pytest.approx(15.0)
    assert not any("No medvision_random run" in note for note in variants.notes)
    assert [t.key for t in report.diagnosis] == ["variants_tl", "error_split"]
    assert variants_table(report.full_systems, "tl") is None  # the full tasks alone have no controls
