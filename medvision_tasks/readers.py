"""Reading the raw inputs of ``medvision-tasks prepare``: volumes and landmark files.

Volumes (NIfTI and anything else nibabel opens, NRRD, DICOM series) are returned as in-memory
``nibabel`` images whose affine maps voxel indices ``(i, j, k)`` to RAS world coordinates in mm
(nibabel's convention: +x Right, +y Anterior, +z Superior). NRRD and DICOM store LPS world
coordinates; their x and y rows are negated on reading. :func:`reorient_to_ras` then puts the
voxel axes in RAS+ order (``nibabel.as_closest_canonical``), the orientation MedVision slices in.

Landmarks come back as world positions in RAS mm, whatever the file stored (RAS or LPS mm, or
voxel indices of the image file as stored on disk), so they follow the volume through
reorientation and cropping.

Every failure raises :class:`InputError` with a message naming the file and what is wrong.
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

# World axes whose NRRD "space" names run opposite to RAS (x to the left, y to the posterior).
_NRRD_SPACE_SIGNS = {
    "right-anterior-superior": (1.0, 1.0, 1.0),
    "ras": (1.0, 1.0, 1.0),
    "left-posterior-superior": (-1.0, -1.0, 1.0),
    "lps": (-1.0, -1.0, 1.0),
    "left-anterior-superior": (-1.0, 1.0, 1.0),
    "las": (-1.0, 1.0, 1.0),
}
# Largest |cos| between two voxel axes still called orthogonal: ~0.06 degrees of shear.
ORTHOGONALITY_TOLERANCE = 1e-3
# Two grids match when their affines agree within this many mm (translation) / mm per voxel.
GRID_TOLERANCE_MM = 1e-3
NIFTI_SUFFIXES = (".nii", ".nii.gz")
NRRD_SUFFIXES = (".nrrd", ".nhdr")


class InputError(ValueError):
    """An input file that is missing, unreadable or geometrically unusable."""


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


# --------------------------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------------------------


def volume_format(path: Path) -> str:
    """'nifti', 'nrrd', 'dicom' (a folder) or 'nibabel' (any other file nibabel may open)."""
    name = path.name.lower()
    if path.is_dir():
        return "dicom"
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if name.endswith(NRRD_SUFFIXES):
        return "nrrd"
    if name.endswith(".dcm"):
        return "dicom"
    return "nibabel"


def check_affine(affine: np.ndarray, source: str) -> None:
    """Reject affines that cannot describe a voxel grid MedVision can slice.

    Args:
        affine: 4x4 voxel-to-world matrix (mm).
        source: the file it came from, for the message.

    Raises:
        InputError: non-finite entries, a (near-)singular 3x3 part ("degenerate": a voxel axis
            of zero length or two parallel axes), or axes that are not orthogonal ("sheared":
            the in-plane pixel size of a slice would be undefined).
    """
    matrix = np.asarray(affine, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise InputError(f"{source}: degenerate affine (not a finite 4x4 matrix):\n{matrix}")
    axes = matrix[:3, :3]
    lengths = np.linalg.norm(axes, axis=0)
    if np.any(lengths <= 1e-9) or abs(np.linalg.det(axes)) <= 1e-9 * float(np.prod(lengths)):
        raise InputError(
            f"{source}: degenerate affine (voxel sizes {np.round(lengths, 6).tolist()} mm, "
            f"determinant {np.linalg.det(axes):.3g}); the voxel axes do not span 3D space"
        )
    unit_axes = axes / lengths
    cosines = np.abs(unit_axes.T @ unit_axes - np.eye(3))
    if cosines.max() > ORTHOGONALITY_TOLERANCE:
        raise InputError(
            f"{source}: non-orthogonal affine (voxel axes sheared, largest |cos| between axes "
            f"{cosines.max():.4f}); resample the volume to an orthogonal grid first"
        )


def _as_3d(data: np.ndarray, source: str) -> np.ndarray:
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(f"{source}: shape {data.shape}; a 3D volume is required")
    return data


def _read_nibabel(path: Path) -> nib.Nifti1Image:
    try:
        image = nib.load(str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except Exception as error:  # nibabel raises many types for corrupt or unknown files
        raise InputError(f"{path}: cannot read volume ({type(error).__name__}: {error})") from error
    check_affine(image.affine, str(path))
    try:
        data = _as_3d(np.asanyarray(image.dataobj), str(path))
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"{path}: cannot decode voxels ({type(error).__name__}: {error})") from error
    result = nib.Nifti1Image(data, image.affine)
    # Remember the on-disk type: the written volume keeps it, staying as compact as the input.
    result.set_data_dtype(image.get_data_dtype())
    return result


def _read_nrrd(path: Path) -> nib.Nifti1Image:
    try:
        import nrrd
    except ImportError:
        raise InputError(f"{path}: reading NRRD needs pynrrd (pip install pynrrd)") from None
    try:
        data, header = nrrd.read(str(path))  # index order "F": data[i, j, k], i fastest
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except Exception as error:
        raise InputError(f"{path}: cannot read NRRD ({type(error).__name__}: {error})") from error
    data = _as_3d(np.asarray(data), str(path))
    directions = header.get("space directions")
    origin = header.get("space origin")
    if directions is None or origin is None:
        raise InputError(f"{path}: NRRD without 'space directions'/'space origin': no world geometry")
    directions = np.asarray(directions, dtype=np.float64)
    if directions.shape != (3, 3):
        raise InputError(f"{path}: 'space directions' {directions.tolist()} is not three 3D vectors")
    space = str(header.get("space", "")).strip().lower()
    if space not in _NRRD_SPACE_SIGNS:
        raise InputError(
            f"{path}: NRRD space {header.get('space')!r} is not one of "
            f"{sorted(k for k in _NRRD_SPACE_SIGNS if '-' in k)}"
        )
    affine = np.eye(4)
    affine[:3, :3] = directions.T  # column a = world step of voxel axis a
    affine[:3, 3] = np.asarray(origin, dtype=np.float64)
    affine[:3, :] *= np.asarray(_NRRD_SPACE_SIGNS[space])[:, None]  # to RAS
    check_affine(affine, str(path))
    return nib.Nifti1Image(data, affine)


def _read_dicom_series(path: Path) -> nib.Nifti1Image:
    """A DICOM series (a folder of single-frame files, or one file standing for its folder)."""
    try:
        import pydicom
    except ImportError:
        raise InputError(
            f"{path}: reading DICOM needs pydicom; install the extra: pip install 'medvision-tasks[dicom]'"
        ) from None
    folder = path if path.is_dir() else path.parent
    if not folder.exists():
        raise InputError(f"{path}: file not found")
    slices = []
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            dataset = pydicom.dcmread(str(file))
        except Exception:  # noqa: BLE001, S112  not a DICOM file (e.g. a README): not part of the series
            continue
        if "PixelData" in dataset and "ImagePositionPatient" in dataset:
            slices.append(dataset)
    if not slices:
        raise InputError(f"{folder}: no DICOM image slices found")
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in slices}
    if len(series) > 1:
        raise InputError(f"{folder}: {len(series)} DICOM series in one folder; give one series per folder")
    orientation = np.asarray(slices[0].ImageOrientationPatient, dtype=np.float64)
    row_direction, column_direction = orientation[:3], orientation[3:]
    normal = np.cross(row_direction, column_direction)
    slices.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))
    positions = np.array([ds.ImagePositionPatient for ds in slices], dtype=np.float64)
    # PixelSpacing = (distance between rows, distance between columns) in mm.
    row_spacing, column_spacing = (float(v) for v in slices[0].PixelSpacing)
    planes = []
    for ds in slices:
        pixels = ds.pixel_array.astype(np.float64)
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        planes.append((pixels * slope + intercept).T)  # axis 0 = column index, axis 1 = row index
    data = np.stack(planes, axis=2)
    if len(slices) > 1:
        slice_step = (positions[-1] - positions[0]) / (len(slices) - 1)
    else:
        slice_step = normal * float(slices[0].get("SliceThickness", 1.0))
    affine = np.eye(4)
    affine[:3, 0] = row_direction * column_spacing  # along a row: next column
    affine[:3, 1] = column_direction * row_spacing  # along a column: next row
    affine[:3, 2] = slice_step
    affine[:3, 3] = positions[0]
    affine[:2, :] *= -1.0  # DICOM patient space is LPS
    check_affine(affine, str(folder))
    if np.all(data == np.round(data)) and data.min() >= -32768 and data.max() <= 32767:
        data = data.astype(np.int16)
    return nib.Nifti1Image(data, affine)


def read_volume(path: str | Path) -> nib.Nifti1Image:
    """Read a 3D volume into memory with a RAS (mm) affine, in its stored voxel order.

    Args:
        path: a NIfTI (``.nii``/``.nii.gz``) or other nibabel-readable file, an NRRD file
            (``.nrrd``/``.nhdr``, LPS or RAS space), or a DICOM series (its folder, or one
            ``.dcm`` file in it).

    Returns:
        A ``Nifti1Image`` whose affine maps stored voxel indices to RAS mm.

    Raises:
        InputError: missing file, unreadable content, not 3D, or a degenerate or
            non-orthogonal affine; the message names the file.
    """
    path = Path(path)
    kind = volume_format(path)
    if kind != "dicom" and not path.is_file():
        raise InputError(f"{path}: file not found")
    if kind == "nrrd":
        return _read_nrrd(path)
    if kind == "dicom":
        return _read_dicom_series(path)
    return _read_nibabel(path)


def reorient_to_ras(image: nib.Nifti1Image) -> nib.Nifti1Image:
    """The volume with voxel axes permuted/flipped to RAS+ (``nibabel.as_closest_canonical``).

    After this, array axis 0 runs Left->Right, axis 1 Posterior->Anterior, axis 2
    Inferior->Superior, and ``header.get_zooms()`` are the voxel sizes along them (mm).
    """
    return nib.as_closest_canonical(image)


def check_same_grid(
    image_shape: Sequence[int],
    image_affine: np.ndarray,
    other_shape: Sequence[int],
    other_affine: np.ndarray,
    what: str,
    other_path: str,
) -> None:
    """Raise InputError unless a mask lies on exactly the image's voxel grid.

    Both grids are compared as stored (before reorientation): same shape, and affines equal
    within ``GRID_TOLERANCE_MM``.

    Args:
        image_shape: the image's 3D shape (voxels).
        image_affine: the image's voxel-to-RAS affine.
        other_shape: the mask's 3D shape.
        other_affine: the mask's affine.
        what: what the other volume is ("mask"), for the message.
        other_path: the mask's file, for the message.
    """
    if tuple(image_shape) != tuple(other_shape):
        raise InputError(
            f"{other_path}: {what} grid {tuple(other_shape)} does not match the image grid {tuple(image_shape)}"
        )
    difference = float(np.abs(np.asarray(image_affine) - np.asarray(other_affine)).max())
    if difference > GRID_TOLERANCE_MM:
        raise InputError(
            f"{other_path}: {what} affine differs from the image affine by up to "
            f"{difference:.4g} mm (image:\n{np.round(image_affine, 4)}\n{what}:\n"
            f"{np.round(other_affine, 4)})"
        )


def read_geometry(path: str | Path) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape (3D, voxels) and voxel-to-RAS affine of a volume, reading as little as possible.

    NIfTI/nibabel files and NRRD files are read from their headers only; a DICOM series is read
    in full. Raises InputError like :func:`read_volume`.
    """
    path = Path(path)
    kind = volume_format(path)
    if kind == "dicom":
        image = read_volume(path)
        return tuple(image.shape[:3]), np.asarray(image.affine)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if kind == "nrrd":
        import nrrd

        try:
            header = nrrd.read_header(str(path))
        except Exception as error:
            raise InputError(f"{path}: cannot read NRRD header ({type(error).__name__}: {error})") from error
        sizes = tuple(int(n) for n in header.get("sizes", ()))
        directions = header.get("space directions")
        space = str(header.get("space", "")).strip().lower()
        if directions is None or header.get("space origin") is None or space not in _NRRD_SPACE_SIGNS:
            image = read_volume(path)  # raises the precise error
            return tuple(image.shape[:3]), np.asarray(image.affine)
        affine = np.eye(4)
        affine[:3, :3] = np.asarray(directions, dtype=np.float64).T
        affine[:3, 3] = np.asarray(header["space origin"], dtype=np.float64)
        affine[:3, :] *= np.asarray(_NRRD_SPACE_SIGNS[space])[:, None]
        return sizes[:3] if len(sizes) >= 3 else sizes, affine
    try:
        image = nib.load(str(path))
    except Exception as error:
        raise InputError(f"{path}: cannot read volume ({type(error).__name__}: {error})") from error
    shape = tuple(int(n) for n in image.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    return shape, np.asarray(image.affine)


def integer_labels(data: np.ndarray, source: str) -> np.ndarray:
    """Mask values as integers; InputError if the mask holds fractional values."""
    if np.issubdtype(data.dtype, np.integer) or data.dtype == bool:
        return np.asarray(data)
    rounded = np.rint(data)
    if not np.array_equal(rounded, data):
        raise InputError(f"{source}: mask holds non-integer values; a label mask is required")
    return rounded.astype(np.int32)


# --------------------------------------------------------------------------------------------
# Landmarks
# --------------------------------------------------------------------------------------------


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
