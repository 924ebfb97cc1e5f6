"""Seeing or computing: the task variants beside the full task, and each model's error split in two.

- ``variants_<family>``: per model, the full task (plain, CoT) beside its controls: the
  coordinate-only variant (the model gives the points, the plugin measures them: seeing without
  arithmetic) and the no-image variants (the image withheld: what size priors alone score),
  pooled over docs as lmms-eval's task numbers are. The chance-level ``medvision_random`` model
  is a row of its own when it was run.
- ``error_split``: per model and question type (box, T/L size, distance, angle), the step
  analysis of its CoT and coordinate-only answers (:mod:`medvision_tasks.steps`): how often its
  points could be read, how far they lie from the true points, how far its answer lies from what
  its own points give, how much of the final error each part explains, and a verdict.

A doc *sees right* when its points lie within 10 % of the true segments' size, and *computes
right* when its answer lies within 10 % of the target from the value its points give (the
benchmark's own line, MRE < 0.1: :data:`medvision_tasks.steps.RIGHT`). A model sees (computes)
right when at least half of its docs with the part known do; the verdict reads
``computes right|wrong, sees right|wrong``. The share of the final error each part explains is
pooled over docs: the sum of the parts relative to the target, then each part's share of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from medvision_tasks.families import DETECTION, FAMILIES
from medvision_tasks.metrics import aggregate
from medvision_tasks.record import DocRecord
from medvision_tasks.report.grouping import System, doc_identity
from medvision_tasks.report.tables import MISSING, Cell, Column, Row, Table
from medvision_tasks.steps import Frame, relative_value_error
from medvision_tasks.variants import VARIANTS

VARIANT_METRICS = {DETECTION: ("iou", "f1", "sr"), "measurement": ("mre", "mre<0.1", "sr")}
"""Columns of the variants tables, per variant: detection's overlap, measurements' relative error (MAE would mix
mm and degrees across A/D)."""
QUESTIONS = {
    "box": "Detection (box)",
    "size": "Tumor/lesion size",
    "distance": "A/D distance",
    "angle": "A/D angle",
}
"""Question types of the error split, by the records' ``metric_type``, in table order."""
UNITS = {"box": "mm", "size": "mm", "distance": "mm", "angle": "degrees"}
"""Unit of the arithmetic error by question type (a box's: the mean corner distance in mm)."""
MAJORITY = 0.5
"""A model sees (computes) right when at least this share of its docs with that part known does."""
RANDOM_MODEL = "medvision_random"
NO_ERROR = 1e-4
"""Relative parts summing to less than this per doc (0.01 % of the target) are no error to explain: the rounding
of exact answers printed with a few decimals."""


def _pooled(systems: Mapping[System, Mapping[str, list[DocRecord]]]) -> dict[str, dict[System, list[DocRecord]]]:
    """Per family, every system's records."""
    by_family: dict[str, dict[System, list[DocRecord]]] = {}
    for system, families in systems.items():
        for family, records in families.items():
            if records:
                by_family.setdefault(family, {})[system] = records
    return by_family


def variants_table(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str) -> Table | None:
    """The full task beside its coordinate-only and no-image variants, per model; None when no model ran a variant.

    Rows are models (:attr:`.grouping.System.model_name`), column groups the variants they ran, in
    the variant table's order; every number is pooled over the variant's docs.
    """
    runs = _pooled(systems).get(family, {})
    if not any(not system.is_full_task for system in runs):
        return None
    metrics = VARIANT_METRICS.get(family, VARIANT_METRICS["measurement"])
    present = [name for name in VARIANTS if any(s.task_variant == name for s in runs)]
    table = Table(
        key=f"variants_{family}",
        title=f"{FAMILIES[family].title}: the full task beside its controls",
        caption=(
            "Per model, each variant's numbers pooled over its docs, as lmms-eval's task numbers (in %). Plain and "
            "CoT are the benchmark's questions; 'coordinates only' asks for the points and the plugin measures them "
            "with the stated sizes (seeing without arithmetic); 'no image' asks the same question with the image "
            "withheld (what size priors alone score). Rows of medvision_random are the chance level."
        ),
        label_columns=["model", "docs"],
        columns=[Column(name, VARIANTS[name].title, metric) for name in present for metric in metrics],
    )
    by_model: dict[str, dict[str, list[DocRecord]]] = {}
    for system, records in sorted(runs.items()):
        by_model.setdefault(system.model_name, {})[system.task_variant] = records
    differing = []
    for model, variants in by_model.items():
        counts = [len(variants[name]) for name in present if name in variants]
        docs = f"{counts[0]:,}" if len(set(counts)) == 1 else " / ".join(f"{n:,}" for n in counts)
        row = Row(labels={"model": model, "docs": docs})
        for name, records in variants.items():
            for metric in metrics:
                row.cells[(name, metric)] = Cell(aggregate(records, metric), n_docs=len(records))
        table.rows.append(row)
        doc_sets = {frozenset(doc_identity(r) for r in records) for records in variants.values()}
        if len(doc_sets) > 1:
            differing.append(model)
    if differing:
        table.notes.append(
            f"Variants of {', '.join(differing)} were run on different docs (a --limit run?): compare with care."
        )
    if not any(model.startswith(RANDOM_MODEL) for model in by_model):
        table.notes.append(
            f"No {RANDOM_MODEL} run: run it on the same tasks for the chance level (--model {RANDOM_MODEL})."
        )
    return table


