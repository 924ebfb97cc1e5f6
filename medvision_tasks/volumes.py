"""Volumes and their slices: each volume read once per pass, slices served from a bounded store.

Reading (this module is the one place a volume file becomes voxels): a single-file NIfTI is
inflated by ISA-L when the optional ``isal`` package is installed, else zlib, read as its stored
type, and each slice is scaled on its own with nibabel's read-scaling rule, so a slice holds
exactly the values ``np.asanyarray(nibabel.load(path).dataobj)`` would, at a third to a fifth of
the time and without a float copy of a whole scaled volume. :func:`read_volume` inflates the
whole volume into one buffer (the builder needs it whole); :func:`read_slices` streams it one
plane at a time and keeps only the slices asked for (the evaluator). An uncompressed ``.nii`` is
memory-mapped; other formats are read by nibabel whole.

Orientation: MedVision docs index slices of the volume in RAS+ voxel order (upstream reorients
every volume to RAS+ before planning). A volume stored in another orientation (e.g. LPS, as
DICOM- and ITK-derived files often are) is reoriented on reading (:meth:`Volume.canonical`:
axes permuted and flipped, ``nibabel.io_orientation`` of its affine), so its slices are those of
its RAS+ copy; a NIfTI whose header records no orientation (qform and sform codes 0) is sliced as
stored. :func:`inspect_volume` is the header-only check every volume gets when a task loads:
3D, a plausible size, a usable affine, and data not cut short.

Serving (:class:`SliceStore`): models do not ask in doc order (lmms-eval's wrappers sort
requests by prompt), so an LRU of decoded volumes would thrash. The docs announce up front which
slices they need (:meth:`SliceStore.register`); the first request for any slice of a volume
decodes that volume once and writes every announced slice of it to a slice cache on disk, and
every request is then one small file read. In memory the store keeps at most ``memory_bytes`` of
recently used slices and, while decoding, one plane and the volume's announced sagittal and
coronal slices, whatever the number of docs.

The disk cache (``slices/`` in ``MEDVISION_CACHE_DIR``, default ``~/.cache/medvision-tasks``;
``off`` for a private folder removed at exit) holds raw intensities, not rendered images, so a
rendering rule never enters it. A slice file is named by the reading rule (:data:`READ_RULE`: the source of the
modules that decide what a slice holds, and the nibabel version), the volume (real path, size,
modification time, and for gzip files the trailer's CRC-32 of the whole content) and the slice:
a changed volume or reading rule is a new name, never a stale file. Files appear by atomic rename
and a volume is decoded under a file lock, so processes sharing the cache (multi-GPU ranks)
decode each volume once between them.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import inspect
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from filelock import FileLock
from nibabel.volumeutils import apply_read_scaling

from medvision_tasks import planes
from medvision_tasks.planes import extract_slice

try:  # ISA-L inflates 2-3x faster than zlib, to the same bytes
    from isal import isal_zlib as _inflate_module
except ImportError:  # pragma: no cover - depends on the environment
    _inflate_module = zlib

logger = logging.getLogger(__name__)

SliceKey = tuple[int, int]  # (slice_dim, slice_idx)
CACHE_DIR_ENV = "MEDVISION_CACHE_DIR"
CACHE_OFF = ("off", "none", "0", "false", "no")
DEFAULT_MEMORY_BYTES = 64 * 2**20
"""Slices the store keeps in memory (bytes): about 120 int16 slices of 512x512."""
"""The inflate implementation in use (``isal.isal_zlib`` or ``zlib``)."""
_GZIP_WBITS = 31  # zlib: a gzip header and trailer around the deflate stream
_READ_CHUNK = 1 << 20  # compressed bytes read at a time
_INFLATE_CHUNK = 4 << 20  # most bytes one inflate call returns


def _rule_fingerprint(sources: Iterable[object]) -> str:
    digest = hashlib.sha256(f"nibabel {nib.__version__}".encode())
    for module in sources:
        digest.update(inspect.getsource(module).encode("utf-8"))  # type: ignore[arg-type]
    return digest.hexdigest()[:16]


class VolumeReadError(RuntimeError):
    """A volume file that is missing or cannot be decoded."""


MAX_VOXELS = 2**31
"""Most voxels a volume may hold (2G: a 1024x1024x2048 scan); a header claiming more is corrupt or
not a scan MedVision slices, and is refused before anything is allocated."""
RAS = "RAS"
_RAS_ORNT = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])


@dataclass(frozen=True)
class VolumeHeader:
    """What a volume's header says, checked (:func:`inspect_volume`).

    Attributes:
        path: the file.
        shape: voxels along axes 0, 1, 2 of the RAS+ volume its slices are taken from.
        orientation: the stored axes' directions as nibabel's axis codes (``"RAS"``, ``"LPS"``,
            ...), or ``"none"`` when the header records no orientation (sliced as stored).
    """

    path: str
    shape: tuple[int, int, int]
    orientation: str

    @property
    def reoriented(self) -> bool:
        """Whether slices are taken after reorienting the stored voxels to RAS+."""
        return self.orientation not in (RAS, "none")


def _records_orientation(image: nib.spatialimages.SpatialImage) -> bool:
    """False for a NIfTI/Analyze header without qform and sform (nibabel would invent an LAS affine)."""
    header = image.header
    try:
        return int(header["qform_code"]) > 0 or int(header["sform_code"]) > 0
    except (KeyError, ValueError, TypeError):  # not a NIfTI header: its affine is what the format stores
        return not isinstance(image, nib.AnalyzeImage)


def _orientation(image: nib.spatialimages.SpatialImage, path: str) -> tuple[str, np.ndarray | None]:
    """The stored axis codes and the nibabel orientation transform to RAS+ (None when already RAS+ or unknown).

    Raises:
        VolumeReadError: an affine with non-finite entries or a voxel axis of zero length.
    """
    if not _records_orientation(image):
        return "none", None
    affine = np.asarray(image.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)):
        raise VolumeReadError(f"volume {path} has a non-finite affine in its header")
    ornt = nib.io_orientation(affine)
    if np.isnan(ornt).any():
        raise VolumeReadError(f"volume {path} has a degenerate affine (a voxel axis of zero length): {affine.tolist()}")
    code = "".join(nib.orientations.ornt2axcodes(ornt))
    return code, None if np.array_equal(ornt, _RAS_ORNT) else ornt


@dataclass(frozen=True, eq=False)
class Volume:
    """A volume's voxels as stored in its file, and the scaling a reader applies to them.

    Attributes:
        path: the file.
        stored: the 3D voxel array in the file's type and order (a view over the decoded bytes,
            or a memory map).
        slope: nibabel's scale factor (``scl_slope``), or None when ``stored`` is already scaled.
        inter: nibabel's intercept (``scl_inter``), or None likewise.
        to_ras: the nibabel orientation transform from the stored axes to RAS+, None when the
            volume is stored RAS+ (or records no orientation); :meth:`canonical` applies it.
    """

    path: str
    stored: np.ndarray
    slope: np.ndarray | None = None
    inter: np.ndarray | None = None
    to_ras: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxels along axes 0, 1, 2."""
        return tuple(int(n) for n in self.stored.shape)  # type: ignore[return-value]

    def canonical(self) -> Volume:
        """The volume in RAS+ voxel order (a view: axes permuted and flipped), itself when stored so."""
        if self.to_ras is None:
            return self
        return Volume(self.path, nib.orientations.apply_orientation(self.stored, self.to_ras), self.slope, self.inter)

    def array(self) -> np.ndarray:
        """The whole volume as nibabel would read it (scaled, same dtype and memory order)."""
        return self.stored if self.slope is None else _scaled(self.stored, self.slope, self.inter)

    def slice(self, slice_dim: int, slice_idx: int) -> np.ndarray:
        """One slice as nibabel would read it (scaled, same dtype), C-ordered in native byte order.

        Raises:
            ValueError, IndexError: as :func:`medvision_tasks.planes.extract_slice`.
        """
        return _finished(extract_slice(self.stored, slice_dim, slice_idx), self.slope, self.inter)


