"""Each volume is decoded once per process, whatever order its slices are asked for in."""

import gzip

import nibabel as nib
import numpy as np
import pytest

from medvision_tasks.volumes import SliceStore, VolumeReadError


@pytest.fixture()
def two_volumes(tmp_path):
    paths = []
    for offset in (0, 1000):
        data = (np.arange(5 * 6 * 7).reshape(5, 6, 7) + offset).astype(np.int16)
        path = tmp_path / f"v{offset}.nii.gz"
        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
        paths.append(str(path))
    return paths


def test_interleaved_requests_decode_each_volume_once(two_volumes):
    store = SliceStore()
    wanted = [(path, dim, idx) for path in two_volumes for dim in range(3) for idx in (0, 2, 4)]
    for path, dim, idx in wanted:
        store.register(path, dim, idx)
    for path, dim, idx in wanted[::-1] + wanted:  # interleaved and repeated, as lmms-eval asks
        expected = np.take(np.asanyarray(nib.load(path).dataobj), idx, axis=dim)
        np.testing.assert_array_equal(store.get(path, dim, idx), expected)
    assert store.decode_count == 2


def test_unannounced_slice_is_still_served(two_volumes):
    store = SliceStore()
    store.register(two_volumes[0], 2, 0)
    assert store.get(two_volumes[0], 0, 1).shape == (6, 7)
    assert store.get(two_volumes[0], 2, 0).shape == (5, 6)


def test_bad_slice_fails_only_its_own_doc(two_volumes):
    store = SliceStore()
    store.register(two_volumes[0], 2, 99)
    store.register(two_volumes[0], 2, 1)
    with pytest.raises(VolumeReadError, match="no slice 99 across dim 2"):
        store.get(two_volumes[0], 2, 99)
    assert store.get(two_volumes[0], 2, 1).shape == (5, 6)


def test_missing_and_corrupt_volumes_name_the_file(tmp_path):
    store = SliceStore()
    with pytest.raises(VolumeReadError, match="not found: .*absent.nii.gz"):
        store.get(str(tmp_path / "absent.nii.gz"), 2, 0)
    corrupt = tmp_path / "corrupt.nii.gz"
    corrupt.write_bytes(gzip.compress(b"not a nifti header at all" * 20))
    with pytest.raises(VolumeReadError, match="corrupt.nii.gz"):
        store.get(str(corrupt), 2, 0)