@dataclass(frozen=True)
class Split:
    """One model's error split for one question type (module docstring); shares and means are None when undefined.

    Attributes:
        docs: docs with a step analysis; read: of them, docs whose points could be read.
        localisation_mm: mean localisation error (mm) over the docs with points and true points.
        sees_right: share of those docs whose points lie within 10 % of the true segments' size.
        arithmetic: mean arithmetic error over the docs with points and a readable answer.
        computes_right: share of those docs whose answer lies within 10 % of the target from their points' value.
        explained_by_localisation: the error from the points' share of both parts, pooled over docs.
        final_rel: mean relative error of the parsed final answers.
        coordinates_only: coordinate-only answers (the plugin did the arithmetic).
    """

    docs: int
    read: int
    localisation_mm: float | None
    sees_right: float | None
    arithmetic: float | None
    computes_right: float | None
    explained_by_localisation: float | None
    final_rel: float | None
    coordinates_only: bool

    @property
    def verdict(self) -> str:
        """``computes right|wrong, sees right|wrong``; a part that is unknown says why."""
        sees = _word(self.sees_right, "sees", "no ground-truth points" if self.read else "no readable points")
        if self.coordinates_only:
            return f"computed by the plugin, {sees}"
        return f"{_word(self.computes_right, 'computes', 'no readable points and answer')}, {sees}"


def _word(share: float | None, verb: str, unknown: str) -> str:
    if share is None:
        return f"{verb}: unknown ({unknown})"
    return f"{verb} {'right' if share >= MAJORITY else 'wrong'}"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def split_of(records: Sequence[DocRecord]) -> Split | None:
    """The error split of one model's records of one question type; None when none has a step analysis."""
    analysed = [r for r in records if r.steps is not None]
    if not analysed:
        return None
    read = [r for r in analysed if r.steps.points is not None]
    located = [r.steps for r in read if r.steps.localisation_rel is not None]
    computed = [r.steps for r in read if r.steps.arithmetic_rel is not None]
    coordinates_only = all(r.steps.status is None for r in analysed)
    parts = [
        (s.error_from_points_rel, 0.0 if coordinates_only else s.arithmetic_rel)
        for s in (r.steps for r in read)
        if s.error_from_points_rel is not None and (coordinates_only or s.arithmetic_rel is not None)
    ]
    total = sum(a + b for a, b in parts)
    finals = [_final_rel(r) for r in analysed if r.parsed]
    return Split(
        docs=len(analysed),
        read=len(read),
        localisation_mm=_mean([s.localisation_error for s in located]),
        sees_right=_mean([1.0 if s.sees_right else 0.0 for s in located]) if located else None,
        arithmetic=_mean([s.arithmetic_error for s in computed]),
        computes_right=_mean([1.0 if s.computes_right else 0.0 for s in computed]) if computed else None,
        explained_by_localisation=sum(a for a, _ in parts) / total if total > NO_ERROR * len(parts) else None,
        final_rel=_mean([f for f in finals if f is not None]),
        coordinates_only=coordinates_only,
    )


