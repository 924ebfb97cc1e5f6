"""Reading volumes and serving their slices: exact values, each volume decoded once, memory bounded.

Reference values are nibabel's own reading (``np.asanyarray(nib.load(path).dataobj)``) and
hand-made arrays; the slice store is checked on its counters (decodes, bytes held) and on what it
returns, never on timings.
"""

import gzip
import logging
import multiprocessing
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvision_tasks import volumes
from medvision_tasks.volumes import SliceStore, VolumeReadError, read_slices, read_volume

SHAPE = (5, 6, 7)


def indexed(dtype=np.int16, offset=0) -> np.ndarray:
    """vol[x, y, z] = 100x + 10y + z (+ offset): every value names its voxel."""
    x, y, z = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (100 * x + 10 * y + z + offset).astype(dtype)


def save(path, data, slope=None, inter=None, on_disk=None):
    image = nib.Nifti1Image(data, np.eye(4))
    if on_disk is not None:
        image.set_data_dtype(on_disk)
    if slope is not None:
        image.header.set_slope_inter(slope, inter)
    nib.save(image, str(path))
    return str(path)


def nibabel_slice(path, slice_dim, slice_idx):
    return np.take(np.asanyarray(nib.load(path).dataobj), slice_idx, axis=slice_dim)


def every_slice():
    return [(dim, idx) for dim in range(3) for idx in range(SHAPE[dim])]


@pytest.fixture()
def two_volumes(tmp_path):
    return [save(tmp_path / f"v{offset}.nii.gz", indexed(offset=offset)) for offset in (0, 1000)]


# --- reading: the values nibabel reads, by another route -----------------------------------------


@pytest.mark.parametrize(
    "dtype, slope, inter, name",
    [
        (np.uint8, None, None, "u8.nii.gz"),
        (np.int16, None, None, "i16.nii.gz"),
        (np.uint16, None, None, "u16.nii.gz"),
        (np.int32, None, None, "i32.nii.gz"),
        (np.float32, None, None, "f32.nii.gz"),
        (np.float64, None, None, "f64.nii.gz"),
        (np.int16, 0.5, -10.0, "scaled.nii.gz"),
        (np.uint8, 3.25, 1.5, "scaled_u8.nii.gz"),
        (np.int16, None, None, "plain.nii"),
        (np.int16, 0.1, 0.0, "scaled_plain.nii"),
    ],
)
def test_slices_hold_exactly_what_nibabel_reads(tmp_path, dtype, slope, inter, name):
    path = save(tmp_path / name, indexed(dtype), slope, inter)
    volume = read_volume(path)
    streamed = dict(read_slices(path, every_slice()))
    assert sorted(streamed) == every_slice()
    for dim, idx in every_slice():
        expected = nibabel_slice(path, dim, idx)
        for got in (volume.slice(dim, idx), streamed[(dim, idx)]):
            assert got.dtype == expected.dtype.newbyteorder("=")
            np.testing.assert_array_equal(got, expected)
            assert got.flags.c_contiguous and got.flags.owndata


def test_streaming_leaves_out_slices_the_volume_lacks_and_reads_one_plane_at_a_time(tmp_path, monkeypatch):
    path = save(tmp_path / "v.nii.gz", indexed())
    planes = []
    real = volumes._planes

    def watched(*args):
        for plane in real(*args):
            planes.append(plane.nbytes)
            yield plane

    monkeypatch.setattr(volumes, "_planes", watched)
    got = dict(read_slices(path, [(2, 6), (2, 7), (0, 4), (0, 5), (1, 0), (3, 0)]))
    assert sorted(got) == [(0, 4), (1, 0), (2, 6)]
    np.testing.assert_array_equal(got[(1, 0)], indexed()[:, 0, :])
    assert planes == [5 * 6 * 2] * 7  # every axial plane once, 60 bytes each: never the whole volume


