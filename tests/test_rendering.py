"""Slice rendering (docs/fidelity.md) on hand-made slices whose every output value is worked out by hand."""

import numpy as np
import pytest

from medvision_tasks.protocols import PROTOCOLS
from medvision_tasks.rendering import (
    MINMAX_NORMALIZATION,
    PERCENTILE_NORMALIZATION,
    Normalization,
    ct_window_uint8,
    minmax_uint8,
    normalization_for,
    percentile_uint8,
    render_slice,
    zoom_slice,
)

ORIGINAL = PROTOCOLS["original"]
PUBLISHED = PROTOCOLS["published"]


# --- min-max (first release) -----------------------------------------------------------------------


def test_minmax_truncates_values_landing_on_half_grey_levels():
    # min -2, max 2: (x + 2) / 4 * 255 is exact in float32: -1 -> 63.75, 0 -> 127.5, 1 -> 191.25.
    # Truncation gives 63, 127, 191; rounding would give 64, 128, 191.
    slice_ = np.array([[-2, -1, 0], [1, 2, 2]], dtype=np.float32)
    np.testing.assert_array_equal(minmax_uint8(slice_), [[0, 63, 127], [191, 255, 255]])


def test_minmax_computes_in_float32_as_upstream():
    # x = 7.725490093231201 (a float32) on a 0..10 slice. float32: x / 10 = 0.77254903, * 255 = 197.0
    # exactly after rounding to float32, so 197. In float64 the product is 196.99999737739563 -> 196.
    x = 7.725490093231201
    assert int(x / 10 * 255) == 196  # the float64 route, for contrast
    slice_ = np.array([[0.0, x, 10.0]], dtype=np.float32)
    np.testing.assert_array_equal(minmax_uint8(slice_), [[0, 197, 255]])


def test_minmax_of_a_constant_slice_is_black():
    np.testing.assert_array_equal(minmax_uint8(np.full((2, 3), 7.0, dtype=np.float32)), np.zeros((2, 3)))


# --- CT windows (later pipeline) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "level", "values", "expected"),
    [
        # soft tissue (400, 40): window [-160, 240]; (x + 160) / 400 * 255
        (400, 40, [-1000, -160, -60, 40, 140, 240, 3000], [0, 0, 63, 127, 191, 255, 255]),
        # lung (1500, -600): window [-1350, 150]; -600 -> 750 / 1500 * 255 = 127.5
        (1500, -600, [-2000, -975, -600, 150], [0, 63, 127, 255]),
        # brain (80, 40): window [0, 80]; 20 -> 63.75, 40 -> 127.5, 60 -> 191.25
        (80, 40, [-5, 20, 40, 60, 81], [0, 63, 127, 191, 255]),
        # bone (1800, 400): window [-500, 1300]; 400 -> 127.5
        (1800, 400, [-500, 400, 1300], [0, 127, 255]),
    ],
)
def test_ct_window(width, level, values, expected):
    slice_ = np.array([values], dtype=np.float32)
    np.testing.assert_array_equal(ct_window_uint8(slice_, width, level), [expected])


# --- percentiles (later pipeline, non-CT) -------------------------------------------------------------


def test_percentile_clipping_with_known_percentiles():
    # 201 values 0..200: numpy's linear 0.5th percentile sits at index 0.005 * 200 = 1 (value 1), the
    # 99.5th at index 199 (value 199). (x - 1) / 198 * 255: 0 -> clipped -> 0; 50 -> 63.106 -> 63;
    # 100 -> 127.5 -> 127; 150 -> 191.89 -> 191; 199 and 200 -> 255.
    slice_ = np.arange(201, dtype=np.float32).reshape(3, 67)
    pixels = percentile_uint8(slice_).ravel()
    assert [int(pixels[i]) for i in (0, 1, 50, 100, 150, 199, 200)] == [0, 0, 63, 127, 191, 255, 255]


def test_percentiles_between_values_are_interpolated():
    # 11 values 0..10: the 0.5th percentile is at index 0.05 -> 0.05, the 99.5th at index 9.95 -> 9.95.
    # 0 is clipped to 0.05 -> 0; 10 is clipped to 9.95 -> 255; 5 -> (4.95 / 9.9) * 255 ~ 127.5 -> 127.
    slice_ = np.arange(11, dtype=np.float32)[None]
    pixels = percentile_uint8(slice_)[0]
    assert pixels[0] == 0 and pixels[10] == 255 and pixels[5] == 127


def test_percentile_of_a_flat_slice_is_black():
    # 0.5th and 99.5th percentiles equal (one outlier among 1000 voxels does not move them).
    slice_ = np.full((10, 100), 3.0, dtype=np.float32)
    slice_[0, 0] = 1000.0
    np.testing.assert_array_equal(percentile_uint8(slice_), np.zeros((10, 100)))


@pytest.mark.parametrize("normalize", [minmax_uint8, percentile_uint8, lambda s: ct_window_uint8(s, 400, 40)])
def test_non_finite_voxels_show_as_zero_and_stay_out_of_the_range(normalize):
    clean = np.array([[0.0, 100.0], [200.0, 50.0]], dtype=np.float32)
    with_nan = clean.copy()
    with_nan[0, 1] = np.nan
    out = normalize(with_nan)
    assert out[0, 1] == 0
    reference = normalize(np.array([[0.0, 200.0, 50.0]], dtype=np.float32))[0]
    if normalize is not percentile_uint8:  # percentiles of 3 values differ from those of 4
        assert [out[0, 0], out[1, 0], out[1, 1]] == list(reference)
    np.testing.assert_array_equal(normalize(np.full((2, 2), np.nan, dtype=np.float32)), np.zeros((2, 2)))


