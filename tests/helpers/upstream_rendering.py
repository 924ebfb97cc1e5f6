"""Upstream's rendering steps restated as its code does them, and CT-like slices to render.

The yardstick of the package's fast paths (``tests/test_rendering_fast_path.py``) and of the
benchmark's rendering table (``benchmarks/run.py``): ``_load_nifti_2d`` and ``normalize_img``'s
helpers (docs/fidelity.md): float32 slice, ``scipy.ndimage.zoom`` (nearest for slices of at most
two values in the later pipeline), then min-max, ``np.clip`` to a CT window or to
``np.percentile``'s 0.5 and 99.5, ``* 255``, ``.astype(np.uint8)``. Finite slices only (upstream
has no rule for NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage

from medvision_tasks.protocols import Protocol
from medvision_tasks.rendering import Normalization


def upstream_pixels(
    raw: np.ndarray, size_hw: Sequence[int] | None, protocol: Protocol, normalization: Normalization
) -> np.ndarray:
    """Upstream's steps, written as its code does them (finite slices)."""
    img = np.asarray(raw).astype("float32")
    if size_hw is not None and tuple(size_hw) != img.shape:
        binary = protocol.reshape_interpolation == "nearest_for_binary" and len(np.unique(img)) <= 2
        factors = (size_hw[0] / img.shape[0], size_hw[1] / img.shape[1])
        img = scipy.ndimage.zoom(img, factors, order=0 if binary else 1)
    if normalization.rule == "minmax":
        if img.max() > img.min():
            return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)
        return np.zeros_like(img, dtype=np.uint8)
    if normalization.rule == "ct_window":
        window_width, window_level = normalization.window
        v_min = window_level - (window_width / 2)
        v_max = window_level + (window_width / 2)
        img = np.clip(img, v_min, v_max)
        return (((img - v_min) / (v_max - v_min)) * 255.0).astype(np.uint8)
    v_min = np.percentile(img, 0.5)
    v_max = np.percentile(img, 99.5)
    if v_max - v_min == 0:
        return np.zeros_like(img, dtype=np.uint8)
    img = np.clip(img, v_min, v_max)
    return (((img - v_min) / (v_max - v_min)) * 255.0).astype(np.uint8)


def ct_like_slices(count: int, size: int = 512) -> list[np.ndarray]:
    """int16 slices as a CT holds them: air with noise, a noisy body, lungs, a bone, -1024 outside the field of view."""
    rng = np.random.default_rng(3)
    rows, cols = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
    slices = []
    for k in range(count):
        body = (rows / (0.7 + 0.02 * k)) ** 2 + (cols / 0.55) ** 2 <= 1
        plane = np.where(body, 40.0 + rng.normal(0, 14, body.shape), -1000.0 + rng.normal(0, 6, body.shape))
        plane[((rows / 0.3) ** 2 + ((cols - 0.25) / 0.2) ** 2) <= 1] = -850 + rng.normal(0, 40)
        plane[(rows / 0.08) ** 2 + ((cols + 0.35) / 0.08) ** 2 <= 1] = 700 + 10 * k
        plane[rows**2 + cols**2 > 0.98] = -1024
        slices.append(np.rint(plane).astype(np.int16))
    return slices
