"""Chance-level answers: what a model that ignores the image would say.

One source of the draws for both the ``medvision_random`` lmms-eval model
(:mod:`medvision_tasks.models.medvision_random`) and the report's random-box baseline in the
box-size analysis, so the two agree by construction. Pure numpy: importing it costs nothing.

Distributions (every draw is independent; ``U[a, b]`` is continuous uniform):

- **Detection, the benchmark's random box.** For an image of ``W`` columns and ``H`` rows, a
  width ``w`` is drawn uniformly from the integers ``1..W``, then the left edge ``x0``
  uniformly from ``0..W - w``; likewise a height ``h`` from ``1..H`` and the bottom edge ``y0``
  from ``0..H - h``. The answer is the relative box ``[x0 / W, y0 / H, (x0 + w) / W,
  (y0 + h) / H]``: lower-left corner first, x to the right, y up from the lower-left corner,
  every value in [0, 1], always a positive area of whole pixels. This is the law of the
  MedVision benchmark's random-box baseline (``_random_bboxes`` in upstream
  ``analyze_detection_task_boxsize_vs_random.py``, called with minimum size ``(1, 1)`` and
  maximum size ``(W, H)``): a side covers about half of the image on average, a box about a
  quarter. (The drawn box's position is uniform, so measuring y from the top, as upstream
  does, gives the same law.)
- **Tumor/lesion size.** Major axis ``U[5, 80]`` mm; minor axis = major axis x ``U[0.3, 1.0]``
  (never longer than the major axis). Lesions of the T/L datasets span roughly 5-80 mm.
- **Distance.** ``U[5, 100]`` mm: cephalometric and fetal-brain landmark distances.
- **Angle.** ``U[0, 90]`` degrees: the benchmark's angles between two lines lie in [0, 90].
- **Points** (the coordinate-only variants, :mod:`medvision_tasks.variants`): every relative
  coordinate ``U[0, 1]``, x then y of each point.

Seeding: each doc gets its own generator, ``numpy.random.default_rng([seed, crc32(doc_key)])``,
so a doc's draw depends only on the seed and the doc, not on request order, batching or
which other docs are evaluated. (Upstream drew with Python's unseeded ``random`` module, so its
baseline numbers cannot be reproduced draw for draw; the law is the same.)
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


def _image_size(image_size_hw: Sequence[int]) -> tuple[int, int]:
    """``(H, W)`` checked to be two positive integers."""
    if len(image_size_hw) != 2:
        raise ValueError(f"image size must be (H, W), got {list(image_size_hw)!r}")
    height, width = (int(v) for v in image_size_hw)
    if height < 1 or width < 1 or (height, width) != tuple(float(v) for v in image_size_hw):
        raise ValueError(f"image size must be two positive integers (H, W), got {list(image_size_hw)!r}")
    return height, width


def random_boxes(rng: np.random.Generator, image_size_hw: Sequence[int], count: int) -> np.ndarray:
    """``count`` random boxes on the pixel grid, as relative ``[x0, y0, x1, y1]`` rows.

    Args:
        rng: the doc's generator (:func:`doc_rng`).
        image_size_hw: ``(H, W)`` in pixels, both >= 1.
        count: how many boxes (>= 1).

    Returns:
        Array of shape ``(count, 4)``: widths ``w`` uniform on ``1..W``, left edges uniform on
        ``0..W - w``, heights and bottom edges likewise (see the module docstring). The draws
        are made in this order: all widths, all heights, all left edges, all bottom edges.

    Raises:
        ValueError: a size that is not two positive integers, or ``count < 1``.
    """
    height, width = _image_size(image_size_hw)
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    widths = rng.integers(1, width, size=count, endpoint=True)
    heights = rng.integers(1, height, size=count, endpoint=True)
    x0 = rng.integers(0, width - widths, endpoint=True)
    y0 = rng.integers(0, height - heights, endpoint=True)
    return np.column_stack([x0 / width, y0 / height, (x0 + widths) / width, (y0 + heights) / height])


def random_box(rng: np.random.Generator, image_size_hw: Sequence[int]) -> list[float]:
    """One random box (:func:`random_boxes` with ``count=1``): what ``medvision_random`` answers.

    Raises:
        ValueError: a size that is not two positive integers.
    """
    return [float(v) for v in random_boxes(rng, image_size_hw, 1)[0]]


def doc_random_boxes(seed: int, doc_key: str, image_size_hw: Sequence[int], count: int) -> np.ndarray:
    """``count`` random boxes for one doc, the first being the one ``medvision_random`` answers.

    The first box comes from :func:`random_box` on the doc's generator, exactly as
    :func:`random_answer` draws it; the other ``count - 1`` follow from the same generator in one
    vectorised :func:`random_boxes` call. The report's random-box baseline averages them.

    Returns:
        Array of shape ``(count, 4)`` of relative boxes.

    Raises:
        ValueError: a bad seed, doc key or size, or ``count < 1``.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = doc_rng(seed, doc_key)
    first = random_boxes(rng, image_size_hw, 1)
    return first if count == 1 else np.vstack([first, random_boxes(rng, image_size_hw, count - 1)])


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


def random_points(seed: int, doc_key: str, count: int) -> list[float]:
    """``count`` chance-level points as relative ``x1, y1, x2, y2, ...``, each ``U[0, 1]``.

    Raises:
        ValueError: ``count`` is not a positive integer (or a bad seed or key, as :func:`doc_rng`).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return [float(v) for v in doc_rng(seed, doc_key).uniform(0.0, 1.0, size=2 * count)]
