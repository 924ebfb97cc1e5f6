"""Volume files: NIfTI, NRRD and DICOM read into RAS mm; unusable geometry named; NIfTI written atomically."""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvision_tasks.builder import volume_io
from medvision_tasks.builder.volume_io import InputError, read_volume, reorient_to_ras
from tests.helpers.volumes import save_nifti as write_nifti
from tests.helpers.volumes import save_nrrd_lps

# A 4 x 3 x 2 grid of 0.5 x 0.8 x 2.5 mm at (1, 2, 3) mm, axes along R, A, S.
SHAPE = (4, 3, 2)
RAS = np.array([[0.5, 0, 0, 1.0], [0, 0.8, 0, 2.0], [0, 0, 2.5, 3.0], [0, 0, 0, 1]])


def test_nrrd_in_lps_space_reads_as_the_same_ras_grid(tmp_path: Path) -> None:
    data = np.arange(24, dtype=np.int16).reshape(SHAPE)
    path = save_nrrd_lps(tmp_path / "v.nrrd", data, RAS)
    image = read_volume(path)
    np.testing.assert_allclose(image.affine, RAS)
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), data)
    shape, affine = volume_io.read_geometry(path)  # from the header alone
    assert shape == SHAPE
    np.testing.assert_allclose(affine, RAS)


def test_an_lps_stored_nifti_is_put_in_ras_order() -> None:
    # Stored with axis 0 running Left and axis 1 Posterior: RAS+ reverses both.
    lps = RAS.copy()
    lps[0, 0], lps[1, 1] = -0.5, -0.8
    data = np.arange(24, dtype=np.int16).reshape(SHAPE)
    canonical = reorient_to_ras(nib.Nifti1Image(data, lps))
    np.testing.assert_array_equal(np.asanyarray(canonical.dataobj), data[::-1, ::-1, :])
    assert nib.aff2axcodes(canonical.affine) == ("R", "A", "S")
    np.testing.assert_allclose(canonical.affine[:3, 3], [1.0 - 3 * 0.5, 2.0 - 2 * 0.8, 3.0])


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({(2, 2): 0.0}, "degenerate affine"),  # third voxel axis of zero length
        ({(0, 1): 0.4}, "non-orthogonal affine"),  # second axis leans into the first
        ({(0, 0): np.nan}, "degenerate affine (not a finite 4x4 matrix)"),
    ],
)
def test_unusable_affines_are_named(change, phrase) -> None:
    affine = RAS.copy()
    for index, value in change.items():
        affine[index] = value
    with pytest.raises(InputError, match=f"^scan.nii: {re.escape(phrase)}"):
        volume_io.check_affine(affine, "scan.nii")


def test_a_mask_off_the_image_grid_is_named() -> None:
    with pytest.raises(InputError, match=r"m.nii: mask grid \(4, 3, 1\) does not match the image grid \(4, 3, 2\)"):
        volume_io.check_same_grid(SHAPE, RAS, (4, 3, 1), RAS, "mask", "m.nii")
    shifted = RAS.copy()
    shifted[0, 3] += 0.01
    with pytest.raises(InputError, match="mask affine differs from the image affine by up to 0.01 mm"):
        volume_io.check_same_grid(SHAPE, RAS, SHAPE, shifted, "mask", "m.nii")


def test_fractional_mask_values_are_refused() -> None:
    np.testing.assert_array_equal(volume_io.integer_labels(np.array([0.0, 2.0]), "m"), [0, 2])
    with pytest.raises(InputError, match="m: mask holds non-integer values"):
        volume_io.integer_labels(np.array([0.0, 0.5]), "m")


def test_missing_and_non_3d_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere.nii.gz: file not found"):
        read_volume(tmp_path / "nowhere.nii.gz")
    flat = write_nifti(tmp_path / "flat.nii.gz", np.zeros((4, 3, 2, 2), np.int16), RAS)
    with pytest.raises(InputError, match=r"flat.nii.gz: shape \(4, 3, 2, 2\); a 3D volume is required"):
        read_volume(flat)


def test_written_volumes_carry_the_affine_in_qform_and_sform(tmp_path: Path) -> None:
    path = tmp_path / "out" / "v.nii.gz"
    volume_io.save_nifti(np.ones(SHAPE, np.float64), RAS, path, "uint8")
    image = nib.load(str(path))
    assert image.get_data_dtype() == np.uint8
    np.testing.assert_allclose(image.header.get_qform(), RAS)
    np.testing.assert_allclose(image.header.get_sform(), RAS)
    assert [p.name for p in path.parent.iterdir()] == ["v.nii.gz"]  # no partial file left


def test_dicom_series_reads_as_ras_volume(tmp_path: Path) -> None:
    pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    rows, columns, n_slices = 6, 5, 4
    # Patient (LPS) geometry: moving along a row (next column) goes +x = Left by 0.6 mm, down a
    # column (next row) +y = Posterior by 0.8 mm; slices 2.5 mm apart going Superior.
    origin_lps = np.array([12.0, -7.0, 30.0])
    stored = np.arange(n_slices * rows * columns, dtype=np.uint16).reshape(n_slices, rows, columns)
    series = generate_uid()
    folder = tmp_path / "series"
    folder.mkdir()
    for n in reversed(range(n_slices)):  # files written out of order: sorting is by position
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID = series
        ds.Modality = "CT"
        ds.Rows, ds.Columns = rows, columns
        ds.PixelSpacing = [0.8, 0.6]  # (between rows, between columns)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = list(origin_lps + [0.0, 0.0, 2.5 * n])
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = stored[n].tobytes()
        ds.save_as(folder / f"slice{n}.dcm", enforce_file_format=True)
    image = reorient_to_ras(read_volume(folder))
    # RAS: x = -(12 + 0.6 c), y = -(-7 + 0.8 r), z = 30 + 2.5 n. RAS+ axis 0 runs along -c, axis 1
    # along -r: the canonical array is the stored one, columns and rows reversed.
    expected = np.transpose(stored, (2, 1, 0))[::-1, ::-1, :].astype(np.float64) - 1024
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), expected)
    expected_affine = np.diag([0.6, 0.8, 2.5, 1.0])
    expected_affine[:3, 3] = [-(12.0 + 0.6 * (columns - 1)), -(-7.0 + 0.8 * (rows - 1)), 30.0]
    np.testing.assert_allclose(image.affine, expected_affine, atol=1e-9)
