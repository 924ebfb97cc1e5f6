"""The volume step of a case: read, reorient to RAS+, crop, resample, write; then each mask alike.

:func:`prepare_volume` turns a case's image into the volume its docs describe and returns it as
an immutable :class:`PreparedVolume` (grid, voxel sizes, written file, landmarks); the family
builders (:mod:`.detection`, :mod:`.tumor_lesion`, :mod:`.angle_distance`) only read it.
:func:`prepare_mask` puts one label mask on that same grid, one mask in memory at a time.

Order of operations: every mask's grid is checked against the stored image before anything is
written; the image is reoriented to RAS+ (``nibabel.as_closest_canonical``); ``crop`` cuts the
native RAS+ grid; ``resample_mm`` (when asked) resamples image (linear) and masks (nearest
neighbour) onto one new grid (:func:`resampled_grid`). Slices are then ``vol[i, :, :]``
(``slice_dim`` 0), ``vol[:, i, :]`` (1), ``vol[:, :, i]`` (2), rows being array rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.processing import resample_from_to

from medvision_tasks.builder import layout
from medvision_tasks.builder.landmark_io import Landmarks, inside_volume, read_landmarks, world_to_voxel
from medvision_tasks.builder.spec import CaseSpec, MaskSpec
from medvision_tasks.builder.volume_io import (
    check_same_grid,
    integer_labels,
    read_geometry,
    read_volume,
    reorient_to_ras,
    save_nifti,
)
from medvision_tasks.planes import in_plane_axes, slice_spacing

Grid = tuple[tuple[int, int, int], np.ndarray]
"""``(shape, affine)`` of a voxel grid, as ``nibabel.processing.resample_from_to`` takes it."""
Crop = tuple[slice, slice, slice]


class CaseError(Exception):
    """A problem that stops one case (e.g. a crop that leaves nothing); the driver names the case."""


@dataclass(frozen=True, eq=False)
class PreparedVolume:
    """A case's image as written: the grid every doc of the case refers to.

    Attributes:
        case: the case spec.
        out_dir: the output directory.
        image_file: the written image, relative to ``out_dir``.
        shape: voxels along RAS+ axes 0, 1, 2 (after cropping and resampling).
        affine: voxel-to-RAS affine of that grid (mm).
        zooms: voxel sizes (mm) as any reader of the written file sees them (float32 values).
        stored_shape: the input image's shape as stored (masks must match it).
        stored_affine: the input image's affine as stored.
        crop: the cropped part of the native RAS+ grid.
        native_affine: the affine of the cropped native grid (before resampling).
        resampled_to: the grid the image was resampled onto, or None.
        landmarks: the case's landmarks in RAS mm, or None.
        masks_read: masks already read to find a ``crop: {margin_mm}`` box, on the RAS+ grid, by
            path; :func:`prepare_mask` takes each from here instead of reading it again.
    """

    case: CaseSpec
    out_dir: Path
    image_file: str
    shape: tuple[int, int, int]
    affine: np.ndarray
    zooms: tuple[float, float, float]
    stored_shape: tuple[int, int, int]
    stored_affine: np.ndarray
    crop: Crop
    native_affine: np.ndarray
    resampled_to: Grid | None
    landmarks: Landmarks | None
    masks_read: dict[str, np.ndarray] = field(default_factory=dict)

    def slice_geometry(self, slice_dim: int) -> tuple[list[int], list[float]]:
        """``image_size_2d`` ``[H, W]`` (pixels) and ``pixel_size`` ``[ph, pw]`` (mm) of a slice across ``slice_dim``."""
        row_axis, col_axis = in_plane_axes(slice_dim)
        return [self.shape[row_axis], self.shape[col_axis]], list(slice_spacing(self.zooms, slice_dim))


@dataclass(frozen=True, eq=False)
class PreparedMask:
    """One label mask on its case's written grid.

    Attributes:
        spec: the mask's manifest entry.
        labels: integer labels on the grid of :class:`PreparedVolume`.
        mask_file: the written mask, relative to the output directory.
        present: the label values that occur in it.
    """

    spec: MaskSpec
    labels: np.ndarray
    mask_file: str
    present: frozenset[int]


def float32_value(value: float) -> float:
    """A float stored as float32 (NIfTI zooms), as the shortest decimal that round-trips.

    ``0.664062`` rather than ``0.6640620231628418``: JSON stays readable and casting the doc's
    value back to float32 gives exactly the header's value.
    """
    return float(str(np.float32(value)))


def _minimal_mask_dtype(data: np.ndarray) -> np.dtype:
    low, high = int(data.min()), int(data.max())
    for dtype in (np.uint8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def values_present(labels: np.ndarray) -> frozenset[int]:
    """The values occurring in an integer mask.

    Small non-negative labels are marked in a table (linear, no copy of the mask); ``np.unique``
    sorts every voxel, a second per 50 million.
    """
    if labels.size and labels.dtype.kind == "u" and labels.dtype.itemsize <= 2:
        seen = np.zeros(int(labels.max()) + 1, dtype=bool)
        seen[labels.ravel(order="K")] = True
        return frozenset(np.flatnonzero(seen).tolist())
    return frozenset(np.unique(labels).tolist())


def resampled_grid(shape: tuple[int, ...], affine: np.ndarray, voxel_size_mm: tuple[float, float, float]) -> Grid:
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
        ``(shape, affine)`` of the new grid.
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


def resample_onto(data: np.ndarray, affine: np.ndarray, grid: Grid, order: int) -> np.ndarray:
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


def _resampled_image(voxels: np.ndarray, affine: np.ndarray, grid: Grid, dtype: np.dtype) -> np.ndarray:
    """The cropped image linearly interpolated onto ``grid``.

    Interpolated values are rounded back to an integer on-disk dtype when they fit it (they
    do whenever the input was stored unscaled), so nibabel writes them without a scale factor.
    """
    resampled = resample_onto(voxels.astype(np.float64), affine, grid, order=1)
    if np.issubdtype(dtype, np.integer):
        rounded = np.rint(resampled)
        info = np.iinfo(dtype)
        if rounded.size and info.min <= rounded.min() and rounded.max() <= info.max:
            return rounded.astype(dtype)
    return resampled


def _ras_mask(mask: MaskSpec, stored_shape: tuple[int, ...], stored_affine: np.ndarray) -> np.ndarray:
    """The mask as integer labels on the image's RAS+ grid (its stored grid checked against the image's)."""
    image = read_volume(mask.path)
    check_same_grid(stored_shape, stored_affine, image.shape[:3], image.affine, "mask", mask.path)
    ras = reorient_to_ras(image)
    return integer_labels(np.asanyarray(ras.dataobj), mask.path)


def _whole(shape: tuple[int, ...]) -> Crop:
    return tuple(slice(0, n) for n in shape)  # type: ignore[return-value]


def _crop_box(case: CaseSpec, shape: tuple[int, ...]) -> Crop:
    """``crop: [[i0, i1], [j0, j1], [k0, k1]]`` on the native RAS+ grid, clipped to it."""
    slices = []
    for axis, (start, stop) in enumerate(case.crop[1]):  # type: ignore[index]
        start = 0 if start is None else min(start, shape[axis])
        stop = shape[axis] if stop is None else min(stop, shape[axis])
        if stop <= start:
            raise CaseError(f"crop {list(case.crop[1])} leaves nothing of the volume {tuple(shape)}")  # type: ignore[index]
        slices.append(slice(start, stop))
    return tuple(slices)  # type: ignore[return-value]


def _crop_margin(
    case: CaseSpec,
    ras_image: nib.Nifti1Image,
    stored: tuple[tuple[int, ...], np.ndarray],
    landmarks: Landmarks | None,
    masks_read: dict[str, np.ndarray],
) -> Crop:
    """``crop: {margin_mm}``: the box around the labels and landmarks used, widened by the margin.

    Each mask read is kept in ``masks_read`` (compact integers) so that it is read only once.
    """
    shape = ras_image.shape[:3]
    low = np.full(3, np.inf)
    high = np.full(3, -np.inf)
    for mask in case.masks:
        labels = _ras_mask(mask, *stored)
        masks_read[mask.path] = labels.astype(_minimal_mask_dtype(labels), copy=False) if labels.size else labels
        wanted = np.isin(masks_read[mask.path], [label.value for label in mask.labels])
        if wanted.any():
            # Extent per axis from the projections: no index arrays as large as the label.
            extents = [np.nonzero(wanted.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
            low = np.minimum(low, [e[0] for e in extents])
            high = np.maximum(high, [e[-1] for e in extents])
        del wanted
    if landmarks is not None:
        used = {name for m in case.measurements for name in m.landmarks if name in landmarks.names}
        for name in used:
            voxel = world_to_voxel(ras_image.affine, landmarks.position(name)[None])[0]
            if inside_volume(voxel, shape):
                low = np.minimum(low, np.floor(voxel))
                high = np.maximum(high, np.ceil(voxel))
    if not np.all(np.isfinite(low)):
        return _whole(shape)
    zooms = np.asarray(ras_image.header.get_zooms()[:3], dtype=np.float64)
    margin_voxels = np.ceil(np.asarray(case.crop[1]) / zooms - 1e-9)  # type: ignore[index]
    start = np.maximum(0, low - margin_voxels).astype(int)
    stop = np.minimum(np.asarray(shape), high + margin_voxels + 1).astype(int)
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))  # type: ignore[return-value]


def _read_landmarks(case: CaseSpec, stored_affine: np.ndarray) -> Landmarks | None:
    spec = case.landmarks
    if spec is None:
        return None
    return read_landmarks(
        spec.path,
        space=spec.space,
        coordinate_system=spec.coordinate_system,
        name_column=spec.name_column,
        voxel_affine=stored_affine,
    )


def prepare_volume(case: CaseSpec, out_dir: Path) -> PreparedVolume:
    """Read the case's image and landmarks, reorient, crop, resample, and write the image.

    Args:
        case: the case spec.
        out_dir: the output directory; the image goes to :func:`layout.image_file`.

    Returns:
        The written volume's grid, voxel sizes and landmarks.

    Raises:
        InputError: a missing or unusable input (image, a mask's grid, the landmark file).
        CaseError: a crop that leaves nothing.
    """
    stored = read_volume(case.image)
    # Keep only the stored grid: the voxels live on in the reoriented copy alone.
    stored_shape = tuple(int(n) for n in stored.shape[:3])
    stored_affine = np.asarray(stored.affine)
    landmarks = _read_landmarks(case, stored_affine)
    for mask in case.masks:  # every mask's grid is checked before anything is written
        shape, affine = read_geometry(mask.path)
        check_same_grid(stored_shape, stored_affine, shape, affine, "mask", mask.path)
    dtype = np.dtype(case.image_dtype) if case.image_dtype else stored.get_data_dtype()
    ras_image = reorient_to_ras(stored)
    masks_read: dict[str, np.ndarray] = {}
    del stored
    if case.crop is None:
        crop = _whole(ras_image.shape[:3])
    elif case.crop[0] == "box":
        crop = _crop_box(case, ras_image.shape[:3])
    else:
        crop = _crop_margin(case, ras_image, (stored_shape, stored_affine), landmarks, masks_read)
    voxels = np.asanyarray(ras_image.dataobj)[crop]  # a view: nibabel's slicer copies the volume
    # The cropped native grid: masks are cut to it, then resampled like the image.
    native_affine = np.asarray(ras_image.slicer.slice_affine(crop))
    resampled_to = None
    if case.resample_mm is not None:
        resampled_to = resampled_grid(voxels.shape, native_affine, case.resample_mm)
        voxels = _resampled_image(voxels, native_affine, resampled_to, dtype)
    affine = native_affine if resampled_to is None else resampled_to[1]
    image_file = layout.image_file(case)
    save_nifti(voxels, affine, out_dir / image_file, dtype)
    shape = tuple(int(n) for n in voxels.shape[:3])
    del ras_image, voxels
    # Zooms as any reader of the written file sees them (the header stores float32).
    zooms = tuple(float32_value(z) for z in nib.load(str(out_dir / image_file)).header.get_zooms()[:3])
    return PreparedVolume(
        case=case,
        out_dir=out_dir,
        image_file=image_file,
        shape=shape,  # type: ignore[arg-type]
        affine=affine,
        masks_read=masks_read,
        zooms=zooms,  # type: ignore[arg-type]
        stored_shape=stored_shape,  # type: ignore[arg-type]
        stored_affine=stored_affine,
        crop=crop,
        native_affine=native_affine,
        resampled_to=resampled_to,
        landmarks=landmarks,
    )


def prepare_mask(volume: PreparedVolume, mask: MaskSpec, mask_file: str) -> PreparedMask:
    """Put one mask on the volume's grid (reorient, crop, nearest-neighbour resample) and write it.

    Args:
        volume: the case's prepared image.
        mask: the mask's manifest entry.
        mask_file: where to write it, relative to the output directory (:func:`layout.mask_files`).

    Raises:
        InputError: the mask is unreadable, not on the image's grid, or holds non-integer values.
    """
    already = volume.masks_read.pop(mask.path, None)
    whole = already if already is not None else _ras_mask(mask, volume.stored_shape, volume.stored_affine)
    labels = whole[volume.crop]
    if volume.resampled_to is not None:
        compact = labels.astype(_minimal_mask_dtype(labels), copy=False)
        labels = resample_onto(compact, volume.native_affine, volume.resampled_to, order=0)
        del compact
    save_nifti(labels, volume.affine, volume.out_dir / mask_file, _minimal_mask_dtype(labels))
    return PreparedMask(spec=mask, labels=labels, mask_file=mask_file, present=values_present(labels))
