"""The per-doc record: what one model answer to one doc scored, with everything needed to group it.

It is the contract between lmms-eval and ``medvision-tasks report``: ``process_results``
(:func:`medvision_tasks.utils.score_response`) returns :meth:`DocRecord.to_dict` once, under
:data:`RECORD_KEY`, and under each metric key only the doc's number for that metric
(:func:`medvision_tasks.metrics.doc_value`), which is all lmms-eval's aggregation needs; with
``--log_samples`` lmms-eval writes the record once per samples line, and the report reads it
back with :meth:`DocRecord.from_dict`, the one place a malformed record is caught (samples of
older runs carry the record under every metric key; the report reads those too).
:func:`medvision_tasks.metrics.aggregate` scores a list of records.

Sizes follow docs/ARCHITECTURE.md: ``(H, W)`` in pixels, pixel sizes ``(ph, pw)`` in mm. Boxes
are relative ``[x0, y0, x1, y1]`` (lower-left origin); measurements are in the record's ``unit``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medvision_tasks.families import DETECTION, FAMILY_NAMES, get_family
from medvision_tasks.ledger import UNKNOWN_POLICY
from medvision_tasks.steps import StepAnalysis
from medvision_tasks.variants import VARIANT_NAMES

UNKNOWN_PROTOCOL = "unknown"
"""The ``protocol`` of a record written before records named their protocol."""

RECORD_KEY = "medvision_record"
"""The key ``process_results`` returns the record under, once per samples line; not a metric of
``metric_list``, so lmms-eval logs it without aggregating it. (Its name must not contain the name
of a metric the ``medvision`` group aggregates: lmms-eval matches those as substrings.)"""
BOX_SCORES = ("iou", "f1", "precision", "recall")
"""Per-doc scores of a box answer, fractions in [0, 1]; 0 for a parse failure."""
MEASUREMENT_SCORES = ("abs_error", "rel_error")
"""Per-doc errors of a measured answer: in the record's unit, and relative; null for a parse failure."""
_REQUIRED = ("doc_key", "dataset", "family", "plane", "parsed")


