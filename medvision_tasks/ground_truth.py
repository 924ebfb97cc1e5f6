"""Ground truth from masks and landmarks (docs/data.md, "Builder rules"): boxes, ellipse axes, distances, angles.

Conventions (docs/ARCHITECTURE.md): 2D sizes are ``(H, W)``; pixel sizes ``(ph, pw)`` in mm, row
then column; pixel coordinates ``(row, col)``; pixel boxes are inclusive ``(r0, c0, r1, c1)``;
relative boxes are ``[x0, y0, x1, y1]`` with x to the right and y up from the lower-left corner.
Connectivity is 4-connectivity throughout (``scipy.ndimage.label``'s default in 2D), as the
benchmark's builder filter requires.

Ellipse fit (tumor/lesion size)
    The ellipse is fitted to the lesion *outline*, as the benchmark did: the outer contour of the
    component (``cv2.findContours``, external contour, every contour pixel kept, so the outline is
    sampled evenly rather than only at the corners of straight runs) is converted to physical
    coordinates ``x = col * pw``, ``y = row * ph`` (mm) and passed to ``cv2.fitEllipse``
    (least-squares conic fit). Fitting in mm matters: on anisotropic pixels a fit in pixel
    coordinates, or one that scales x and y by the swapped spacing (the public benchmark's bug),
    gives the wrong axes and the wrong orientation. An outline fit is chosen over a second-moment
    (filled-region) fit because it reproduces the benchmark's definition of the target (its
    published values and MedVision-V0's training data) apart from that bug. Its known bias: the
    contour runs through the *centres* of the boundary pixels, which sit up to one pixel inside
    the mask's pixel-edge outline, so each full axis comes out shorter than the mask's extent by
    about one pixel size along that axis (never more than two).

Endpoint filter (the benchmark's rule: "keep an ellipse only if all four endpoints lie between the 0.9x and
1.1x box of the component"); the reading implemented here:
    The box is the component's inclusive pixel bounding box, taken as the rectangle through the
    centres of its extreme pixels: centre ``((r0 + r1) / 2, (c0 + c1) / 2)``, half-sizes
    ``((r1 - r0) / 2, (c1 - c0) / 2)``. The 0.9x and 1.1x boxes scale those half-sizes about the
    same centre, each axis by its own half-size. An endpoint passes if it lies inside the closed
    1.1x box and not strictly inside the 0.9x box, i.e. in the band between them; equivalently
    ``0.9 <= max(|dr| / half_r, |dc| / half_c) <= 1.1`` with ``(dr, dc)`` its offset from the
    centre. Why this reading: an endpoint of a well-fitted axis lies on the lesion outline, so it
    should reach the bounding box (not fall deep inside it) without overshooting it; the pixel-
    centre box is the one the pixel-centre contour actually spans, so an axis-aligned lesion's
    endpoints land near normalised distance 1. Scaling per axis about the centre is the same in
    pixels and in mm, so the filter does not depend on the pixel size. Consequence: only
    ellipses whose axes run nearly along the image rows and columns pass (a minor-axis endpoint
    of an ellipse tilted by 45 degrees lies well inside the 0.9x box), which is why so few slices
    pass on real data. A component whose box is one pixel thick (half-size 0) has no ellipse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

BoxRC = tuple[int, int, int, int]
PointRC = tuple[float, float]

DEFAULT_MIN_BOX_SIDE_PX = 10
"""Smallest side (pixels) of a detection box the benchmark's builder keeps, both sides."""
DEFAULT_MIN_LESION_PIXELS = 200
"""Smallest tumor/lesion component (pixels) the benchmark's builder fits an ellipse to."""
DEFAULT_BOX_BAND = (0.9, 1.1)
"""Inner and outer box scales of the ellipse endpoint filter (module docstring)."""


def _as_2d_mask(mask2d: np.ndarray) -> np.ndarray:
    """Boolean view of a 2D mask (nonzero = foreground); ValueError naming the bad shape."""
    mask = np.asarray(mask2d)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2D (H, W), got shape {mask.shape}")
    return mask if mask.dtype == bool else mask != 0  # a bool mask is used as it is, not copied


def _check_size_hw(image_size_hw: Sequence[int]) -> tuple[int, int]:
    if len(image_size_hw) != 2:
        raise ValueError(f"image_size_hw must be (H, W), got {list(image_size_hw)}")
    height, width = (int(v) for v in image_size_hw)
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size_hw must be positive, got {list(image_size_hw)}")
    return height, width