def _finished(plane: np.ndarray, slope: np.ndarray | None, inter: np.ndarray | None) -> np.ndarray:
    """A stored slice scaled as nibabel reads it, C-ordered in native byte order: always a copy."""
    if slope is not None:
        plane = _scaled(plane, slope, inter)
    return np.array(plane, dtype=plane.dtype.newbyteorder("="), order="C")


def _scaled(raw: np.ndarray, slope: np.ndarray, inter: np.ndarray | None) -> np.ndarray:
    """``raw * slope + inter`` with the types nibabel's ``ArrayProxy`` reads a scaled image in.

    Elementwise, so scaling a slice gives exactly the values of the same slice of the whole
    scaled volume (``tests/test_volumes.py`` compares them over types, scales and byte orders).
    """
    scl_slope = np.asanyarray(slope)
    scl_inter = np.asanyarray(0.0 if inter is None else inter)
    if np.can_cast(scl_inter, scl_slope.dtype):
        scl_inter = scl_inter.astype(scl_slope.dtype)
    return apply_read_scaling(raw, scl_slope, scl_inter)


def _inflated(path: str, skip: int, size: int) -> Iterator[memoryview]:
    """The ``size`` bytes after the first ``skip`` of a gzip file (any number of members), in pieces."""
    handed = 0
    with open(path, "rb") as handle:
        inflater = _inflate_module.decompressobj(_GZIP_WBITS)
        pending = b""
        while handed < size:
            if not pending:
                pending = handle.read(_READ_CHUNK)
                if not pending:
                    raise VolumeReadError(
                        f"volume {path} is truncated: {skip + handed} bytes of {skip + size} after inflating"
                    )
            chunk = inflater.decompress(pending, _INFLATE_CHUNK)
            pending = inflater.unconsumed_tail
            if inflater.eof:  # the end of one gzip member: another may follow
                pending = inflater.unused_data + pending
                inflater = _inflate_module.decompressobj(_GZIP_WBITS)
            start = min(skip, len(chunk))
            skip -= start
            count = min(len(chunk) - start, size - handed)
            if count > 0:
                yield memoryview(chunk)[start : start + count]
                handed += count