@dataclass(frozen=True)
class DocRecord:
    """One scored answer.

    Attributes:
        doc_key: the doc's stable id (``dataset/taskID/image_file#slice_dim:slice_idx/item``).
        dataset: the doc's ``dataset_name``.
        family: "detection", "tl" or "ad" (:mod:`medvision_tasks.families`).
        task_id: the doc's ``taskID``.
        label: the mask label value (detection, T/L), else None.
        label_name: what was asked about: the label's name, or the A/D measurement's name.
        plane: "axial", "coronal" or "sagittal".
        modality: e.g. "CT", "MRI"; "" when unknown.
        metric_type: "box", "size", "distance" or "angle".
        unit: the unit of ``target`` and ``abs_error``: "mm", "degree", or None for boxes.
        image_policy: the image policy the prompt was built under (:mod:`medvision_tasks.spacing`),
            or ``"unknown"`` when the prompt ledger holds no entry for it
            (:mod:`medvision_tasks.ledger`).
        protocol: the scoring protocol of the prompt, pixels and parsing
            (:mod:`medvision_tasks.protocols`, e.g. ``"published"``); :data:`UNKNOWN_PROTOCOL` for
            records written before records named it.
        slice_size: the slice's own ``(H, W)`` in pixels.
        image_size: the ``(H, W)`` in pixels the model saw (after its processor where the image
            policy lets it resize; the size later T/L and A/D prompts state); None when unknown.
        pixel_size: the ``(ph, pw)`` in mm the prompt stated; None for detection (no size is
            stated) and when unknown.
        parsed: whether the answer could be read (:mod:`medvision_tasks.parsing`).
        prediction: the numbers read from the answer, or None.
        target: the ground truth: a relative box, ``[major, minor]`` mm, or one value.
        iou, f1, precision, recall: detection scores (0 when not parsed).
        box_area_fraction: detection: the target box's share of the image area.
        abs_error, rel_error: T/L and A/D errors, mean over the values (None when not parsed).
        versions: ``{package: version}`` of the packages that can change a score, in the process
            that scored it (:mod:`medvision_tasks.environment`); None in records written before
            versions were recorded.
        upstream_task: the public MedVision task config the doc was built for (e.g.
            ``KiTS23_TumorLesionSize_Task01_Axial_Test``), from the doc's ``upstream_task``; None
            for docs made otherwise (the bundled sample, ``prepare`` from a manifest).
        variant: how the question was asked (:mod:`medvision_tasks.variants`: ``plain``, ``cot``,
            ``coords``, ``no_visual``, ``cot_no_visual``); None in records written before
            records named it. A coordinate-only answer's ``prediction`` is what its points
            measure (the plugin's arithmetic).
        steps: the answer's points and its error split into localisation and arithmetic
            (:class:`medvision_tasks.steps.StepAnalysis`), for CoT and coordinate-only answers;
            None for plain answers and older records.
    """

    doc_key: str
    dataset: str
    family: str
    task_id: str | None
    label: int | None
    label_name: str | None
    plane: str
    modality: str
    metric_type: str | None
    unit: str | None
    image_policy: str
    protocol: str
    slice_size: tuple[int, int]
    image_size: tuple[int, int] | None
    pixel_size: tuple[float, float] | None
    parsed: bool
    prediction: tuple[float, ...] | None
    target: tuple[float, ...]
    iou: float | None = None
    f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    box_area_fraction: float | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    versions: Mapping[str, str] | None = None
    upstream_task: str | None = None
    variant: str | None = None
    steps: StepAnalysis | None = None

    @property
    def score_fields(self) -> tuple[str, ...]:
        """The per-doc scores this record's family carries."""
        return BOX_SCORES if self.family == DETECTION else MEASUREMENT_SCORES

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data, with the fields of its family only (the layout lmms-eval logs)."""
        data: dict[str, Any] = {
            "doc_key": self.doc_key,
            "dataset": self.dataset,
            "family": self.family,
            "task_id": self.task_id,
            "label": self.label,
            "label_name": self.label_name,
            "plane": self.plane,
            "modality": self.modality,
            "metric_type": self.metric_type,
            "unit": self.unit,
            "image_policy": self.image_policy,
            "protocol": self.protocol,
            "slice_size": list(self.slice_size),
            "image_size": _list_or_none(self.image_size),
            "pixel_size": _list_or_none(self.pixel_size),
            "parsed": self.parsed,
            "prediction": _list_or_none(self.prediction),
            "target": list(self.target),
            "upstream_task": self.upstream_task,
            "variant": self.variant,
        }
        for name in self.score_fields:
            data[name] = getattr(self, name)
        if self.family == DETECTION:
            data["box_area_fraction"] = self.box_area_fraction
        if self.versions is not None:
            data["versions"] = dict(self.versions)
        if self.steps is not None:
            data["steps"] = self.steps.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "record") -> DocRecord:
        """Read and check a record written by :meth:`to_dict` (this or an earlier version).

        Records written before a field existed still read: a missing ``image_policy`` or
        ``protocol`` is ``"unknown"``, a missing ``slice_size`` is the stated ``image_size``, a
        missing ``variant`` or ``steps`` is None.

        Args:
            data: the JSON object.
            where: how to name the record in an error (file and line, doc).

        Raises:
            ValueError: naming ``where`` and the field: not an object, a required field missing,
                an unknown family, ``parsed`` not a bool, a parsed record without a finite score
                its family needs, sizes that are not two positive numbers, a target or prediction
                that is not a list of finite numbers of the family's length, a detection record
                without a finite ``box_area_fraction``, an unknown ``variant``, a malformed ``steps``.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: a per-doc record must be a JSON object, got {type(data).__name__}")
        for name in _REQUIRED:
            if data.get(name) is None:
                raise ValueError(f"{where}: per-doc record has no field {name!r}")
        if data["family"] not in FAMILY_NAMES:
            raise ValueError(f"{where}: record field 'family' is {data['family']!r}; expected one of {FAMILY_NAMES}")
        family = get_family(data["family"])
        parsed = data["parsed"]
        if not isinstance(parsed, bool):
            raise ValueError(f"{where}: record field 'parsed' must be true or false, got {parsed!r}")
        reader = _FieldReader(data, where)
        scores = BOX_SCORES if family.name == DETECTION else MEASUREMENT_SCORES
        values = {name: reader.number(name, needed_by="parsed doc's record" if parsed else None) for name in scores}
        if family.name == DETECTION:
            values["box_area_fraction"] = reader.number("box_area_fraction", needed_by="detection record")
        variant = reader.text("variant")
        if variant is not None and variant not in VARIANT_NAMES:
            raise ValueError(f"{where}: record field 'variant' is {variant!r}; expected one of {VARIANT_NAMES}")
        steps = data.get("steps")
        image_size = reader.pair("image_size", int)
        slice_size = reader.pair("slice_size", int) if data.get("slice_size") is not None else image_size
        if slice_size is None:
            raise ValueError(f"{where}: per-doc record has no field 'slice_size'")
        return cls(
            doc_key=str(data["doc_key"]),
            dataset=str(data["dataset"]),
            family=family.name,
            task_id=reader.text("task_id"),
            label=reader.whole("label"),
            label_name=reader.text("label_name"),
            plane=str(data["plane"]),
            modality=str(data.get("modality") or ""),
            metric_type=reader.text("metric_type"),
            unit=reader.text("unit"),
            image_policy=reader.text("image_policy") or UNKNOWN_POLICY,
            protocol=reader.text("protocol") or UNKNOWN_PROTOCOL,
            slice_size=slice_size,
            image_size=image_size,
            pixel_size=reader.pair("pixel_size", float),
            parsed=parsed,
            prediction=reader.numbers("prediction", family.answer.count) if parsed else None,
            target=reader.numbers("target", family.answer.count, required=True),  # type: ignore[arg-type]
            versions=reader.versions("versions"),
            upstream_task=reader.text("upstream_task"),
            variant=variant,
            steps=None if steps is None else StepAnalysis.from_dict(steps, where),
            **values,
        )


