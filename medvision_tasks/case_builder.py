"""Build one case's MedVision docs: reorient, crop, write volumes, slice, filter, measure.

Runs inside a worker process of ``medvision-tasks prepare``; everything it returns is plain JSON
data (docs, skip counts, messages, files written), so it can be cached and merged.

Rules (SPEC sections 2, 3, 7):
- Volumes are reoriented to RAS+ (``nibabel.as_closest_canonical``) before anything else,
  then cropped (on the native RAS+ grid), then, when the case asks for ``resample_mm``,
  resampled onto one new grid (image: linear, masks: nearest neighbour; :func:`resampled_grid`);
  slice ``dim 0 -> vol[i, :, :]`` (pixel size ``(z1, z2)``), ``dim 1 -> vol[:, i, :]``
  (``(z0, z2)``), ``dim 2 -> vol[:, :, i]`` (``(z0, z1)``); rows are array rows.
- Detection: the label's pixels in the slice must form exactly one 4-connected component whose
  inclusive box is at least ``min_box_side_px`` (10) pixels along both sides.
- Tumor/lesion size: exactly one component of at least ``min_lesion_pixels`` (200) pixels, an
  ellipse fitted in mm, all four axis endpoints inside the 0.9x-1.1x box band
  (``ground_truth.fit_lesion_ellipse``).
- Angle/distance from 3D landmarks, per plane: the slice is the one nearest the landmarks' mean
  coordinate along the slicing axis; every landmark involved must lie within
  ``landmark_tolerance_mm`` of that slice's plane (distance along the slicing axis), else the
  plane is skipped; the landmarks are projected onto the slice (their in-plane voxel
  coordinates, unrounded) and measured in mm with the slice's pixel size.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.processing import resample_from_to

from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILIES, METRIC_UNITS
from medvision_tasks.ground_truth import (
    angle_degrees,
    distance_mm,
    endpoints_in_box_band,
    fit_lesion_ellipse,
    single_component_box,
)
from medvision_tasks.manifest import CaseSpec, LabelSpec, MaskSpec, MeasurementSpec
from medvision_tasks.planes import PLANE_OF_SLICE_DIM, slice_spacing
from medvision_tasks.readers import (
    InputError,
    Landmarks,
    check_same_grid,
    inside_volume,
    integer_labels,
    read_geometry,
    read_landmarks,
    read_volume,
    reorient_to_ras,
    world_to_voxel,
)

VOLUMES_DIR = "volumes"

# Skip reasons (summary.json counts them by these exact strings).
SKIP_SPLIT = "label is not one 4-connected component in the slice"
SKIP_SMALL_BOX = "box side under {min_side} px"
SKIP_SMALL_LESION = "lesion under {min_pixels} px"
SKIP_NO_FIT = "ellipse fit failed"
SKIP_BAND = "ellipse endpoints outside the 0.9x-1.1x box band"
SKIP_STEP = "slice not on the slice_step grid"
SKIP_MAX = "beyond max_slices_per_label_plane"
SKIP_FAR = "landmark farther than {tolerance} mm from the slice"
SKIP_OUTSIDE = "landmark outside the volume"
SKIP_MISSING_LANDMARK = "landmark not in the landmark file"
SKIP_ZERO = "measured value is zero"
SKIP_LABEL_ABSENT = "label absent from the mask"


class CaseError(Exception):
    """A problem that stops one case; the message names the case."""


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, ``.``, ``_``, ``-``)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text.strip())
    return cleaned.strip("_") or "x"


def float32_value(value: float) -> float:
    """A float stored as float32 (NIfTI zooms), as the shortest decimal that round-trips.

    ``0.664062`` rather than ``0.6640620231628418``: JSON stays readable and casting the doc's
    value back to float32 gives exactly the header's value.
    """
    return float(str(np.float32(value)))


def evenly_spaced(items: list, count: int | None) -> list:
    """At most ``count`` items, evenly spaced (the centre item of each of ``count`` equal bins)."""
    if count is None or len(items) <= count:
        return list(items)
    n = len(items)
    return [items[int((k + 0.5) * n / count)] for k in range(count)]


def _minimal_mask_dtype(data: np.ndarray) -> np.dtype:
    low, high = int(data.min()), int(data.max())
    for dtype in (np.uint8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def resampled_grid(
    shape: tuple[int, ...], affine: np.ndarray, voxel_size_mm: tuple[float, float, float]
) -> tuple[tuple[int, int, int], np.ndarray]:
    """The grid of voxel size ``voxel_size_mm`` over the same span as a given grid.

    The axis directions and the first voxel centre are kept (a RAS+ grid stays RAS+; an oblique
    one is not rotated). Along axis ``a`` with ``n_a`` voxels of ``s_a`` mm, the new grid holds
    ``floor((n_a - 1) * s_a / t_a) + 1`` voxels of ``t_a`` mm: every new voxel centre lies within
    the span of the old centres, so nothing is extrapolated. E.g. 10 slices of 3 mm (centres
    0..27 mm) -> 28 slices of 1 mm.

    Args:
        shape: the grid's 3D shape (voxels).
        affine: its voxel-to-world affine (mm).
        voxel_size_mm: the target voxel size along voxel axes 0, 1, 2 (mm).

    Returns:
        ``(shape, affine)`` of the new grid, as ``nibabel.processing.resample_from_to`` takes it.
    """
    affine = np.asarray(affine, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    target = np.asarray(voxel_size_mm, dtype=np.float64)
    new_affine = affine.copy()
    new_affine[:3, :3] = affine[:3, :3] / spacing * target
    # The 1e-6 keeps a span of a whole number of target voxels (27 mm / 1 mm, computed as
    # 26.9999999...) from losing its last voxel to float noise.
    counts = np.floor((np.asarray(shape[:3]) - 1) * spacing / target + 1e-6).astype(int) + 1
    return (int(counts[0]), int(counts[1]), int(counts[2])), new_affine


def resample_onto(
    data: np.ndarray, affine: np.ndarray, grid: tuple[tuple[int, ...], np.ndarray], order: int
) -> np.ndarray:
    """Resample a volume onto ``grid`` with ``nibabel.processing.resample_from_to``.

    Args:
        data: the voxel array on its grid.
        affine: that grid's voxel-to-world affine (mm).
        grid: ``(shape, affine)`` of the target grid (see :func:`resampled_grid`).
        order: 1 for linear interpolation (images), 0 for nearest neighbour (label masks).

    Returns:
        The array on the target grid, in ``data``'s dtype. Sample points a rounding error
        outside the source take its edge value (``mode="nearest"``) rather than 0.
    """
    source = nib.Nifti1Image(data, affine, dtype=data.dtype)
    return np.asanyarray(resample_from_to(source, grid, order=order, mode="nearest").dataobj)


def save_nifti(data: np.ndarray, affine: np.ndarray, path: Path, dtype: np.dtype | str) -> None:
    """Write a NIfTI volume atomically (temporary file, then rename), qform = sform = affine.

    Args:
        data: the voxel array (RAS+ order).
        affine: voxel-to-RAS affine (mm).
        path: destination ``.nii.gz``.
        dtype: on-disk dtype; nibabel adds slope/intercept when float data goes to an integer
            type and cannot be stored exactly.
    """
    image = nib.Nifti1Image(data, affine)
    image.set_data_dtype(np.dtype(dtype))
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name[: -len('.nii.gz')]}.{os.getpid()}.partial.nii.gz")
    nib.save(image, str(partial))
    os.replace(partial, path)


def _write_json(payload: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


class _CaseBuilder:
    """State of one case while it is built (see :func:`build_case`)."""

    def __init__(self, case: CaseSpec, out_dir: Path) -> None:
        self.case = case
        self.out_dir = out_dir
        self.docs: dict[str, list[dict]] = {family: [] for family in FAMILIES}
        self.skips: Counter = Counter()
        self.errors: list[str] = []
        self.fatal = False
        self.files: list[str] = []
        self.prefix = f"{slug(case.dataset_name)}_{slug(case.case_id)}"
        self.ellipse_landmarks: dict[str, dict] = {}

    # ---- bookkeeping -------------------------------------------------------------------
    def error(self, message: str) -> None:
        self.errors.append(f"case {self.case.name}: {message}")

    def skip(self, family: str, item: str, dim: int | None, reason: str, count: int = 1) -> None:
        if count:
            plane = PLANE_OF_SLICE_DIM[dim] if dim is not None else "all"
            self.skips[(family, item, plane, reason)] += count

    def relative(self, path: Path) -> str:
        return path.relative_to(self.out_dir).as_posix()

    def result(self) -> dict:
        return {
            "case": self.case.name,
            "dataset_name": self.case.dataset_name,
            "subject_id": self.case.subject_id,
            "docs": self.docs,
            "skips": [
                {"family": f, "item": i, "plane": p, "reason": r, "count": n} for (f, i, p, r), n in self.skips.items()
            ],
            "errors": self.errors,
            "fatal": self.fatal,
            "files": self.files,
        }

    # ---- geometry ----------------------------------------------------------------------
    def _crop_slices(self, ras_image: nib.Nifti1Image, landmarks: Landmarks | None) -> tuple[slice, slice, slice]:
        shape = ras_image.shape[:3]
        crop = self.case.crop
        if crop is None:
            return tuple(slice(0, n) for n in shape)  # type: ignore[return-value]
        if crop[0] == "box":
            slices = []
            for axis, (start, stop) in enumerate(crop[1]):
                start = 0 if start is None else min(start, shape[axis])
                stop = shape[axis] if stop is None else min(stop, shape[axis])
                if stop <= start:
                    raise CaseError(f"crop {list(crop[1])} leaves nothing of the volume {tuple(shape)}")
                slices.append(slice(start, stop))
            return tuple(slices)  # type: ignore[return-value]
        # margin_mm: the box around the labels and landmarks used, widened by the margin.
        low = np.full(3, np.inf)
        high = np.full(3, -np.inf)
        for mask in self.case.masks:
            data = self._ras_mask(mask)
            wanted = np.isin(data, [label.value for label in mask.labels])
            if wanted.any():
                # Extent per axis from the projections: no index arrays as large as the label.
                extents = [np.nonzero(wanted.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
                low = np.minimum(low, [e[0] for e in extents])
                high = np.maximum(high, [e[-1] for e in extents])
            del data, wanted
        if landmarks is not None:
            used = {name for m in self.case.measurements for name in m.landmarks if name in landmarks.names}
            for name in used:
                voxel = world_to_voxel(ras_image.affine, landmarks.position(name)[None])[0]
                if inside_volume(voxel, shape):
                    low = np.minimum(low, np.floor(voxel))
                    high = np.maximum(high, np.ceil(voxel))
        if not np.all(np.isfinite(low)):
            return tuple(slice(0, n) for n in shape)  # type: ignore[return-value]
        zooms = np.asarray(ras_image.header.get_zooms()[:3], dtype=np.float64)
        margin_voxels = np.ceil(np.asarray(crop[1]) / zooms - 1e-9)
        start = np.maximum(0, low - margin_voxels).astype(int)
        stop = np.minimum(np.asarray(shape), high + margin_voxels + 1).astype(int)
        return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))  # type: ignore[return-value]

    def _resampled_image(self, voxels: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The cropped image linearly interpolated onto ``self.grid``.

        Interpolated values are rounded back to an integer on-disk dtype when they fit it (they
        do whenever the input was stored unscaled), so nibabel writes them without a scale factor.
        """
        resampled = resample_onto(voxels.astype(np.float64), self.native_affine, self.grid, order=1)
        if np.issubdtype(dtype, np.integer):
            rounded = np.rint(resampled)
            info = np.iinfo(dtype)
            if rounded.size and info.min <= rounded.min() and rounded.max() <= info.max:
                return rounded.astype(dtype)
        return resampled

    def _ras_mask(self, mask: MaskSpec) -> np.ndarray:
        """The mask as integer labels on the image's RAS+ grid (grid checked against the image)."""
        image = read_volume(mask.path)
        check_same_grid(self.stored_shape, self.stored_affine, image.shape[:3], image.affine, "mask", mask.path)
        ras = reorient_to_ras(image)
        return integer_labels(np.asanyarray(ras.dataobj), mask.path)

    # ---- the build ---------------------------------------------------------------------
    def run(self) -> None:
        case = self.case
        stored = read_volume(case.image)
        # Keep only the stored grid: the voxels live on in the reoriented copy alone.
        self.stored_shape = tuple(int(n) for n in stored.shape[:3])
        self.stored_affine = np.asarray(stored.affine)
        landmarks = None
        if case.landmarks is not None:
            spec = case.landmarks
            landmarks = read_landmarks(
                spec.path,
                space=spec.space,
                coordinate_system=spec.coordinate_system,
                name_column=spec.name_column,
                voxel_affine=self.stored_affine,
            )
        for mask in case.masks:  # every mask's grid is checked before anything is written
            shape, affine = read_geometry(mask.path)
            check_same_grid(self.stored_shape, self.stored_affine, shape, affine, "mask", mask.path)
        dtype = np.dtype(case.image_dtype) if case.image_dtype else stored.get_data_dtype()
        ras_image = reorient_to_ras(stored)
        del stored
        crop = self._crop_slices(ras_image, landmarks)
        image = ras_image.slicer[crop]
        voxels = np.asanyarray(image.dataobj)
        # The cropped native grid: masks are cut to it, then resampled like the image.
        self.native_affine = np.asarray(image.affine)
        self.grid = None
        if case.resample_mm is not None:
            self.grid = resampled_grid(voxels.shape, self.native_affine, case.resample_mm)
            voxels = self._resampled_image(voxels, dtype)
        self.shape = tuple(int(n) for n in voxels.shape[:3])
        self.affine = self.native_affine if self.grid is None else self.grid[1]
        self.image_path = self.out_dir / VOLUMES_DIR / f"{self.prefix}_image.nii.gz"
        save_nifti(voxels, self.affine, self.image_path, dtype)
        self.files.append(self.relative(self.image_path))
        del image, ras_image, voxels
        # Zooms as any reader of the written file sees them (the header stores float32).
        self.zooms = tuple(float32_value(z) for z in nib.load(str(self.image_path)).header.get_zooms()[:3])

        used_names: dict[str, str] = {}
        for mask in case.masks:
            self._process_mask(mask, crop, used_names)
        if landmarks is not None and case.measurements:
            self._process_measurements(landmarks)
        if self.ellipse_landmarks:
            path = self.out_dir / VOLUMES_DIR / f"{self.prefix}_tl_landmarks.json"
            _write_json(
                {
                    "description": "T/L ellipse axis endpoints per doc, (row, col) pixels of the slice; "
                    "L-1-2 = major axis (landmarks 1, 2), L-3-4 = minor axis (landmarks 3, 4)",
                    "image_file": self.relative(self.image_path),
                    "ellipses": self.ellipse_landmarks,
                },
                path,
            )
            self.files.append(self.relative(path))

    def _mask_path(self, mask: MaskSpec, used_names: dict[str, str]) -> Path:
        if len(self.case.masks) == 1:
            name = f"{self.prefix}_mask.nii.gz"
        else:
            name = f"{self.prefix}_mask-{slug(mask.labels[0].name)}.nii.gz"
            if name in used_names:
                name = f"{self.prefix}_mask-{mask.task_id}-{slug(mask.labels[0].name)}.nii.gz"
        used_names[name] = mask.path
        return self.out_dir / VOLUMES_DIR / name

    def _process_mask(self, mask: MaskSpec, crop: tuple, used_names: dict[str, str]) -> None:
        labels = self._ras_mask(mask)[crop]
        if self.grid is not None:
            compact = labels.astype(_minimal_mask_dtype(labels), copy=False)
            labels = resample_onto(compact, self.native_affine, self.grid, order=0)
            del compact
        path = self._mask_path(mask, used_names)
        save_nifti(labels, self.affine, path, _minimal_mask_dtype(labels))
        self.files.append(self.relative(path))
        present = set(np.unique(labels).tolist())
        for label in mask.labels:
            if label.value not in present:
                steps = [s for s, done in (("cropping", self.case.crop), ("resampling", self.grid)) if done is not None]
                where = f" after {' and '.join(steps)}" if steps else ""
                self.error(
                    f"label {label.value} ({label.name!r}) does not occur in mask {mask.path}{where} "
                    f"(values present: {sorted(present)[:20]})"
                )
                for family in label.families:
                    self.skip(family, label.name, None, SKIP_LABEL_ABSENT)
                continue
            binary = labels == label.value
            for family in label.families:
                for dim in self.case.planes:
                    self._label_plane(family, mask, label, binary, dim, path)
        del labels

    def _geometry(self, dim: int) -> tuple[list[int], list[float]]:
        size_hw = [self.shape[axis] for axis in range(3) if axis != dim]
        return size_hw, list(slice_spacing(self.zooms, dim))

    def _common(self, family: str, task_id: str, dim: int, index: int) -> dict:
        size_hw, pixel_hw = self._geometry(dim)
        return {
            "dataset_name": self.case.dataset_name,
            "taskID": task_id,
            "taskType": FAMILIES[family].task_type,
            "image_file": self.relative(self.image_path),
            "slice_dim": int(dim),
            "slice_idx": int(index),
            "image_size_2d": size_hw,
            "pixel_size": pixel_hw,
            "image_size_3d": list(self.shape),
            "voxel_size": list(self.zooms),
        }

    def _descriptive(self, dim: int, label_name: str) -> dict:
        description = self.case.image_description.replace("{plane}", PLANE_OF_SLICE_DIM[dim]).replace(
            "{modality}", self.case.modality
        )
        return {
            "label_name": label_name,
            "image_description": description,
            "modality": self.case.modality,
            "subject_id": self.case.subject_id,
        }

    def _label_plane(
        self, family: str, mask: MaskSpec, label: LabelSpec, binary: np.ndarray, dim: int, mask_path: Path
    ) -> None:
        other = tuple(axis for axis in range(3) if axis != dim)
        present = np.nonzero(binary.any(axis=other))[0].tolist()
        step = self.case.slice_step
        candidates = [i for i in present if i % step == 0]
        self.skip(family, label.name, dim, SKIP_STEP, len(present) - len(candidates))
        _, pixel_hw = self._geometry(dim)
        passing: list[tuple[int, object]] = []
        for index in candidates:
            plane = np.take(binary, index, axis=dim)
            box = single_component_box(plane)
            if box is None:
                self.skip(family, label.name, dim, SKIP_SPLIT)
                continue
            r0, c0, r1, c1 = box
            if family == DETECTION:
                if min(r1 - r0 + 1, c1 - c0 + 1) < self.case.min_box_side_px:
                    self.skip(family, label.name, dim, SKIP_SMALL_BOX.format(min_side=self.case.min_box_side_px))
                    continue
                passing.append((index, box))
                continue
            if int(plane.sum()) < self.case.min_lesion_pixels:
                self.skip(family, label.name, dim, SKIP_SMALL_LESION.format(min_pixels=self.case.min_lesion_pixels))
                continue
            fit = fit_lesion_ellipse(plane, pixel_hw, min_pixels=self.case.min_lesion_pixels, box_band=None)
            if fit is None:
                self.skip(family, label.name, dim, SKIP_NO_FIT)
                continue
            if not endpoints_in_box_band((*fit.major_endpoints, *fit.minor_endpoints), box):
                self.skip(family, label.name, dim, SKIP_BAND)
                continue
            passing.append((index, fit))
        kept = evenly_spaced(passing, self.case.max_slices_per_label_plane)
        self.skip(family, label.name, dim, SKIP_MAX, len(passing) - len(kept))
        for index, result in kept:
            doc = self._common(family, mask.task_id, dim, index)
            doc["mask_file"] = self.relative(mask_path)
            doc["label"] = int(label.value)
            if family == DETECTION:
                doc["bounding_boxes"] = [self._box_entry(result, pixel_hw)]  # type: ignore[arg-type]
            else:
                doc["landmark_file"] = f"{VOLUMES_DIR}/{self.prefix}_tl_landmarks.json"
                doc["biometric_profile"] = {
                    "metric_type": "distance",
                    "metric_key_major_axis": "L-1-2",
                    "metric_value_major_axis": float(result.major_mm),  # type: ignore[union-attr]
                    "metric_key_minor_axis": "L-3-4",
                    "metric_value_minor_axis": float(result.minor_mm),  # type: ignore[union-attr]
                    "metric_unit": METRIC_UNITS["size"],
                }
                (p1, p2), (p3, p4) = result.major_endpoints, result.minor_endpoints  # type: ignore[union-attr]
                self.ellipse_landmarks[f"{mask.task_id}/{label.value}/{dim}:{index}"] = {
                    "L1": list(p1),
                    "L2": list(p2),
                    "L3": list(p3),
                    "L4": list(p4),
                }
            doc.update(self._descriptive(dim, label.name))
            self.docs[family].append(doc)

    @staticmethod
    def _box_entry(box: tuple[int, int, int, int], pixel_hw: list[float]) -> dict:
        r0, c0, r1, c1 = (int(v) for v in box)
        height, width = r1 - r0 + 1, c1 - c0 + 1
        return {
            "min_coords": [r0, c0],
            "max_coords": [r1, c1],
            "center_coords": [(r0 + r1) / 2.0, (c0 + c1) / 2.0],
            "dimensions": [height, width],
            "sizes": [height * pixel_hw[0], width * pixel_hw[1]],
        }

    # ---- angle / distance --------------------------------------------------------------
    def _process_measurements(self, landmarks: Landmarks) -> None:
        display = dict(self.case.landmark_names)
        voxels: dict[str, np.ndarray] = {}
        outside: set[str] = set()
        for name in landmarks.names:
            voxel = world_to_voxel(self.affine, landmarks.position(name)[None])[0]
            voxels[name] = voxel
        reported: set[str] = set()
        record: dict[str, dict] = {}
        for measurement in self.case.measurements:
            missing = [n for n in measurement.landmarks if n not in voxels]
            if missing:
                self.error(
                    f"measurement {measurement.name!r} needs landmark(s) {missing} not in "
                    f"{landmarks.source} (it has: {', '.join(landmarks.names)})"
                )
                for dim in measurement.planes:
                    self.skip(ANGLE_DISTANCE, measurement.key, dim, SKIP_MISSING_LANDMARK)
                continue
            bad = [n for n in measurement.landmarks if not inside_volume(voxels[n], self.shape)]
            if bad:
                for name in bad:
                    if name not in reported:
                        reported.add(name)
                        outside.add(name)
                        self.error(
                            f"landmark {name!r} at RAS {np.round(landmarks.position(name), 3).tolist()} mm "
                            f"(voxel {np.round(voxels[name], 2).tolist()}) lies outside the volume "
                            f"{list(self.shape)}" + (" after cropping" if self.case.crop else "")
                        )
                for dim in measurement.planes:
                    self.skip(ANGLE_DISTANCE, measurement.key, dim, SKIP_OUTSIDE)
                continue
            for dim in measurement.planes:
                entry = self._measure(measurement, voxels, dim, display)
                if entry is not None:
                    record.setdefault(measurement.key, {})[f"{dim}:{entry[0]}"] = entry[1]
        path = self.out_dir / VOLUMES_DIR / f"{self.prefix}_landmarks.json"
        _write_json(
            {
                "description": "landmarks on the RAS+ voxel grid of image_file (continuous voxel "
                "indices i, j, k) and in RAS world mm; 'projections' holds each doc's in-plane "
                "(row, col) pixel coordinates, keyed by metric_key then 'slice_dim:slice_idx'",
                "image_file": self.relative(self.image_path),
                "landmarks": {
                    name: {
                        "voxel": [float(v) for v in voxels[name]],
                        "ras_mm": [float(v) for v in landmarks.position(name)],
                    }
                    for name in landmarks.names
                    if name not in outside and inside_volume(voxels[name], self.shape)
                },
                "projections": record,
            },
            path,
        )
        self.files.append(self.relative(path))

    def _measure(
        self, measurement: MeasurementSpec, voxels: dict[str, np.ndarray], dim: int, display: dict[str, str]
    ) -> tuple[int, dict] | None:
        points = np.array([voxels[name] for name in measurement.landmarks])
        along = points[:, dim]
        index = math.floor(float(along.mean()) + 0.5)
        index = min(max(index, 0), self.shape[dim] - 1)
        offsets_mm = np.abs(along - index) * self.zooms[dim]
        tolerance = self.case.landmark_tolerance_mm
        if float(offsets_mm.max()) > tolerance:
            self.skip(ANGLE_DISTANCE, measurement.key, dim, SKIP_FAR.format(tolerance=f"{tolerance:g}"))
            return None
        other = [axis for axis in range(3) if axis != dim]
        in_plane = [tuple(float(v) for v in p[other]) for p in points]
        _, pixel_hw = self._geometry(dim)
        try:
            if measurement.kind == "distance":
                value = distance_mm(in_plane[0], in_plane[1], pixel_hw)
            else:
                value = angle_degrees(*in_plane, pixel_hw)
            unit = METRIC_UNITS[measurement.kind]
        except ValueError:  # a line of zero length in this plane
            value, unit = 0.0, ""
        if not value > 0:
            self.skip(ANGLE_DISTANCE, measurement.key, dim, SKIP_ZERO)
            return None
        names = [display.get(name, name) for name in measurement.landmarks]
        doc = self._common(ANGLE_DISTANCE, measurement.task_id, dim, index)
        doc["landmark_file"] = f"{VOLUMES_DIR}/{self.prefix}_landmarks.json"
        doc["biometric_profile"] = {
            "metric_type": measurement.kind,
            "metric_key": measurement.key,
            "metric_value": float(value),
            "metric_unit": unit,
        }
        doc.update(self._descriptive(dim, measurement.name))
        doc["measurement_name"] = measurement.name
        doc["landmark_names"] = names  # flat: an angle's line 1 then line 2 (docs/ARCHITECTURE.md)
        self.docs[ANGLE_DISTANCE].append(doc)
        return index, {name: [p[0], p[1]] for name, p in zip(measurement.landmarks, in_plane)}


def build_case(case: CaseSpec, out_dir: str | Path) -> dict:
    """Build one case's docs and volumes under ``out_dir``; never raises for bad input.

    Args:
        case: the case spec from the manifest.
        out_dir: the output directory; volumes go to ``out_dir/volumes/``.

    Returns:
        JSON data: ``case`` (``dataset/case``), ``subject_id``, ``docs`` (per family, without
        split), ``skips`` (``{family, item, plane, reason, count}``), ``errors`` (messages naming
        the case), ``fatal`` (True when the case produced nothing), ``files`` (written, relative
        to ``out_dir``).
    """
    builder = _CaseBuilder(case, Path(out_dir))
    try:
        builder.run()
    except (InputError, CaseError) as error:
        builder.fatal = True
        builder.error(str(error))
    except Exception as error:  # noqa: BLE001  an unforeseen failure must name the case, not end the run
        builder.fatal = True
        builder.error(f"unexpected {type(error).__name__}: {error}")
    if builder.fatal:
        # A failed case leaves nothing behind: no docs, no half-written volumes.
        builder.docs = {family: [] for family in FAMILIES}
        for relative in builder.files:
            (Path(out_dir) / relative).unlink(missing_ok=True)
        builder.files = []
    return builder.result()
