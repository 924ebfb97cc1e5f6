"""Benchmark: ``prepare --public`` on a synthetic copy of the paper's full test set, against parsing the plans whole.

Writes ``Datasets/<dataset>/`` for every dataset of the paper's lists (``detect``, ``TL``, ``AD``)
with plans in the public planner's layout (gzip, ``json.dump(indent=4)``) sized like the real
test sets under the 1000 cap (Appendix B of the research notes: 23,071 detection docs, 2,441 T/L
docs before the exclusion lists, 1,320 + 960 + 100 A/D docs), each task's ``train_cases`` twice
its test cases, landmark files, exclusion lists and empty placeholder images (existence is
checked, nothing is decoded). Then times

1. ``medvision-tasks prepare --public ROOT --out OUT`` (the paper's lists, default options), and
2. the naive way: ``json.load`` of every plan file whole (what reading the plans without streaming costs).

Usage::

    python benchmarks/public_plan_build.py [--root /tmp/medvision-bench] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
from pathlib import Path

from medvision_tasks.builder.driver import prepare
from medvision_tasks.builder.manifest import public_request
from medvision_tasks.builder.spec import Manifest
from medvision_tasks.builder.upstream_tasks import PAPER_LISTS

# Test docs per task before the cap (v1.0.0; AbdomenAtlas1.0Mini and others far above 1000).
DETECT_COUNTS = [288, 247, 4713, 33606, 891298, 55342, 2763, 3042, 20142, 5253, 2891, 17315, 7295, 1064, 4540, 6590,
                 2573, 322, 274, 1202, 4976, 362, 2736, 185, 393, 59621, 6847, 5251]  # fmt: skip
TL_COUNTS = [87, 182, 205, 207, 95, 391, 673, 194, 231, 176]
DOCS_PER_CASE = 20
TL_DOCS_PER_CASE = 10
EXTRA_CASES = 10  # test cases past the cap, which the reader never needs to parse
INFO = {"voxel_size": [0.8, 0.8, 2.5], "affine": [[0.8, 0, 0, 0], [0, 0.8, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]],
        "orientation": ["R", "A", "S"], "array_size": [512, 512, 120]}  # fmt: skip


def _box(row: int) -> dict:
    return {"min_coords": [row, 40], "max_coords": [row + 30, 90], "center_coords": [row + 15, 65],
            "dimensions": [31, 51], "sizes": [24.8, 40.8], "mask_image_ratio": 0.006}  # fmt: skip


def _detection_case(name: str, n: int) -> dict:
    z = [{"slice_idx": i, "slice_profile": [{"label": 1, "bboxes": [_box(100 + i)]}]} for i in range(n)]
    return {"case_ID": name, "image_file": f"Images/{name}.nii.gz", "mask_file": f"Masks/{name}.nii.gz",
            "image_file_info": INFO, "mask_file_info": INFO, "slice_profiles_x": [], "slice_profiles_y": [],
            "slice_profiles_z": z, "profile_3D": []}  # fmt: skip


def _ellipse(major: float, minor: float) -> list:
    return [{"metric_type": "distance", "metric_map_name": "lines_map", "metric_key": key, "metric_value": value,
             "metric_unit": "mm", "slice_dim": 2} for key, value in (("L-1-2", major), ("L-3-4", minor))]  # fmt: skip


def _tl_case(name: str, n: int, folder: str) -> dict:
    z = [{"slice_idx": i, "slice_profile": [_ellipse(20.0 + i, 10.0)]} for i in range(n)]
    return {"case_ID": name, "image_file": f"Images/{name}.nii.gz", "mask_file": f"Masks/{name}.nii.gz",
            "landmark_file": f"{folder}/{name}.json.gz", "image_file_info": INFO, "mask_file_info": INFO,
            "slice_profiles_x": [], "slice_profiles_y": [], "slice_profiles_z": z}  # fmt: skip


def _write(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(content, handle, indent=4)


def _case_sizes(count: int, per_case: int) -> list[int]:
    """Docs per test case: ``min(count, 1000)`` docs in all, then cases past the cap when the task has more."""
    kept = min(count, 1000)
    sizes = [per_case] * (kept // per_case) + ([kept % per_case] if kept % per_case else [])
    return sizes + ([per_case] * EXTRA_CASES if count > 1000 else [])


def write_benchmark_data(root: Path) -> int:
    """The synthetic data set under ``root/Datasets``; returns the number of cases written."""
    plans: dict[tuple[str, str], dict[int, dict]] = {}
    n_cases = 0
    for task, count in zip(PAPER_LISTS["detect"], DETECT_COUNTS):
        sizes = _case_sizes(count, DOCS_PER_CASE)
        cases = len(sizes)
        test = [_detection_case(f"{task.task_id}_{i:04d}", n) for i, n in enumerate(sizes)]
        train = [_detection_case(f"{task.task_id}_tr{i:04d}", DOCS_PER_CASE) for i in range(2 * cases)]
        header = {"task_type": "detection", "image_modality": "CT", "image_description": "a CT scan",
                  "labels_map": {"1": "organ"}}  # fmt: skip
        plans.setdefault((task.dataset, "detection"), {})[task.task_index] = {
            **header,
            "train_cases": train,
            "test_cases": test,
        }
        n_cases += 3 * cases
    for task, count in zip(PAPER_LISTS["TL"], TL_COUNTS):
        folder = f"Landmarks-Label{task.task_index}"
        sizes = _case_sizes(count, TL_DOCS_PER_CASE)
        cases = len(sizes)
        test = [_tl_case(f"{task.task_id}_{i:04d}", n, folder) for i, n in enumerate(sizes)]
        train = [_tl_case(f"{task.task_id}_tr{i:04d}", TL_DOCS_PER_CASE, folder) for i in range(2 * cases)]
        header = {"task_type": "biometry", "image_modality": "CT", "image_description": "a CT scan",
                  "labels_map": {str(task.task_index): "tumor"}, "target_label": task.task_index,
                  "landmarks_map": {}, "lines_map": {}, "angles_map": {}, "biometrics_map": []}  # fmt: skip
        plans.setdefault((task.dataset, "biometry"), {})[task.task_index] = {
            **header,
            "train_cases": train,
            "test_cases": test,
        }
        n_cases += 3 * cases
        dataset_dir = root / "Datasets" / task.dataset
        for case in test:
            points = [{"slice_idx": i, "landmarks": [{"P1": [9, 9, i], "P2": [1, 1, i], "P3": [5, 6, i], "P4": [4, 3, i]}]}
                      for i in range(TL_DOCS_PER_CASE)]  # fmt: skip
            _write(
                dataset_dir / case["landmark_file"],
                {"slice_landmarks_x": [], "slice_landmarks_y": [], "slice_landmarks_z": points},
            )
        (dataset_dir / "multi_cluster_samples_v1.0.0_to_v1.1.0.json").write_text("[]")
    # A/D: Ceph 120 cases x (8 angles, 11 distances) sagittal; FeTA24 20 cases x (2 sag, 1 cor, 2 axial) distances.
    for dataset, n, metrics in (
        ("Ceph-Biometrics-400", 120, [("angle", f"A{i}", 0) for i in range(8)] + [("distance", f"L-{i}", 0) for i in range(11)]),
        ("FeTA24", 20, [("distance", "L-1-2", 0), ("distance", "L-3-4", 0), ("distance", "L-5-6", 2), ("distance", "L-7-8", 2), ("distance", "L-9-10", 1)]),
    ):  # fmt: skip
        landmarks = {"P1": "a", "P2": "b", "P3": "c", "P4": "d"}
        lines = {
            key: {"name": "", "element_keys": ["P1", "P2"], "element_map_name": "landmarks_map"}
            for t, key, _ in metrics
            if t == "distance"
        }
        angles = {
            key: {"name": "", "element_keys": [next(iter(lines))] * 2, "element_map_name": "lines_map"}
            for t, key, _ in metrics
            if t == "angle"
        }
        cases = []
        for i in range(n):
            name = f"{i:04d}"
            profiles: dict[int, list] = {0: [], 1: [], 2: []}
            for t, key, dim in metrics:
                profiles[dim].append({"slice_idx": 3, "slice_profile": [{"metric_type": t, "metric_map_name": f"{'angles' if t == 'angle' else 'lines'}_map",
                                      "metric_key": key, "metric_value": 12.5, "metric_unit": "degree" if t == "angle" else "mm", "slice_dim": dim}]})  # fmt: skip
            cases.append({"case_ID": name, "image_file": f"Images/{name}.nii.gz", "landmark_file": f"Landmarks/{name}.json.gz", "image_file_info": INFO,
                          **{f"slice_profiles_{a}": profiles[d] for d, a in enumerate("xyz")}})  # fmt: skip
            point = {"P1": [3, 3, 3], "P2": [3, 9, 9]}
            _write(root / "Datasets" / dataset / f"Landmarks/{name}.json.gz",
                   {f"slice_landmarks_{a}": [{"slice_idx": 3, "landmarks": point}] for a in "xyz"})  # fmt: skip
        header = {"task_type": "biometry", "image_modality": "MRI", "image_description": "", "landmarks_map": landmarks,
                  "lines_map": lines, "angles_map": angles, "biometrics_map": [{"metric_type": t, "metric_key": k} for t, k, _ in metrics]}  # fmt: skip
        plans[(dataset, "biometry")] = {1: {**header, "train_cases": cases[: n // 2], "test_cases": cases}}
        n_cases += n
    for (dataset, kind), tasks in plans.items():
        dataset_dir = root / "Datasets" / dataset
        listed = []
        for index in range(1, max(tasks) + 1):
            task = tasks.get(index) or {
                "task_type": kind,
                "labels_map": {"1": "x"},
                "train_cases": [],
                "test_cases": [],
            }
            listed.append({"task_ID": f"{index:02d}", **task})
            for case in task["test_cases"]:
                image = dataset_dir / case["image_file"]
                image.parent.mkdir(parents=True, exist_ok=True)
                image.touch()
        _write(
            dataset_dir / f"benchmark_plan_{kind}_v1.0.0.json.gz",
            {"dataset_info": {"dataset": dataset}, "tasks": listed, "tasks_number": len(listed)},
        )
    return n_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/medvision-bench"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(args.root, ignore_errors=True)
    started = time.perf_counter()
    n_cases = write_benchmark_data(args.root)
    plans = sorted((args.root / "Datasets").glob("*/benchmark_plan_*.json.gz"))
    size = sum(p.stat().st_size for p in plans)
    raw = sum(len(gzip.decompress(p.read_bytes())) for p in plans)
    print(f"wrote {len(plans)} plans ({size / 1e6:.1f} MB gzip, {raw / 1e6:.0f} MB JSON), {n_cases} cases "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip

    out = args.root / "out"
    manifest = Manifest(path=Path("benchmark"), base_dir=args.root)
    manifest.public.append(public_request({"data_dir": str(args.root)}, args.root, manifest.path, "benchmark"))
    started = time.perf_counter()
    report = prepare(manifest, out, workers=args.workers, use_cache=False, progress=False)
    streamed = time.perf_counter() - started
    docs = sum(report.doc_counts["test"].values())
    print(f"prepare --public (detect, TL, AD; {args.workers} workers): {docs} docs {report.doc_counts['test']} in {streamed:.1f} s; "
          f"{len(report.errors)} errors")  # fmt: skip

    started = time.perf_counter()
    for plan in plans:
        with gzip.open(plan, "rt") as handle:
            json.load(handle)
    naive = time.perf_counter() - started
    print(f"naive: json.load of every plan whole (1 process, no docs built): {naive:.1f} s; "
          f"streamed build / naive parse = {streamed / naive:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
