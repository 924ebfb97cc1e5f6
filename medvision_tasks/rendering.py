"""Slice rendering exactly as upstream MedVision did it, per protocol (docs/fidelity.md).

The steps, in upstream's order (``medvision_utils.doc_to_visual`` / ``_load_nifti_2d``):

1. the 2D slice of the RAS+ volume, no transpose, flip or rotation, as float32
   (``get_fdata().astype("float32")``);
2. a reshape, when the image policy hands the model another size than the slice's
   (:mod:`medvision_tasks.spacing`): ``scipy.ndimage.zoom`` on the raw intensities, ``order=1``
   (first release) or ``order=0`` for slices with at most two distinct values (later pipeline);
3. conversion to 0..255 by the protocol's normalisation rule (:func:`normalization_for`), in
   float32 arithmetic, then ``.astype(np.uint8)``: **truncation**, not rounding;
4. grey to RGB.

Normalisation rules (:mod:`medvision_tasks.protocols`):

- ``minmax`` (first release): ``(x - min) / (max - min) * 255`` per slice; a constant slice is 0.
- ``adaptive`` (``normalize_img``, ``sft_utils.py`` from ``eadae72``): a CT slice of a detection
  or T/L doc whose label's group (``label_map_regroup``) has a CT window is clipped to that
  window ``[L - W/2, L + W/2]`` and scaled to 0..255; every other slice is clipped to its 0.5 and
  99.5 percentiles (numpy's default linear interpolation) and scaled (a slice whose percentiles
  are equal is 0). CT slices keep the percentile rule when the label's group is ``"Others"`` and
  for KiPA22 task 01 (upstream's ``TASK_LIST_FORCE_STANDARD_IMAGE_NORMALIZATION``, contrast CT).

Where upstream would stop or produce undefined pixels, this module decides, and says so once:
an A/D doc on CT (upstream: ``KeyError`` on its missing label; its comment intends the general
rule) and a CT label that upstream's map does not hold (upstream: ``KeyError``) take the
percentile rule; non-finite voxels are left out of every range and shown as 0 (upstream: NaN
made min-max slices black and percentile/window pixels undefined).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
from PIL import Image

from medvision_tasks import messages
from medvision_tasks.documents import whole_number
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, TUMOR_LESION
from medvision_tasks.label_groups import CT_WINDOWS, KNEE_SPLIT, OTHERS_GROUP, UnknownLabelError, label_group
from medvision_tasks.protocols import ADAPTIVE, MINMAX, NEAREST_FOR_BINARY, Protocol

PERCENTILE_RANGE = (0.5, 99.5)
"""``normalize_general_img``'s clipping percentiles."""

FORCE_PERCENTILE_TASKS = frozenset({("KiPA22", 1, DETECTION), ("KiPA22", 1, TUMOR_LESION)})
"""``(dataset_name, taskID, family)`` that keep the percentile rule on CT: upstream's
``TASK_LIST_FORCE_STANDARD_IMAGE_NORMALIZATION`` (``c6b60d8``, 2026-02-24; it also lists KiPA22's
mask-size task, which this package does not have)."""

_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        messages.info(message)


def zoom_slice(image: np.ndarray, size_hw: Sequence[int], interpolation: str) -> np.ndarray:
    """Reshape a float32 slice to ``size_hw`` = (H, W) pixels with ``scipy.ndimage.zoom``, as upstream.

    Args:
        image: 2D float32 intensities.
        size_hw: the new ``(H, W)`` in pixels.
        interpolation: a protocol's ``reshape_interpolation``: ``linear`` (``order=1``) or
            ``nearest_for_binary`` (``order=0`` when the slice has at most 2 distinct values).

    Raises:
        ValueError: zoom did not produce ``size_hw`` (its output size is ``round(H * h/H)``).
    """
    height, width = int(size_hw[0]), int(size_hw[1])
    if image.shape == (height, width):
        return image
    binary = interpolation == NEAREST_FOR_BINARY and len(np.unique(image)) <= 2
    zoomed = scipy.ndimage.zoom(image, (height / image.shape[0], width / image.shape[1]), order=0 if binary else 1)
    if zoomed.shape != (height, width):
        raise ValueError(f"zoom of a {image.shape} slice gave {zoomed.shape}, not the requested {(height, width)}")
    return zoomed