def _inflate_into(path: str, skip: int, out: np.ndarray) -> None:
    """Inflate a gzip file, dropping ``skip`` bytes, into ``out`` (uint8)."""
    filled = 0
    for piece in _inflated(path, skip, out.size):
        out[filled : filled + len(piece)] = np.frombuffer(piece, np.uint8)
        filled += len(piece)


def _planes(path: str, skip: int, plane_bytes: int, count: int) -> Iterator[np.ndarray]:
    """``count`` consecutive planes of ``plane_bytes`` bytes after ``skip`` (one buffer, reused)."""
    plane = np.empty(plane_bytes, dtype=np.uint8)
    filled = 0
    for piece in _inflated(path, skip, plane_bytes * count):
        view = np.frombuffer(piece, np.uint8)
        while view.size:
            taken = min(view.size, plane_bytes - filled)
            plane[filled : filled + taken] = view[:taken]
            filled += taken
            view = view[taken:]
            if filled == plane_bytes:
                yield plane
                filled = 0


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """Every failure while reading ``path`` as a :class:`VolumeReadError` naming it."""
    try:
        yield
    except FileNotFoundError as error:
        raise VolumeReadError(f"volume not found: {path}") from error
    except VolumeReadError:
        raise
    except Exception as error:  # nibabel and the inflaters raise many types for corrupt files
        raise VolumeReadError(f"cannot decode volume {path}: {type(error).__name__}: {error}") from error


def _nifti_file(image: nib.spatialimages.SpatialImage, path: str) -> str | None:
    """``".nii"`` or ``".nii.gz"`` for a single-file NIfTI whose voxels this module reads itself, else None."""
    if not isinstance(image, nib.Nifti1Image) or not nib.is_proxy(image.dataobj):
        return None
    if image.file_map["image"].filename != path:
        return None
    return next((suffix for suffix in (".nii", ".nii.gz") if path.endswith(suffix)), None)