def test_big_endian_file_and_trailing_unit_axis(tmp_path):
    header = nib.Nifti1Header(endianness=">")
    header.set_data_dtype(np.int16)
    path = str(tmp_path / "big.nii.gz")
    nib.save(nib.Nifti1Image(indexed()[..., None], np.eye(4), header), path)  # (5, 6, 7, 1), big-endian
    assert nib.load(path).get_data_dtype() == np.dtype(">i2")
    volume = read_volume(path)
    assert volume.shape == SHAPE
    streamed = dict(read_slices(path, [(2, 3), (0, 1)]))
    for got in (volume.slice(2, 3), streamed[(2, 3)]):
        np.testing.assert_array_equal(got, indexed()[:, :, 3])
        assert got.dtype == np.dtype("=i2")
    np.testing.assert_array_equal(streamed[(0, 1)], indexed()[1])


@pytest.mark.parametrize("inflater", ["isal", "zlib"])
def test_gzip_file_of_several_members(tmp_path, monkeypatch, inflater):
    if inflater == "isal":
        monkeypatch.setattr(volumes, "_inflate_module", pytest.importorskip("isal.isal_zlib"))
    else:
        monkeypatch.setattr(volumes, "_inflate_module", zlib)
    plain = save(tmp_path / "v.nii", indexed())
    content = Path(plain).read_bytes()
    split = len(content) // 3
    path = tmp_path / "members.nii.gz"
    path.write_bytes(gzip.compress(content[:split]) + gzip.compress(content[split:]))
    np.testing.assert_array_equal(read_volume(path).slice(0, 4), indexed()[4])
    np.testing.assert_array_equal(dict(read_slices(path, [(0, 4)]))[(0, 4)], indexed()[4])


def test_truncated_missing_and_corrupt_volumes_name_the_file(tmp_path):
    path = save(tmp_path / "whole.nii.gz", indexed())
    content = gzip.decompress(Path(path).read_bytes())
    truncated = tmp_path / "truncated.nii.gz"
    truncated.write_bytes(gzip.compress(content[: len(content) - 100]))
    with pytest.raises(VolumeReadError, match="truncated.nii.gz"):
        read_volume(truncated)
    with pytest.raises(VolumeReadError, match="truncated.nii.gz"):
        dict(read_slices(truncated, [(2, 0), (0, 0)]))
    with pytest.raises(VolumeReadError, match="not found: .*absent.nii.gz"):
        read_volume(tmp_path / "absent.nii.gz")
    corrupt = tmp_path / "corrupt.nii.gz"
    corrupt.write_bytes(gzip.compress(b"not a nifti header at all" * 20))
    with pytest.raises(VolumeReadError, match="corrupt.nii.gz"):
        read_volume(corrupt)
    flat = save(tmp_path / "flat.nii.gz", np.zeros((4, 4), np.int16))
    with pytest.raises(VolumeReadError, match="a 3D volume is required"):
        read_volume(flat)


# --- the slice store ------------------------------------------------------------------------------


def test_interleaved_requests_decode_each_volume_once_with_little_memory(two_volumes):
    one_slice = indexed()[:, :, 0].nbytes
    store = SliceStore(memory_bytes=3 * one_slice)
    wanted = [(path, dim, idx) for path in two_volumes for dim, idx in every_slice()]
    for path, dim, idx in wanted:
        store.register(path, dim, idx)
    for path, dim, idx in wanted[::-1] + wanted[::2] + wanted:  # interleaved and repeated, as lmms-eval asks
        np.testing.assert_array_equal(store.get(path, dim, idx), nibabel_slice(path, dim, idx))
        assert store.memory_bytes <= store.memory_limit
    assert store.decode_count == 2