def _finite_fill(image: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """``(image with non-finite voxels set to fill, mask of finite voxels)``; no copy when all are finite."""
    finite = np.isfinite(image)
    if finite.all():
        return image, finite
    return np.where(finite, image, np.float32(fill)).astype(np.float32), finite


def _to_uint8(scaled: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """Truncate 0..255 floats to uint8 (``.astype(np.uint8)``), non-finite voxels shown as 0."""
    pixels = scaled.astype(np.uint8)
    if not finite.all():
        pixels[~finite] = 0
    return pixels


def minmax_uint8(image: np.ndarray) -> np.ndarray:
    """First-release min-max: ``((x - min) / (max - min) * 255).astype(uint8)`` in float32; constant -> 0.

    Args:
        image: 2D float32 intensities.
    """
    finite = np.isfinite(image)
    if not finite.any():
        return np.zeros(image.shape, dtype=np.uint8)
    low, high = image[finite].min(), image[finite].max()
    if not high > low:
        return np.zeros(image.shape, dtype=np.uint8)
    filled, finite = _finite_fill(image, low)
    return _to_uint8((filled - low) / (high - low) * 255, finite)


def ct_window_uint8(image: np.ndarray, width: float, level: float) -> np.ndarray:
    """``normalize_ct_img``: clip to ``[level - width/2, level + width/2]`` HU, scale to 0..255, truncate.

    Args:
        image: 2D float32 intensities in HU.
        width: window width in HU.
        level: window level (centre) in HU.
    """
    v_min = level - (width / 2)
    v_max = level + (width / 2)
    filled, finite = _finite_fill(image, v_min)
    clipped = np.clip(filled, v_min, v_max)
    return _to_uint8(((clipped - v_min) / (v_max - v_min)) * 255.0, finite)


def percentile_uint8(image: np.ndarray) -> np.ndarray:
    """``normalize_general_img``: clip to the slice's 0.5 and 99.5 percentiles, scale to 0..255, truncate.

    Percentiles are numpy's default (linear interpolation) over the finite voxels; equal
    percentiles give an all-zero image.

    Args:
        image: 2D float32 intensities.
    """
    finite = np.isfinite(image)
    if not finite.any():
        return np.zeros(image.shape, dtype=np.uint8)
    values = image if finite.all() else image[finite]
    v_min = np.percentile(values, PERCENTILE_RANGE[0])
    v_max = np.percentile(values, PERCENTILE_RANGE[1])
    if v_max - v_min == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    filled, finite = _finite_fill(image, v_min)
    clipped = np.clip(filled, v_min, v_max)
    return _to_uint8(((clipped - v_min) / (v_max - v_min)) * 255.0, finite)


@dataclass(frozen=True)
class Normalization:
    """How one slice is brought to 0..255.

    Attributes:
        rule: ``"minmax"``, ``"ct_window"`` or ``"percentile"``.
        window: ``(width, level)`` in HU for ``ct_window``, else None.
    """

    rule: str
    window: tuple[float, float] | None = None

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The uint8 image of a 2D float32 slice."""
        if self.rule == "ct_window":
            return ct_window_uint8(image, *self.window)  # type: ignore[misc]
        if self.rule == "percentile":
            return percentile_uint8(image)
        return minmax_uint8(image)


MINMAX_NORMALIZATION = Normalization("minmax")
PERCENTILE_NORMALIZATION = Normalization("percentile")


def normalization_for(doc: Mapping, protocol: Protocol) -> Normalization:
    """The normalisation rule of a doc's slice under a protocol (module doc).

    Args:
        doc: a loaded doc: ``family``, ``modality``, ``dataset_name``, ``taskID``, ``label_name``.
        protocol: the run's protocol.
    """
    if protocol.normalization == MINMAX:
        return MINMAX_NORMALIZATION
    if protocol.normalization != ADAPTIVE:
        raise ValueError(f"protocol {protocol.name!r} has an unknown normalization {protocol.normalization!r}")
    if str(doc.get("modality") or "").strip().lower() != "ct":
        return PERCENTILE_NORMALIZATION
    family = doc.get("family")
    if family == ANGLE_DISTANCE:
        _say_once(
            "an angle/distance doc on CT has no label to choose an HU window by: its slice is clipped at "
            "the 0.5/99.5 percentiles (upstream's code would stop on it; none exists in MedVision's data)"
        )
        return PERCENTILE_NORMALIZATION
    if (doc.get("dataset_name"), whole_number(doc.get("taskID")), family) in FORCE_PERCENTILE_TASKS:
        return PERCENTILE_NORMALIZATION
    label = doc.get("label_name")
    try:
        group = label_group(label, KNEE_SPLIT)
    except UnknownLabelError:
        _say_once(
            f"CT label {label!r} is not in upstream's label_map_regroup, so no HU window is known for it: its "
            "slices are clipped at the 0.5/99.5 percentiles (upstream's code would stop on it)"
        )
        return PERCENTILE_NORMALIZATION
    if group == OTHERS_GROUP:
        return PERCENTILE_NORMALIZATION
    return Normalization("ct_window", CT_WINDOWS[group])


def render_slice(
    raw: np.ndarray, size_hw: Sequence[int] | None, *, protocol: Protocol, normalization: Normalization
) -> Image.Image:
    """The RGB PIL image a model is handed.

    Args:
        raw: the 2D slice as stored (any numeric dtype).
        size_hw: the ``(H, W)`` in pixels to hand over (None or the slice's own: no reshape).
        protocol: the run's protocol (its reshape interpolation).
        normalization: the slice's rule (:func:`normalization_for`).
    """
    image = np.asarray(raw).astype(np.float32)
    if size_hw is not None:
        image = zoom_slice(image, size_hw, protocol.reshape_interpolation)
    return Image.fromarray(normalization.apply(image)).convert("RGB")
