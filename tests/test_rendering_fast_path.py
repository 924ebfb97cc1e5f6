"""Rendering's fast paths give upstream's bytes: rules in place, percentiles from order statistics, the two-value test.

The yardstick is upstream's code restated (:func:`tests.helpers.upstream_rendering.upstream_pixels`)
on finite slices; non-finite ones against the package's own rule with ``np.percentile`` over the
finite values.
"""

from __future__ import annotations

import numpy as np
import pytest

from medvision_tasks import rendering
from medvision_tasks.protocols import PROTOCOLS
from medvision_tasks.rendering import (
    MINMAX_NORMALIZATION,
    PERCENTILE_NORMALIZATION,
    Normalization,
    percentile_limits,
    percentile_uint8,
    render_slice,
)
from tests.helpers.upstream_rendering import ct_like_slices, upstream_pixels

ORIGINAL = PROTOCOLS["original"]  # min-max, linear zoom
PUBLISHED = PROTOCOLS["published"]  # windows and percentiles, nearest zoom for two-valued slices
NORMALIZATIONS = [
    MINMAX_NORMALIZATION,
    PERCENTILE_NORMALIZATION,
    Normalization("ct_window", (400, 40)),  # soft tissue
    Normalization("ct_window", (1500, -600)),  # lung
    Normalization("ct_window", (80, 40)),  # brain
]

needs_own_percentiles = pytest.mark.skipif(
    not rendering.ORDER_STATISTIC_PERCENTILES, reason="numpy 1 percentiles go through np.percentile"
)


def integer_slices(dtype) -> list[np.ndarray]:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(int(np.dtype(dtype).num))
    low, high = max(info.min, -3000), min(info.max, 3000)
    return [
        rng.integers(low, high, size=(64, 48), endpoint=True).astype(dtype),
        rng.integers(max(info.min, -5), min(info.max, 300), size=(31, 17)).astype(dtype),
        np.array([[info.min, info.max]], dtype=dtype)
        if info.max - info.min < 1 << 16
        else np.array([[low, high]], dtype),
        np.full((3, 4), min(info.max, 77), dtype=dtype),  # constant
        np.array([[7, 8], [8, 7]], dtype=dtype),  # two values
        np.where(rng.random((40, 40)) < 0.98, low, high).astype(dtype),  # percentiles on ties
    ]


def assert_same_image(raw, size_hw, protocol, normalization):
    expected = upstream_pixels(raw, size_hw, protocol, normalization)
    got = np.asarray(render_slice(raw, size_hw, protocol=protocol, normalization=normalization))
    assert got.shape == (*expected.shape, 3)
    assert got[..., 0].tobytes() == expected.tobytes(), (raw.dtype, raw.shape, size_hw, normalization)


@pytest.mark.parametrize("normalization", NORMALIZATIONS, ids=lambda n: f"{n.rule}{n.window or ''}")
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32])
def test_integer_slices(dtype, normalization):
    for raw in integer_slices(dtype):
        for size_hw in (None, raw.shape):
            assert_same_image(raw, size_hw, PUBLISHED, normalization)


@pytest.mark.parametrize("normalization", NORMALIZATIONS, ids=lambda n: f"{n.rule}{n.window or ''}")
def test_ct_slices_and_their_views_at_native_size_and_zoomed(normalization):
    for plane in ct_like_slices(4):
        for view in (plane, plane.T, plane[::2, 1::3], np.asfortranarray(plane)):
            assert_same_image(view, None, PUBLISHED, normalization)
        for protocol in (ORIGINAL, PUBLISHED):
            assert_same_image(plane, (504, 504), protocol, normalization)
            assert_same_image(plane[:300, :200], (336, 224), protocol, normalization)


def test_integers_that_float32_rounds_wide_integers_and_booleans():
    wide = np.array([[2**30 + 1, 0], [2**30 + 3, 5]], dtype=np.int32)
    rounded = np.array([[2**25 + 1, 2**25 + 2], [2**25 + 3, 2**25 + 7]], dtype=np.int32)  # float32 merges values
    wider = np.array([[0, 5], [2**40, 3]], dtype=np.int64)
    for normalization in NORMALIZATIONS:
        for raw in (wide, rounded, wider, np.array([[0, 1], [1, 1]], dtype=bool)):
            assert_same_image(raw, None, PUBLISHED, normalization)