def _three_d(shape: tuple[int, ...], path: str) -> tuple[int, int, int]:
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise VolumeReadError(f"volume {path} has shape {shape}; a 3D volume is required")
    return shape  # type: ignore[return-value]


def read_volume(path: str | Path) -> Volume:
    """Read a volume file into a :class:`Volume` (3D, a trailing axis of length 1 dropped), as stored.

    The builder reads its NIfTI inputs here (:func:`medvision_tasks.builder.volume_io.read_volume`,
    which reorients with the affine itself); slices for a model come from :meth:`Volume.canonical`.

    Raises:
        VolumeReadError: the file is missing, cannot be decoded, or is not 3D; the message names it.
    """
    path = str(path)
    with _reading(path):
        image = nib.load(path)
        _, to_ras = _orientation(image, path)
        kind = _nifti_file(image, path)
        if kind is None:
            stored = np.asanyarray(image.dataobj)
            _three_d(stored.shape, path)
            return Volume(path, stored.reshape(stored.shape[:3]) if stored.ndim == 4 else stored, to_ras=to_ras)
        proxy = image.dataobj
        shape, dtype = tuple(proxy.shape), np.dtype(proxy.dtype)
        _three_d(shape, path)
        if kind == ".nii":
            stored = np.memmap(path, dtype=dtype, mode="r", offset=proxy.offset, shape=shape, order=proxy.order)
        else:
            buffer = np.empty(math.prod(shape) * dtype.itemsize, dtype=np.uint8)
            _inflate_into(path, proxy.offset, buffer)
            stored = buffer.view(dtype).reshape(shape, order=proxy.order)
        return Volume(path, stored[..., 0] if stored.ndim == 4 else stored, proxy.slope, proxy.inter, to_ras)


def read_slices(path: str | Path, wanted: Iterable[SliceKey]) -> Iterator[tuple[SliceKey, np.ndarray]]:
    """Every wanted slice ``(slice_dim, slice_idx)`` of the RAS+ volume that it has, reading the file once.

    The evaluator's read: slices as :meth:`Volume.slice` of :meth:`Volume.canonical` gives them. A
    ``.nii.gz`` NIfTI stored RAS+ is inflated one plane of its last stored axis at a
    time (Fortran order: the axial planes, ``slice_dim`` 2, one after the other): an axial slice is
    handed over as its plane passes, sagittal and coronal slices (a row of every plane) when the
    file ends. Memory is one plane and the wanted off-axial slices, not the volume. Other files, and
    volumes stored in another orientation, are read whole (:func:`read_volume`). Slices the volume
    does not have are left out.

    Raises:
        VolumeReadError: as :func:`read_volume`.
    """
    path = str(path)
    wanted = sorted(set(wanted))
    with _reading(path):
        image = nib.load(path)
        _, to_ras = _orientation(image, path)
        streamed = to_ras is None and _nifti_file(image, path) == ".nii.gz" and image.dataobj.order == "F"
        shape = _three_d(tuple(image.dataobj.shape), path) if streamed else ()
    if not streamed:
        volume = read_volume(path).canonical()
        for dim, idx in wanted:
            if 0 <= dim < 3 and 0 <= idx < volume.shape[dim]:
                yield (dim, idx), volume.slice(dim, idx)
        return
    proxy = image.dataobj
    rows, cols, depth = shape
    dtype = np.dtype(proxy.dtype)
    axial = {idx for dim, idx in wanted if dim == 2 and 0 <= idx < depth}
    # Off-axial slices fill one column per plane: (Y, Z) across dim 0, (X, Z) across dim 1.
    across = {
        (dim, idx): np.empty((shape[1 - dim], depth), dtype=dtype)
        for dim, idx in wanted
        if dim in (0, 1) and 0 <= idx < shape[dim]
    }
    with _reading(path):
        for z, raw in enumerate(_planes(path, proxy.offset, rows * cols * dtype.itemsize, depth)):
            plane = raw.view(dtype).reshape((rows, cols), order="F")
            if z in axial:
                yield (2, z), _finished(plane, proxy.slope, proxy.inter)
            for (dim, idx), out in across.items():
                out[:, z] = plane[idx, :] if dim == 0 else plane[:, idx]
    for key, out in across.items():
        yield key, _finished(out, proxy.slope, proxy.inter)


