"""Slice rendering (docs/fidelity.md) on arrays whose every value is known."""

import numpy as np
import pytest
from PIL import Image

from medvision_tasks.rendering import normalize_to_uint8, normalize_to_uint8_reference, render_slice, resize_bilinear


def test_min_max_normalisation_and_constant_slice():
    np.testing.assert_array_equal(normalize_to_uint8(np.array([[-10.0, 0.0], [10.0, 5.0]])), [[0, 128], [255, 191]])
    np.testing.assert_array_equal(normalize_to_uint8(np.full((2, 3), 7.0)), np.zeros((2, 3)))


def test_bilinear_reshape_of_a_linear_ramp_stays_linear():
    # A ramp along columns sampled at pixel centres: doubling the width keeps it linear in the
    # interior, and PIL's bilinear maps output column j to input position (j + 0.5) / 2 - 0.5.
    ramp = np.tile(np.arange(4, dtype=np.float32) * 10, (2, 1))
    wide = resize_bilinear(ramp, (2, 8))
    assert wide.shape == (2, 8)
    expected_interior = [((j + 0.5) / 2 - 0.5) * 10 for j in range(1, 7)]
    np.testing.assert_allclose(wide[0, 1:7], expected_interior, atol=1e-4)


def test_rendered_image_is_rgb_of_the_requested_size():
    image = render_slice(np.arange(12, dtype=np.int16).reshape(3, 4), size_hw=(6, 10))
    assert image.mode == "RGB"
    assert image.size == (10, 6)  # PIL: (width, height)
    pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() == 255
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])


def test_non_finite_voxels_do_not_blank_the_slice():
    slice_with_nan = np.array([[0.0, np.nan], [10.0, 5.0]])
    np.testing.assert_array_equal(normalize_to_uint8(slice_with_nan), [[0, 0], [255, 128]])
    np.testing.assert_array_equal(normalize_to_uint8(np.full((2, 2), np.nan)), np.zeros((2, 2)))


def landed_min_max(image: np.ndarray) -> np.ndarray:
    """The rule as first written, one expression over every pixel: the yardstick for both paths."""
    values = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = float(values[finite].min()), float(values[finite].max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.floor((np.where(finite, values, low) - low) / (high - low) * 255.0 + 0.5).astype(np.uint8)


def ct_like_slices(count: int = 12) -> list[np.ndarray]:
    """512x512 int16 slices: air, a body of soft tissue with noise, a bone, as a CT slice holds."""
    rng = np.random.default_rng(3)
    rows, cols = np.meshgrid(np.linspace(-1, 1, 512), np.linspace(-1, 1, 512), indexing="ij")
    slices = []
    for k in range(count):
        body = (rows / (0.7 + 0.02 * k)) ** 2 + (cols / 0.55) ** 2 <= 1
        plane = np.where(body, 40.0 + rng.normal(0, 14, body.shape), -1000.0 + rng.normal(0, 6, body.shape))
        plane[(rows / 0.08) ** 2 + ((cols + 0.35) / 0.08) ** 2 <= 1] = 700 + 10 * k
        slices.append(np.rint(plane).astype(np.int16))
    return slices


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32])
def test_lookup_table_gives_the_bytes_of_the_every_pixel_rule(dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(int(np.dtype(dtype).num))
    cases = [
        rng.integers(info.min, info.max, size=(64, 48), endpoint=True).astype(dtype),  # widest range the type has
        rng.integers(max(info.min, -5), min(info.max, 300), size=(31, 17)).astype(dtype),
        np.array([[info.min, info.max]], dtype=dtype),
        np.full((3, 4), info.max, dtype=dtype),  # constant: all zeros
        np.array([[7, 8], [8, 7]], dtype=dtype),
    ]
    for image in cases:
        expected = landed_min_max(image)
        np.testing.assert_array_equal(normalize_to_uint8_reference(image), expected)
        fast = normalize_to_uint8(image)
        assert fast.dtype == np.uint8 and fast.tobytes() == expected.tobytes()


def test_lookup_table_on_ct_slices_and_their_views():
    for plane in ct_like_slices():
        for view in (plane, plane.T, plane[::2, 1::3], np.asfortranarray(plane)):
            assert normalize_to_uint8(view).tobytes() == landed_min_max(view).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_slices_take_the_every_pixel_rule_in_place(dtype):
    rng = np.random.default_rng(5)
    image = (rng.normal(0, 300, size=(70, 90))).astype(dtype)
    image[3, 4], image[5, 6] = np.nan, np.inf
    kept = image.copy()
    assert normalize_to_uint8(image).tobytes() == landed_min_max(image).tobytes()
    np.testing.assert_array_equal(image, kept)  # the caller's slice is not overwritten


@pytest.mark.parametrize(
    "image",
    [
        ct_like_slices(1)[0][:200, :150],
        np.arange(12, dtype=np.uint8).reshape(3, 4),
        np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        np.array([[2**30 + 1, 0], [2**30 + 3, 5]], dtype=np.int32),  # not exact in float32: still cast
    ],
)
def test_a_slice_already_of_the_size_renders_as_through_the_float32_reshape(image):
    through_reshape = Image.fromarray(landed_min_max(resize_bilinear(image, image.shape))).convert("RGB")
    assert render_slice(image, image.shape).tobytes() == through_reshape.tobytes()
