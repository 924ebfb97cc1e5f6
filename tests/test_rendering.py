"""Slice rendering (docs/fidelity.md) on arrays whose every value is known."""

import numpy as np

from medvision_tasks.rendering import normalize_to_uint8, render_slice, resize_bilinear


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