@pytest.mark.parametrize("normalization", NORMALIZATIONS, ids=lambda n: f"{n.rule}{n.window or ''}")
def test_a_rule_leaves_its_input_alone_unless_told_to_overwrite_it(normalization):
    image = np.random.default_rng(4).normal(0, 300, size=(40, 30)).astype(np.float32)
    image[2, 3] = np.nan
    kept = image.copy()
    pixels = normalization.apply(image)
    np.testing.assert_array_equal(image, kept)
    assert normalization.apply(image, overwrite=True).tobytes() == pixels.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_slices(dtype):
    rng = np.random.default_rng(5)
    images = [
        rng.normal(0, 300, size=(70, 90)).astype(dtype),
        (rng.gamma(2.0, 150.0, size=(256, 256)) * 0.37).astype(dtype),  # a scaled MRI: skewed, no two alike
        np.round(rng.normal(0, 2, size=(128, 96))).astype(dtype) / 4,  # many ties
    ]
    for image in images:
        for normalization in NORMALIZATIONS:
            assert_same_image(image, None, PUBLISHED, normalization)
            assert_same_image(image, (100, 80), PUBLISHED, normalization)


def test_non_finite_voxels_are_left_out_of_the_percentiles():
    rng = np.random.default_rng(8)
    image = rng.normal(0, 300, size=(150, 120)).astype(np.float32)
    image[3, 4], image[5, 6], image[7, 8] = np.nan, np.inf, -np.inf
    kept = image.copy()
    finite = image[np.isfinite(image)]
    v_min, v_max = np.percentile(finite, 0.5), np.percentile(finite, 99.5)
    clipped = np.clip(np.where(np.isfinite(image), image, v_min), v_min, v_max)
    expected = (((clipped - v_min) / (v_max - v_min)) * 255.0).astype(np.uint8)
    expected[~np.isfinite(image)] = 0
    assert percentile_uint8(image).tobytes() == expected.tobytes()
    np.testing.assert_array_equal(image, kept)  # the caller's slice is untouched


def _arrays_for_percentiles() -> list[np.ndarray]:
    rng = np.random.default_rng(21)
    arrays = [np.array([5.0]), np.array([1.0, 2.0]), np.array([3.0, -1.0, 2.0]), np.arange(201.0), np.arange(11.0)]
    for count in (10, 999, 8191, 8192, 10_000, 262_144):
        arrays.append(rng.normal(0, 1000, count))
        arrays.append(rng.integers(-1024, 3000, count).astype(float))
        arrays.append(np.where(rng.random(count) < 0.9, -1024.0, rng.normal(40, 30, count)))  # ties at one end
    arrays.append(np.full(50_000, 7.5))
    misleading = rng.normal(0, 1, 262_144)
    misleading[:: 262_144 >> 12] = -1e6 - np.arange(4096)  # the sample sees only extremes: every value is selected
    arrays.append(misleading)
    return [a.astype(np.float32) for a in arrays]


@needs_own_percentiles
def test_percentile_limits_equal_numpy_bit_for_bit():
    for values in _arrays_for_percentiles():
        limits = percentile_limits(values)
        expected = (np.percentile(values, 0.5), np.percentile(values, 99.5))
        assert [type(x) for x in limits] == [type(x) for x in expected] == [np.float32, np.float32]
        assert np.array(limits).tobytes() == np.array(expected).tobytes(), values.size


@needs_own_percentiles
def test_order_statistics_are_those_of_a_sort():
    for values in _arrays_for_percentiles():
        ordered = np.sort(values)
        ranks = [0, values.size // 3, values.size - 1]
        assert rendering._order_statistics(values, ranks) == [ordered[r] for r in ranks]


@pytest.mark.parametrize(
    "values",
    [[3.0, 3.0, 3.0], [0.0, -0.0, 1.0], [1.0, 2.0, 3.0], [np.nan, 1.0, np.nan], [np.nan, 1.0, 2.0], [-np.inf, np.inf]],
)
def test_two_values_or_fewer_as_np_unique_counts(values):
    image = np.array([values], dtype=np.float32)
    assert rendering._at_most_two_values(image) == (len(np.unique(image)) <= 2)


def test_two_valued_ct_slices_are_zoomed_nearest():
    mask_like = np.where(ct_like_slices(1, 64)[0] > 0, np.int16(700), np.int16(-1024))
    for normalization in NORMALIZATIONS:
        assert_same_image(mask_like, (100, 100), PUBLISHED, normalization)
        assert_same_image(mask_like, (100, 100), ORIGINAL, normalization)