# --- which rule a doc gets ---------------------------------------------------------------------------


def _doc(family="detection", modality="CT", label_name="liver", dataset="AMOS22", task="01"):
    return {"family": family, "modality": modality, "label_name": label_name, "dataset_name": dataset, "taskID": task}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (_doc(label_name="liver"), Normalization("ct_window", (400, 40))),
        (_doc(family="tl", label_name="lung cancer"), Normalization("ct_window", (1500, -600))),
        (_doc(label_name="left lung"), Normalization("ct_window", (1500, -600))),
        (_doc(label_name="femur"), Normalization("ct_window", (1800, 400))),  # Knee Bone
        (_doc(label_name="patellar cartilage"), Normalization("ct_window", (400, 40))),  # Knee Soft Tissue
        (_doc(label_name="edema of brain"), Normalization("ct_window", (80, 40))),
        (_doc(modality="ct", label_name="vertebra L1"), Normalization("ct_window", (1800, 400))),
        (_doc(label_name="sternum"), PERCENTILE_NORMALIZATION),  # regrouped to "Others"
        (_doc(dataset="KiPA22", task="01", label_name="kidney"), PERCENTILE_NORMALIZATION),  # forced
        (_doc(family="tl", dataset="KiPA22", task=1, label_name="kidney tumor"), PERCENTILE_NORMALIZATION),
        (_doc(dataset="KiPA22", task="02", label_name="kidney"), Normalization("ct_window", (400, 40))),
        (_doc(family="ad", label_name="AC-PC"), PERCENTILE_NORMALIZATION),  # A/D has no label
        (_doc(label_name="lung lesion"), PERCENTILE_NORMALIZATION),  # not in upstream's map
        (_doc(modality="MRI", label_name="brain"), PERCENTILE_NORMALIZATION),
        (_doc(modality="X-ray", family="ad"), PERCENTILE_NORMALIZATION),
    ],
)
def test_published_normalization_rule(doc, expected):
    assert normalization_for(doc, PUBLISHED) == expected


def test_original_is_minmax_for_every_doc():
    assert normalization_for(_doc(label_name="liver"), ORIGINAL) == MINMAX_NORMALIZATION
    assert normalization_for(_doc(modality="MRI"), ORIGINAL) == MINMAX_NORMALIZATION


def test_an_unknown_ct_label_is_said_once(capsys):
    doc = _doc(label_name="a label nobody mapped")
    normalization_for(doc, PUBLISHED)
    normalization_for(doc, PUBLISHED)
    err = capsys.readouterr().err
    assert err.count("'a label nobody mapped' is not in upstream's label_map_regroup") == 1
    assert err.startswith("MedVision: ")


# --- reshape ---------------------------------------------------------------------------------------


def test_linear_zoom_is_corner_aligned_as_scipy_zoom():
    # scipy.ndimage.zoom maps output column j to input j * (4 - 1) / (7 - 1) = j / 2.
    ramp = np.array([[0, 10, 20, 30]], dtype=np.float32)
    np.testing.assert_allclose(zoom_slice(ramp, (1, 7), "linear"), [[0, 5, 10, 15, 20, 25, 30]])


def test_two_valued_slices_are_zoomed_nearest_in_the_later_pipeline():
    # Output column j samples input j / 3: nearest indices 0 0 1 1 1 2 2 2 3 3.
    binary = np.array([[0, 0, 8, 8]], dtype=np.float32)
    np.testing.assert_array_equal(zoom_slice(binary, (1, 10), "nearest_for_binary"), [[0, 0, 0, 0, 0, 8, 8, 8, 8, 8]])
    linear = zoom_slice(binary, (1, 10), "linear")  # the first release: order 1 always
    np.testing.assert_allclose(linear, [[0, 0, 0, 0, 8 / 3, 16 / 3, 8, 8, 8, 8]], rtol=1e-6)
    # Three values: linear in the later pipeline too.
    three = np.array([[0, 4, 8, 8]], dtype=np.float32)
    np.testing.assert_allclose(zoom_slice(three, (1, 7), "nearest_for_binary"), [[0, 2, 4, 6, 8, 8, 8]])


def test_rendered_image_is_rgb_of_the_requested_size():
    raw = np.arange(12, dtype=np.int16).reshape(3, 4)
    image = render_slice(raw, (6, 10), protocol=ORIGINAL, normalization=MINMAX_NORMALIZATION)
    assert image.mode == "RGB"
    assert image.size == (10, 6)  # PIL: (width, height)
    pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() == 255
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])


def test_render_without_reshape_keeps_the_pixels_of_the_rule():
    raw = np.array([[-2, -1, 0], [1, 2, 2]], dtype=np.int16)
    image = render_slice(raw, (2, 3), protocol=ORIGINAL, normalization=MINMAX_NORMALIZATION)
    np.testing.assert_array_equal(np.asarray(image)[..., 1], [[0, 63, 127], [191, 255, 255]])