def _list_or_none(values: Sequence | None) -> list | None:
    return None if values is None else list(values)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _FieldReader:
    """Typed reads of one record's fields; every error names the record and the field."""

    def __init__(self, data: Mapping, where: str) -> None:
        self.data, self.where = data, where

    def _fail(self, name: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: record field {name!r} must be {expected}, got {self.data.get(name)!r}")

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None else str(value)

    def whole(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not _is_number(value) or not float(value).is_integer():
            raise self._fail(name, "a whole number or null")
        return int(value)

    def number(self, name: str, *, needed_by: str | None) -> float | None:
        """A finite number; None where nothing needs it (a failed answer has no error)."""
        value = self.data.get(name)
        if _is_number(value) and math.isfinite(value):
            return float(value)
        if needed_by is not None:
            raise ValueError(f"{self.where}: {needed_by} needs a finite number in {name!r}, got {value!r}")
        return None

    def pair(self, name: str, kind: type) -> tuple | None:
        """``[a, b]`` of two positive numbers (whole ones for ``kind`` int), or None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) and v > 0 for v in value)
        if not ok or (kind is int and not all(float(v).is_integer() for v in value)):
            raise self._fail(name, f"two positive {'whole numbers' if kind is int else 'numbers'} or null")
        return tuple(kind(v) for v in value)

    def versions(self, name: str) -> dict[str, str] | None:
        """``{package: version}`` of strings, or None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._fail(name, "an object of package names to version strings, or null")
        return dict(value)

    def numbers(self, name: str, count: int, *, required: bool = False) -> tuple[float, ...] | None:
        """A list of ``count`` finite numbers; None when absent and not required."""
        value = self.data.get(name)
        if value is None and not required:
            return None
        ok = isinstance(value, (list, tuple)) and len(value) == count
        if not ok or not all(_is_number(v) and math.isfinite(v) for v in value):
            raise self._fail(name, f"a list of {count} finite number(s)")
        return tuple(float(v) for v in value)
