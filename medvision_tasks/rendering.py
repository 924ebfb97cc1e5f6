"""Slice rendering as the MedVision benchmark did it (docs/fidelity.md).

The public MedVision-V0 model was trained on images made exactly this way, so the steps are
kept: take a 2D slice of the RAS+ volume with no transpose, flip or rotation; optionally reshape
it bilinearly on raw intensities; min-max normalise per slice to uint8; grey to RGB.
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


def normalize_to_uint8(image: np.ndarray) -> np.ndarray:
    """Min-max normalise one slice to 0..255 (uint8); a constant slice becomes all zeros.

    Non-finite voxels (NaN, inf in float volumes) are left out of the range and shown as 0, so one
    bad voxel cannot turn the whole slice black.
    """
    values = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = float(values[finite].min()), float(values[finite].max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = np.floor((np.where(finite, values, low) - low) / (high - low) * 255.0 + 0.5)
    return scaled.astype(np.uint8)


def render_slice(image: np.ndarray, size_hw: Sequence[int] | None = None) -> Image.Image:
    """The RGB PIL image a model is shown: optional bilinear reshape, then min-max to uint8."""
    if size_hw is not None:
        image = resize_bilinear(image, size_hw)
    return Image.fromarray(normalize_to_uint8(image)).convert("RGB")