def _check_box(box_rc: Sequence[int], image_size_hw: Sequence[int]) -> tuple[BoxRC, tuple[int, int]]:
    height, width = _check_size_hw(image_size_hw)
    if len(box_rc) != 4:
        raise ValueError(f"box must be (r0, c0, r1, c1), got {list(box_rc)}")
    r0, c0, r1, c1 = (int(v) for v in box_rc)
    if not (0 <= r0 <= r1 < height and 0 <= c0 <= c1 < width):
        raise ValueError(
            f"box (r0, c0, r1, c1)={list(box_rc)} is not an inclusive box inside an image of (H, W)=({height}, {width})"
        )
    return (r0, c0, r1, c1), (height, width)


def _check_pixel_size(pixel_size_hw: Sequence[float]) -> tuple[float, float]:
    if len(pixel_size_hw) != 2:
        raise ValueError(f"pixel_size_hw must be (ph, pw) in mm, got {list(pixel_size_hw)}")
    ph, pw = (float(v) for v in pixel_size_hw)
    if not (math.isfinite(ph) and math.isfinite(pw) and ph > 0 and pw > 0):
        raise ValueError(f"pixel_size_hw must be positive finite mm, got {list(pixel_size_hw)}")
    return ph, pw


def _single_component(mask: np.ndarray) -> np.ndarray | None:
    """The foreground as one 4-connected component, or None if empty or split."""
    labels, count = ndimage.label(mask)
    if count != 1:
        return None
    return labels == 1


def _bounding_box(component: np.ndarray) -> BoxRC:
    rows, cols = np.nonzero(component)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def single_component_box(mask2d: np.ndarray) -> BoxRC | None:
    """Inclusive pixel box of a mask's foreground if it is exactly one 4-connected component.

    Args:
        mask2d: 2D array (H, W); nonzero pixels are foreground.

    Returns:
        ``(r0, c0, r1, c1)``: first and last foreground row and column (inclusive, pixels), or
        None when the foreground is empty or has several 4-connected components (pixels touching
        only at a corner are separate components).

    Raises:
        ValueError: the mask is not 2D.
    """
    mask = _as_2d_mask(mask2d)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    # Labelled inside the foreground's bounding box only (every foreground pixel lies in it), which
    # is also the box of the component when there is one: a fraction of the slice for most labels.
    if _single_component(mask[r0 : r1 + 1, c0 : c1 + 1]) is None:
        return None
    return r0, c0, r1, c1


def relative_box(box_rc: Sequence[int], image_size_hw: Sequence[int]) -> list[float]:
    """The detection target: a pixel box as relative ``[x0, y0, x1, y1]`` from the lower-left.

    The benchmark's formula: ``[c0 / W, (H - r1) / H, c1 / W, (H - r0) / H]``. x runs right, y runs up
    from the image's lower-left corner, so the lower-left corner comes first. The inclusive last
    indices ``r1, c1`` enter as they are (not ``r1 + 1``), as the benchmark computed its targets.

    Args:
        box_rc: inclusive ``(r0, c0, r1, c1)`` in pixels.
        image_size_hw: ``(H, W)`` in pixels.

    Returns:
        ``[x0, y0, x1, y1]``, each in [0, 1].

    Raises:
        ValueError: the box is malformed or not inside the image.
    """
    (r0, c0, r1, c1), (height, width) = _check_box(box_rc, image_size_hw)
    return [c0 / width, (height - r1) / height, c1 / width, (height - r0) / height]


def box_area_fraction(box_rc: Sequence[int], image_size_hw: Sequence[int]) -> float:
    """Pixels inside an inclusive box over pixels in the image (detection difficulty bins).

    Args:
        box_rc: inclusive ``(r0, c0, r1, c1)`` in pixels.
        image_size_hw: ``(H, W)`` in pixels.

    Returns:
        ``(r1 - r0 + 1) * (c1 - c0 + 1) / (H * W)``, in (0, 1].

    Raises:
        ValueError: the box is malformed or not inside the image.
    """
    (r0, c0, r1, c1), (height, width) = _check_box(box_rc, image_size_hw)
    return (r1 - r0 + 1) * (c1 - c0 + 1) / (height * width)


@dataclass(frozen=True)
class EllipseAxes:
    """Axes of the ellipse fitted to a lesion, landmarks 1-2 (major) and 3-4 (minor).

    Attributes:
        major_endpoints: the two ends of the major axis, ``(row, col)`` pixel coordinates
            (fractional unless rounded), ordered by column then row.
        minor_endpoints: the two ends of the minor axis, same convention.
        major_mm: major axis length in mm, the physical distance between its endpoints.
        minor_mm: minor axis length in mm, likewise.
    """

    major_endpoints: tuple[PointRC, PointRC]
    minor_endpoints: tuple[PointRC, PointRC]
    major_mm: float
    minor_mm: float


