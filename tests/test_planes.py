"""Planes: slice_dim <-> plane name, the in-distribution plane, and a slice's pixel size."""

import pytest

from medvision_tasks.planes import (
    IN_DISTRIBUTION_PLANE,
    PLANE_OF_SLICE_DIM,
    PLANES,
    SLICE_DIM_OF_PLANE,
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
