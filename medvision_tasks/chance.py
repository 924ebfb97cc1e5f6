"""Chance-level answers: what a model that ignores the image would say.

One source of the draws for both the ``medvision_random`` lmms-eval model
(:mod:`medvision_tasks.models.medvision_random`) and the report's random-box baseline in the
box-size analysis, so the two agree by construction. Pure numpy: importing it costs nothing.

Distributions (every draw is independent; ``U[a, b]`` is continuous uniform):

- **Detection, uniform integer box.** For an image of ``W`` columns and ``H`` rows, two
  *distinct* column edges are drawn uniformly without replacement from the ``W + 1`` pixel
  edges ``{0, 1, ..., W}`` and sorted to ``c0 < c1``; two distinct row edges likewise from
  ``{0, ..., H}``, sorted to ``e0 < e1`` (counted from the bottom edge). The answer is the
  relative box ``[c0 / W, e0 / H, c1 / W, e1 / H]``: lower-left corner first, x to the right,
  y up from the lower-left corner, every value in [0, 1], always a positive area of whole
  pixels. Each side's length is then ``|U - V|`` of two uniform edges, about a third of the
  side on average, so a box covers about 1/9 of the image.
- **Tumor/lesion size.** Major axis ``U[5, 80]`` mm; minor axis = major axis x ``U[0.3, 1.0]``
  (never longer than the major axis). Lesions of the T/L datasets span roughly 5-80 mm.
- **Distance.** ``U[5, 100]`` mm: cephalometric and fetal-brain landmark distances.
- **Angle.** ``U[0, 90]`` degrees: the benchmark's angles between two lines lie in [0, 90].

Seeding: each doc gets its own generator, ``numpy.random.default_rng([seed, crc32(doc_key)])``,
so a doc's draw depends only on the seed and the doc, not on request order, batching or
which other docs are evaluated.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILY_NAMES, TUMOR_LESION

TL_MAJOR_RANGE_MM = (5.0, 80.0)
"""Range of the drawn major axis, mm."""
TL_MINOR_FRACTION_RANGE = (0.3, 1.0)
"""Range of minor axis / major axis."""
DISTANCE_RANGE_MM = (5.0, 100.0)
"""Range of a drawn distance, mm."""
ANGLE_RANGE_DEGREES = (0.0, 90.0)
"""Range of a drawn angle, degrees."""


def doc_rng(seed: int, doc_key: str) -> np.random.Generator:
    """The generator of one doc: a function of the seed and the doc's stable key only.

    Args:
        seed: a non-negative integer.
        doc_key: the doc's ``doc_key`` (docs/ARCHITECTURE.md).

    Raises:
        ValueError: a negative or non-integer seed, or an empty doc key.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(doc_key, str) or not doc_key:
        raise ValueError(f"doc_key must be a non-empty string, got {doc_key!r}")
    return np.random.default_rng([int(seed), zlib.crc32(doc_key.encode("utf-8"))])


def random_box(rng: np.random.Generator, image_size_hw: Sequence[int]) -> list[float]:
    """A uniform integer box on the pixel grid, as a relative ``[x0, y0, x1, y1]``.

    Args:
        rng: the doc's generator (:func:`doc_rng`).
        image_size_hw: ``(H, W)`` in pixels, both >= 1.

    Returns:
        ``[c0 / W, e0 / H, c1 / W, e1 / H]`` with integer edges ``0 <= c0 < c1 <= W`` and
        ``0 <= e0 < e1 <= H`` (see the module docstring).

    Raises:
        ValueError: a size that is not two positive integers.
    """
    if len(image_size_hw) != 2:
        raise ValueError(f"image size must be (H, W), got {list(image_size_hw)!r}")
    height, width = (int(v) for v in image_size_hw)
    if height < 1 or width < 1 or (height, width) != tuple(float(v) for v in image_size_hw):
        raise ValueError(f"image size must be two positive integers (H, W), got {list(image_size_hw)!r}")
    c0, c1 = _distinct_edges(rng, width)
    e0, e1 = _distinct_edges(rng, height)
    return [c0 / width, e0 / height, c1 / width, e1 / height]


def _distinct_edges(rng: np.random.Generator, size: int) -> tuple[int, int]:
    """Two distinct edges of ``{0, ..., size}``, uniform over unordered pairs, sorted.

    The first is uniform on the ``size + 1`` edges, the second uniform on the ``size`` others
    (skip over the first): every ordered pair of distinct edges has probability
    ``1 / ((size + 1) size)``. Same law as sampling without replacement, without its overhead.
    """
    first = int(rng.integers(0, size + 1))
    second = int(rng.integers(0, size))
    if second >= first:
        second += 1
    return (first, second) if first < second else (second, first)


def random_tumor_axes(rng: np.random.Generator) -> list[float]:
    """Major and minor axis in mm: ``major ~ U[5, 80]``, ``minor = major * U[0.3, 1.0]``."""
    major = rng.uniform(*TL_MAJOR_RANGE_MM)
    minor = major * rng.uniform(*TL_MINOR_FRACTION_RANGE)
    return [float(major), float(minor)]


def random_measurement(rng: np.random.Generator, metric_type: str) -> float:
    """One distance in mm (``U[5, 100]``) or one angle in degrees (``U[0, 90]``).

    Raises:
        ValueError: ``metric_type`` is neither "distance" nor "angle".
    """
    if metric_type == "distance":
        return float(rng.uniform(*DISTANCE_RANGE_MM))
    if metric_type == "angle":
        return float(rng.uniform(*ANGLE_RANGE_DEGREES))
    raise ValueError(f"metric_type must be 'distance' or 'angle', got {metric_type!r}")


def random_answer(
    seed: int, doc_key: str, family: str, *, image_size_hw: Sequence[int] | None = None, metric_type: str | None = None
) -> list[float]:
    """The chance-level answer to one doc, as the numbers the parser would read.

    Args:
        seed: the baseline's seed (non-negative).
        doc_key: the doc's stable key.
        family: "detection", "tl" or "ad".
        image_size_hw: ``(H, W)`` pixels; detection only.
        metric_type: "distance" or "angle"; A/D only.

    Returns:
        Detection 4 relative values, T/L ``[major, minor]`` mm, A/D ``[value]``.

    Raises:
        ValueError: an unknown family, or the field that family needs is missing.
    """
    rng = doc_rng(seed, doc_key)
    if family == DETECTION:
        if image_size_hw is None:
            raise ValueError(f"doc {doc_key}: a detection answer needs the image size (H, W)")
        return random_box(rng, image_size_hw)
    if family == TUMOR_LESION:
        return random_tumor_axes(rng)
    if family == ANGLE_DISTANCE:
        return [random_measurement(rng, metric_type)]
    raise ValueError(f"doc {doc_key}: unknown family {family!r}; expected one of {FAMILY_NAMES}")