def test_memory_holds_at_most_its_bound(two_volumes):
    plane_bytes = {dim: indexed()[(slice(None),) * dim + (0,)].nbytes for dim in range(3)}  # 84, 70, 60
    store = SliceStore(memory_bytes=200)
    sizes_seen = []
    for path in two_volumes:
        for dim, idx in every_slice():
            store.get(path, dim, idx)
            assert store.memory_bytes <= 200
            sizes_seen.append(store.memory_bytes)
    assert max(sizes_seen) >= min(plane_bytes.values())  # it does keep slices, just never more than 200 bytes
    assert SliceStore(memory_bytes=10).get(two_volumes[0], 2, 0).nbytes == plane_bytes[2]  # larger than the bound


def test_a_later_run_reads_the_cache_and_decodes_nothing(two_volumes):
    first = SliceStore()
    for path in two_volumes:
        first.register(path, 2, 3)
        first.get(path, 2, 3)
    second = SliceStore()
    np.testing.assert_array_equal(second.get(two_volumes[1], 2, 3), indexed(offset=1000)[:, :, 3])
    assert (first.decode_count, second.decode_count) == (2, 0)


def test_a_changed_volume_is_never_served_stale(tmp_path):
    path = save(tmp_path / "v.nii.gz", indexed())
    before = os.stat(path)
    store = SliceStore()
    np.testing.assert_array_equal(store.get(path, 0, 1), indexed()[1])
    # Same shape and type, so the same file size; the modification time is put back as it was.
    save(path, indexed(offset=7))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    np.testing.assert_array_equal(store.get(path, 0, 1), indexed(offset=7)[1])
    np.testing.assert_array_equal(SliceStore().get(path, 0, 1), indexed(offset=7)[1])
    assert store.decode_count == 2


def test_a_changed_reading_rule_is_never_served_stale(two_volumes):
    SliceStore().get(two_volumes[0], 1, 2)
    other_rule = SliceStore(rule="another-reading-rule")
    other_rule.get(two_volumes[0], 1, 2)
    assert other_rule.decode_count == 1


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


def test_missing_and_corrupt_volumes_name_the_file_in_the_store(tmp_path):
    store = SliceStore()
    with pytest.raises(VolumeReadError, match="not found: .*absent.nii.gz"):
        store.get(str(tmp_path / "absent.nii.gz"), 2, 0)
    corrupt = tmp_path / "corrupt.nii.gz"
    corrupt.write_bytes(gzip.compress(b"not a nifti header at all" * 20))
    with pytest.raises(VolumeReadError, match="corrupt.nii.gz"):
        store.get(str(corrupt), 2, 0)


def test_an_unwritable_cache_keeps_serving_and_says_so(two_volumes, tmp_path, caplog):
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    store = SliceStore(directory=blocker / "cache")
    store.register(two_volumes[0], 2, 4)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            np.testing.assert_array_equal(store.get(two_volumes[0], 0, 1), indexed()[1])
            np.testing.assert_array_equal(store.get(two_volumes[0], 2, 4), indexed()[:, :, 4])
    assert store.decode_count == 1
    assert "cannot write the slice cache" in caplog.text


def _serve_every_slice(paths, cache, order_seed, start):
    """One process of several sharing a cache: every slice of every volume, in its own order."""
    store = SliceStore(directory=cache)
    wanted = [(path, dim, idx) for path in paths for dim, idx in every_slice()]
    for request in wanted:
        store.register(*request)
    start.wait()
    served = {}
    for position in np.random.default_rng(order_seed).permutation(len(wanted)):
        path, dim, idx = wanted[position]
        served[(path, dim, idx)] = store.get(path, dim, idx).tolist()
    return store.decode_count, served


def test_processes_sharing_the_cache_decode_each_volume_once_between_them(two_volumes, tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(3, mp_context=context) as pool:
        start = manager.Event()
        futures = [
            pool.submit(_serve_every_slice, two_volumes, str(tmp_path / "shared"), seed, start) for seed in range(3)
        ]
        start.set()
        results = [future.result(timeout=120) for future in futures]
    assert sum(decodes for decodes, _ in results) == len(two_volumes)
    for _, served in results:
        for (path, dim, idx), values in served.items():
            np.testing.assert_array_equal(values, nibabel_slice(path, dim, idx))
