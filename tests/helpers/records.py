"""Per-doc records as lmms-eval logs them (JSON objects), with hand-chosen scores.

The report fixtures write them into samples files; tests of the metrics and the bootstrap read
them with :meth:`DocRecord.from_dict` (:func:`typed`), as lmms-eval's aggregation and the report
do. Nothing here calls the code that scores answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from medvision_tasks.record import DocRecord


def _common(key: str, dataset: str, family: str, label_name: str, plane: str) -> dict:
    return {
        "doc_key": key,
        "dataset": dataset,
        "family": family,
        "task_id": "01",
        "label": None,
        "label_name": label_name,
        "plane": plane,
        "modality": "",
        "image_policy": "native",
    }


def detection_record(
    key: str,
    dataset: str,
    label_name: str,
    *,
    plane: str = "axial",
    scores=None,
    area: float = 0.1,
    modality: str = "CT",
    label: int = 1,
) -> dict:
    """A detection record; ``scores`` = (recall, precision, f1, iou) or None for a parse failure."""
    parsed = scores is not None
    recall, precision, f1, iou = scores if parsed else (0.0, 0.0, 0.0, 0.0)
    return {
        **_common(key, dataset, "detection", label_name, plane),
        "label": label,
        "modality": modality,
        "metric_type": "box",
        "unit": None,
        "slice_size": [100, 100],
        "image_size": [100, 100],
        "pixel_size": None,
        "parsed": parsed,
        "prediction": [0.1, 0.1, 0.5, 0.5] if parsed else None,
        "target": [0.2, 0.2, 0.6, 0.6],
        "iou": iou,
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "box_area_fraction": area,
    }


def measurement_record(
    key: str,
    dataset: str,
    family: str,
    metric_type: str,
    *,
    errors=None,
    plane: str = "axial",
    label_name: str = "m",
    unit: str = "mm",
) -> dict:
    """A T/L or A/D record; ``errors`` = (abs_error, rel_error) or None for a parse failure."""
    parsed = errors is not None
    abs_error, rel_error = errors if parsed else (None, None)
    values = [10.0, 5.0] if family == "tl" else [10.0]
    return {
        **_common(key, dataset, family, label_name, plane),
        "label": 1 if family == "tl" else None,
        "modality": "MRI",
        "metric_type": metric_type,
        "unit": unit,
        "slice_size": [64, 64],
        "image_size": [64, 64],
        "pixel_size": [1.0, 1.0],
        "parsed": parsed,
        "prediction": [1.0] * len(values) if parsed else None,
        "target": values,
        "abs_error": abs_error,
        "rel_error": rel_error,
    }


def typed(records: Iterable[dict]) -> list[DocRecord]:
    """The records as :class:`DocRecord`, read the way lmms-eval's aggregation and the report read them."""
    return [DocRecord.from_dict(record) for record in records]
