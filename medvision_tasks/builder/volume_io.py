"""Volume files of ``medvision-tasks prepare``: reading inputs into RAS, checking grids, writing NIfTI.

Volumes (NIfTI and anything else nibabel opens, NRRD, DICOM series) are returned as in-memory
``nibabel`` images whose affine maps voxel indices ``(i, j, k)`` to RAS world coordinates in mm
(nibabel's convention: +x Right, +y Anterior, +z Superior). NRRD and DICOM store LPS world
coordinates; their x and y rows are negated on reading. :func:`reorient_to_ras` then puts the
voxel axes in RAS+ order (``nibabel.as_closest_canonical``), the orientation MedVision slices in.

Every failure raises :class:`InputError` with a message naming the file and what is wrong.
Files are written atomically (a partial name, then a rename: :mod:`.atomic`), so a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from medvision_tasks import volumes
from medvision_tasks.builder.atomic import writing

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


def _check_3d(shape: tuple[int, ...], source: str) -> None:
    if not (len(shape) == 3 or (len(shape) == 4 and shape[3] == 1)):
        raise InputError(f"{source}: shape {shape}; a 3D volume is required")


def _as_3d(data: np.ndarray, source: str) -> np.ndarray:
    _check_3d(data.shape, source)
    return data[..., 0] if data.ndim == 4 else data


def _read_nibabel(path: Path) -> nib.Nifti1Image:
    try:
        image = nib.load(str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except Exception as error:  # nibabel raises many types for corrupt or unknown files
        raise InputError(f"{path}: cannot read volume ({type(error).__name__}: {error})") from error
    check_affine(image.affine, str(path))
    _check_3d(image.shape, str(path))
    try:
        # Through the evaluator's reader: ISA-L inflate when installed, one copy, the same values.
        data = _as_3d(volumes.read_volume(path).array(), str(path))
    except InputError:
        raise
    except volumes.VolumeReadError as error:
        raise InputError(f"{path}: cannot decode voxels ({error})") from error
    except Exception as error:
        raise InputError(f"{path}: cannot decode voxels ({type(error).__name__}: {error})") from error
    result = nib.Nifti1Image(data, image.affine)
    # Remember the on-disk type: the written volume keeps it, staying as compact as the input.
    result.set_data_dtype(image.get_data_dtype())
    return result


def _nrrd_affine(directions: Sequence, origin: Sequence[float], space: str) -> np.ndarray:
    """Voxel-to-RAS affine of an NRRD header (``space directions``, ``space origin``, ``space``)."""
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(directions, dtype=np.float64).T  # column a = world step of voxel axis a
    affine[:3, 3] = np.asarray(origin, dtype=np.float64)
    affine[:3, :] *= np.asarray(_NRRD_SPACE_SIGNS[space])[:, None]  # to RAS
    return affine


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
    affine = _nrrd_affine(directions, origin, space)
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
        return sizes[:3] if len(sizes) >= 3 else sizes, _nrrd_affine(directions, header["space origin"], space)
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


def save_nifti(data: np.ndarray, affine: np.ndarray, path: Path, dtype: np.dtype | str) -> None:
    """Write a NIfTI volume atomically (temporary file, then rename), qform = sform = affine.

    Args:
        data: the voxel array (RAS+ order).
        affine: voxel-to-RAS affine (mm).
        path: destination ``.nii.gz``.
        dtype: on-disk dtype; nibabel adds slope/intercept when float data goes to an integer
            type and cannot be stored exactly.
    """
    image = nib.Nifti1Image(data, affine)
    image.set_data_dtype(np.dtype(dtype))
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    with writing(path, ".nii.gz") as partial:
        nib.save(image, str(partial))
