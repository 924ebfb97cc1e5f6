"""Landmark files of ``medvision-tasks prepare``: named points read into RAS world mm.

Landmarks come back as world positions in RAS mm, whatever the file stored (RAS or LPS mm, or
voxel indices of the image file as stored on disk), so they follow the volume through
reorientation, cropping and resampling: :func:`world_to_voxel` places them on any grid.

Every failure raises :class:`medvision_tasks.builder.volume_io.InputError` naming the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from medvision_tasks.builder.volume_io import InputError


@dataclass(frozen=True)
class Landmarks:
    """Named landmark positions in RAS world coordinates (mm).

    Attributes:
        names: landmark names, in file order.
        positions_mm: array (N, 3) of RAS positions in mm, one row per name.
        source: the file they were read from (for messages).
    """

    names: tuple[str, ...]
    positions_mm: np.ndarray
    source: str

    def position(self, name: str) -> np.ndarray:
        """RAS position (mm) of one landmark; InputError naming the file if it is absent."""
        try:
            return self.positions_mm[self.names.index(name)]
        except ValueError:
            raise InputError(f"{self.source}: no landmark named {name!r} (it has: {', '.join(self.names)})") from None


def _to_ras_mm(
    points: np.ndarray, space: str, coordinate_system: str, voxel_affine: np.ndarray | None, source: str
) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(points)):
        raise InputError(f"{source}: non-finite landmark coordinates")
    if space == "voxel":
        if voxel_affine is None:
            raise InputError(f"{source}: voxel landmarks need the case's image")
        return nib.affines.apply_affine(voxel_affine, points)
    if space != "mm":
        raise InputError(f"{source}: landmark space {space!r}; expected 'mm' or 'voxel'")
    system = coordinate_system.upper()
    if system == "RAS":
        return points
    if system == "LPS":
        return points * np.array([-1.0, -1.0, 1.0])
    raise InputError(f"{source}: coordinate system {coordinate_system!r}; expected RAS or LPS")


def _fcsv_rows(text: str, source: str, name_column: str | None) -> tuple[list[str], np.ndarray, str]:
    """Names, x/y/z and coordinate system ('RAS'/'LPS') of a Slicer markups ``.fcsv`` file."""
    columns = ["id", "x", "y", "z", "ow", "ox", "oy", "oz", "vis", "sel", "lock", "label", "desc"]
    system = "RAS"  # Slicer < 4.11 wrote RAS; "CoordinateSystem = 0" is RAS, "1" is LPS
    data_lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, _, value = stripped.lstrip("#").partition("=")
            key, value = key.strip().lower(), value.strip()
            if key == "coordinatesystem":
                system = {"0": "RAS", "ras": "RAS", "1": "LPS", "lps": "LPS"}.get(value.lower(), "")
                if not system:
                    raise InputError(f"{source}: unsupported CoordinateSystem = {value}")
            elif key == "columns":
                columns = [c.strip().lower() for c in value.split(",")]
            continue
        data_lines.append(line)
    name_field = (name_column or "label").lower()
    for needed in ("x", "y", "z", name_field):
        if needed not in columns:
            raise InputError(f"{source}: no column {needed!r} (columns: {', '.join(columns)})")
    names, points = [], []
    for row in csv.reader(data_lines):
        if len(row) < len(columns) - 1:
            raise InputError(f"{source}: a row has {len(row)} fields, expected {len(columns)}: {row}")
        record = dict(zip(columns, row))
        try:
            points.append([float(record[axis]) for axis in ("x", "y", "z")])
        except ValueError:
            raise InputError(f"{source}: non-numeric coordinates in row {row}") from None
        names.append(record.get(name_field, "").strip())
    return names, np.array(points, dtype=np.float64).reshape(-1, 3), system


def _json_landmarks(content: object, source: str) -> tuple[list[str], np.ndarray, dict]:
    """Names, coordinates and declared options of a landmark JSON file.

    Accepted shapes: ``{"landmarks": {name: [x, y, z]}}`` or ``{"landmarks": [{"name": ...,
    "position": [x, y, z]}]}`` with optional ``"space"`` ("mm" | "voxel") and
    ``"coordinate_system"`` ("RAS" | "LPS"); a bare ``{name: [x, y, z]}`` mapping; and Slicer's
    markups ``.mrk.json`` (``markups[].controlPoints[]`` with ``label`` and ``position``).
    """
    declared: dict = {}
    entries: list[tuple[str, object]] = []
    if isinstance(content, Mapping) and "markups" in content:
        for markup in content["markups"]:
            declared.setdefault("coordinate_system", markup.get("coordinateSystem", "LPS"))
            declared.setdefault("space", "mm")
            for point in markup.get("controlPoints", []):
                entries.append((str(point.get("label", "")), point.get("position")))
    else:
        body = content
        if isinstance(content, Mapping) and "landmarks" in content:
            body = content["landmarks"]
            for key in ("space", "coordinate_system"):
                if key in content:
                    declared[key] = content[key]
        if isinstance(body, Mapping):
            entries = [(str(name), value) for name, value in body.items()]
        elif isinstance(body, list):
            for item in body:
                if not isinstance(item, Mapping):
                    raise InputError(f"{source}: landmark list items must be objects, got {item!r}")
                name = item.get("name", item.get("label"))
                value = item.get("position", item.get("coordinates"))
                entries.append((str(name), value))
        else:
            raise InputError(f"{source}: unrecognised landmark JSON layout")
    names, points = [], []
    for name, value in entries:
        if not isinstance(value, Sequence) or len(value) != 3:
            raise InputError(f"{source}: landmark {name!r} needs three coordinates, got {value!r}")
        try:
            points.append([float(v) for v in value])
        except (TypeError, ValueError):
            raise InputError(f"{source}: landmark {name!r} has non-numeric coordinates {value!r}") from None
        names.append(name)
    return names, np.array(points, dtype=np.float64).reshape(-1, 3), declared


def _csv_landmarks(text: str, source: str, name_column: str | None) -> tuple[list[str], np.ndarray]:
    """A CSV with a header: a name column (``name``/``label`` or ``name_column``) and x,y,z."""
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
    name_field = (name_column or ("name" if "name" in fields else "label")).lower()
    coordinate_fields = ("x", "y", "z") if "x" in fields else ("i", "j", "k")
    for needed in (name_field, *coordinate_fields):
        if needed not in fields:
            raise InputError(f"{source}: no column {needed!r} (columns: {', '.join(fields)})")
    names, points = [], []
    for row in reader:
        try:
            points.append([float(row[fields[axis]]) for axis in coordinate_fields])
        except (TypeError, ValueError):
            raise InputError(f"{source}: non-numeric coordinates in row {dict(row)}") from None
        names.append(str(row[fields[name_field]]).strip())
    return names, np.array(points, dtype=np.float64).reshape(-1, 3)


def read_landmarks(
    path: str | Path,
    *,
    space: str | None = None,
    coordinate_system: str | None = None,
    name_column: str | None = None,
    voxel_affine: np.ndarray | None = None,
) -> Landmarks:
    """Read named landmarks and return their RAS world positions in mm.

    Args:
        path: a Slicer ``.fcsv``, a ``.json`` (see :func:`_json_landmarks`; Slicer
            ``.mrk.json`` too) or a ``.csv`` with a header (name column and ``x,y,z``, or
            ``i,j,k`` for voxel indices).
        space: "mm" (world coordinates) or "voxel" (indices into the image file as stored on
            disk, before any reorientation; fractional allowed). Default: the file's own
            declaration, else "voxel" for CSV ``i,j,k`` columns, else "mm".
        coordinate_system: "RAS" or "LPS" for mm coordinates. Default: the file's own
            declaration (fcsv header, JSON field), else RAS.
        name_column: the fcsv/CSV column holding the names (fcsv default ``label``; some files
            keep the name in ``desc``).
        voxel_affine: the stored image's voxel-to-RAS affine, needed for voxel coordinates.

    Returns:
        The landmarks, positions in RAS mm.

    Raises:
        InputError: missing or malformed file, duplicate or empty names; the message names
            the file.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(f"{source}: file not found")
    text = path.read_text(encoding="utf-8-sig")
    lower = path.name.lower()
    declared: dict = {}
    if lower.endswith(".fcsv"):
        names, points, system = _fcsv_rows(text, source, name_column)
        declared = {"coordinate_system": system, "space": "mm"}
    elif lower.endswith(".json"):
        try:
            content = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"{source}: not valid JSON ({error})") from error
        names, points, declared = _json_landmarks(content, source)
    elif lower.endswith(".csv"):
        names, points = _csv_landmarks(text, source, name_column)
        header = text.splitlines()[0].lower() if text else ""
        if "x" not in [f.strip() for f in header.split(",")]:
            declared = {"space": "voxel"}
    else:
        raise InputError(f"{source}: unknown landmark format (expected .fcsv, .json or .csv)")
    if not names:
        raise InputError(f"{source}: no landmarks found")
    empty = [i for i, n in enumerate(names) if not n]
    if empty:
        raise InputError(f"{source}: landmark #{empty[0] + 1} has no name")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{source}: duplicate landmark names {duplicates}")
    chosen_space = space or declared.get("space") or "mm"
    chosen_system = coordinate_system or declared.get("coordinate_system") or "RAS"
    positions = _to_ras_mm(points, chosen_space, str(chosen_system), voxel_affine, source)
    return Landmarks(names=tuple(names), positions_mm=positions, source=source)


def world_to_voxel(affine: np.ndarray, positions_mm: np.ndarray) -> np.ndarray:
    """Continuous voxel indices (N, 3) of RAS mm positions on the grid of ``affine``."""
    return nib.affines.apply_affine(np.linalg.inv(affine), np.asarray(positions_mm, dtype=np.float64))


def inside_volume(voxel: Sequence[float], shape: Sequence[int]) -> bool:
    """Whether a continuous voxel index lies inside the volume (within half a voxel of a centre)."""
    return all(-0.5 <= float(v) <= n - 0.5 and math.isfinite(float(v)) for v, n in zip(voxel, shape))
