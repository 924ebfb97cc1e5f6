"""Decode each volume once per process and serve its slices.

An evaluation asks for tens of thousands of slices, many from the same volume, and models do not
ask in doc order (lmms-eval sorts requests by prompt length), so a small LRU of decoded volumes
would thrash. Instead the docs announce up front which slices they need (``register``); the first
request for any slice of a volume decodes that volume once, keeps every announced slice of it,
and drops the volume. Memory is bounded by the announced slices, not by the volumes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np

from medvision_tasks.planes import extract_slice

SliceKey = tuple[int, int]  # (slice_dim, slice_idx)


class VolumeReadError(RuntimeError):
    """A volume file that is missing or cannot be decoded."""


def decode_volume(path: str | Path) -> np.ndarray:
    """The voxel array of a NIfTI volume (scaling applied), as stored on disk (RAS+ expected)."""
    try:
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except FileNotFoundError as error:
        raise VolumeReadError(f"volume file not found: {path}") from error
    except Exception as error:  # nibabel raises many types for corrupt files
        raise VolumeReadError(f"cannot decode volume {path}: {type(error).__name__}: {error}") from error
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeReadError(f"volume {path} has shape {data.shape}; a 3D volume is required")
    return data


class SliceStore:
    """Slices of volumes, each volume decoded at most once per store."""

    def __init__(self) -> None:
        self._wanted: dict[str, set[SliceKey]] = defaultdict(set)
        self._slices: dict[str, dict[SliceKey, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.decode_count = 0

    def register(self, path: str, slice_dim: int, slice_idx: int) -> None:
        """Announce that a doc will need this slice of the volume at ``path``."""
        key = (int(slice_dim), int(slice_idx))
        with self._lock:
            cached = self._slices.get(path)
            if cached is not None and key not in cached:
                # The volume was already decoded without this slice: decode again on demand.
                del self._slices[path]
            self._wanted[path].add(key)

    def get(self, path: str, slice_dim: int, slice_idx: int) -> np.ndarray:
        """The 2D slice (raw intensities, read-only) across ``slice_dim`` at ``slice_idx``."""
        key = (int(slice_dim), int(slice_idx))
        with self._lock:
            cached = self._slices.get(path)
            if cached is None or key not in cached:
                self._wanted[path].add(key)
                cached = self._decode_wanted(path)
                if key not in cached:
                    raise VolumeReadError(f"volume {path} has no slice {key[1]} across dim {key[0]}")
            return cached[key]

    def _decode_wanted(self, path: str) -> dict[SliceKey, np.ndarray]:
        volume = decode_volume(path)
        self.decode_count += 1
        slices = {}
        for dim, idx in self._wanted[path]:
            try:
                plane = np.array(extract_slice(volume, dim, idx))  # a copy: the volume is dropped
            except (IndexError, ValueError):
                continue  # reported by get() for the doc that asked for it; others proceed
            plane.setflags(write=False)
            slices[(dim, idx)] = plane
        self._slices[path] = slices
        return slices

    def clear(self) -> None:
        """Forget every announced and cached slice."""
        with self._lock:
            self._wanted.clear()
            self._slices.clear()
