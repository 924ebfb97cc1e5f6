"""A tiny copy of the public MedVision data layout: ``Datasets/<dataset>/`` with plans, volumes, landmarks.

Plans are written as the public planner writes them (``json.dump(indent=4)`` into gzip), with
every field the builder reads. Three datasets, named as public ones so the paper's lists find them:

- ``KiTS23`` detection plan, two tasks; volumes 40 x 30 x 12 voxels of 0.7 x 0.365 x 2.0 mm;
- ``KiTS23`` T/L (biometry) plan, task 01 (target label 1) and 02 (label 2); volumes 50 x 40 x 8 of
  0.797 x 0.797 x 3.0 mm; landmark files and a multi-cluster exclusion list;
- ``Ceph-Biometrics-400`` A/D plan, one task: one angle and two distances per case; 1 x 60 x 80 of 0.1 mm.

The docs these should give are derived by hand in the tests.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np

KITS = "KiTS23"
CEPH = "Ceph-Biometrics-400"
DET_SHAPE, DET_ZOOMS = (40, 30, 12), (0.7, 0.365, 2.0)
TL_SHAPE, TL_ZOOMS = (50, 40, 8), (0.797, 0.797, 3.0)
AD_SHAPE, AD_ZOOMS = (1, 60, 80), (0.1, 0.1, 0.1)
TL_MAPS = {
    "landmarks_map": {"P1": "major 1", "P2": "major 2", "P3": "minor 1", "P4": "minor 2"},
    "lines_map": {
        "L-1-2": {
            "name": "marjor axis of the fitted ellipse",
            "element_keys": ["P1", "P2"],
            "element_map_name": "landmarks_map",
        },
        "L-3-4": {
            "name": "minor axis of the fitted ellipse",
            "element_keys": ["P3", "P4"],
            "element_map_name": "landmarks_map",
        },
    },
    "angles_map": {},
    "biometrics_map": [
        {"metric_type": "distance", "metric_map_name": "lines_map", "metric_key": "L-1-2"},
        {"metric_type": "distance", "metric_map_name": "lines_map", "metric_key": "L-3-4"},
    ],
}


def box(r0: int, c0: int, r1: int, c1: int, spacing: tuple[float, float]) -> dict:
    """A plan box as the planner writes it (inclusive corners, pixels, mm from unrounded spacing)."""
    rows, cols = r1 - r0 + 1, c1 - c0 + 1
    return {
        "min_coords": [r0, c0],
        "max_coords": [r1, c1],
        "center_coords": [(r0 + r1) // 2, (c0 + c1) // 2],
        "dimensions": [rows, cols],
        "sizes": [rows * spacing[0], cols * spacing[1]],
        "mask_image_ratio": 0.01,
    }


def _info(shape, zooms) -> dict:
    affine = np.diag([*zooms, 1.0]).round(3).tolist()
    return {"voxel_size": list(zooms), "affine": affine, "orientation": ["R", "A", "S"], "array_size": list(shape)}


def _axial(r0, c0, r1, c1) -> dict:
    return box(r0, c0, r1, c1, (0.7, 0.365))


def detection_plan() -> dict:
    info = _info(DET_SHAPE, DET_ZOOMS)

    def case(name: str, z: list, x: list | None = None) -> dict:
        return {
            "case_ID": name,
            "image_file": f"Images/{name}_0000.nii.gz",
            "mask_file": f"Masks/{name}.nii.gz",
            "image_file_info": info,
            "mask_file_info": info,
            "slice_profiles_x": x or [],
            "slice_profiles_y": [],
            "slice_profiles_z": z,
            "profile_3D": [],
        }

    task1_cases = [
        case(
            "c1",
            [
                {
                    "slice_idx": 1,
                    "slice_profile": [
                        {"label": 1.0, "bboxes": [_axial(2, 3, 13, 14)]},
                        {"label": 2.0, "bboxes": [_axial(20, 5, 29, 16), _axial(31, 1, 39, 12)]},
                    ],
                },
                {
                    "slice_idx": 2,
                    "slice_profile": [
                        {"label": 1.0, "bboxes": [_axial(2, 3, 10, 14)]},
                        {"label": 2.0, "bboxes": [_axial(20, 5, 29, 16)]},
                    ],
                },
            ],
            x=[{"slice_idx": 7, "slice_profile": [{"label": 2, "bboxes": [box(3, 0, 14, 11, (0.365, 2.0))]}]}],
        ),
        case("c2", [{"slice_idx": 0, "slice_profile": [{"label": 2, "bboxes": [_axial(0, 0, 9, 9)]}]}]),
    ]
    train = [case("t1", [{"slice_idx": 0, "slice_profile": [{"label": 1, "bboxes": [_axial(0, 0, 19, 19)]}]}])]
    common = {
        "task_type": "detection",
        "image_modality": "CT",
        "image_folder": "Images",
        "mask_folder": "Masks",
        "image_prefix": "",
        "image_suffix": "_0000.nii.gz",
        "mask_prefix": "",
        "mask_suffix": ".nii.gz",
    }
    return {
        "dataset_info": {"dataset": KITS, "dataset_website": "", "dataset_data": [], "license": [], "paper": []},
        "tasks": [
            {
                "task_ID": "01",
                **common,
                "image_description": "abdominal CT scan",
                "labels_map": {"1": "kidney", "2": "kidney tumor"},
                "train_cases_number": 1,
                "train_cases": train,
                "test_cases_number": 2,
                "test_cases": task1_cases,
            },
            {
                "task_ID": "02",
                **common,
                "image_description": "abdominal CT scan, arterial phase",
                "labels_map": {"1": "cyst"},
                "train_cases_number": 0,
                "train_cases": [],
                "test_cases_number": 1,
                "test_cases": [
                    case("c3", [{"slice_idx": 4, "slice_profile": [{"label": 1, "bboxes": [_axial(5, 5, 16, 17)]}]}])
                ],
            },
        ],
        "tasks_number": 2,
    }


def _ellipse(major: float, minor: float, slice_dim: int) -> list:
    return [
        {
            "metric_type": "distance",
            "metric_map_name": "lines_map",
            "metric_key": "L-1-2",
            "metric_value": major,
            "metric_unit": "mm",
            "slice_dim": slice_dim,
        },
        {
            "metric_type": "distance",
            "metric_map_name": "lines_map",
            "metric_key": "L-3-4",
            "metric_value": minor,
            "metric_unit": "mm",
            "slice_dim": slice_dim,
        },
    ]


TL_CASES = {
    # case: (axial entries (slice, [ellipse axes...]), coronal entries)
    "L1": ([(2, [(30.94, 24.38)]), (3, [(9.0, 8.0), (7.0, 5.0)]), (5, [(12.2, 8.1)])], [(7, [(15.0, 9.0)])]),
    "L2": ([(4, [(20.0, 10.0)])], []),
}
TL_POINTS = {  # (case, axis, slice) -> the landmark file's points of each ellipse
    ("L1", "z", 2): [{"P1": [30, 20, 2], "P2": [10, 18, 2], "P3": [21, 25, 2], "P4": [19, 12, 2]}],
    ("L1", "z", 3): [{"P1": [5, 5, 3], "P2": [1, 1, 3], "P3": [3, 4, 3], "P4": [2, 2, 3]}] * 2,
    ("L1", "z", 5): [{"P1": [9, 9, 5], "P2": [1, 2, 5], "P3": [6, 7, 5], "P4": [4, 3, 5]}],
    ("L1", "y", 7): [{"P1": [40, 7, 6], "P2": [20, 7, 2], "P3": [31, 7, 5], "P4": [29, 7, 3]}],
    ("L2", "z", 4): [{"P1": [33, 22, 4], "P2": [8, 19, 4], "P3": [22, 26, 4], "P4": [18, 14, 4]}],
}


def tl_plan() -> dict:
    info = _info(TL_SHAPE, TL_ZOOMS)

    def case(name: str, label: int) -> dict:
        axial, coronal = TL_CASES[name]
        return {
            "case_ID": name,
            "image_file": f"Images/{name}.nii.gz",
            "landmark_file": f"Landmarks-Label{label}/{name}.json.gz",
            "mask_file": f"Masks/{name}.nii.gz",
            "image_file_info": info,
            "mask_file_info": info,
            "slice_profiles_x": [],
            "slice_profiles_y": [
                {"slice_idx": s, "slice_profile": [_ellipse(a, b, 1) for a, b in e]} for s, e in coronal
            ],
            "slice_profiles_z": [
                {"slice_idx": s, "slice_profile": [_ellipse(a, b, 2) for a, b in e]} for s, e in axial
            ],
        }

    def task(number: int, label: int) -> dict:
        return {
            "task_ID": f"{number:02d}",
            "task_type": "biometry",
            "image_modality": "CT",
            "image_description": "corticomedullary-phase computed tomography (CT) scan",
            "image_folder": "Images",
            "mask_folder": "Masks",
            "landmark_folder": f"Landmarks-Label{label}",
            "landmark_figure_folder": f"Landmarks-Label{label}-fig",
            "image_prefix": "",
            "image_suffix": ".nii.gz",
            "mask_prefix": "",
            "mask_suffix": ".nii.gz",
            "landmark_prefix": "",
            "landmark_suffix": ".json.gz",
            "labels_map": {"1": "kidney tumor", "2": "kidney cyst"},
            **TL_MAPS,
            "target_label": label,
            "cluster_size_threshold": 200,
            "train_cases_number": 0,
            "train_cases": [],
            "test_cases_number": 2,
            "test_cases": [case("L1", label), case("L2", label)],
        }

    return {"dataset_info": {"dataset": KITS}, "tasks": [task(1, 1), task(2, 2)], "tasks_number": 2}


CEPH_VALUES = {"206": (1.632, 54.56, 20.0), "207": (0.05, 50.0, 0.09)}  # angle, L-1-2, L-3-4
CEPH_POINTS = {"P1": [0, 10, 20], "P2": [0, 15, 60], "P3": [0, 30, 5], "P4": [0, 32, 70]}


def ad_plan() -> dict:
    info = _info(AD_SHAPE, AD_ZOOMS)
    metrics = [
        ("angle", "angles_map", "A-L_1_2-L_3_4", "degree"),
        ("distance", "lines_map", "L-1-2", "mm"),
        ("distance", "lines_map", "L-3-4", "mm"),
    ]

    def case(name: str) -> dict:
        entries = [
            {
                "slice_idx": 0,
                "slice_profile": [
                    {
                        "metric_type": t,
                        "metric_map_name": m,
                        "metric_key": k,
                        "metric_value": v,
                        "metric_unit": u,
                        "slice_dim": 0,
                    }
                ],
            }
            for (t, m, k, u), v in zip(metrics, CEPH_VALUES[name])
        ]
        return {
            "case_ID": name,
            "image_file": f"Images/{name}.nii.gz",
            "landmark_file": f"Landmarks/{name}.json.gz",
            "image_file_info": info,
            "slice_profiles_x": entries,
            "slice_profiles_y": [],
            "slice_profiles_z": [],
        }

    line = {"name": "", "element_map_name": "landmarks_map"}
    return {
        "dataset_info": {"dataset": CEPH},
        "tasks": [
            {
                "task_ID": "01",
                "task_type": "biometry",
                "image_modality": "X Ray",
                "image_description": "cephalogram (head and neck X-ray)",
                "image_folder": "Images",
                "landmark_folder": "Landmarks",
                "image_prefix": "",
                "image_suffix": ".nii.gz",
                "landmark_prefix": "",
                "landmark_suffix": ".json.gz",
                "landmarks_map": {"P1": "sella", "P2": "nasion", "P3": "orbitale", "P4": "porion"},
                "lines_map": {
                    "L-1-2": {**line, "element_keys": ["P1", "P2"]},
                    "L-3-4": {**line, "element_keys": ["P3", "P4"]},
                },
                "angles_map": {
                    "A-L_1_2-L_3_4": {"name": "", "element_keys": ["L-1-2", "L-3-4"], "element_map_name": "lines_map"}
                },
                "biometrics_map": [
                    {"metric_type": t, "metric_map_name": m, "metric_key": k, "slice_dim": 0} for t, m, k, _ in metrics
                ],
                "train_cases_number": 0,
                "train_cases": [],
                "test_cases_number": 2,
                "test_cases": [case("206"), case("207")],
            }
        ],
        "tasks_number": 1,
    }


def write_gz_json(path: Path, content, indent: int | None = 4) -> Path:
    """gzip JSON, as the planner writes plans and landmark files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(content, handle, indent=indent)
    return path


