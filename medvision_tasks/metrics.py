"""Per-doc scores and their aggregation over a task (the benchmark's definitions, below).

Per doc, :func:`box_scores` (detection) and :func:`measurement_errors` (T/L, A/D) fill the
per-doc record (:class:`medvision_tasks.record.DocRecord`); :func:`aggregate` summarises a task's
records, for lmms-eval's aggregation hooks and for the report alike.

Definitions, with ``n`` all docs of the task and parse failures kept in ``n``:

=========== ====================================================== =========================
metric      value                                                  unit
=========== ====================================================== =========================
recall      mean over all docs of inter / A_target (failure = 0)   %
precision   mean over all docs of inter / A_pred (failure = 0)     %
f1          mean over all docs of 2 inter / (A_pred + A_target)    %
iou         mean over all docs of inter / union (failure = 0)      %
iou>0.5     share of all docs with IoU >= 0.5 (paper: "IoU>0.5")   %
sr          parsed docs / all docs                                 %
mae         mean over *parsed* docs of mean |p - t|                target's unit (mm, degree)
mre         mean over *parsed* docs of mean |p - t| / t            %
mre<0.1     share of all docs with relative error < 0.1            %
=========== ====================================================== =========================

``mae`` and ``mre`` are NaN when no doc parsed (there is no error to average); every metric is
NaN for an empty task.

Every metric is the mean over docs of a per-doc value (:func:`doc_value`; ``None`` for a doc that
does not count, the error of a failure), so lmms-eval's aggregation needs only those small values
per metric key (:func:`mean_of_doc_values`), while the per-doc record is logged once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from medvision_tasks.families import ALL_METRICS, get_family
from medvision_tasks.record import BOX_SCORES, DocRecord

LOWER_IS_BETTER = frozenset({"mae", "mre"})
OVER_PARSED_DOCS = frozenset({"mae", "mre"})
"""Metrics averaged over the parsed docs only; every other metric is a mean over all docs of a task."""

_IOU_THRESHOLD = 0.5
_MRE_THRESHOLD = 0.1


def _finite_floats(values: Sequence[float], name: str, length: int | None = None) -> list[float]:
    """``values`` as floats, checked finite (and of ``length`` when given)."""
    floats = [float(v) for v in values]
    if length is not None and len(floats) != length:
        raise ValueError(f"{name} needs {length} values, got {len(floats)}: {list(values)!r}")
    if not all(math.isfinite(v) for v in floats):
        raise ValueError(f"{name} must be finite, got {list(values)!r}")
    return floats


def box_scores(prediction: Sequence[float], target: Sequence[float]) -> dict[str, float]:
    """Overlap scores of a predicted box against the target box.

    Boxes are relative ``[x0, y0, x1, y1]``: lower-left then upper-right corner, x to the
    right and y up from the image's lower-left corner, in [0, 1] (a prediction outside [0, 1]
    is scored as given, not clipped: the area it claims outside the image lowers precision).

    A predicted box with ``x1 <= x0`` or ``y1 <= y0`` (corners swapped or collapsed) has zero
    area: it overlaps nothing, so all four scores are 0.

    Args:
        prediction: the parsed answer, 4 values.
        target: the ground-truth box, 4 values, positive area.

    Returns:
        ``{"iou", "f1", "precision", "recall"}`` as fractions in [0, 1]:
        IoU = inter / (A_pred + A_target - inter), F1 (Dice) = 2 inter / (A_pred + A_target),
        precision = inter / A_pred, recall = inter / A_target.

    Raises:
        ValueError: wrong number of values, non-finite values, or a target of zero area.
    """
    _finite_floats(prediction, "prediction box", 4)
    scores = box_scores_of_many([prediction], target)
    return {name: float(values[0]) for name, values in scores.items()}


def box_scores_of_many(predictions: Sequence[Sequence[float]] | np.ndarray, target: Sequence[float]) -> dict:
    """:func:`box_scores` of many predicted boxes against one target, as arrays (the random-box baseline).

    Args:
        predictions: shape ``(K, 4)``, relative ``[x0, y0, x1, y1]`` rows, finite.
        target: the ground-truth box, 4 values, positive area.

    Returns:
        ``{"iou", "f1", "precision", "recall"}``, each an array of K fractions; a row with
        ``x1 <= x0`` or ``y1 <= y0`` scores 0 everywhere.

    Raises:
        ValueError: a target of zero area or with non-finite values, or predictions not of shape ``(K, 4)``.
    """
    tx0, ty0, tx1, ty1 = _finite_floats(target, "target box", 4)
    if tx1 <= tx0 or ty1 <= ty0:
        raise ValueError(f"target box {list(target)!r} has zero area (needs x1 > x0 and y1 > y0)")
    boxes = np.asarray(predictions, dtype=float)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"predicted boxes must have shape (K, 4), got {boxes.shape}")
    px0, py0, px1, py1 = boxes.T
    valid = (px1 > px0) & (py1 > py0)
    with np.errstate(over="ignore"):  # corners near 1e308: an infinite area, which scores 0
        pred_area = np.where(valid, (px1 - px0) * (py1 - py0), 0.0)
    target_area = (tx1 - tx0) * (ty1 - ty0)
    overlap_x = np.maximum(0.0, np.minimum(px1, tx1) - np.maximum(px0, tx0))
    overlap_y = np.maximum(0.0, np.minimum(py1, ty1) - np.maximum(py0, ty0))
    inter = np.where(valid, overlap_x * overlap_y, 0.0)
    # The target's area is positive, so no denominator can be 0; an invalid row's own area is never divided by.
    # A box whose area underflows to 0 (sides near 5e-324) overlaps nothing either: precision 0, not 0/0.
    has_area = pred_area > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(has_area, inter / np.where(has_area, pred_area, 1.0), 0.0)
    return {
        "iou": inter / (pred_area + target_area - inter),
        "f1": 2.0 * inter / (pred_area + target_area),
        "precision": precision,
        "recall": inter / target_area,
    }


def measurement_errors(prediction: Sequence[float], target: Sequence[float]) -> tuple[float, float]:
    """Absolute and relative error of a measurement, averaged over its values.

    T/L compares ``[major, minor]`` in mm value by value (no reordering); A/D one value in mm
    or degrees.

    Args:
        prediction: the parsed answer.
        target: the ground truth, same length, every value > 0.

    Returns:
        ``(abs_error, rel_error)``: mean of ``|p - t|`` (target's unit) and mean of
        ``|p - t| / t`` (a fraction, 0.1 = 10 %); inf when a float overflows (a prediction near
        1e308).

    Raises:
        ValueError: lengths differ or are 0, a value is not finite, or a target is <= 0. The
            relative error is undefined at t = 0 (the benchmark had no guard); the document
            loader rejects such docs before inference, so reaching here is a bug.
    """
    if len(prediction) != len(target) or len(target) == 0:
        raise ValueError(
            f"prediction {list(prediction)!r} and target {list(target)!r} need the same, non-zero number of values"
        )
    predicted = np.asarray(_finite_floats(prediction, "prediction"))
    truth = np.asarray(_finite_floats(target, "target"))
    if np.any(truth <= 0):
        raise ValueError(f"target values must be > 0 for a relative error, got {list(target)!r}")
    with np.errstate(over="ignore"):  # a prediction near 1e308 gives inf: the caller scores it a failure
        errors = np.abs(predicted - truth)
        return float(np.mean(errors)), float(np.mean(errors / truth))


def _score(record: DocRecord, field: str) -> float:
    """A parsed doc's score; a record of another family has none (a caller's mix-up)."""
    value = getattr(record, field)
    if value is None:
        raise ValueError(f"{record.doc_key}: a parsed {record.family} record has no {field!r}")
    return value


def doc_value(record: DocRecord, metric: str) -> float | None:
    """One doc's share of a task's number: the mean over docs of this is :func:`aggregate`.

    Args:
        record: a per-doc record.
        metric: a metric of some family (:data:`medvision_tasks.families.ALL_METRICS`).

    Returns:
        In the metric's unit (percent, or the target's unit for ``mae``): the doc's score,
        100 or 0 for ``sr`` and the ``>``/``<`` shares; ``None`` for ``mae``/``mre`` of a doc
        that did not parse (it has no error and is left out of the mean).

    Raises:
        ValueError: unknown metric, or a parsed record without the score the metric needs.
    """
    if metric not in ALL_METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {sorted(ALL_METRICS)}")
    if metric == "sr":
        return 100.0 if record.parsed else 0.0
    if metric in BOX_SCORES:
        # A parse failure scores 0 and stays in the denominator.
        return 100.0 * _score(record, metric) if record.parsed else 0.0
    if metric == "iou>0.5":
        return 100.0 if record.parsed and _score(record, "iou") >= _IOU_THRESHOLD else 0.0
    if metric == "mre<0.1":
        return 100.0 if record.parsed and _score(record, "rel_error") < _MRE_THRESHOLD else 0.0
    if not record.parsed:
        return None  # mae / mre: parse failures are left out of the mean
    return _score(record, "abs_error") if metric == "mae" else 100.0 * _score(record, "rel_error")


def mean_of_doc_values(values: Sequence[float | None], where: str = "per-doc values") -> float:
    """The task's number from its docs' :func:`doc_value`: the mean of those that are not None.

    Returns:
        NaN when no value is left (no docs, or ``mae``/``mre`` with no parsed doc).

    Raises:
        ValueError: a value that is neither None nor a finite number (names ``where`` and the index).
    """
    kept = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} #{index}: expected a finite number or null, got {value!r}")
        kept.append(float(value))
    if not kept:
        return float("nan")
    with np.errstate(over="ignore"):
        mean = float(np.mean(kept))
    if not math.isfinite(mean):
        # Finite values whose sum overflows (errors near 1e308): scaled to [-1, 1], their mean is finite.
        scale = max(abs(value) for value in kept)
        mean = scale * float(np.mean(np.asarray(kept) / scale))
    return mean


def has_finite_values(record: DocRecord) -> bool:
    """Whether every metric of the record's family has a finite doc value (or none, for a failure's error).

    A parsed answer can hold finite numbers whose error or percentage overflows a float (an
    answer near 1e308); the scorer makes such an answer a failure, so no non-finite number
    reaches a record or an aggregate.
    """
    for metric in get_family(record.family).metrics:
        value = doc_value(record, metric)
        if value is not None and not math.isfinite(value):
            return False
    return True


def aggregate(records: Sequence[DocRecord], metric: str) -> float:
    """One task-level number from the per-doc records (definitions in the module docstring).

    Args:
        records: per-doc records (:class:`medvision_tasks.record.DocRecord`); unparsed docs'
            scores are not read.
        metric: a metric of some family (:data:`medvision_tasks.families.ALL_METRICS`).

    Returns:
        Percent for every metric but ``mae``, which is in the target's unit. NaN for no
        records, and for ``mae``/``mre`` when no doc parsed.

    Raises:
        ValueError: unknown metric, or a parsed record without the score the metric needs (a
            metric of another family).
    """
    if metric not in ALL_METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {sorted(ALL_METRICS)}")
    return mean_of_doc_values([doc_value(record, metric) for record in records])
