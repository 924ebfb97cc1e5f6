"""Angle/distance docs built directly from landmarks at known voxels: 3-4-5 triangles per plane."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medvision_tasks.builder.angle_distance import angle_distance_docs, landmarks_file_content
from medvision_tasks.builder.landmark_io import Landmarks
from medvision_tasks.builder.spec import MeasurementSpec
from tests.helpers.volumes import prepared_volume

# 1 mm voxels, origin 0: voxel = mm. A (10, 5, 4) and B (10, 8, 8):
# - sagittal (slice_dim 0): both at i = 10; in-plane (j, k): (5, 4) -> (8, 8): sqrt(3^2 + 4^2) = 5 mm;
# - coronal (1): j = 5 and 8, mean 6.5 -> slice floor(7.0) = 7, offsets 2 and 1 mm (<= 2): in-plane
#   (i, k): (10, 4) -> (10, 8) = 4 mm;
# - axial (2): k = 4 and 8, mean 6 -> slice 6, offsets 2 and 2 mm: in-plane (i, j): 3 mm.
# C (10, 5, 8): angle between AB (3, 4) and AC (0, 4) on the sagittal slice: acos(16 / 20).
# E (10, 5, 13): axial k = 4 and 13, mean 8.5 -> slice 9, 5 and 4 mm away (> 2); coronal (slice 5)
# and sagittal (slice 10) hold both: (10, 4) -> (10, 13) and (5, 4) -> (5, 13), 9 mm each.
# G (10, 5, 5): on axial slice 5 (mean 4.5 rounds up) A and G project onto the same pixel: zero.
# F (30, 5, 4) lies outside the 20-voxel axis 0.
POINTS = {"A": (10, 5, 4), "B": (10, 8, 8), "C": (10, 5, 8), "E": (10, 5, 13), "F": (30, 5, 4), "G": (10, 5, 5)}
ALL = (2, 1, 0)


def _docs(*measurements: MeasurementSpec):
    landmarks = Landmarks(tuple(POINTS), np.array(list(POINTS.values()), dtype=float), "points.fcsv")
    volume = prepared_volume(
        (20, 16, 16),
        (1.0, 1.0, 1.0),
        landmarks=landmarks,
        measurements=measurements,
        landmark_names=(("A", "apex"),),
        image_description="an MRI, {plane} slice",
        modality="MRI",
    )
    return angle_distance_docs(volume, landmarks)


def test_a_distance_on_each_plane():
    made = _docs(MeasurementSpec("A-B", "D-AB", "distance", ("A", "B"), ALL, "02"))
    values = {doc["slice_dim"]: (doc["slice_idx"], doc["biometric_profile"]["metric_value"]) for doc in made.docs}
    assert values == {2: (6, pytest.approx(3.0)), 1: (7, pytest.approx(4.0)), 0: (10, pytest.approx(5.0))}
    doc = made.docs[0]
    assert doc["biometric_profile"] == {
        "metric_type": "distance",
        "metric_key": "D-AB",
        "metric_value": pytest.approx(3.0),
        "metric_unit": "mm",
    }
    assert (doc["taskID"], doc["taskType"], doc["landmark_file"]) == (
        "02",
        "BiometricsFromLandmarks",
        "volumes/D_c_landmarks.json",
    )
    assert (doc["measurement_name"], doc["label_name"], doc["landmark_names"]) == ("A-B", "A-B", ["apex", "B"])
    assert doc["image_description"] == "an MRI, axial slice"
    assert made.landmarks["projections"]["D-AB"]["0:10"] == {"A": [5.0, 4.0], "B": [8.0, 8.0]}
    # The doc's ground-truth points: the landmarks on its slice, (row, col) = in-plane voxel indices,
    # in landmark_names order: axial (i, j) of A (10, 5, 4) and B (10, 8, 8).
    assert doc["landmark_points"] == [[10.0, 5.0], [10.0, 8.0]]
    sagittal = next(d for d in made.docs if d["slice_dim"] == 0)
    assert sagittal["landmark_points"] == [[5.0, 4.0], [8.0, 8.0]]
    assert made.skips == {} and made.errors == ()


def test_an_angle_between_two_lines():
    made = _docs(MeasurementSpec("A", "ANG", "angle", ("A", "B", "A", "C"), (0,), "01"))
    (doc,) = made.docs
    assert doc["biometric_profile"]["metric_value"] == pytest.approx(math.degrees(math.acos(0.8)))
    assert doc["biometric_profile"]["metric_unit"] == "degree"
    assert doc["landmark_names"] == ["apex", "B", "apex", "C"]
    assert doc["landmark_points"] == [[5.0, 4.0], [8.0, 8.0], [5.0, 4.0], [5.0, 8.0]]  # (j, k) of A, B, A, C


def test_far_missing_and_outside_landmarks_are_skipped_and_reported():
    made = _docs(
        MeasurementSpec("A-E", "AE", "distance", ("A", "E"), ALL, "01"),
        MeasurementSpec("A-G", "AG", "distance", ("A", "G"), (2,), "01"),
        MeasurementSpec("A-Z", "AZ", "distance", ("A", "Z"), (2,), "01"),
        MeasurementSpec("A-F", "AF", "distance", ("A", "F"), (2, 1), "01"),
    )
    values = [
        (d["biometric_profile"]["metric_key"], d["slice_dim"], d["biometric_profile"]["metric_value"])
        for d in made.docs
    ]
    assert values == [("AE", 1, pytest.approx(9.0)), ("AE", 0, pytest.approx(9.0))]
    assert dict(made.skips) == {
        ("ad", "AE", "axial", "landmark farther than 2 mm from the slice"): 1,
        ("ad", "AG", "axial", "measured value is zero"): 1,
        ("ad", "AZ", "axial", "landmark not in the landmark file"): 1,
        ("ad", "AF", "axial", "landmark outside the volume"): 1,
        ("ad", "AF", "coronal", "landmark outside the volume"): 1,
    }
    assert made.errors == (
        "measurement 'A-Z' needs landmark(s) ['Z'] not in points.fcsv (it has: A, B, C, E, F, G)",
        "landmark 'F' at RAS [30.0, 5.0, 4.0] mm (voxel [30.0, 5.0, 4.0]) lies outside the volume [20, 16, 16]",
    )
    assert sorted(made.landmarks["landmarks"]) == ["A", "B", "C", "E", "G"]  # F is outside
    assert made.landmarks["landmarks"]["B"] == {"voxel": [10.0, 8.0, 8.0], "ras_mm": [10.0, 8.0, 8.0]}


def test_the_landmark_file_names_its_image():
    content = landmarks_file_content("volumes/x.nii.gz", {"landmarks": {}, "projections": {}})
    assert list(content) == ["description", "image_file", "landmarks", "projections"]
