"""Input files and prepared volumes for the builder tests, with geometry chosen by the test.

Writers put synthetic volumes on disk as the builder's users would (NIfTI, NRRD in LPS, a YAML
manifest); :func:`prepared_volume` builds the immutable volume the family builders read without
any file, so those pure functions are tested on hand-made arrays.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import yaml

from medvision_tasks.builder.landmark_io import Landmarks
from medvision_tasks.builder.spec import CaseSpec
from medvision_tasks.builder.volume_step import PreparedMask, PreparedVolume


def save_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    """Write a NIfTI volume (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def save_nifti_sform_only(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    """Write a NIfTI whose geometry is only in the sform (nibabel refuses such affines as qform)."""
    image = nib.Nifti1Image(data, None)
    image.header.set_sform(affine, code=2)
    image.header.set_qform(None, code=0)
    nib.save(image, str(path))
    return path


def save_nrrd_lps(path: Path, data: np.ndarray, affine_ras: np.ndarray) -> Path:
    """Write an NRRD in LPS space describing the same grid as the RAS affine."""
    import nrrd

    lps = np.diag([-1.0, -1.0, 1.0]) @ affine_ras[:3, :]
    header = {
        "space": "left-posterior-superior",
        "space directions": lps[:, :3].T,
        "space origin": lps[:, 3],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nrrd.write(str(path), data, header)
    return path


def write_manifest(folder: Path, content: dict) -> Path:
    """``folder/manifest.yaml`` holding ``content``."""
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def prepared_volume(
    shape: tuple[int, int, int], zooms: tuple[float, float, float], landmarks: Landmarks | None = None, **case_fields
) -> PreparedVolume:
    """The prepared volume of a case ``D/c`` on a RAS+ grid of ``shape`` voxels of ``zooms`` mm, origin 0.

    ``case_fields`` set :class:`CaseSpec` fields (planes, thresholds, names, measurements).
    """
    case = CaseSpec(dataset_name="D", case_id="c", subject_id="s", image="/in/image.nii.gz", **case_fields)
    affine = np.diag([*zooms, 1.0])
    return PreparedVolume(
        case=case,
        out_dir=Path("/out"),
        image_file="volumes/D_c_image.nii.gz",
        shape=shape,
        affine=affine,
        zooms=zooms,
        stored_shape=shape,
        stored_affine=affine,
        crop=tuple(slice(0, n) for n in shape),
        native_affine=affine,
        resampled_to=None,
        landmarks=landmarks,
    )


def prepared_mask(volume: PreparedVolume, labels: np.ndarray) -> PreparedMask:
    """The case's only mask (task 01), holding ``labels`` on the volume's grid."""
    spec = volume.case.masks[0]
    return PreparedMask(
        spec=spec, labels=labels, mask_file="volumes/D_c_mask.nii.gz", present=frozenset(np.unique(labels).tolist())
    )
