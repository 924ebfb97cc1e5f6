"""Ground truth (docs/data.md, "Builder rules") on phantoms whose geometry is known on paper.

Discretisation tolerance of the ellipse fit, derived once and used below: the fit runs through
the centres of the lesion's boundary pixels (each a foreground pixel with a background
4-neighbour), which lie inside the true ellipse and at most one pixel step from its edge. So a
fitted semi-axis lies between ``a - step`` and ``a``, where ``step`` is the pixel size along that
axis for an axis-aligned ellipse and at most ``max(ph, pw)`` for a tilted one; a full axis lies
in ``[2a - 2 * step, 2a]`` (plus float32 rounding, ``FLOAT_TOL``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from medvision_tasks.ground_truth import (
    EllipseAxes,
    angle_degrees,
    box_area_fraction,
    distance_mm,
    endpoints_in_box_band,
    fit_lesion_ellipse,
    relative_box,
    single_component_box,
)

FLOAT_TOL = 1e-3  # mm or pixels: cv2 fits in float32


def ellipse_phantom(
    shape_hw: tuple[int, int],
    centre_rc: tuple[int, int],
    pixel_size_hw: tuple[float, float],
    semi_x_mm: float,
    semi_y_mm: float,
    angle_deg: float = 0.0,
) -> np.ndarray:
    """Filled ellipse defined in mm: pixel (r, c) is in when its centre is inside.

    Before rotation the ``semi_x_mm`` axis runs along columns (x) and ``semi_y_mm`` along rows
    (y, downwards); ``angle_deg`` turns the ellipse from x towards y. The 1e-9 slack keeps pixels
    whose centre lies exactly on the edge inside despite float rounding.
    """
    ph, pw = pixel_size_hw
    rows, cols = np.mgrid[0 : shape_hw[0], 0 : shape_hw[1]]
    y = (rows - centre_rc[0]) * ph
    x = (cols - centre_rc[1]) * pw
    t = math.radians(angle_deg)
    u = x * math.cos(t) + y * math.sin(t)
    v = -x * math.sin(t) + y * math.cos(t)
    return (u / semi_x_mm) ** 2 + (v / semi_y_mm) ** 2 <= 1 + 1e-9


def assert_full_axis(length_mm: float, semi_mm: float, step_mm: float) -> None:
    assert 2 * semi_mm - 2 * step_mm - FLOAT_TOL <= length_mm <= 2 * semi_mm + FLOAT_TOL


# --- boxes -------------------------------------------------------------------------------------


def test_hand_counted_box_and_relative_box():
    mask = np.zeros((10, 20), dtype=np.uint8)
    mask[2:5, 3:9] = 1
    box = single_component_box(mask)
    assert box == (2, 3, 4, 8)
    assert relative_box(box, (10, 20)) == pytest.approx([3 / 20, (10 - 4) / 10, 8 / 20, (10 - 2) / 10])
    # 3 rows x 6 columns inclusive = 18 pixels of 200.
    assert box_area_fraction(box, (10, 20)) == pytest.approx(18 / 200)


def test_single_pixel_box_and_full_image_box():
    mask = np.zeros((4, 5), dtype=bool)
    mask[3, 0] = True  # bottom-left pixel
    assert single_component_box(mask) == (3, 0, 3, 0)
    assert relative_box((3, 0, 3, 0), (4, 5)) == [0.0, 0.25, 0.0, 0.25]
    assert box_area_fraction((0, 0, 3, 4), (4, 5)) == 1.0


def test_corner_touching_pixels_are_two_components():
    mask = np.zeros((5, 5), dtype=int)
    mask[1, 1] = mask[2, 2] = 1  # 8-connected, not 4-connected
    assert single_component_box(mask) is None


def test_empty_and_split_masks_have_no_box():
    assert single_component_box(np.zeros((6, 6))) is None
    mask = np.zeros((6, 6))
    mask[0, 0:2] = 1
    mask[4:6, 4] = 2  # any nonzero value is foreground
    assert single_component_box(mask) is None


def test_box_of_phantom_counted_on_paper():
    # |r - 30| * 0.5 <= 10 -> rows 10..50; |c - 35| * 0.8 <= 20 -> columns 10..60.
    mask = ellipse_phantom((61, 71), (30, 35), (0.5, 0.8), semi_x_mm=20, semi_y_mm=10)
    assert single_component_box(mask) == (10, 10, 50, 60)


@pytest.mark.parametrize(
    "box, size_hw",
    [
        ((2, 3, 10, 8), (10, 20)),
        ((5, 3, 4, 8), (10, 20)),
        ((-1, 0, 2, 2), (10, 20)),
        ((0, 0, 1), (10, 20)),
        ((0, 0, 1, 1), (0, 20)),
    ],
)
def test_invalid_box_is_rejected(box, size_hw):
    with pytest.raises(ValueError, match="box|image_size_hw"):
        relative_box(box, size_hw)
    with pytest.raises(ValueError, match="box|image_size_hw"):
        box_area_fraction(box, size_hw)


def test_three_dimensional_mask_is_rejected():
    with pytest.raises(ValueError, match=r"2D.*\(2, 3, 4\)"):
        single_component_box(np.zeros((2, 3, 4)))


# --- ellipse: axis-aligned phantoms on anisotropic grids ----------------------------------------

# (ph, pw, semi_x_mm along columns, semi_y_mm along rows); each semi-axis is a whole number of
# pixels along its own axis, so the extreme pixel centres touch the ellipse.
ALIGNED_CASES = [
    pytest.param(0.5, 0.8, 20.0, 10.0, id="ph<pw,long-along-columns"),
    pytest.param(0.5, 0.8, 8.0, 15.0, id="ph<pw,long-along-rows"),
    pytest.param(0.8, 0.5, 20.0, 12.0, id="ph>pw,long-along-columns"),
    pytest.param(0.8, 0.5, 10.0, 16.0, id="ph>pw,long-along-rows"),
    pytest.param(0.5, 0.8, 16.0, 16.0, id="circle-in-mm-on-anisotropic-grid"),
]


@pytest.mark.parametrize("ph, pw, semi_x, semi_y", ALIGNED_CASES)
def test_axis_aligned_phantom_lengths_and_endpoints(ph, pw, semi_x, semi_y):
    centre = (50, 50)
    mask = ellipse_phantom((101, 101), centre, (ph, pw), semi_x, semi_y)
    axes = fit_lesion_ellipse(mask, (ph, pw))
    assert isinstance(axes, EllipseAxes)

    # The column axis (x) of the phantom: its ends share the centre row; likewise for rows (y).
    major, minor = (axes.major_endpoints, axes.major_mm), (axes.minor_endpoints, axes.minor_mm)
    if semi_x > semi_y:
        (x_ends, x_len), (y_ends, y_len) = major, minor
    elif semi_y > semi_x:
        (x_ends, x_len), (y_ends, y_len) = minor, major
    else:  # a circle in mm: whichever axis cv2 calls major, both are checked below
        first, second = axes.major_endpoints, axes.minor_endpoints
        along_columns = abs(first[0][0] - first[1][0]) < FLOAT_TOL
        x_ends, y_ends = (first, second) if along_columns else (second, first)
        x_len, y_len = (axes.major_mm, axes.minor_mm) if along_columns else (axes.minor_mm, axes.major_mm)

    assert_full_axis(x_len, semi_x, pw)
    assert_full_axis(y_len, semi_y, ph)
    assert axes.major_mm >= axes.minor_mm

    # Endpoints in (row, col) pixels, ordered left/top first: on paper, the x-axis ends sit on
    # the centre row, between one pixel inside the edge and the edge (semi / pw pixels out).
    (left, right), (top, bottom) = x_ends, y_ends
    for row, _ in (left, right):
        assert row == pytest.approx(centre[0], abs=FLOAT_TOL)
    for _, col in (top, bottom):
        assert col == pytest.approx(centre[1], abs=FLOAT_TOL)
    semi_x_px, semi_y_px = semi_x / pw, semi_y / ph
    assert centre[1] - semi_x_px - FLOAT_TOL <= left[1] <= centre[1] - semi_x_px + 1 + FLOAT_TOL
    assert centre[1] + semi_x_px - 1 - FLOAT_TOL <= right[1] <= centre[1] + semi_x_px + FLOAT_TOL
    assert centre[0] - semi_y_px - FLOAT_TOL <= top[0] <= centre[0] - semi_y_px + 1 + FLOAT_TOL
    assert centre[0] + semi_y_px - 1 - FLOAT_TOL <= bottom[0] <= centre[0] + semi_y_px + FLOAT_TOL
    # Symmetric phantom, symmetric fit: the ends are mirror images about the centre pixel.
    assert left[1] + right[1] == pytest.approx(2 * centre[1], abs=FLOAT_TOL)
    assert top[0] + bottom[0] == pytest.approx(2 * centre[0], abs=FLOAT_TOL)


def test_swapped_spacing_bug_would_be_caught():
    # A 32 mm circle on 0.5 x 0.8 mm pixels spans 64 rows and 40 columns. Scaling columns by ph
    # and rows by pw (the public benchmark's bug) would measure 20 mm and 51.2 mm.
    mask = ellipse_phantom((101, 101), (50, 50), (0.5, 0.8), 16.0, 16.0)
    axes = fit_lesion_ellipse(mask, (0.5, 0.8))
    assert 32 - 2 * 0.8 - FLOAT_TOL <= axes.minor_mm <= axes.major_mm <= 32 + FLOAT_TOL


@pytest.mark.parametrize("pixel_size_hw", [(0.5, 0.5), (0.5, 0.8)])
def test_long_axis_along_rows_or_columns_gives_same_lengths(pixel_size_hw):
    ph, pw = pixel_size_hw
    along_columns = ellipse_phantom((101, 101), (50, 50), (ph, pw), 18.0, 9.0)
    # The same physical ellipse turned 90 degrees: transposed mask on the transposed grid.
    along_rows = along_columns.T
    a = fit_lesion_ellipse(along_columns, (ph, pw))
    b = fit_lesion_ellipse(along_rows, (pw, ph))
    assert a.major_mm == pytest.approx(b.major_mm, abs=FLOAT_TOL)
    assert a.minor_mm == pytest.approx(b.minor_mm, abs=FLOAT_TOL)
    # Transposing swaps row and column of every endpoint.
    for ends_a, ends_b in (
        (a.major_endpoints, b.major_endpoints),
        (a.minor_endpoints, b.minor_endpoints),
    ):
        np.testing.assert_allclose(sorted(ends_a), sorted((c, r) for r, c in ends_b), atol=FLOAT_TOL)


def test_lengths_are_the_physical_distances_between_endpoints():
    ph, pw = 0.8, 0.5
    axes = fit_lesion_ellipse(ellipse_phantom((101, 101), (50, 50), (ph, pw), 20.0, 12.0), (ph, pw))
    for (p, q), length in (
        (axes.major_endpoints, axes.major_mm),
        (axes.minor_endpoints, axes.minor_mm),
    ):
        assert length == pytest.approx(math.hypot((q[0] - p[0]) * ph, (q[1] - p[1]) * pw))


def test_round_endpoints_gives_whole_pixels_and_lengths_from_them():
    ph, pw = 0.5, 0.8
    mask = ellipse_phantom((101, 101), (50, 50), (ph, pw), 20.0, 10.0)
    exact = fit_lesion_ellipse(mask, (ph, pw))
    rounded = fit_lesion_ellipse(mask, (ph, pw), round_endpoints=True)
    for ends_exact, ends_rounded, length in (
        (exact.major_endpoints, rounded.major_endpoints, rounded.major_mm),
        (exact.minor_endpoints, rounded.minor_endpoints, rounded.minor_mm),
    ):
        for p_exact, p_rounded in zip(ends_exact, ends_rounded, strict=True):
            for value_exact, value_rounded in zip(p_exact, p_rounded, strict=True):
                assert value_rounded == int(value_rounded)
                assert abs(value_rounded - value_exact) <= 0.5 + FLOAT_TOL
        p, q = ends_rounded
        assert length == pytest.approx(math.hypot((q[0] - p[0]) * ph, (q[1] - p[1]) * pw))
    # Axis ends on the centre row / column stay exactly there.
    assert [p[0] for p in rounded.major_endpoints] == [50.0, 50.0]
    assert [p[1] for p in rounded.minor_endpoints] == [50.0, 50.0]


# --- ellipse: the endpoint filter (0.9x-1.1x box band, read as in the module docstring) ----------


@pytest.mark.parametrize(
    "point, inside_band",
    [
        # box (0, 0, 20, 40): centre (10, 20), half-sizes 10 rows, 20 columns
        ((10, 39), True),  # 19/20 = 0.95 along columns
        ((0, 20), True),  # 10/10 = 1.0 along rows: on the box
        ((21, 20), True),  # 11/10 = 1.1: on the outer edge, inclusive
        ((10, 38), True),  # 18/20 = 0.9: on the inner edge, inclusive
        ((10, 37), False),  # 17/20 = 0.85: inside the 0.9x box
        ((10, 20), False),  # the centre
        ((10, 43), False),  # 23/20 = 1.15: outside the 1.1x box
        ((19, 38), True),  # 0.9 rows, 0.9 columns: the larger ratio decides
        ((22, 39), False),  # 1.2 along rows overshoots though columns are fine
    ],
)
def test_box_band_reading(point, inside_band):
    assert endpoints_in_box_band([point], (0, 0, 20, 40)) is inside_band


def test_box_band_needs_every_endpoint_and_a_box_with_area():
    assert not endpoints_in_box_band([(10, 39), (10, 20)], (0, 0, 20, 40))
    assert not endpoints_in_box_band([(5, 5)], (5, 0, 5, 10))  # one row thick: no band


def test_ellipse_tilted_45_degrees_is_rejected_by_the_band_but_fits():
    # a = 20 mm, b = 8 mm turned 45 degrees. On paper the box half-size is sqrt((a^2+b^2)/2)
    # = 15.23 mm on both axes (at most 0.8 mm less after digitising); a minor-axis end is
    # (b/sqrt2, b/sqrt2) from the centre: box distance b / sqrt(a^2 + b^2) = 0.37 (0.33-0.40
    # with the fit tolerance), well inside the 0.9x box. The major-axis ends sit at 0.89-0.98.
    ph, pw = 0.5, 0.8
    mask = ellipse_phantom((121, 91), (60, 45), (ph, pw), 20.0, 8.0, angle_deg=45)
    assert fit_lesion_ellipse(mask, (ph, pw)) is None
    assert fit_lesion_ellipse(mask, (ph, pw), box_band=(0.3, 1.1)) is not None

    axes = fit_lesion_ellipse(mask, (ph, pw), box_band=None)
    step = max(ph, pw)
    assert_full_axis(axes.major_mm, 20.0, step)
    assert_full_axis(axes.minor_mm, 8.0, step)
    # The major axis runs at 45 degrees to the rows in mm (not in pixels: 0.5 vs 0.8 mm). Ends
    # off by at most `step` across a >= 38.4 mm axis tilt it by at most atan(1.6 / 38.4) = 2.4.
    # Turned from x towards y (down): the major axis runs from upper left to lower right, the
    # minor axis from lower left to upper right (endpoints come ordered by column).
    (major_left, major_right), (minor_left, minor_right) = (
        axes.major_endpoints,
        axes.minor_endpoints,
    )
    assert major_left[0] < 60 < major_right[0] and major_left[1] < 45 < major_right[1]
    assert minor_left[0] > 60 > minor_right[0] and minor_left[1] < 45 < minor_right[1]
    row_axis = ((0, 0), (1, 0))
    assert angle_degrees(*axes.major_endpoints, *row_axis, (ph, pw)) == pytest.approx(45, abs=2.4)
    assert angle_degrees(*axes.minor_endpoints, *row_axis, (ph, pw)) == pytest.approx(45, abs=2.4)


# --- ellipse: what has no ellipse ---------------------------------------------------------------


def test_two_lesions_have_no_ellipse():
    mask = ellipse_phantom((60, 120), (30, 30), (1.0, 1.0), 15, 10)
    mask |= ellipse_phantom((60, 120), (30, 90), (1.0, 1.0), 15, 10)
    assert fit_lesion_ellipse(mask, (1.0, 1.0)) is None


def test_empty_mask_has_no_ellipse():
    assert fit_lesion_ellipse(np.zeros((50, 50)), (1.0, 1.0)) is None


def test_lesions_under_200_pixels_are_skipped():
    disc = ellipse_phantom((31, 31), (15, 15), (1.0, 1.0), 7.0, 7.0)
    assert disc.sum() == 149  # lattice points within radius 7 (Gauss circle count)
    assert fit_lesion_ellipse(disc, (1.0, 1.0)) is None
    assert fit_lesion_ellipse(disc, (1.0, 1.0), min_pixels=149) is not None


def test_min_pixels_boundary_is_inclusive():
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:15, 5:25] = True  # exactly 200 pixels
    assert fit_lesion_ellipse(mask, (1.0, 1.0), box_band=None) is not None
    assert fit_lesion_ellipse(mask, (1.0, 1.0), min_pixels=201, box_band=None) is None
    mask[5, 5] = False  # 199
    assert fit_lesion_ellipse(mask, (1.0, 1.0), box_band=None) is None


@pytest.mark.parametrize("pixel_size_hw", [(1.0,), (0.0, 1.0), (1.0, -0.5), (float("nan"), 1.0)])
def test_bad_pixel_size_is_rejected(pixel_size_hw):
    with pytest.raises(ValueError, match="pixel_size_hw"):
        fit_lesion_ellipse(np.ones((20, 20)), pixel_size_hw)


# --- distances and angles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "p1, p2, spacing, expected_mm",
    [
        ((0, 0), (3, 4), (1.0, 1.0), 5.0),
        ((0, 0), (3, 2), (1.0, 2.0), 5.0),  # (3 * 1, 2 * 2) = (3, 4)
        ((10, 10), (7, 8), (1.0, 2.0), 5.0),  # direction does not matter
        ((0, 0, 0), (1, 2, 5), (3.0, 2.0, 0.0), 5.0),  # 3D, zero spacing along the last axis
        ((1.5, 2.5), (1.5, 2.5), (0.7, 0.9), 0.0),
    ],
)
def test_distance_mm(p1, p2, spacing, expected_mm):
    assert distance_mm(p1, p2, spacing) == pytest.approx(expected_mm)


def test_distance_needs_matching_dimensions():
    with pytest.raises(ValueError, match="one length"):
        distance_mm((0, 0), (1, 1, 1), (1, 1))


@pytest.mark.parametrize(
    "p1, p2, q1, q2, spacing, expected_deg",
    [
        # Index vectors (1, 0) and (1, 2) are 63.43 degrees apart; with 2 mm rows, 1 mm columns
        # they become (2, 0) and (2, 2) mm: 45 degrees.
        ((0, 0), (1, 0), (0, 0), (1, 2), (2.0, 1.0), 45.0),
        # (1, 1) and (1, -4) index -> (2, 1) and (2, -4) mm: dot 4 - 4 = 0, perpendicular.
        ((0, 0), (1, 1), (5, 5), (6, 1), (2.0, 1.0), 90.0),
        # 135 degrees between the directed vectors folds to 45: lines, not rays.
        ((0, 0), (0, 1), (0, 0), (1, -1), (1.0, 1.0), 45.0),
        ((0, 0), (0, 1), (3, 0), (3, 5), (1.0, 1.0), 0.0),  # parallel
        ((0, 0), (0, 1), (3, 5), (3, 0), (1.0, 1.0), 0.0),  # antiparallel
        # 3D: (1, 0, 0) and (1, 1, 0) index with spacing (1, sqrt(3), 1): 60 degrees.
        ((0, 0, 0), (1, 0, 0), (0, 0, 0), (1, 1, 0), (1.0, math.sqrt(3), 1.0), 60.0),
    ],
)
def test_angle_degrees(p1, p2, q1, q2, spacing, expected_deg):
    assert angle_degrees(p1, p2, q1, q2, spacing) == pytest.approx(expected_deg, abs=1e-9)


@pytest.mark.parametrize(
    "p1, p2, q1, q2, spacing, which",
    [
        ((1, 1), (1, 1), (0, 0), (1, 0), (1.0, 1.0), "first"),
        ((0, 0), (1, 0), (2, 3), (2, 3), (1.0, 1.0), "second"),
        ((0, 0), (0, 4), (0, 0), (1, 0), (1.0, 0.0), "first"),  # zero length in mm
    ],
)
def test_angle_of_degenerate_line_raises(p1, p2, q1, q2, spacing, which):
    with pytest.raises(ValueError, match=f"{which} line has zero length"):
        angle_degrees(p1, p2, q1, q2, spacing)
