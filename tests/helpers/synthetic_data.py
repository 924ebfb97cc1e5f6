"""A tiny MedVision data directory with known geometry, written into a test's tmp folder.

One RAS+ volume of 40 x 30 x 20 voxels at 0.5 x 0.8 x 2.0 mm, so the three planes have
different, anisotropic pixel sizes; docs of every family and plane reference it.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

VOLUME_SHAPE = (40, 30, 20)
VOXEL_SIZE = (0.5, 0.8, 2.0)
IMAGE_FILE = "volumes/phantom.nii.gz"


def phantom_volume() -> np.ndarray:
    """A ramp background with a bright block, so every slice has contrast."""
    x, y, z = np.meshgrid(*(np.arange(n) for n in VOLUME_SHAPE), indexing="ij")
    volume = (x + 2 * y + 3 * z).astype(np.int16)
    volume[5:15, 6:21, 4:12] += 500
    return volume


def _common(slice_dim: int, slice_idx: int) -> dict:
    size_2d = [n for axis, n in enumerate(VOLUME_SHAPE) if axis != slice_dim]
    pixel = [s for axis, s in enumerate(VOXEL_SIZE) if axis != slice_dim]
    return {
        "dataset_name": "Phantom",
        "taskID": "01",
        "image_file": IMAGE_FILE,
        "slice_dim": slice_dim,
        "slice_idx": slice_idx,
        "image_size_2d": size_2d,
        "pixel_size": pixel,
        "image_size_3d": list(VOLUME_SHAPE),
        "voxel_size": list(VOXEL_SIZE),
        "modality": "CT",
        "image_description": "a synthetic CT phantom",
    }


def detection_doc(slice_dim: int, slice_idx: int, box_rc: tuple[int, int, int, int], label_name: str) -> dict:
    r0, c0, r1, c1 = box_rc
    pixel_size = _common(slice_dim, slice_idx)["pixel_size"]
    return {
        **_common(slice_dim, slice_idx),
        "taskType": "BoxCoordinate",
        "mask_file": "volumes/phantom_mask.nii.gz",
        "label": 1,
        "label_name": label_name,
        "bounding_boxes": [
            {
                "min_coords": [r0, c0],
                "max_coords": [r1, c1],
                "center_coords": [(r0 + r1) / 2, (c0 + c1) / 2],
                "dimensions": [r1 - r0 + 1, c1 - c0 + 1],  # pixels
                "sizes": [(r1 - r0 + 1) * pixel_size[0], (c1 - c0 + 1) * pixel_size[1]],  # mm
            }
        ],
    }


def tl_doc(slice_dim: int, slice_idx: int, major: float, minor: float) -> dict:
    return {
        **_common(slice_dim, slice_idx),
        "taskType": "TumorLesionSize",
        "mask_file": "volumes/phantom_mask.nii.gz",
        "landmark_file": "volumes/phantom_landmarks.json",
        "label": 2,
        "label_name": "tumor",
        "biometric_profile": {
            "metric_type": "distance",
            "metric_key_major_axis": "L-1-2",
            "metric_value_major_axis": major,
            "metric_key_minor_axis": "L-3-4",
            "metric_value_minor_axis": minor,
            "metric_unit": "mm",
        },
    }


def ad_doc(slice_dim: int, slice_idx: int, metric_type: str, value: float) -> dict:
    names = ["landmark A", "landmark B"] if metric_type == "distance" else ["A", "B", "C", "D"]
    return {
        **_common(slice_dim, slice_idx),
        "taskType": "BiometricsFromLandmarks",
        "landmark_file": "volumes/phantom_landmarks.json",
        "biometric_profile": {
            "metric_type": metric_type,
            "metric_key": f"{metric_type}-1",
            "metric_value": value,
            "metric_unit": "mm" if metric_type == "distance" else "degree",
        },
        "measurement_name": f"the test {metric_type}",
        "landmark_names": names,
    }


def default_docs() -> dict[str, list[dict]]:
    """Docs per family: detection and T/L on all three planes, A/D distance and angle."""
    return {
        "detection": [
            detection_doc(2, 8, (5, 6, 14, 20), "bright block"),
            detection_doc(2, 9, (5, 6, 14, 20), "bright block"),
            detection_doc(1, 10, (5, 4, 14, 11), "bright block"),
            detection_doc(0, 8, (6, 4, 20, 11), "bright block"),
        ],
        "tl": [
            tl_doc(2, 8, 12.5, 7.0),
            tl_doc(2, 9, 10.0, 4.0),
            tl_doc(1, 10, 20.0, 5.0),
            tl_doc(0, 8, 16.0, 8.0),
        ],
        "ad": [
            ad_doc(2, 8, "distance", 27.9),
            ad_doc(0, 8, "distance", 10.0),
            ad_doc(2, 8, "angle", 35.0),
            ad_doc(1, 10, "angle", 60.0),
        ],
    }


def write_data_dir(root: Path, docs: dict[str, list[dict]] | None = None) -> Path:
    """Write the phantom volume and the docs (default: ``default_docs()``) under ``root``."""
    docs = default_docs() if docs is None else docs
    (root / "volumes").mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(phantom_volume(), np.diag([*VOXEL_SIZE, 1.0])), root / IMAGE_FILE)
    for family, rows in docs.items():
        with (root / f"{family}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    return root