_inspected: dict[str, tuple[tuple[int, int, int, int], VolumeHeader]] = {}
_inspected_lock = threading.Lock()


def inspect_volume(path: str | Path) -> VolumeHeader:
    """Check a volume from its header, without decoding it: what a task load asks of every volume.

    Checked: the file opens as a volume; 3D (a trailing axis of length 1 allowed), no empty axis,
    at most :data:`MAX_VOXELS`; a finite affine whose axes have a length; and the data is all
    there: an uncompressed NIfTI holds every byte its header announces, a gzipped one's trailer
    (the length of its content, modulo 2**32) matches what its header announces, else its data is
    inflated once to be sure (a file of several gzip members). Remembered per file while its
    inode, size and times stay the same.

    Returns:
        The header, with the shape of the RAS+ volume its slices come from.

    Raises:
        VolumeReadError: the message names the file and what is wrong.
    """
    path = str(path)
    try:
        stat = os.stat(path)
    except FileNotFoundError as error:
        raise VolumeReadError(f"volume not found: {path}") from error
    except OSError as error:
        raise VolumeReadError(f"cannot read volume {path}: {error}") from error
    signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _inspected_lock:
        known = _inspected.get(path)
    if known is not None and known[0] == signature:
        return known[1]
    with _reading(path):
        image = nib.load(path)
        shape = _three_d(tuple(int(n) for n in image.shape), path)
        if min(shape) < 1:
            raise VolumeReadError(f"volume {path} has shape {shape}: an axis without voxels")
        if math.prod(shape) > MAX_VOXELS:
            raise VolumeReadError(
                f"volume {path}: its header claims {shape} = {math.prod(shape)} voxels, more than the "
                f"{MAX_VOXELS} a scan plausibly holds (a corrupt header?)"
            )
        orientation, to_ras = _orientation(image, path)
        _check_data_length(image, path, stat.st_size)
    ras_shape = list(shape)
    if to_ras is not None:
        for stored_axis, (ras_axis, _) in enumerate(to_ras):
            ras_shape[int(ras_axis)] = shape[stored_axis]
    header = VolumeHeader(path, tuple(ras_shape), orientation)  # type: ignore[arg-type]
    with _inspected_lock:
        _inspected[path] = (signature, header)
    return header


def _check_data_length(image: nib.spatialimages.SpatialImage, path: str, file_size: int) -> None:
    """Raise VolumeReadError when a single-file NIfTI holds fewer data bytes than its header announces."""
    kind = _nifti_file(image, path)
    if kind is None:
        return  # other formats: a short file fails when it is read
    proxy = image.dataobj
    end = int(proxy.offset) + math.prod(proxy.shape) * np.dtype(proxy.dtype).itemsize
    if kind == ".nii":
        if file_size < end:
            raise VolumeReadError(f"volume {path} is truncated: {file_size} bytes, its header announces {end}")
        return
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        content_length = int.from_bytes(handle.read(4), "little")
    if content_length != end % 2**32:
        for _ in _inflated(path, 0, end):  # raises when the content ends early
            pass


READ_RULE = _rule_fingerprint([sys.modules[__name__], planes])
"""Fingerprint of what a slice holds: the source of this module and of :mod:`medvision_tasks.planes`
(reading a volume, taking a slice) and the nibabel version; part of every slice cache file's name.
Code elsewhere that changes what a slice holds (e.g. reorienting on read) must be listed here."""


