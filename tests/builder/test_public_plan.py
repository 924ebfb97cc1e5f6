"""``prepare --public``: the public builder's test docs from plan files, field by field and in order.

The plans (tests/helpers/public_data.py) are written as the public planner writes them; every
expected doc below is derived by hand from the builder's rules: cases in plan order, slices in
list order, labels ascending; detection drops a (slice, label) with several boxes or a side under
10 px, T/L a slice with several ellipses; then the cap, then A/D targets < 0.1 and the T/L
exclusion list. Floats are float16 as the public rows store them (0.7 -> 0.7001953125).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from medvision_tasks.builder.cli import main
from medvision_tasks.builder.upstream_tasks import PAPER_LISTS, resolve_tasks
from medvision_tasks.documents import load_documents
from tests.helpers.public_data import CEPH, KITS, ad_plan, detection_masks, write_gz_json, write_public_data

AXIAL_GEOMETRY = {
    "image_size_2d": [40, 30],
    "pixel_size": [0.7001953125, 0.364990234375],
    "image_size_3d": [40, 30, 12],
    "voxel_size": [0.7001953125, 0.364990234375, 2.0],
}


def _build(tmp_path: Path, *args: str, root: Path | None = None) -> tuple[int, Path]:
    root = root or write_public_data(tmp_path / "MedVision")
    out = tmp_path / "out"
    return main(["--public", str(root), "--out", str(out), "--quiet", "--workers", "1", *args]), out


def _docs(out: Path, family: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"{family}.jsonl").read_text().splitlines()]


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _box(r0: int, c0: int, r1: int, c1: int, sizes: list[float]) -> dict:
    """A kept box, column-wise as the public rows hold one box; centers are int((min + max) / 2)."""
    return {
        "min_coords": [[r0, c0]],
        "max_coords": [[r1, c1]],
        "center_coords": [[(r0 + r1) // 2, (c0 + c1) // 2]],
        "dimensions": [[r1 - r0 + 1, c1 - c0 + 1]],
        "sizes": [sizes],
    }


def _detection_doc(root: Path, case: str, slice_idx: int, label: int, name: str, box: dict, task: str = "01") -> dict:
    kits = root / "Datasets" / KITS
    return {
        "dataset_name": KITS,
        "taskID": task,
        "taskType": "Box-Size",
        "image_file": str(kits / f"Images/{case}_0000.nii.gz"),
        "mask_file": str(kits / f"Masks/{case}.nii.gz"),
        "slice_dim": 2,
        "slice_idx": slice_idx,
        "label": label,
        **AXIAL_GEOMETRY,
        "bounding_boxes": box,
        "label_name": name,
        "image_description": "abdominal CT scan" if task == "01" else "abdominal CT scan, arterial phase",
        "modality": "CT",
        "upstream_task": f"{KITS}_BoxSize_Task{task}_Axial_Test",
        "subject_id": case,
    }


def test_detection_docs_in_builder_order_with_its_filters(tmp_path):
    status, out = _build(tmp_path, "--tasks", "KiTS23_BoxCoordinate_Task01_Axial", "KiTS23_BoxSize_Task02_Axial_Test")
    assert status == 0
    root = tmp_path / "MedVision"
    # c1 slice 1: label 1 kept (12 x 12 px: 12 x 0.7 = 8.4 -> 8.3984375 mm, 12 x 0.365 = 4.38 -> 4.37890625 mm);
    # label 2 has two boxes (dropped). c1 slice 2: label 1 is 9 rows (dropped), label 2 kept (10 x 12 px).
    # c2 slice 0: label 2, 10 x 10 px (10 is enough). The train case t1 never appears. Task 02: c3.
    assert _docs(out, "detection") == [
        _detection_doc(root, "c1", 1, 1, "kidney", _box(2, 3, 13, 14, [8.3984375, 4.37890625])),
        _detection_doc(root, "c1", 2, 2, "kidney tumor", _box(20, 5, 29, 16, [7.0, 4.37890625])),
        _detection_doc(root, "c2", 0, 2, "kidney tumor", _box(0, 0, 9, 9, [7.0, 3.650390625])),
        _detection_doc(
            root, "c3", 4, 1, "cyst", _box(5, 5, 16, 17, [8.3984375, 4.74609375]), "02"
        ),  # 13 x 0.365 = 4.745 mm
    ]
    summary = _summary(out)
    assert summary["docs"]["test"]["by_family"]["detection"]["by_upstream_task"] == {
        "KiTS23_BoxSize_Task01_Axial_Test": 3,
        "KiTS23_BoxSize_Task02_Axial_Test": 1,
    }
    assert summary["skips"]["by_reason"] == {
        "box side under 10 px": 1,
        "more than one box of the label in the slice": 1,
    }


def test_cap_keeps_the_first_docs_in_builder_order(tmp_path):
    status, out = _build(tmp_path, "--tasks", "KiTS23_BoxSize_Task01_Axial", "--cap", "2")
    assert status == 0
    assert [(d["subject_id"], d["slice_idx"], d["label"]) for d in _docs(out, "detection")] == [
        ("c1", 1, 1),
        ("c1", 2, 2),
    ]


def test_sagittal_plane_reads_slice_profiles_x(tmp_path):
    status, out = _build(tmp_path, "--tasks", "KiTS23_BoxSize_Task01_Sagittal")
    assert status == 0
    (doc,) = _docs(out, "detection")
    # Sagittal slices of 40 x 30 x 12 are 30 x 12 pixels of 0.365 x 2.0 mm.
    assert (doc["slice_dim"], doc["slice_idx"], doc["image_size_2d"], doc["pixel_size"]) == (
        0,
        7,
        [30, 12],
        [0.364990234375, 2.0],
    )
    assert doc["bounding_boxes"] == _box(3, 0, 14, 11, [4.37890625, 24.0])
    assert doc["upstream_task"] == "KiTS23_BoxSize_Task01_Sagittal_Test"


def _tl_doc(root: Path, case: str, slice_dim: int, slice_idx: int, major: float, minor: float, points: list) -> dict:
    kits = root / "Datasets" / KITS
    rows_cols = {2: [50, 40], 1: [50, 8]}[slice_dim]  # axial: axes 0, 1; coronal: axes 0, 2
    pixel = {2: [0.796875, 0.796875], 1: [0.796875, 3.0]}[slice_dim]
    return {
        "dataset_name": KITS,
        "taskID": "01",
        "taskType": "Tumor-Lesion-Size",
        "image_file": str(kits / f"Images/{case}.nii.gz"),
        "landmark_file": str(kits / f"Landmarks-Label1/{case}.json.gz"),
        "mask_file": str(kits / f"Masks/{case}.nii.gz"),
        "slice_dim": slice_dim,
        "slice_idx": slice_idx,
        "label": 1,
        "image_size_2d": rows_cols,
        "pixel_size": pixel,
        "image_size_3d": [50, 40, 8],
        "voxel_size": [0.796875, 0.796875, 3.0],
        "biometric_profile": {
            "metric_type": ["distance"],
            "metric_map_name": ["lines_map"],
            "metric_key_major_axis": ["L-1-2"],
            "metric_value_major_axis": [major],
            "metric_key_minor_axis": ["L-3-4"],
            "metric_value_minor_axis": [minor],
            "metric_unit": ["mm"],
        },
        "label_name": "kidney tumor",
        "image_description": "corticomedullary-phase computed tomography (CT) scan",
        "modality": "CT",
        "upstream_task": f"{KITS}_TumorLesionSize_Task01_{['Sagittal', 'Coronal', 'Axial'][slice_dim]}_Test",
        "subject_id": case,
        "landmark_points": points,
    }


def test_tumor_lesion_docs_exclusion_list_and_points(tmp_path):
    status, out = _build(tmp_path, "--tasks", "KiTS23_TumorLesionSize_Task01_Axial")
    assert status == 0
    root = tmp_path / "MedVision"
    # L1 slice 2 kept (30.94 -> 30.9375, 24.38 -> 24.375 mm), slice 3 has two ellipses (dropped by the
    # builder), slice 5 is on the exclusion list for task 01 (dropped); the list's task-02 entry for
    # slice 2 does not touch task 01. L2 slice 4 kept. Points: (row, col) = the voxel index without axis 2.
    assert _docs(out, "tl") == [
        _tl_doc(root, "L1", 2, 2, 30.9375, 24.375, [[30, 20], [10, 18], [21, 25], [19, 12]]),
        _tl_doc(root, "L2", 2, 4, 20.0, 10.0, [[33, 22], [8, 19], [22, 26], [18, 14]]),
    ]
    details = {(row["item"], row["reason"]): row["count"] for row in _summary(out)["skips"]["details"]}
    assert details == {
        ("KiTS23_TumorLesionSize_Task01_Axial_Test", "more than one ellipse in the slice"): 1,
        ("KiTS23_TumorLesionSize_Task01_Axial_Test", "on the multi-cluster exclusion list"): 1,
    }


def test_without_the_exclusion_list_the_tl_task_stops_and_says_how_to_go_on(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    (root / "Datasets" / KITS / "multi_cluster_samples_v1.0.0_to_v1.1.0.json").unlink()
    status, out = _build(
        tmp_path, "--tasks", "KiTS23_TumorLesionSize_Task01_Axial", "KiTS23_BoxSize_Task02_Axial", root=root
    )
    assert status == 1
    assert _docs(out, "tl") == [] and len(_docs(out, "detection")) == 1  # the other task finished
    err = capsys.readouterr().err
    assert "MedVision error: KiTS23_TumorLesionSize_Task01_Axial_Test: no multi-cluster exclusion list" in err
    assert "--no-tl-exclusions" in err
    status, out = _build(tmp_path, "--tasks", "KiTS23_TumorLesionSize_Task01_Axial", "--no-tl-exclusions", root=root)
    assert status == 0
    assert [d["slice_idx"] for d in _docs(out, "tl")] == [2, 5, 4]


def test_exclusion_list_given_explicitly(tmp_path):
    root = write_public_data(tmp_path / "MedVision")
    elsewhere = tmp_path / "lists" / KITS
    elsewhere.mkdir(parents=True)
    shutil.move(str(root / "Datasets" / KITS / "multi_cluster_samples_v1.0.0_to_v1.1.0.json"), str(elsewhere))
    status, out = _build(
        tmp_path,
        "--tasks",
        "KiTS23_TumorLesionSize_Task01_Axial",
        "--tl-exclusions",
        str(tmp_path / "lists"),
        root=root,
    )
    assert status == 0
    assert [d["slice_idx"] for d in _docs(out, "tl")] == [2, 4]


def _ad_doc(root: Path, case: str, metric: tuple, task_type: str, name: str, landmarks: list, points: list) -> dict:
    ceph = root / "Datasets" / CEPH
    metric_type, map_name, key, value, unit = metric
    token = "" if task_type == "Biometrics-From-Landmarks" else "_" + task_type.rsplit("-", 1)[1]
    return {
        "dataset_name": CEPH,
        "taskID": "01",
        "taskType": task_type,
        "image_file": str(ceph / f"Images/{case}.nii.gz"),
        "landmark_file": str(ceph / f"Landmarks/{case}.json.gz"),
        "slice_dim": 0,
        "slice_idx": 0,
        "image_size_2d": [60, 80],
        "pixel_size": [0.0999755859375, 0.0999755859375],
        "image_size_3d": [1, 60, 80],
        "voxel_size": [0.0999755859375] * 3,
        "biometric_profile": {
            "metric_type": metric_type,
            "metric_map_name": map_name,
            "metric_key": key,
            "metric_value": value,
            "metric_unit": unit,
            "slice_dim": 0,
        },
        "measurement_name": "",
        "landmark_names": landmarks,
        "label_name": name,
        "image_description": "cephalogram (head and neck X-ray)",
        "modality": "X Ray",
        "upstream_task": f"{CEPH}_BiometricsFromLandmarks{token}_Task01_Sagittal_Test",
        "subject_id": case,
        "landmark_points": points,
    }


SELLA_NASION = [[10, 20], [15, 60]]
ORBITALE_PORION = [[30, 5], [32, 70]]


def test_angle_distance_split_by_type_and_near_zero_targets_dropped(tmp_path):
    status, out = _build(tmp_path, "--tasks", "AD")
    assert status == 1  # FeTA24 is not in this data: its three tasks fail, the Ceph ones finish
    root = tmp_path / "MedVision"
    distance, angle = "Biometrics-From-Landmarks-Distance", "Biometrics-From-Landmarks-Angle"
    # Case-major, metric-minor. 207's angle 0.05 -> 0.04998779296875 and L-3-4 0.09 are below 0.1: dropped.
    # fmt: off
    assert _docs(out, "ad") == [
        _ad_doc(root, "206", ("distance", "lines_map", "L-1-2", 54.5625, "mm"), distance, "L-1-2",
                ["sella", "nasion"], SELLA_NASION),
        _ad_doc(root, "206", ("distance", "lines_map", "L-3-4", 20.0, "mm"), distance, "L-3-4",
                ["orbitale", "porion"], ORBITALE_PORION),
        _ad_doc(root, "207", ("distance", "lines_map", "L-1-2", 50.0, "mm"), distance, "L-1-2",
                ["sella", "nasion"], SELLA_NASION),
        _ad_doc(root, "206", ("angle", "angles_map", "A-L_1_2-L_3_4", 1.6318359375, "degree"), angle, "A-L_1_2-L_3_4",
                ["sella", "nasion", "orbitale", "porion"], SELLA_NASION + ORBITALE_PORION),
    ]
    # fmt: on
    by_reason = _summary(out)["skips"]["by_reason"]
    assert by_reason == {"other measurement type than the config's": 6, "target below 0.1": 2}


def test_plane_ood_list_builds_what_exists_and_names_what_does_not(tmp_path, capsys):
    tasks = resolve_tasks(["TL-planeOOD-CoT"])
    assert len(tasks) == 20 and tasks[:2] == PAPER_LISTS["TL-planeOOD"][:2]
    assert [t.config for t in tasks[12:14]] == [
        "KiTS23_TumorLesionSize_Task01_Sagittal_Test",
        "KiTS23_TumorLesionSize_Task01_Coronal_Test",
    ]
    status, out = _build(tmp_path, "--tasks", "TL-planeOOD-CoT")
    assert status == 1
    root = tmp_path / "MedVision"
    # KiTS23 coronal: L1 slice 7 (15 -> 15.0, 9 -> 9.0 mm), 50 x 8 px of 0.797 x 3.0 mm; sagittal: none.
    assert _docs(out, "tl") == [_tl_doc(root, "L1", 1, 7, 15.0, 9.0, [[40, 6], [20, 2], [31, 5], [29, 3]])]
    err = capsys.readouterr().err
    assert (
        "MedVision error: " in err and "autoPET-III/benchmark_plan_biometry_v1.0.0.json.gz: plan file not found" in err
    )


def test_upstream_task_list_file_with_cot_names(tmp_path):
    listing = tmp_path / "tasks_MedVision-mine.json"
    listing.write_text(
        json.dumps({"KiTS23_BoxCoordinate_Task02_Axial-CoT": 1, "KiTS23_TumorLesionSize_Task01_Axial-CoT": 2})
    )
    status, out = _build(tmp_path, "--tasks", str(listing))
    assert status == 0
    assert [d["upstream_task"] for d in _docs(out, "detection") + _docs(out, "tl")] == [
        "KiTS23_BoxSize_Task02_Axial_Test",
        "KiTS23_TumorLesionSize_Task01_Axial_Test",
        "KiTS23_TumorLesionSize_Task01_Axial_Test",
    ]


def test_a_compact_plan_gives_the_same_docs(tmp_path):
    args = ("--tasks", "KiTS23_BoxSize_Task01_Axial", "KiTS23_TumorLesionSize_Task01_Axial", "AD", "--cap", "2")
    _, indented = _build(tmp_path / "a", *args)
    _, compact = _build(tmp_path / "b", *args, root=write_public_data(tmp_path / "b" / "MedVision", plan_indent=None))
    for family in ("detection", "tl", "ad"):
        a, b = _docs(indented, family), _docs(compact, family)
        assert len(a) == len(b) > 0
        assert [json.dumps(d).replace(str(tmp_path / "b"), str(tmp_path / "a")) for d in b] == [
            json.dumps(d) for d in a
        ]


def test_bad_input_is_named_and_the_other_tasks_finish(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    ceph = root / "Datasets" / CEPH / "benchmark_plan_biometry_v1.0.0.json.gz"
    ceph.write_bytes(gzip.compress(b'{\n    "dataset_info": {\n        "dataset": "Ceph')[:-4])  # corrupt
    (root / "Datasets" / KITS / "Images/c2_0000.nii.gz").unlink()  # a missing volume
    status, out = _build(
        tmp_path,
        "--tasks",
        "KiTS23_BoxSize_Task01_Axial",
        "KiTS23_BoxSize_Task05_Axial",
        "KiTS23_BoxSize_Task02_Axial",
        "Ceph-Biometrics-400_BiometricsFromLandmarks_Angle_Task01_Sagittal",
        "KiTS23_TumorLesionSize_Task01_Axial",
        root=root,
    )
    assert status == 1
    err = capsys.readouterr().err
    det_plan = root / "Datasets" / KITS / "benchmark_plan_detection_v1.0.0.json.gz"
    assert (
        f"MedVision error: KiTS23_BoxSize_Task01_Axial_Test: 1 image volume(s) missing under {root / 'Datasets' / KITS}: "
        f"Images/c2_0000.nii.gz ({det_plan})" in err
    )
    assert f"MedVision error: KiTS23_BoxSize_Task05_Axial_Test: task 05 not in {det_plan} (it has 2 task(s))" in err
    assert f"MedVision error: {ceph}: corrupt plan file" in err and "Angle_Task01_Sagittal_Test not built" in err
    # The other tasks are written.
    assert [d["upstream_task"] for d in _docs(out, "detection")] == ["KiTS23_BoxSize_Task02_Axial_Test"]
    assert len(_docs(out, "tl")) == 2


def test_unknown_plan_version_is_named(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    kits = root / "Datasets" / KITS
    shutil.copy(kits / "benchmark_plan_biometry_v1.0.0.json.gz", kits / "benchmark_plan_biometry_v1.4.0.json.gz")
    status, _ = _build(tmp_path, "--tasks", "KiTS23_TumorLesionSize_Task01_Axial", "--plan-version", "1.4.0", root=root)
    assert status == 1
    err = capsys.readouterr().err
    assert f"{kits / 'benchmark_plan_biometry_v1.4.0.json.gz'}: plan version 1.4.0 is not one this reader knows" in err
    assert "KiTS23_TumorLesionSize_Task01_Axial_Test not built" in err


def test_docs_load_through_medvision_data_dir_and_check_against_volumes(tmp_path, monkeypatch, capsys):
    status, out = _build(tmp_path, "--check-volumes", "5", "--tasks", "KiTS23_BoxSize_Task01_Axial", "TL", "AD")
    assert status == 1  # the paper's lists name datasets this data lacks; every check passed
    assert "contradict" not in capsys.readouterr().err
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(out))
    detection = load_documents("detection", "axial")
    assert [d["upstream_task"] for d in detection] == ["KiTS23_BoxSize_Task01_Axial_Test"] * 3
    # Box rows 2..13, cols 3..14 of a 40 x 30 slice: x 3/30..14/30, y (40 - 13)/40..(40 - 2)/40.
    assert detection[0]["target"] == pytest.approx([0.1, 0.675, 14 / 30, 0.95])
    assert [d["target"] for d in load_documents("tl", "axial")] == [[30.9375, 24.375], [20.0, 10.0]]
    ad = load_documents("ad", None)
    assert [d["label_name"] for d in ad] == ["L-1-2", "L-3-4", "L-1-2", "A-L_1_2-L_3_4"]


def test_check_against_volumes_names_a_contradiction(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    import nibabel as nib
    import numpy as np

    mask = detection_masks()["c2"]
    mask[0:10, 0:10, 0] = 0
    mask[1:11, 0:10, 0] = 2  # one row lower than the plan's box
    nib.save(nib.Nifti1Image(mask, np.diag([0.7, 0.365, 2.0, 1.0])), str(root / "Datasets" / KITS / "Masks/c2.nii.gz"))
    status, out = _build(tmp_path, "--check-volumes", "3", "--tasks", "KiTS23_BoxSize_Task01_Axial", root=root)
    assert status == 1
    err = capsys.readouterr().err
    assert (
        "doc Images/c2_0000.nii.gz slice 0: Masks/c2.nii.gz: label 2 box (1, 0, 10, 9); the doc says (0, 0, 9, 9)"
        in err
    )
    assert len(_docs(out, "detection")) == 3  # checked docs are kept, the contradiction is reported


def test_a_rerun_reuses_the_cached_plans(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    _build(tmp_path, "--tasks", "KiTS23_BoxSize_Task01_Axial", root=root)
    first = (tmp_path / "out" / "detection.jsonl").read_text()
    out = tmp_path / "out"
    assert (
        main(["--public", str(root), "--out", str(out), "--workers", "1", "--tasks", "KiTS23_BoxSize_Task01_Axial"])
        == 0
    )
    assert "reusing 1 cached result(s)" in capsys.readouterr().err
    assert (out / "detection.jsonl").read_text() == first


def test_the_reader_stops_parsing_once_every_task_has_its_docs(tmp_path, capsys):
    root = write_public_data(tmp_path / "MedVision")
    plan = root / "Datasets" / KITS / "benchmark_plan_detection_v1.0.0.json.gz"
    text = gzip.decompress(plan.read_bytes())
    plan.write_bytes(gzip.compress(text.replace(b'"case_ID": "c2"', b'"case_ID": c2 is not JSON')))
    # The first 2 docs come from c1: c2 (and the rest of the file) is skipped unparsed.
    status, out = _build(tmp_path, "--tasks", "KiTS23_BoxSize_Task01_Axial", "--cap", "2", root=root)
    assert status == 0 and len(_docs(out, "detection")) == 2
    status, _ = _build(tmp_path, "--tasks", "KiTS23_BoxSize_Task01_Axial", "--no-cache", root=root)
    assert status == 1
    assert f"MedVision error: {plan}: corrupt plan file (JSONDecodeError" in capsys.readouterr().err


def test_a_binding_cap_comes_before_the_near_zero_ad_filter(tmp_path):
    # Upstream caps at evaluation (lmms-eval --limit 1000: doc_id 0..999 in builder order) and drops
    # targets below 0.1 only when summarizing (summarize_AD_task), so a dropped doc still used a
    # place under the cap. Here 206's L-3-4 is 0.09: the distance docs in builder order are
    # 206 L-1-2 (54.56), 206 L-3-4 (0.09), 207 L-1-2 (50.0), 207 L-3-4 (0.09); the cap of 2 keeps
    # the first two, the filter then drops 206 L-3-4, leaving one doc (filtering first would keep 207 L-1-2).
    root = write_public_data(tmp_path / "MedVision")
    plan = ad_plan()
    plan["tasks"][0]["test_cases"][0]["slice_profiles_x"][2]["slice_profile"][0]["metric_value"] = 0.09
    write_gz_json(root / "Datasets" / CEPH / "benchmark_plan_biometry_v1.0.0.json.gz", plan)
    distance = "Ceph-Biometrics-400_BiometricsFromLandmarks_Distance_Task01_Sagittal"
    status, out = _build(tmp_path, "--tasks", distance, "--cap", "2", root=root)
    assert status == 0
    assert _docs(out, "ad") == [
        _ad_doc(
            root,
            "206",
            ("distance", "lines_map", "L-1-2", 54.5625, "mm"),
            "Biometrics-From-Landmarks-Distance",
            "L-1-2",
            ["sella", "nasion"],
            SELLA_NASION,
        )
    ]
    # Case 206 alone fills the cap: its angle is the only other-type entry passed over, 207 is never read.
    assert _summary(out)["skips"]["by_reason"] == {
        "other measurement type than the config's": 1,
        "target below 0.1": 1,
    }


def test_a_binding_cap_comes_before_the_tl_exclusion_list(tmp_path):
    # Upstream drops the listed multi-cluster slices when summarizing (summarize_TL_task
    # --removed_samples_dir), after evaluation's cap. Task 01's axial docs in builder order: L1 slice 2,
    # L1 slice 5 (listed), L2 slice 4 (L1 slice 3 has two ellipses: the builder yields no doc for it).
    # The cap of 2 keeps L1 slices 2 and 5, the list then drops slice 5: one doc (filtering first
    # would keep L2 slice 4 as well).
    status, out = _build(tmp_path, "--tasks", "KiTS23_TumorLesionSize_Task01_Axial", "--cap", "2")
    assert status == 0
    root = tmp_path / "MedVision"
    assert _docs(out, "tl") == [_tl_doc(root, "L1", 2, 2, 30.9375, 24.375, [[30, 20], [10, 18], [21, 25], [19, 12]])]
    details = {(row["item"], row["reason"]): row["count"] for row in _summary(out)["skips"]["details"]}
    assert details[("KiTS23_TumorLesionSize_Task01_Axial_Test", "on the multi-cluster exclusion list")] == 1


def test_a_task_asked_for_by_two_public_requests_is_refused(tmp_path, capsys):
    # Built twice, its docs would be scored twice: the manifest's public entry and --public both ask for it.
    root = write_public_data(tmp_path / "MedVision")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\npublic:\n  - data_dir: {root}\n    tasks: [KiTS23_BoxSize_Task01_Axial]\n")
    out = tmp_path / "out"
    args = [str(manifest), "--public", str(root), "--tasks", "KiTS23_BoxSize_Task01_Axial", "--out", str(out)]
    assert main([*args, "--quiet", "--workers", "1"]) != 0
    assert (
        "public task KiTS23_BoxSize_Task01_Axial_Test is asked for by public requests 1 and 2: ask for each task once"
        in capsys.readouterr().err
    )
    assert not (out / "detection.jsonl").exists()
