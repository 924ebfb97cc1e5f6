"""The two shapes a MedVision doc comes in, and the conversions between them.

The public MedVision dataset declares its per-doc sequences of records as Hugging Face
``Sequence({...})`` features, which Arrow hands back *column-wise*: a dict of lists, one list
entry per record. So a row read from the public dataset (or exported from it, or logged by
lmms-eval) holds

- detection: ``bounding_boxes = {"min_coords": [[r0, c0]], "max_coords": [[r1, c1]], ...}``;
- tumor/lesion size: ``biometric_profile = {"metric_value_major_axis": [30.9375], ...,
  "metric_unit": ["mm"]}`` (every value a 1-element list for a single ellipse);

while the public builder itself, and this package's builder, yield the *list shape*: a list of
box dicts, and a T/L profile dict of scalars. Both shapes load and score alike:
:func:`to_list_shape` is applied to every doc when a task loads (:mod:`medvision_tasks.documents`).

The public features also store sizes as float16 (``pixel_size``, ``voxel_size``, box ``sizes``,
every ``metric_value``): :func:`float16` rounds a number as they do, so docs built from the
public plans carry the very targets the published runs scored against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from medvision_tasks.families import DETECTION, TUMOR_LESION

BOX_FIELDS = ("min_coords", "max_coords", "center_coords", "dimensions", "sizes")
"""Fields of one bounding box, as the public features declare them (``mask_image_ratio`` is not kept)."""
ELLIPSE_FIELDS = (
    "metric_type",
    "metric_map_name",
    "metric_key_major_axis",
    "metric_value_major_axis",
    "metric_key_minor_axis",
    "metric_value_minor_axis",
    "metric_unit",
)
"""Fields of one T/L ellipse in a ``biometric_profile``, as the public features declare them."""


def float16(value: Any) -> float:
    """``value`` rounded to the nearest float16, as a Python float (0.7 -> 0.7001953125)."""
    return float(np.float16(float(value)))


def _rows_of_columns(columns: Mapping, what: str) -> list[dict]:
    """``{field: [v0, v1, ...]}`` -> ``[{field: v0}, {field: v1}, ...]``; all lists of one length."""
    lengths = {name: len(values) for name, values in columns.items() if isinstance(values, (list, tuple))}
    if len(lengths) != len(columns):
        scalar = sorted(set(columns) - set(lengths))
        raise ValueError(f"{what} mixes lists and single values (fields {scalar} are not lists)")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{what} has lists of different lengths {lengths}")
    count = next(iter(lengths.values()), 0)
    return [{name: values[index] for name, values in columns.items()} for index in range(count)]


def box_list(bounding_boxes: Any) -> list[dict]:
    """The boxes of a doc as a list of box dicts, whichever shape the doc holds.

    Args:
        bounding_boxes: a list of box dicts (list shape), or a dict of per-field lists
            (column-wise, as the public dataset's rows hold them).

    Raises:
        ValueError: a dict whose fields are not lists of one length, or anything else.
    """
    if bounding_boxes is None:
        return []
    if isinstance(bounding_boxes, Mapping):
        return _rows_of_columns(bounding_boxes, "bounding_boxes")
    if isinstance(bounding_boxes, (list, tuple)):
        return [dict(box) for box in bounding_boxes]
    raise ValueError(f"bounding_boxes must be a list of boxes or a dict of lists, got {type(bounding_boxes).__name__}")


def box_columns(boxes: Sequence[Mapping]) -> dict[str, list]:
    """Boxes column-wise, as the public dataset's rows hold them (the fields of :data:`BOX_FIELDS`)."""
    return {name: [list(box[name]) for box in boxes] for name in BOX_FIELDS}


def ellipse_list(biometric_profile: Any) -> list[dict]:
    """The ellipses of a T/L doc as a list of ellipse dicts, whichever shape the doc holds.

    Args:
        biometric_profile: a dict of scalars (one ellipse, list shape), a dict of per-field lists
            (column-wise), or a list of ellipse dicts (the public builder before Arrow).

    Raises:
        ValueError: a malformed column-wise dict, or anything else.
    """
    if isinstance(biometric_profile, Mapping):
        values = list(biometric_profile.values())
        if values and all(isinstance(v, (list, tuple)) for v in values):
            return _rows_of_columns(biometric_profile, "biometric_profile")
        return [dict(biometric_profile)]
    if isinstance(biometric_profile, (list, tuple)):
        return [dict(ellipse) for ellipse in biometric_profile]
    raise ValueError(f"biometric_profile must be a dict or a list of ellipses, got {type(biometric_profile).__name__}")


def ellipse_columns(ellipses: Sequence[Mapping]) -> dict[str, list]:
    """Ellipses column-wise, as the public dataset's T/L rows hold them (the fields of :data:`ELLIPSE_FIELDS`)."""
    return {name: [ellipse[name] for ellipse in ellipses] for name in ELLIPSE_FIELDS}


def to_list_shape(doc: Mapping, family: str) -> dict:
    """A copy of ``doc`` in the list shape: boxes as a list of dicts, a single T/L ellipse as a dict of scalars.

    A T/L profile holding several ellipses (or none) stays a list, for the loader to reject
    with its count; A/D profiles are plain dicts in both shapes and are left alone.

    Raises:
        ValueError: a column-wise field whose lists are malformed.
    """
    out = dict(doc)
    if family == DETECTION and "bounding_boxes" in out:
        out["bounding_boxes"] = box_list(out["bounding_boxes"])
    elif family == TUMOR_LESION and out.get("biometric_profile") is not None:
        ellipses = ellipse_list(out["biometric_profile"])
        out["biometric_profile"] = ellipses[0] if len(ellipses) == 1 else ellipses
    return out
