"""Importing public-layout docs: any accepted taskType spelling, names added, volumes placed, subjects found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medvision_tasks.builder.importer import Importer
from medvision_tasks.builder.spec import ImportSpec
from tests.helpers.public_data import write_public_data
from tests.helpers.volumes import save_nifti

BOX = {"min_coords": [2, 3], "max_coords": [14, 15]}


def _doc(task_type: str, **fields) -> dict:
    return {
        "dataset_name": "Public",
        "taskID": "01",
        "taskType": task_type,
        "image_file": "imagesTs/amos_0007.nii.gz",
        "slice_dim": 1,
        "slice_idx": 4,
        "image_size_2d": [20, 4],
        "pixel_size": [1.0, 1.0],
        **fields,
    }


def _spec(tmp_path: Path, rows: list[dict], **fields) -> ImportSpec:
    save_nifti(tmp_path / "public/imagesTs/amos_0007.nii.gz", np.ones((20, 20, 4), np.int16), np.eye(4))
    docs = tmp_path / "public/test.jsonl"
    docs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return ImportSpec(docs=(str(docs),), image_root=str(tmp_path / "public"), **fields)


def test_public_task_types_are_read_and_named(tmp_path: Path) -> None:
    rows = [
        _doc("Box-Size", label=1, bounding_boxes=[BOX]),
        _doc("BoxSize", label=1, bounding_boxes=[BOX]),
        _doc("Segmentation", label=1),
    ]
    spec = _spec(tmp_path, rows, labels=((1, "spleen"),), modality="CT", image_description="a CT, {plane} slice")
    importer = Importer(tmp_path / "out")
    imported = importer.run(spec)
    assert [(family, subject) for family, subject, _ in imported] == [
        ("detection", "amos_0007"),
        ("detection", "amos_0007"),
    ]
    doc = imported[0][2]
    assert (doc["label_name"], doc["modality"], doc["image_description"]) == ("spleen", "CT", "a CT, coronal slice")
    # Linked under volumes/imported/<dataset>/ with the path it had below image_root.
    assert doc["image_file"] == "volumes/imported/Public/imagesTs/amos_0007.nii.gz"
    assert (tmp_path / "out" / doc["image_file"]).is_symlink()
    assert dict(importer.skips) == {("unknown", "imported", "all", "unknown taskType 'Segmentation'"): 1}


def test_what_cannot_be_imported_is_counted_and_named(tmp_path: Path) -> None:
    rows = [
        _doc("BoxCoordinate", label=9, bounding_boxes=[BOX]),  # no name for label 9
        _doc("BoxCoordinate", label=1),  # no bounding_boxes
        _doc("BoxCoordinate", label=1, bounding_boxes=[BOX], image_file="imagesTs/gone.nii.gz"),
    ]
    spec = _spec(tmp_path, rows, labels=((1, "spleen"),), volumes="keep")
    importer = Importer(tmp_path / "out")
    assert importer.run(spec) == []
    assert dict(importer.skips) == {
        ("detection", "imported", "all", "no label name for label"): 1,
        ("detection", "imported", "all", "missing field bounding_boxes"): 1,
        ("detection", "imported", "all", "volume not found"): 1,
    }
    docs_file = spec.docs[0]
    assert importer.errors == [
        f"import {docs_file} line 1: no name for label 9 (add it under labels)",
        f"import {docs_file} line 3: image_file 'imagesTs/gone.nii.gz' not found under {spec.image_root}",
    ]


# --- names from the public plans (plans:) ----------------------------------------------------------


def _public_rows(root: Path) -> list[dict]:
    """Public-export docs without any name: KiTS23 detection (task 01, label 2) and T/L (task 02),
    Ceph-Biometrics-400 A/D (a distance and an angle)."""
    kits, ceph = root / "Datasets" / "KiTS23", root / "Datasets" / "Ceph-Biometrics-400"
    geometry = {"slice_dim": 2, "slice_idx": 1, "image_size_2d": [40, 30], "pixel_size": [0.7001953125, 0.364990234375]}
    box = {"min_coords": [[20, 5]], "max_coords": [[29, 16]], "center_coords": [[24, 10]], "dimensions": [[10, 12]],
           "sizes": [[7.0, 4.3798828125]]}  # fmt: skip
    ellipse = {"metric_type": ["distance"], "metric_map_name": ["lines_map"], "metric_key_major_axis": ["L-1-2"],
               "metric_value_major_axis": [20.0], "metric_key_minor_axis": ["L-3-4"],
               "metric_value_minor_axis": [10.0], "metric_unit": ["mm"]}  # fmt: skip
    ad = {"dataset_name": "Ceph-Biometrics-400", "taskID": "01", "image_file": str(ceph / "Images/206.nii.gz"),
          "slice_dim": 0, "slice_idx": 0, "image_size_2d": [60, 80], "pixel_size": [0.0999755859375] * 2}  # fmt: skip
    detection = {"dataset_name": "KiTS23", "taskID": "01", "taskType": "Box-Size",
                 "image_file": str(kits / "Images/c1_0000.nii.gz")}  # fmt: skip
    tl = {"dataset_name": "KiTS23", "taskID": "02", "taskType": "Tumor-Lesion-Size",
          "image_file": str(kits / "Images/L2.nii.gz")}  # fmt: skip
    return [
        {**detection, **geometry, "label": 2, "bounding_boxes": box},
        {**tl, **geometry, "image_size_2d": [50, 40], "pixel_size": [0.796875] * 2, "label": 2,
         "biometric_profile": ellipse},
        {**ad, "taskType": "Biometrics-From-Landmarks-Distance",
         "biometric_profile": {"metric_type": "distance", "metric_map_name": "lines_map", "metric_key": "L-1-2",
                               "metric_value": 54.5625, "metric_unit": "mm", "slice_dim": 0}},
        {**ad, "taskType": "Biometrics-From-Landmarks-Angle",
         "biometric_profile": {"metric_type": "angle", "metric_map_name": "angles_map", "metric_key": "A-L_1_2-L_3_4",
                               "metric_value": 1.6318359375, "metric_unit": "degree", "slice_dim": 0}},
    ]  # fmt: skip


def _import_public(tmp_path: Path, rows: list[dict], **fields) -> tuple[Importer, list]:
    root = write_public_data(tmp_path / "MedVision")
    docs = tmp_path / "export.jsonl"
    docs.write_text("".join(json.dumps(row) + "\n" for row in (rows or _public_rows(root))))
    importer = Importer(tmp_path / "out")
    spec = ImportSpec(docs=(str(docs),), image_root=str(tmp_path), volumes="keep", plans=str(root), **fields)
    return importer, importer.run(spec)


NAMES = ("label_name", "image_description", "modality", "measurement_name", "landmark_names")


def test_names_come_from_the_tasks_in_the_public_plans(tmp_path: Path) -> None:
    importer, imported = _import_public(tmp_path, [])
    assert importer.errors == []
    got = [{k: doc.get(k) for k in NAMES} for _, _, doc in imported]
    # Typed from tests/helpers/public_data.py: KiTS23 detection task 01 labels_map {"2": "kidney tumor"};
    # T/L task 02 the same map (label 2: "kidney cyst" there); Ceph lines/angles unnamed ("").
    assert got == [
        {"label_name": "kidney tumor", "image_description": "abdominal CT scan", "modality": "CT",
         "measurement_name": None, "landmark_names": None},
        {"label_name": "kidney cyst", "image_description": "corticomedullary-phase computed tomography (CT) scan",
         "modality": "CT", "measurement_name": None, "landmark_names": None},
        {"label_name": "L-1-2", "image_description": "cephalogram (head and neck X-ray)", "modality": "X Ray",
         "measurement_name": "", "landmark_names": ["sella", "nasion"]},
        {"label_name": "A-L_1_2-L_3_4", "image_description": "cephalogram (head and neck X-ray)", "modality": "X Ray",
         "measurement_name": "", "landmark_names": ["sella", "nasion", "orbitale", "porion"]},
    ]  # fmt: skip


def test_the_docs_and_the_entrys_names_win_over_the_plans(tmp_path: Path) -> None:
    root = write_public_data(tmp_path / "MedVision")
    rows = _public_rows(root)
    rows[0]["label_name"] = "renal tumour"
    _, imported = _import_public(tmp_path, rows, labels=((2, "entry name"),), modality="CT (entry)")
    assert [doc["label_name"] for _, _, doc in imported[:2]] == ["renal tumour", "entry name"]
    assert {doc["modality"] for _, _, doc in imported} == {"CT (entry)"}


def test_a_name_missing_from_doc_entry_and_plan_is_an_error_naming_the_doc(tmp_path: Path) -> None:
    root = write_public_data(tmp_path / "MedVision")
    rows = _public_rows(root)
    rows[0]["label"] = 7  # no label 7 in task 01's labels_map
    rows[1]["taskID"] = "05"  # the T/L plan has 2 tasks
    rows[2]["dataset_name"] = "FeTA24"  # no FeTA24 folder
    importer, imported = _import_public(tmp_path, rows)
    assert len(imported) == 1  # the angle doc
    docs = tmp_path / "export.jsonl"
    kits, feta = root / "Datasets" / "KiTS23", root / "Datasets" / "FeTA24"
    assert importer.errors == [
        f"import {docs} line 1: label 7 has no name in the labels_map of task 01 of "
        + str(kits / "benchmark_plan_detection_v1.0.0.json.gz"),
        f"import {docs} line 2: {kits / 'benchmark_plan_biometry_v1.0.0.json.gz'} has no task '05' (it has 2)",
        f"import {docs} line 3: no names from the plans: {feta / 'benchmark_plan_biometry_v1.0.0.json.gz'}: "
        + "plan file not found",
    ]
    assert sum(importer.skips.values()) == 3


def test_whole_numbers_written_as_text_import_as_numbers(tmp_path: Path) -> None:
    root = write_public_data(tmp_path / "MedVision")
    rows = _public_rows(root)[:1]
    rows[0]["label"], rows[0]["image_size_2d"] = "2.0", ["40", 30.0]  # how exports sometimes write them
    importer, imported = _import_public(tmp_path, rows)
    assert importer.errors == []
    (doc,) = [doc for _, _, doc in imported]
    assert (doc["label"], doc["image_size_2d"], doc["label_name"]) == (2, [40, 30], "kidney tumor")