def cache_dir() -> Path | None:
    """The package's cache folder: ``MEDVISION_CACHE_DIR``, else ``~/.cache/medvision-tasks``.

    Slices go to its ``slices/`` and loaded docs to its ``docs/`` (:mod:`medvision_tasks.docs_cache`).
    Returns None when ``MEDVISION_CACHE_DIR`` is ``off`` (slices then go to a private folder
    removed at exit, and loaded docs are not kept).
    """
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    if value.lower() in CACHE_OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "medvision-tasks"


def volume_identity(path: str) -> str:
    """What names a volume's version in the cache: real path, size, mtime, the gzip trailer, the orientation.

    The gzip trailer holds the CRC-32 and length of the whole uncompressed content, so a volume
    rewritten with the same size and modification time still gets a new identity; the stored
    orientation (:func:`inspect_volume`, which checks the header) is part of it, so slices of a
    volume rewritten in another orientation are never served from the entry of the old one.

    Raises:
        VolumeReadError: the file does not exist or fails :func:`inspect_volume`.
    """
    real = os.path.realpath(path)
    try:
        stat = os.stat(real)
        trailer = b""
        if real.endswith(".gz") and stat.st_size >= 8:
            with open(real, "rb") as handle:
                handle.seek(-8, os.SEEK_END)
                trailer = handle.read(8)
    except FileNotFoundError as error:
        raise VolumeReadError(f"volume not found: {path}") from error
    except OSError as error:
        raise VolumeReadError(f"cannot read volume {path}: {error}") from error
    orientation = inspect_volume(path).orientation  # the same file, under the key the task load used
    text = f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{trailer.hex()}\0{orientation}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class SliceStore:
    """Slices of volumes: each volume decoded at most once per pass, memory bounded.

    Args:
        directory: the disk cache folder; None reads :func:`cache_dir` at each use.
        memory_bytes: most bytes of slices kept in memory (least recently used dropped first).
        rule: the reading rule's fingerprint (default :data:`READ_RULE`), part of every file name.

    Attributes:
        decode_count: volumes decoded by this store (tests and benchmarks read it).
    """

    def __init__(
        self, directory: Path | str | None = None, memory_bytes: int = DEFAULT_MEMORY_BYTES, rule: str = READ_RULE
    ) -> None:
        self._directory = None if directory is None else Path(directory)
        self._private_dir: Path | None = None
        self.memory_limit = int(memory_bytes)
        self.rule = rule
        self._wanted: dict[str, set[SliceKey]] = defaultdict(set)
        self._memory: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._held: dict[tuple[str, int, int], np.ndarray] = {}  # only when the cache cannot be written
        self.memory_bytes = 0
        self._identities: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self._lock = threading.Lock()
        self._decode_lock = threading.Lock()  # one volume decoded at a time
        self._write_failed = False
        self.decode_count = 0

    # --- announcing and serving -------------------------------------------------------------

    def register(self, path: str, slice_dim: int, slice_idx: int) -> None:
        """Announce that a doc will need this slice of the volume at ``path``."""
        with self._lock:
            self._wanted[path].add((int(slice_dim), int(slice_idx)))

    def get(self, path: str, slice_dim: int, slice_idx: int) -> np.ndarray:
        """The 2D slice (raw intensities, read-only) across ``slice_dim`` at ``slice_idx``.

        Raises:
            VolumeReadError: the volume is missing or unreadable, or has no such slice.
        """
        key = (self._identity(path), int(slice_dim), int(slice_idx))
        with self._lock:
            plane = self._memory.get(key)
            if plane is not None:
                self._memory.move_to_end(key)
                return plane
            plane = self._held.get(key)
        if plane is None:
            plane = self._read(key)
        if plane is None:
            plane = self._decode(path, key)
        self._remember(key, plane)
        return plane

    def clear(self) -> None:
        """Forget every announced slice and every slice held in memory (the disk cache stays)."""
        with self._lock:
            self._wanted.clear()
            self._memory.clear()
            self._held.clear()
            self._identities.clear()
            self.memory_bytes = 0

    # --- the disk cache -----------------------------------------------------------------------

    def directory(self) -> Path:
        """The folder slices are cached in now (created on first write)."""
        if self._directory is not None:
            return self._directory
        root = cache_dir()
        if root is not None:
            return root / "slices"
        if self._private_dir is None:
            self._private_dir = Path(tempfile.mkdtemp(prefix="medvision-slices-"))
            atexit.register(shutil.rmtree, self._private_dir, ignore_errors=True)
        return self._private_dir

    def _volume_dir(self, identity: str) -> Path:
        return self.directory() / self.rule / identity[:2] / identity

    def _slice_file(self, key: tuple[str, int, int]) -> Path:
        identity, slice_dim, slice_idx = key
        return self._volume_dir(identity) / f"{slice_dim}_{slice_idx}.npy"

    def _identity(self, path: str) -> str:
        try:
            stat = os.stat(path)
        except FileNotFoundError as error:
            raise VolumeReadError(f"volume not found: {path}") from error
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        known = self._identities.get(path)
        if known is not None and known[0] == signature:
            return known[1]
        identity = volume_identity(path)
        self._identities[path] = (signature, identity)
        return identity

    def _read(self, key: tuple[str, int, int]) -> np.ndarray | None:
        try:
            plane = np.load(self._slice_file(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):  # absent, or unreadable: decoded again and rewritten
            return None
        plane.setflags(write=False)
        return plane

    def _write(self, key: tuple[str, int, int], plane: np.ndarray) -> None:
        path = self._slice_file(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.partial")
            with open(partial, "wb") as handle:
                np.save(handle, plane, allow_pickle=False)
            os.replace(partial, path)
        except OSError as error:
            if not self._write_failed:
                self._write_failed = True
                logger.warning(
                    "MedVision: cannot write the slice cache in %s (%s); slices of decoded volumes are kept in "
                    "memory instead. Set %s to a writable folder, or to 'off' for a temporary one.",
                    self.directory(),
                    error,
                    CACHE_DIR_ENV,
                )
            with self._lock:
                self._held[key] = plane

    def _decode(self, path: str, key: tuple[str, int, int]) -> np.ndarray:
        """Decode the volume once and write every announced slice of it; return the one asked for."""
        identity, slice_dim, slice_idx = key
        with self._decode_lock:
            shared = self._cross_process_lock(identity)
            try:
                plane = self._read(key)  # another process may have decoded it meanwhile
                if plane is not None:
                    return plane
                asked = self._decode_wanted(path, key)
            finally:
                if shared is not None:
                    shared.release()
        if asked is None:
            raise VolumeReadError(f"volume {path} has no slice {slice_idx} across dim {slice_dim}")
        return asked

    def _cross_process_lock(self, identity: str) -> FileLock | None:
        """The volume's lock file, held; None when the cache folder cannot hold one (then no process shares it)."""
        lock_file = self._volume_dir(identity).with_suffix(".lock")
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_file))
            lock.acquire()
        except OSError:
            return None
        return lock

    def _decode_wanted(self, path: str, key: tuple[str, int, int]) -> np.ndarray | None:
        """Decode the volume and cache every announced slice of it not cached yet; the one asked for, if it exists."""
        identity, slice_dim, slice_idx = key
        with self._lock:
            wanted = self._wanted[path] | {(slice_dim, slice_idx)}
        missing = [
            (dim, idx)
            for dim, idx in wanted
            if (dim, idx) == key[1:] or not self._slice_file((identity, dim, idx)).is_file()
        ]
        self.decode_count += 1
        asked = None
        for (dim, idx), plane in read_slices(path, missing):
            plane.setflags(write=False)
            self._write((identity, dim, idx), plane)
            if (dim, idx) == (slice_dim, slice_idx):
                asked = plane
        return asked

    def _remember(self, key: tuple[str, int, int], plane: np.ndarray) -> None:
        size = plane.nbytes
        if size > self.memory_limit:
            return
        with self._lock:
            if key in self._memory:
                return
            self._memory[key] = plane
            self.memory_bytes += size
            while self.memory_bytes > self.memory_limit:
                _, dropped = self._memory.popitem(last=False)
                self.memory_bytes -= dropped.nbytes
