"""Slice rendering as the MedVision benchmark did it (docs/fidelity.md).

The public MedVision-V0 model was trained on images made exactly this way, so the steps are
kept: take a 2D slice of the RAS+ volume with no transpose, flip or rotation; optionally reshape
it bilinearly on raw intensities; min-max normalise per slice to uint8; grey to RGB.

Speed without changing a byte: the normalisation rule is a map applied to each value on its own
(:func:`_to_uint8`) with parameters computed from the whole slice (:func:`_range_of`), so integer
slices go through a lookup table of the rule over their value range (:func:`normalize_to_uint8`),
and everything else through the same float64 operations done in place
(:func:`normalize_to_uint8_reference`). A new rule keeps that split and both paths stay equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def resize_bilinear(image: np.ndarray, size_hw: Sequence[int]) -> np.ndarray:
    """Bilinear reshape of a 2D array of raw intensities to ``size_hw`` = (H, W), as float32."""
    height, width = int(size_hw[0]), int(size_hw[1])
    if image.shape == (height, width):
        return image.astype(np.float32, copy=False)
    resized = Image.fromarray(np.asarray(image, dtype=np.float32)).resize(
        (width, height), resample=Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def _range_of(values: np.ndarray) -> tuple[float, float] | None:
    """The rule's parameters, from the slice: its finite (low, high); None for a constant or empty slice."""
    finite = values
    if values.dtype.kind not in "iub":
        keep = np.isfinite(values)
        finite = values if keep.all() else values[keep]  # no copy of a slice that is all finite
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    return None if high <= low else (low, high)


def _to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The rule, value by value: ``floor((v - low) / (high - low) * 255 + 0.5)``; ``values`` (float64) is overwritten."""
    values -= low
    values /= high - low
    values *= 255.0
    values += 0.5
    np.floor(values, out=values)
    return values.astype(np.uint8)


def normalize_to_uint8_reference(image: np.ndarray) -> np.ndarray:
    """Min-max normalise one slice to 0..255 (uint8), every pixel through :func:`_to_uint8` (any dtype).

    A constant slice becomes all zeros. Non-finite voxels (NaN, inf in float volumes) are left out
    of the range and shown as 0, so one bad voxel cannot turn the whole slice black.
    """
    values = np.array(image, dtype=np.float64)
    limits = _range_of(values)
    if limits is None:
        return np.zeros(values.shape, dtype=np.uint8)
    finite = np.isfinite(values)
    if not finite.all():
        values[~finite] = limits[0]
    return _to_uint8(values, *limits)


def normalize_to_uint8(image: np.ndarray) -> np.ndarray:
    """:func:`normalize_to_uint8_reference`, through a lookup table for integer slices.

    The rule maps each value on its own, with parameters taken from the whole slice, so an integer
    slice is rendered by applying it once to every integer of the slice's value range (at most
    65,536) and indexing that table with the slice: the same float64 operations on the same values,
    hence the same bytes (tests compare both paths), at a tenth of the time.
    """
    values = np.asarray(image)
    if values.dtype.kind not in "iu" or values.dtype.itemsize > 4:
        return normalize_to_uint8_reference(values)
    limits = _range_of(values)
    if limits is None:
        return np.zeros(values.shape, dtype=np.uint8)
    first, last = int(limits[0]), int(limits[1])
    if last - first >= 2**16:
        return normalize_to_uint8_reference(values)
    table = _to_uint8((np.arange(last - first + 1, dtype=np.int64) + first).astype(np.float64), *limits)
    return table[np.subtract(values, first, dtype=np.intp)]


def _exact_in_float32(dtype: np.dtype) -> bool:
    return dtype == np.float32 or (dtype.kind in "iub" and dtype.itemsize <= 2)


def render_slice(image: np.ndarray, size_hw: Sequence[int] | None = None) -> Image.Image:
    """The RGB PIL image a model is shown: optional bilinear reshape, then min-max to uint8."""
    if size_hw is not None and (tuple(int(n) for n in size_hw) != image.shape or not _exact_in_float32(image.dtype)):
        # A slice already of the size is only cast to float32, which changes no value of the types
        # _exact_in_float32 accepts: those skip the cast and keep the lookup table.
        image = resize_bilinear(image, size_hw)
    return Image.fromarray(normalize_to_uint8(image)).convert("RGB")
