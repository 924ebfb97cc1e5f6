"""Planes: slice_dim <-> plane name, the in-distribution plane, and a slice's pixel size."""

import numpy as np
import pytest

from medvision_tasks.planes import (
    IN_DISTRIBUTION_PLANE,
    PLANE_OF_SLICE_DIM,
    PLANES,
    SLICE_DIM_OF_PLANE,
    extract_slice,
    in_plane_axes,
    plane_of_slice_dim,
    slice_spacing,
)


def test_slice_dims_name_the_ras_planes():
    # RAS+ axis 0 runs Left->Right: a slice across it is sagittal; axis 1 (P->A) coronal; axis 2 (I->S) axial.
    assert dict(SLICE_DIM_OF_PLANE) == {"sagittal": 0, "coronal": 1, "axial": 2}
    assert dict(PLANE_OF_SLICE_DIM) == {0: "sagittal", 1: "coronal", 2: "axial"}
    assert PLANES == ("axial", "coronal", "sagittal") and IN_DISTRIBUTION_PLANE == "axial"


@pytest.mark.parametrize("value", [3, -1, None, "axial", [2]])
def test_anything_but_0_1_2_has_no_plane(value):
    assert plane_of_slice_dim(value) is None


@pytest.mark.parametrize("slice_dim, axes", [(0, (1, 2)), (1, (0, 2)), (2, (0, 1))])
def test_rows_and_columns_are_the_two_other_axes_in_order(slice_dim, axes):
    assert in_plane_axes(slice_dim) == axes


@pytest.mark.parametrize("slice_dim, expected", [(0, (0.8, 2.0)), (1, (0.5, 2.0)), (2, (0.5, 0.8))])
def test_pixel_size_is_the_two_remaining_voxel_sizes_in_order(slice_dim, expected):
    assert slice_spacing((0.5, 0.8, 2.0), slice_dim) == expected


def test_a_bad_slice_dim_is_named():
    with pytest.raises(ValueError, match="slice_dim must be 0, 1 or 2, got 3"):
        slice_spacing((1, 1, 1), 3)


def indexed_volume() -> np.ndarray:
    """vol[x, y, z] = 100x + 10y + z, so a slice's values name their voxels."""
    x, y, z = np.meshgrid(np.arange(4), np.arange(3), np.arange(2), indexing="ij")
    return 100 * x + 10 * y + z


@pytest.mark.parametrize(
    "slice_dim, slice_idx, expected",
    [
        (0, 2, [[200, 201], [210, 211], [220, 221]]),  # vol[2, :, :]: rows y, columns z
        (1, 1, [[10, 11], [110, 111], [210, 211], [310, 311]]),  # vol[:, 1, :]: rows x, columns z
        (2, 1, [[1, 11, 21], [101, 111, 121], [201, 211, 221], [301, 311, 321]]),  # vol[:, :, 1]
    ],
)
def test_slices_keep_array_rows_as_image_rows(slice_dim, slice_idx, expected):
    np.testing.assert_array_equal(extract_slice(indexed_volume(), slice_dim, slice_idx), expected)


def test_out_of_range_slice_and_bad_dim_are_errors():
    with pytest.raises(IndexError, match="slice_idx 2 outside 0..1"):
        extract_slice(indexed_volume(), 2, 2)
    with pytest.raises(ValueError, match="slice_dim must be 0, 1 or 2, got 3"):
        extract_slice(indexed_volume(), 3, 0)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("slice_dim", [0, 1, 2])
def test_a_slice_is_a_view_not_a_copy_of_the_volume(order, slice_dim):
    # nibabel returns NIfTI voxels in Fortran order; np.take would copy the whole volume per slice.
    volume = np.asarray(indexed_volume(), order=order)
    plane = extract_slice(volume, slice_dim, 1)
    assert plane.base is not None and np.shares_memory(plane, volume)