def _volume(path: Path, shape, zooms, data: np.ndarray | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.zeros(shape, np.uint8) if data is None else data
    nib.save(nib.Nifti1Image(array, np.diag([*zooms, 1.0])), str(path))


def detection_masks() -> dict[str, np.ndarray]:
    """Masks agreeing with the detection plan's kept boxes (c1, c2)."""
    c1 = np.zeros(DET_SHAPE, np.uint8)
    c1[2:14, 3:15, 1] = 1
    c1[20:30, 5:17, 1] = 2
    c1[31:40, 1:13, 1] = 2
    c1[2:11, 3:15, 2] = 1
    c1[20:30, 5:17, 2] = 2
    c2 = np.zeros(DET_SHAPE, np.uint8)
    c2[0:10, 0:10, 0] = 2
    return {"c1": c1, "c2": c2}


def write_public_data(root: Path, *, plan_indent: int | None = 4) -> Path:
    """The three datasets under ``root/Datasets/`` (plans, images, masks, landmark files, exclusion list)."""
    datasets = root / "Datasets"
    kits, ceph = datasets / KITS, datasets / CEPH
    write_gz_json(kits / "benchmark_plan_detection_v1.0.0.json.gz", detection_plan(), plan_indent)
    write_gz_json(kits / "benchmark_plan_biometry_v1.0.0.json.gz", tl_plan(), plan_indent)
    write_gz_json(ceph / "benchmark_plan_biometry_v1.0.0.json.gz", ad_plan(), plan_indent)
    masks = detection_masks()
    for name in ("c1", "c2", "c3", "t1"):
        _volume(kits / f"Images/{name}_0000.nii.gz", DET_SHAPE, DET_ZOOMS)
        _volume(kits / f"Masks/{name}.nii.gz", DET_SHAPE, DET_ZOOMS, masks.get(name))
    for name in TL_CASES:
        _volume(kits / f"Images/{name}.nii.gz", TL_SHAPE, TL_ZOOMS)
        for label in (1, 2):
            entries = {axis: [] for axis in "xyz"}
            for (case, axis, slice_idx), clusters in TL_POINTS.items():
                if case == name:
                    entries[axis].append(
                        {"slice_idx": slice_idx, "landmarks": [{**c, "ROI_pixels_count": 300} for c in clusters]}
                    )
            write_gz_json(
                kits / f"Landmarks-Label{label}/{name}.json.gz", {f"slice_landmarks_{a}": e for a, e in entries.items()}
            )
    exclusions = [
        {
            "task_ID": "01",
            "image_file": "Images/L1.nii.gz",
            "case_ID": "L1",
            "split": "test",
            "slice_dim": "z",
            "slice_idx": 5,
            "n_total_clusters": 2,
        },
        {
            "task_ID": "02",
            "image_file": "Images/L1.nii.gz",
            "case_ID": "L1",
            "split": "test",
            "slice_dim": "z",
            "slice_idx": 2,
            "n_total_clusters": 3,
        },
    ]
    (kits / "multi_cluster_samples_v1.0.0_to_v1.1.0.json").write_text(json.dumps(exclusions))
    for name in CEPH_VALUES:
        _volume(ceph / f"Images/{name}.nii.gz", AD_SHAPE, AD_ZOOMS)
        write_gz_json(
            ceph / f"Landmarks/{name}.json.gz",
            {
                "slice_landmarks_x": [{"slice_idx": 0, "landmarks": CEPH_POINTS}],
                "slice_landmarks_y": [],
                "slice_landmarks_z": [],
            },
        )
    return root
