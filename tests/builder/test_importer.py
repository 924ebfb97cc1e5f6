"""Importing public-layout docs: any accepted taskType spelling, names added, volumes placed, subjects found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medvision_tasks.builder.importer import Importer
from medvision_tasks.builder.spec import ImportSpec
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