def endpoints_in_box_band(
    endpoints_rc: Sequence[Sequence[float]],
    box_rc: Sequence[int],
    band: tuple[float, float] = DEFAULT_BOX_BAND,
) -> bool:
    """Whether every endpoint lies between the ``band[0]``x and ``band[1]``x scaled box.

    The reading stated in the module docstring: with the box's centre ``((r0 + r1) / 2,
    (c0 + c1) / 2)`` and half-sizes ``((r1 - r0) / 2, (c1 - c0) / 2)`` (pixels), an endpoint
    offset ``(dr, dc)`` from the centre passes when
    ``band[0] <= max(|dr| / half_r, |dc| / half_c) <= band[1]`` (both bounds inclusive).

    Args:
        endpoints_rc: points as ``(row, col)`` pixel coordinates.
        box_rc: the component's inclusive ``(r0, c0, r1, c1)`` box in pixels.
        band: (inner, outer) scale factors of the box about its centre.

    Returns:
        True if all endpoints are in the band. False if the box is one pixel thick along an
        axis (half-size 0), where the band is undefined.
    """
    r0, c0, r1, c1 = (float(v) for v in box_rc)
    half_r, half_c = (r1 - r0) / 2.0, (c1 - c0) / 2.0
    if half_r <= 0 or half_c <= 0:
        return False
    centre_r, centre_c = (r0 + r1) / 2.0, (c0 + c1) / 2.0
    inner, outer = band
    for row, col in endpoints_rc:
        box_distance = max(abs(row - centre_r) / half_r, abs(col - centre_c) / half_c)
        if not inner <= box_distance <= outer:
            return False
    return True


def _ordered(p: PointRC, q: PointRC) -> tuple[PointRC, PointRC]:
    """The two points ordered by column, then row, so landmark numbering is deterministic."""
    return (p, q) if (p[1], p[0]) <= (q[1], q[0]) else (q, p)


def fit_lesion_ellipse(
    mask2d: np.ndarray,
    pixel_size_hw: Sequence[float],
    *,
    min_pixels: int = DEFAULT_MIN_LESION_PIXELS,
    round_endpoints: bool = False,
    box_band: tuple[float, float] | None = DEFAULT_BOX_BAND,
) -> EllipseAxes | None:
    """Fit the T/L ellipse to a lesion's outline in mm and return its axis endpoints and lengths.

    Method and filter are described (and justified) in the module docstring: ``cv2.fitEllipse``
    on the outer contour in physical coordinates ``(x, y) = (col * pw, row * ph)``; endpoints
    converted back to ``(row, col)`` pixels; lengths = ``distance_mm`` between the endpoints with
    spacing ``(ph, pw)``, i.e. the fitted full axes.

    Args:
        mask2d: 2D array (H, W); nonzero pixels are the lesion.
        pixel_size_hw: ``(ph, pw)``, mm per pixel along rows and along columns.
        min_pixels: smallest component (pixel count) that is fitted (the benchmark's 200).
        round_endpoints: round endpoints to the nearest whole pixel (ties to even), as the
            benchmark stored its landmarks, and recompute the lengths from the rounded endpoints
            (moves them by up to about a pixel size). The box filter then judges the rounded
            endpoints.
        box_band: (inner, outer) box scales of the endpoint filter; None keeps every fit.

    Returns:
        The ellipse axes, or None when the foreground is not exactly one 4-connected component,
        the component has fewer than ``min_pixels`` pixels, the fit fails or is degenerate, or
        an endpoint falls outside the box band.

    Raises:
        ValueError: the mask is not 2D or the pixel size is not two positive numbers.
    """
    ph, pw = _check_pixel_size(pixel_size_hw)
    component = _single_component(_as_2d_mask(mask2d))
    if component is None or int(component.sum()) < min_pixels:
        return None

    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    # cv2 contour points are (x, y) = (col, row); one 4-component gives one external contour.
    outline_colrow = contours[0].reshape(-1, 2).astype(np.float64)
    if len(outline_colrow) < 5:  # fitEllipse needs five points
        return None
    outline_mm = (outline_colrow * np.array([pw, ph])).astype(np.float32)
    try:
        (centre_x, centre_y), (width_mm, height_mm), angle_deg = cv2.fitEllipse(outline_mm)
    except cv2.error:
        return None
    if not all(math.isfinite(v) and v > 0 for v in (width_mm, height_mm)):
        return None
    if not all(math.isfinite(v) for v in (centre_x, centre_y, angle_deg)):
        return None

    # fitEllipse's "width" axis points along (cos a, sin a) in (x, y); "height" is perpendicular.
    theta = math.radians(angle_deg)
    width_dir = np.array([math.cos(theta), math.sin(theta)])
    height_dir = np.array([-math.sin(theta), math.cos(theta)])
    width_axis, height_axis = (width_mm, width_dir), (height_mm, height_dir)
    major_axis, minor_axis = (width_axis, height_axis) if width_mm >= height_mm else (height_axis, width_axis)
    centre_xy = np.array([centre_x, centre_y], dtype=np.float64)

    def endpoints(length_mm: float, direction_xy: np.ndarray) -> tuple[PointRC, PointRC]:
        ends = []
        for sign in (-1.0, 1.0):
            x_mm, y_mm = centre_xy + sign * (length_mm / 2.0) * direction_xy
            row, col = y_mm / ph, x_mm / pw
            if round_endpoints:
                row, col = float(round(row)), float(round(col))
            ends.append((float(row), float(col)))
        return _ordered(ends[0], ends[1])

    major_ends = endpoints(*major_axis)
    minor_ends = endpoints(*minor_axis)
    if box_band is not None and not endpoints_in_box_band(
        (*major_ends, *minor_ends), _bounding_box(component), box_band
    ):
        return None
    return EllipseAxes(
        major_endpoints=major_ends,
        minor_endpoints=minor_ends,
        major_mm=distance_mm(*major_ends, (ph, pw)),
        minor_mm=distance_mm(*minor_ends, (ph, pw)),
    )


