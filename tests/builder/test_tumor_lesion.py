"""Tumor/lesion docs built directly from hand-drawn lesions: kept, too small, or tilted out of the band."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medvision_tasks.builder.spec import LabelSpec, MaskSpec
from medvision_tasks.builder.tumor_lesion import ellipses_file_content, tumor_lesion_docs
from tests.helpers.volumes import prepared_mask, prepared_volume

LABEL = LabelSpec(value=1, name="tumor", families=("tl",))


def _ellipse(shape, centre, semi_axes, angle_degrees=0.0) -> np.ndarray:
    """Pixels (row, col) inside an ellipse of semi-axes (along rows, along cols) turned by ``angle``."""
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    t = np.radians(angle_degrees)
    dr, dc = rows - centre[0], cols - centre[1]
    u, v = dr * np.cos(t) + dc * np.sin(t), -dr * np.sin(t) + dc * np.cos(t)
    return (u / semi_axes[0]) ** 2 + (v / semi_axes[1]) ** 2 <= 1.0


def test_kept_small_and_tilted_lesions_on_axial_slices():
    labels = np.zeros((40, 40, 3), dtype=np.uint8)
    labels[..., 0] = _ellipse((40, 40), (20, 20), (7, 7))  # disc of radius 7: 149 px (Gauss), under 200
    labels[..., 1] = _ellipse((40, 40), (20, 20), (12, 8))  # axis-aligned: 24 x 16 mm between the extreme centres
    labels[..., 2] = _ellipse((40, 40), (20, 20), (14, 6), 45.0)  # ~264 px, tilted: minor ends deep inside the 0.9x box
    volume = prepared_volume((40, 40, 3), (1.0, 1.0, 1.0), planes=(2,), masks=(MaskSpec("/m", (LABEL,), "01"),))
    made = tumor_lesion_docs(volume, prepared_mask(volume, labels), LABEL, labels == 1)
    (doc,) = made.docs
    assert doc["slice_idx"] == 1 and doc["taskType"] == "TumorLesionSize"
    profile = doc["biometric_profile"]
    assert (profile["metric_key_major_axis"], profile["metric_key_minor_axis"], profile["metric_unit"]) == (
        "L-1-2",
        "L-3-4",
        "mm",
    )
    # The outline runs through boundary pixel centres and the grid shifts each end by at most one
    # pixel: each full axis is within two pixel sizes of 2a.
    assert abs(profile["metric_value_major_axis"] - 24.0) <= 2.0
    assert abs(profile["metric_value_minor_axis"] - 16.0) <= 2.0
    assert doc["landmark_file"] == "volumes/D_c_tl_landmarks.json" and doc["mask_file"] == "volumes/D_c_mask.nii.gz"
    assert dict(made.skips) == {
        ("tl", "tumor", "axial", "lesion under 200 px"): 1,
        ("tl", "tumor", "axial", "ellipse endpoints outside the 0.9x-1.1x box band"): 1,
    }
    (key,) = made.landmarks
    ends = made.landmarks[key]
    assert key == "01/1/2:1" and sorted(ends) == ["L1", "L2", "L3", "L4"]
    # The major axis runs along the rows (column 20), the minor along the columns (row 20).
    assert abs(ends["L1"][1] - 20) < 0.5 and abs(ends["L2"][1] - 20) < 0.5 and abs(ends["L1"][0] - ends["L2"][0]) > 22
    assert abs(ends["L3"][0] - 20) < 0.5 and abs(ends["L3"][1] - ends["L4"][1]) > 14
    # The doc carries the same endpoints as its ground-truth points, major then minor; on 1 mm pixels
    # the distance between them is the target.
    assert doc["landmark_points"] == [ends["L1"], ends["L2"], ends["L3"], ends["L4"]]
    p1, p2, p3, p4 = doc["landmark_points"]
    assert math.dist(p1, p2) == pytest.approx(profile["metric_value_major_axis"])
    assert math.dist(p3, p4) == pytest.approx(profile["metric_value_minor_axis"])


def test_anisotropic_pixels_measure_in_mm():
    # 0.5 mm rows, 2 mm columns: semi-axes 40 rows (20 mm) and 8 columns (16 mm): 40 x 32 mm, ~1005 px.
    labels = np.zeros((90, 22, 1), dtype=np.uint8)
    labels[..., 0] = _ellipse((90, 22), (45, 11), (40, 8))
    volume = prepared_volume((90, 22, 1), (0.5, 2.0, 1.0), planes=(2,), masks=(MaskSpec("/m", (LABEL,), "01"),))
    (doc,) = tumor_lesion_docs(volume, prepared_mask(volume, labels), LABEL, labels == 1).docs
    # Within two pixel sizes along each axis (as above): 2 x 0.5 mm and 2 x 2 mm. A fit in pixel
    # units would give 80 and 16 instead.
    assert abs(doc["biometric_profile"]["metric_value_major_axis"] - 40.0) <= 1.0
    assert abs(doc["biometric_profile"]["metric_value_minor_axis"] - 32.0) <= 4.0


def test_the_ellipse_file_names_its_image():
    assert ellipses_file_content("volumes/x_image.nii.gz", {"01/1/2:4": {}}) == {
        "description": "T/L ellipse axis endpoints per doc, (row, col) pixels of the slice; "
        "L-1-2 = major axis (landmarks 1, 2), L-3-4 = minor axis (landmarks 3, 4)",
        "image_file": "volumes/x_image.nii.gz",
        "ellipses": {"01/1/2:4": {}},
    }
