"""Angle/distance docs of a case: distances and angles between its landmarks, measured per plane.

The rule: landmarks are placed on the written RAS+ grid (continuous voxel indices); for each
measurement and plane, the slice is the one nearest the landmarks' mean index along the slicing
axis; every landmark involved must lie within ``landmark_tolerance_mm`` of that slice's plane
(its distance along the slicing axis), else the plane is skipped; the landmarks are projected
onto the slice (their two in-plane indices, unrounded: the doc's ``landmark_points``) and the distance ``||(p2 - p1) * (ph, pw)||``
(mm) or angle ``acos(|v1.v2| / |v1||v2|)`` (degrees) is measured. A zero value is skipped.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from medvision_tasks.builder import layout
from medvision_tasks.builder.label_slices import named_fields, slice_fields
from medvision_tasks.builder.landmark_io import Landmarks, inside_volume, world_to_voxel
from medvision_tasks.builder.results import (
    SKIP_FAR,
    SKIP_MISSING_LANDMARK,
    SKIP_OUTSIDE,
    SKIP_ZERO,
    FamilyDocs,
    Skip,
)
from medvision_tasks.builder.spec import MeasurementSpec
from medvision_tasks.builder.volume_step import PreparedVolume
from medvision_tasks.families import ANGLE_DISTANCE, METRIC_UNITS
from medvision_tasks.ground_truth import angle_degrees, distance_mm
from medvision_tasks.planes import PLANE_OF_SLICE_DIM, in_plane_axes


def _skip(skips: Counter[Skip], measurement: MeasurementSpec, dim: int, reason: str) -> None:
    skips[Skip(ANGLE_DISTANCE, measurement.key, PLANE_OF_SLICE_DIM[dim], reason)] += 1


def _measure(
    volume: PreparedVolume, measurement: MeasurementSpec, voxels: dict[str, np.ndarray], dim: int
) -> tuple[int, float, list[tuple[float, float]]] | str:
    """``(slice index, value, in-plane landmark positions)`` of one measurement across ``dim``, or a skip reason."""
    points = np.array([voxels[name] for name in measurement.landmarks])
    along = points[:, dim]
    index = math.floor(float(along.mean()) + 0.5)
    index = min(max(index, 0), volume.shape[dim] - 1)
    offsets_mm = np.abs(along - index) * volume.zooms[dim]
    tolerance = volume.case.landmark_tolerance_mm
    if float(offsets_mm.max()) > tolerance:
        return SKIP_FAR.format(tolerance=f"{tolerance:g}")
    in_plane = [tuple(float(v) for v in p[list(in_plane_axes(dim))]) for p in points]
    _, pixel_hw = volume.slice_geometry(dim)
    try:
        if measurement.kind == "distance":
            value = distance_mm(in_plane[0], in_plane[1], pixel_hw)
        else:
            value = angle_degrees(*in_plane, pixel_hw)
    except ValueError:  # a line of zero length in this plane
        value = 0.0
    if not value > 0:
        return SKIP_ZERO
    return index, value, in_plane  # type: ignore[return-value]


def _doc(
    volume: PreparedVolume,
    measurement: MeasurementSpec,
    dim: int,
    index: int,
    value: float,
    in_plane: list[tuple[float, float]],
) -> dict:
    case = volume.case
    display = dict(case.landmark_names)
    doc = slice_fields(volume, ANGLE_DISTANCE, measurement.task_id, dim, index)
    doc["landmark_file"] = layout.landmarks_file(case)
    doc["biometric_profile"] = {
        "metric_type": measurement.kind,
        "metric_key": measurement.key,
        "metric_value": float(value),
        "metric_unit": METRIC_UNITS[measurement.kind],
    }
    doc.update(named_fields(case, dim, measurement.name))
    doc["measurement_name"] = measurement.name
    # Flat: an angle's line 1 then line 2 (docs/ARCHITECTURE.md).
    doc["landmark_names"] = [display.get(name, name) for name in measurement.landmarks]
    # The ground-truth points in the same order: (row, col) pixels of the slice, unrounded.
    doc["landmark_points"] = [[float(row), float(col)] for row, col in in_plane]
    return doc


def angle_distance_docs(volume: PreparedVolume, landmarks: Landmarks) -> FamilyDocs:
    """The A/D docs of every measurement of the case, on each of its planes.

    Args:
        volume: the case's prepared image (grid, voxel sizes, written file).
        landmarks: the case's landmarks in RAS mm.

    Returns:
        The docs (measurement by measurement, plane by plane), the skips by reason, a message
        for each measurement naming a landmark the file lacks and for each landmark outside the
        volume, and the landmark file's content (:func:`landmarks_file_content` entries).
    """
    case = volume.case
    voxels = {name: world_to_voxel(volume.affine, landmarks.position(name)[None])[0] for name in landmarks.names}
    docs, errors = [], []
    skips: Counter[Skip] = Counter()
    reported: set[str] = set()
    projections: dict[str, dict] = {}
    for measurement in case.measurements:
        missing = [n for n in measurement.landmarks if n not in voxels]
        if missing:
            errors.append(
                f"measurement {measurement.name!r} needs landmark(s) {missing} not in "
                f"{landmarks.source} (it has: {', '.join(landmarks.names)})"
            )
            for dim in measurement.planes:
                _skip(skips, measurement, dim, SKIP_MISSING_LANDMARK)
            continue
        outside = [n for n in measurement.landmarks if not inside_volume(voxels[n], volume.shape)]
        if outside:
            for name in outside:
                if name not in reported:
                    reported.add(name)
                    errors.append(
                        f"landmark {name!r} at RAS {np.round(landmarks.position(name), 3).tolist()} mm "
                        f"(voxel {np.round(voxels[name], 2).tolist()}) lies outside the volume "
                        f"{list(volume.shape)}" + (" after cropping" if case.crop else "")
                    )
            for dim in measurement.planes:
                _skip(skips, measurement, dim, SKIP_OUTSIDE)
            continue
        for dim in measurement.planes:
            outcome = _measure(volume, measurement, voxels, dim)
            if isinstance(outcome, str):
                _skip(skips, measurement, dim, outcome)
                continue
            index, value, in_plane = outcome
            docs.append(_doc(volume, measurement, dim, index, value, in_plane))
            projections.setdefault(measurement.key, {})[f"{dim}:{index}"] = {
                name: [p[0], p[1]] for name, p in zip(measurement.landmarks, in_plane)
            }
    placed = {
        name: {"voxel": [float(v) for v in voxels[name]], "ras_mm": [float(v) for v in landmarks.position(name)]}
        for name in landmarks.names
        if name not in reported and inside_volume(voxels[name], volume.shape)
    }
    return FamilyDocs(
        docs=tuple(docs), skips=skips, errors=tuple(errors), landmarks={"landmarks": placed, "projections": projections}
    )


def landmarks_file_content(image_file: str, landmarks: dict) -> dict:
    """The case's A/D landmark file: landmarks on the grid and each doc's projections."""
    return {
        "description": "landmarks on the RAS+ voxel grid of image_file (continuous voxel "
        "indices i, j, k) and in RAS world mm; 'projections' holds each doc's in-plane "
        "(row, col) pixel coordinates, keyed by metric_key then 'slice_dim:slice_idx'",
        "image_file": image_file,
        **landmarks,
    }