def _final_rel(record: DocRecord) -> float | None:
    """The final answer's error relative to the target, as the split measures its parts (a box: over its diagonal)."""
    if record.metric_type != "box":
        return record.rel_error
    value = relative_value_error(record.prediction, record.target, record.target, "box", Frame(*record.steps.frame_mm))
    return value if math.isfinite(value) else None


SEEING, COMPUTING, EXPLAINED, FINAL = "seeing", "computing", "explained", "final"
SPLIT_COLUMNS = [
    Column(SEEING, "seeing (the points)", "read (%)"),
    Column(SEEING, "seeing (the points)", "error (mm)"),
    Column(SEEING, "seeing (the points)", "right (%)"),
    Column(COMPUTING, "computing (the arithmetic)", "error"),
    Column(COMPUTING, "computing (the arithmetic)", "right (%)"),
    Column(EXPLAINED, "final error explained by", "localisation (%)"),
    Column(EXPLAINED, "final error explained by", "arithmetic (%)"),
    Column(FINAL, "final answer", "relative error (%)"),
]


def error_split_table(systems: Mapping[System, Mapping[str, list[DocRecord]]]) -> Table | None:
    """Per question type and model, the step analysis of its CoT and coordinate-only answers; None when there is none."""
    table = Table(
        key="error_split",
        title="Seeing or computing: each model's error split into localisation and arithmetic",
        caption=(
            "CoT and coordinate-only answers. Seeing: the share of docs whose points could be read (every CoT step "
            "'<step-k-answer>' holding its (x, y) pairs), the mean distance in mm from each point to its true point "
            "(segment ends matched in either order), and the share of docs whose points lie within 10 % of the true "
            "segments' mean length. Computing: the final answer against the value its own points give with the "
            "stated image and pixel size (mm or degrees; a box: mean corner distance in mm), and the share of docs "
            "where that is within 10 % of the target. Explained: the two parts relative to the target (the value of "
            "the points against the target, the answer against that value), pooled over docs, each part's share "
            "(none when both stay under 0.01 % of the target). Final: the answer against the target (a box: corner distance over its "
            "diagonal). Verdict: right when at least half of the docs are."
        ),
        label_columns=["question", "model", "docs", "verdict"],
        columns=list(SPLIT_COLUMNS),
    )
    units_noted = set()
    splittable: list[bool] = []
    for metric_type, question in QUESTIONS.items():
        for system in sorted(systems):
            records = [r for records in systems[system].values() for r in records if r.metric_type == metric_type]
            split = split_of(records)
            if split is None:
                continue
            units_noted.add(metric_type)
            explained = split.explained_by_localisation
            splittable.append(split.read > 0)
            values = {
                (SEEING, "read (%)"): 100.0 * split.read / split.docs,
                (SEEING, "error (mm)"): split.localisation_mm,
                (SEEING, "right (%)"): None if split.sees_right is None else 100.0 * split.sees_right,
                (COMPUTING, "error"): split.arithmetic,
                (COMPUTING, "right (%)"): None if split.computes_right is None else 100.0 * split.computes_right,
                (EXPLAINED, "localisation (%)"): None if explained is None else 100.0 * explained,
                (EXPLAINED, "arithmetic (%)"): None if explained is None else 100.0 * (1.0 - explained),
                (FINAL, "relative error (%)"): None if split.final_rel is None else 100.0 * split.final_rel,
            }
            table.rows.append(
                Row(
                    labels={
                        "question": question,
                        "model": system.name,
                        "docs": f"{split.docs:,}",
                        "verdict": split.verdict,
                    },
                    cells={
                        column.key: Cell(float("nan") if values[column.key] is None else values[column.key])
                        for column in SPLIT_COLUMNS
                    },
                )
            )
    if not table.rows:
        return None
    if not any(splittable):
        table.notes.append(
            "No answer held points the step analysis could read, so no error is split and no figure is drawn."
        )
    table.notes.append(
        "Seeing error in mm; computing error in "
        + ", ".join(f"{UNITS[t]} ({QUESTIONS[t]})" for t in QUESTIONS if t in units_noted)
        + f". {MISSING}: not known (no readable points, no ground-truth points in the docs, or no readable answer)."
    )
    table.notes.append(
        "Coordinate-only rows have no arithmetic of the model's: the plugin measures the points, so all of their "
        "final error comes from the points."
    )
    return table
