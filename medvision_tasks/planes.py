"""Slice planes: the ``slice_dim`` of a doc and the plane it names, defined once.

A doc's slice is ``vol[i, :, :]`` (``slice_dim`` 0), ``vol[:, i, :]`` (1) or ``vol[:, :, i]``
(2) of a RAS+ volume: array axis 0 runs Left->Right, 1 Posterior->Anterior, 2
Inferior->Superior, so the three slice dims are the sagittal, coronal and axial planes.
MedVision-V0 was trained on axial slices only: axial is the in-distribution plane, coronal and
sagittal are the plane out-of-distribution test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

SLICE_DIM_OF_PLANE: Mapping[str, int] = MappingProxyType({"sagittal": 0, "coronal": 1, "axial": 2})
PLANE_OF_SLICE_DIM: Mapping[int, str] = MappingProxyType({dim: plane for plane, dim in SLICE_DIM_OF_PLANE.items()})
IN_DISTRIBUTION_PLANE = "axial"
PLANES = ("axial", "coronal", "sagittal")
"""Every plane, in the order tasks, manifests and report tables list them (in-distribution first)."""


def plane_of_slice_dim(slice_dim: object) -> str | None:
    """'sagittal', 'coronal' or 'axial' for ``slice_dim`` 0, 1 or 2; None for anything else."""
    try:
        return PLANE_OF_SLICE_DIM.get(slice_dim)  # type: ignore[call-overload]
    except TypeError:  # unhashable: not a slice dim
        return None


def check_slice_dim(slice_dim: object) -> int:
    """``slice_dim`` itself when it is 0, 1 or 2.

    Raises:
        ValueError: anything else, quoting the value.
    """
    if plane_of_slice_dim(slice_dim) is None:
        raise ValueError(f"slice_dim must be 0, 1 or 2, got {slice_dim!r}")
    return slice_dim  # type: ignore[return-value]


def in_plane_axes(slice_dim: int) -> tuple[int, int]:
    """The volume axes that become a slice's rows and columns, in order: the two other than ``slice_dim``.

    Raises:
        ValueError: ``slice_dim`` is not 0, 1 or 2.
    """
    check_slice_dim(slice_dim)
    row_axis, col_axis = (axis for axis in range(3) if axis != slice_dim)
    return row_axis, col_axis


def slice_spacing(voxel_size: Sequence[float], slice_dim: int) -> tuple[float, float]:
    """In-plane pixel size (mm, row then column) of a slice taken across ``slice_dim``.

    Rows and columns are the two remaining volume axes in order: dim 0 -> (z1, z2),
    dim 1 -> (z0, z2), dim 2 -> (z0, z1).

    Args:
        voxel_size: the volume's voxel size along axes 0, 1, 2 (mm).
        slice_dim: 0, 1 or 2.

    Raises:
        ValueError: ``slice_dim`` is not 0, 1 or 2.
    """
    row_axis, col_axis = in_plane_axes(slice_dim)
    return float(voxel_size[row_axis]), float(voxel_size[col_axis])


def extract_slice(volume: np.ndarray, slice_dim: int, slice_idx: int) -> np.ndarray:
    """The 2D slice ``volume[..., slice_idx, ...]`` across ``slice_dim`` (array rows = image rows).

    Basic indexing: the slice is a view sharing the volume's memory, whatever the volume's memory
    order (``np.take`` copies a whole Fortran-order volume, as nibabel returns NIfTI data, for every
    slice). Copy it (``np.ascontiguousarray``) to keep it beyond the volume.

    Raises:
        ValueError: ``volume`` is not 3D or ``slice_dim`` is not 0, 1 or 2.
        IndexError: ``slice_idx`` is outside the volume along ``slice_dim``.
    """
    if volume.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {volume.shape}")
    check_slice_dim(slice_dim)
    if not 0 <= slice_idx < volume.shape[slice_dim]:
        raise IndexError(f"slice_idx {slice_idx} outside 0..{volume.shape[slice_dim] - 1} along dim {slice_dim}")
    index: list[slice | int] = [slice(None)] * 3
    index[slice_dim] = int(slice_idx)
    return volume[tuple(index)]