def _scaled_vector(start: Sequence[float], end: Sequence[float], spacing: Sequence[float]) -> np.ndarray:
    start_a, end_a, spacing_a = (np.asarray(v, dtype=np.float64) for v in (start, end, spacing))
    if not (start_a.ndim == end_a.ndim == spacing_a.ndim == 1) or not (start_a.shape == end_a.shape == spacing_a.shape):
        raise ValueError(
            f"points and spacing must be 1D of one length, got {list(start)}, {list(end)}, spacing {list(spacing)}"
        )
    return (end_a - start_a) * spacing_a


def distance_mm(p1: Sequence[float], p2: Sequence[float], spacing: Sequence[float]) -> float:
    """Physical distance between two points given in index coordinates.

    Args:
        p1: first point, index (voxel/pixel) coordinates, any dimension, e.g. ``(row, col)``.
        p2: second point, same dimension.
        spacing: mm per index step along each coordinate, e.g. ``(ph, pw)``.

    Returns:
        ``|| (p2 - p1) * spacing ||`` in mm.

    Raises:
        ValueError: the three sequences differ in length.
    """
    return float(np.linalg.norm(_scaled_vector(p1, p2, spacing)))


def angle_degrees(
    p1: Sequence[float],
    p2: Sequence[float],
    q1: Sequence[float],
    q2: Sequence[float],
    spacing: Sequence[float],
) -> float:
    """Angle between line p1-p2 and line q1-q2, measured in physical space.

    The vectors are ``v1 = (p2 - p1) * spacing`` and ``v2 = (q2 - q1) * spacing``; the angle is
    ``degrees(arccos(|v1 . v2| / (|v1| |v2|)))``, so it ignores line direction and lies in
    [0, 90]. Anisotropic spacing changes angles, which is why it is applied before the dot.

    Args:
        p1, p2: start and end of the first line, index coordinates (any dimension).
        q1, q2: start and end of the second line, same dimension.
        spacing: mm per index step along each coordinate.

    Returns:
        The angle in degrees, in [0, 90].

    Raises:
        ValueError: a line has zero length, or the sequences differ in length.
    """
    v1 = _scaled_vector(p1, p2, spacing)
    v2 = _scaled_vector(q1, q2, spacing)
    n1, n2 = np.linalg.norm(v1), np.linalg.norm(v2)
    for name, norm, start, end in (("first", n1, p1, p2), ("second", n2, q1, q2)):
        if norm == 0:
            raise ValueError(f"{name} line has zero length: {list(start)} -> {list(end)}")
    cosine = min(1.0, abs(float(np.dot(v1, v2))) / (n1 * n2))  # clip rounding above 1
    return math.degrees(math.acos(cosine))
