"""The volume step: a stored volume reoriented to RAS+, cropped, resampled and written; a mask put on its grid."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvision_tasks.builder import volume_step
from medvision_tasks.builder.spec import CaseSpec, LabelSpec, MaskSpec
from medvision_tasks.builder.volume_io import InputError
from medvision_tasks.builder.volume_step import (
    CaseError,
    float32_value,
    prepare_mask,
    prepare_volume,
    resampled_grid,
)
from tests.helpers.volumes import save_nifti

# RAS+ grid 12 x 10 x 6 voxels of 1 x 1 x 2 mm at (-5, 7, 3) mm, stored with x and y reversed (LPS).
SHAPE, SPACING, ORIGIN = (12, 10, 6), (1.0, 1.0, 2.0), np.array([-5.0, 7.0, 3.0])


def _ras_affine() -> np.ndarray:
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = ORIGIN
    return affine


def _stored_affine() -> np.ndarray:
    """Stored index (a, b, k) = RAS voxel (11 - a, 9 - b, k)."""
    affine = np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])
    affine[:3, 3] = ORIGIN + [(SHAPE[0] - 1) * SPACING[0], (SHAPE[1] - 1) * SPACING[1], 0.0]
    return affine


def _ramp() -> np.ndarray:
    i, j, k = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (i + 20 * j + 300 * k).astype(np.int16)


def _block() -> np.ndarray:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[4:8, 3:7, 2:4] = 1  # RAS voxels i 4..7, j 3..6, k 2..3
    return labels


def _case(tmp_path: Path, **fields) -> CaseSpec:
    image = save_nifti(tmp_path / "in/image.nii.gz", _ramp()[::-1, ::-1, :], _stored_affine())
    mask = save_nifti(tmp_path / "in/mask.nii.gz", _block()[::-1, ::-1, :], _stored_affine())
    label = LabelSpec(1, "block", ("detection",))
    return CaseSpec("D", "c", "s", str(image), masks=(MaskSpec(str(mask), (label,), "01"),), **fields)


def test_crop_around_the_labels_on_the_ras_grid(tmp_path: Path) -> None:
    # margin 1, 1, 2 mm = 1, 1, 1 voxels around i 4..7, j 3..6, k 2..3: i 3..8, j 2..7, k 1..4.
    volume = prepare_volume(_case(tmp_path, crop=("margin_mm", (1.0, 1.0, 2.0))), tmp_path / "out")
    assert volume.shape == (6, 6, 4) and volume.zooms == (1.0, 1.0, 2.0)
    assert volume.image_file == "volumes/D_c_image.nii.gz" and volume.resampled_to is None
    expected_affine = _ras_affine()
    expected_affine[:3, 3] = ORIGIN + np.array([3, 2, 1]) * SPACING
    np.testing.assert_allclose(volume.affine, expected_affine)
    written = nib.load(str(tmp_path / "out" / volume.image_file))
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), _ramp()[3:9, 2:8, 1:5])
    assert volume.slice_geometry(0) == ([6, 4], [1.0, 2.0]) and volume.slice_geometry(2) == ([6, 6], [1.0, 1.0])
    mask = prepare_mask(volume, volume.case.masks[0], "volumes/D_c_mask.nii.gz")
    np.testing.assert_array_equal(mask.labels, _block()[3:9, 2:8, 1:5])
    assert mask.present == {0, 1}
    assert nib.load(str(tmp_path / "out" / mask.mask_file)).get_data_dtype() == np.uint8


@pytest.mark.parametrize("crop", [None, ("margin_mm", (1.0, 1.0, 2.0))])
def test_every_input_volume_is_read_once(tmp_path: Path, monkeypatch, crop) -> None:
    reads = []
    real = volume_step.read_volume

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(volume_step, "read_volume", counting)
    volume = prepare_volume(_case(tmp_path, crop=crop), tmp_path / "out")
    mask = prepare_mask(volume, volume.case.masks[0], "volumes/D_c_mask.nii.gz")
    assert sorted(reads) == ["image.nii.gz", "mask.nii.gz"]
    assert mask.present == {0, 1} and not volume.masks_read  # handed over, not kept


def test_resampling_thick_slices(tmp_path: Path) -> None:
    # z: 6 slices of 2 mm span 10 mm -> floor(10 / 1.6) + 1 = 7 slices of 1.6 mm; new slice m sits
    # at native k = 0.8 m: 0, 0.8, 1.6, 2.4, 3.2, 4.0, 4.8 (no nearest-neighbour ties).
    volume = prepare_volume(_case(tmp_path, resample_mm=(1.0, 1.0, 1.6)), tmp_path / "out")
    assert volume.shape == (12, 10, 7) and volume.zooms == (1.0, 1.0, 1.6)
    image = np.asanyarray(nib.load(str(tmp_path / "out" / volume.image_file)).dataobj)
    assert image[0, 0, 1] == 300 * 0.8  # the ramp is linear: interpolation is exact
    mask = prepare_mask(volume, volume.case.masks[0], "volumes/D_c_mask.nii.gz")
    # Nearest neighbour: the block's native k = 2, 3 are the nearest slices of m = 2 (1.6), 3 (2.4), 4 (3.2).
    assert np.nonzero(mask.labels.any(axis=(0, 1)))[0].tolist() == [2, 3, 4]


def test_resampled_grid_keeps_the_first_centre_and_the_span() -> None:
    shape, affine = resampled_grid((4, 4, 10), np.diag([1.0, 1.0, 3.0, 1.0]), (2.0, 1.0, 1.0))
    assert shape == (2, 4, 28)  # x: 3 mm span -> floor(3 / 2) + 1; z: 27 mm -> 28
    np.testing.assert_allclose(affine, np.diag([2.0, 1.0, 1.0, 1.0]))


def test_a_mask_off_the_grid_stops_the_case_before_anything_is_written(tmp_path: Path) -> None:
    case = _case(tmp_path)
    save_nifti(Path(case.masks[0].path), np.zeros((12, 10, 5), np.uint8), _stored_affine())
    with pytest.raises(InputError, match="mask grid \\(12, 10, 5\\) does not match the image grid \\(12, 10, 6\\)"):
        prepare_volume(case, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_crop_outside_the_volume_is_a_case_error(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="leaves nothing of the volume"):
        prepare_volume(_case(tmp_path, crop=("box", ((20, None), (None, None), (None, None)))), tmp_path / "out")


def test_voxel_sizes_are_the_written_float32_as_short_decimals() -> None:
    assert float32_value(0.664062) == 0.664062 and float32_value(2 / 3) == 0.6666667
