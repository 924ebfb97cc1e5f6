"""Benchmark: ``prepare --public`` on a synthetic plan set sized like the real public MedVision plans.

What dominates the time of ``prepare --public`` is streaming the plans: every ``train_cases`` list
comes before its task's ``test_cases``, and every task of a plan up to the last one the paper's
lists name is read through (skipped unparsed, but decompressed). So the synthetic plans here have,
per dataset and task, the real number of test docs per plane (v1.0.0 counts: the upstream task lists
and the ``all_tasks__ds_v1.0.0`` catalogue) spread over an estimated number of cases (the public
dataset's image count, split 70/30 as the planner does), each case with slice lists of realistic
length (one entry per slice with a label, several labels per slice where the dataset has several
organs), train cases shaped like its test cases. Estimated figures are marked ``# est.`` below.

Writing the full size (about 30 GB of JSON) takes too long here, so ``--fraction F`` keeps a
fraction of every task's train cases and of the test cases the 1000 cap does not need (the cap's
cases are always written). The script then reports

1. the size of the plans written and, computed from the same case templates, at full size;
2. ``prepare --public`` over them (paper lists ``detect``, ``TL``, ``AD``; default options), measured;
3. the reader's throughput on the largest plan alone (GB of decompressed JSON streamed per second,
   one process), against the naive floor: ``zlib`` decompression of the same bytes with nothing parsed;
4. the full-size time, extrapolated (labelled so): the measured build scaled by the ratio of full to
   written bytes (streaming dominates; this also scales the fixed costs, so it errs long), and the
   largest plan's full bytes at the measured throughput (a lower bound: one worker per plan file).

Usage::

    python benchmarks/public_plan_build.py [--root /tmp/medvision-bench] [--workers 2] [--fraction 0.1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medvision_tasks.builder.driver import prepare
from medvision_tasks.builder.manifest import public_request
from medvision_tasks.builder.spec import Manifest
from medvision_tasks.builder.upstream_tasks import PAPER_LISTS

CAP = 1000
TRAIN_SHARE = 0.7  # the planner's split_ratio
PLANES = ("sagittal", "coronal", "axial")  # slice_profiles_x, _y, _z
INFO = {"voxel_size": [0.781, 0.781, 2.5], "affine": [[0.781, 0, 0, 0], [0, 0.781, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]],
        "orientation": ["R", "A", "S"], "array_size": [512, 512, 160]}  # fmt: skip

# Images per dataset (the task's image folder, before the 70/30 split) and labels per labelled slice.
# fmt: off
DATASETS = {  # dataset: (images, labels per slice)
    "AbdomenAtlas1.0Mini": (5195, 4), "AbdomenCT-1K": (1000, 3), "AMOS22": (300, 5),  # est. (public releases)
    "autoPET-III": (1014, 1), "BCV15": (30, 5), "BraTS24": (1350, 2), "CAMUS": (1000, 2), "CrossMoDA": (105, 1),
    "FeTA24": (80, 5), "FLARE22": (50, 5), "HNTSMRG24": (150, 1), "ISLES24": (150, 1), "KiPA22": (70, 2),
    "KiTS23": (489, 2), "MSD": (200, 1), "OAIZIB-CM": (507, 3), "SKM-TEA": (155, 3), "TopCoW24": (250, 3),
}  # est.: image counts from the datasets' public descriptions, MSD a mean over its tasks; labels per slice guessed
# Detection test docs (v1.0.0) per plane (sagittal, coronal, axial): axial from tasks_MedVision-detect, the others
# from tasks_MedVision-detect-planeOOD; None where no list gives it (then the axial count, est.).
DETECT_DOCS = {
    ("CrossMoDA", 1): (371, 368, 288), ("ISLES24", 1): (269, 742, 247), ("FeTA24", 1): (6436, 3788, 4713),
    ("AMOS22", 1): (70095, 61427, 33606), ("AbdomenAtlas1.0Mini", 1): (869974, 713250, 891298),
    ("AbdomenCT-1K", 1): (155468, 101303, 55342), ("autoPET-III", 1): (1263, 805, 2763),
    ("BCV15", 1): (6007, 5714, 3042), ("BraTS24", 1): (15347, 23468, 20142), ("BraTS24", 6): (None, None, 5253),
    ("BraTS24", 10): (2280, 2236, 2891), ("CAMUS", 1): (None, None, 17315), ("FLARE22", 1): (13327, 12018, 7295),
    ("HNTSMRG24", 1): (986, 1267, 1064), ("KiPA22", 1): (3296, 3332, 4540), ("KiTS23", 1): (20274, 8039, 6590),
    ("MSD", 1): (2058, 3815, 2573), ("MSD", 5): (428, 391, 322), ("MSD", 6): (None, None, 274),
    ("MSD", 7): (2256, 2164, 1202), ("MSD", 9): (8771, 7416, 4976), ("MSD", 10): (292, 281, 362),
    ("MSD", 11): (6224, 2416, 2736), ("MSD", 12): (None, None, 185), ("MSD", 14): (1166, 1156, 393),
    ("OAIZIB-CM", 1): (59469, 75960, 59621), ("SKM-TEA", 1): (10721, 23419, 6847), ("TopCoW24", 1): (1840, 2827, 5251),
    # tasks the lists do not name but a reader streams through (they come before a named task of the plan)
    ("BraTS24", 5): (3533, 4154, 2916),  # tasks_MedVision-detect-taskOOD
}
# T/L test docs (v1.0.0, all_tasks__ds_v1.0.0 catalogue) per plane (sagittal, coronal, axial), every task up to
# the last one the lists name.
TL_DOCS = {
    ("autoPET-III", 1): (64, 79, 87),
    ("BraTS24", 1): (20, 3, 2), ("BraTS24", 2): (111, 155, 94), ("BraTS24", 3): (54, 54, 99),
    ("BraTS24", 4): (154, 294, 182), ("BraTS24", 5): (191, 253, 205), ("BraTS24", 6): (18, 15, 11),
    ("BraTS24", 7): (150, 138, 81), ("BraTS24", 8): (119, 160, 90), ("BraTS24", 9): (6, 12, 12),
    ("BraTS24", 10): (140, 82, 207),
    ("HNTSMRG24", 1): (5, 7, 4), ("HNTSMRG24", 2): (8, 35, 95), ("KiPA22", 1): (278, 361, 391),
    ("KiTS23", 1): (838, 1053, 673),
    ("MSD", 1): (60, 61, 67), ("MSD", 2): (16, 28, 38), ("MSD", 3): (111, 136, 194), ("MSD", 4): (12, 13, 25),
    ("MSD", 5): (270, 302, 231), ("MSD", 6): (128, 201, 176),
}
# fmt: on


def _mean_docs(dataset: str) -> tuple[int, int, int]:
    """A detection task no list counts (est.): the mean of the dataset's counted tasks, plane by plane."""
    known = [_planes(docs) for (name, _), docs in DETECT_DOCS.items() if name == dataset]
    return tuple(sum(column) // len(known) for column in zip(*known))  # type: ignore[return-value]


def _planes(docs: tuple[int | None, int | None, int]) -> tuple[int, int, int]:
    return tuple(docs[2] if n is None else n for n in docs)  # type: ignore[return-value]


@dataclass(frozen=True)
class TaskShape:
    """One synthetic task: its case counts and the shape every one of its cases has."""

    dataset: str
    kind: str  # "detection" | "biometry"
    index: int
    train_cases: int
    test_cases: int
    slices: tuple[int, int, int]  # slice entries per case, sagittal/coronal/axial
    labels: int  # labels per detection slice entry (T/L: 1 cluster)
    cap_cases: int  # leading test cases the 1000 cap needs (axial, the lists' plane)


def _shape(dataset: str, kind: str, index: int, docs: tuple[int, int, int]) -> TaskShape:
    images, labels = DATASETS[dataset]
    if kind == "biometry":
        labels = 1
    test = images - int(images * TRAIN_SHARE)
    per_case = tuple(max(1, math.ceil(n / test / labels)) for n in docs)
    axial_docs_per_case = per_case[2] * labels
    return TaskShape(
        dataset,
        kind,
        index,
        images - test,
        test,
        per_case,
        labels,
        min(test, math.ceil(min(CAP, docs[2]) / axial_docs_per_case)),
    )


def task_shapes() -> list[TaskShape]:
    """Every task a run of the paper's lists streams through, in plan order per dataset."""
    wanted: dict[tuple[str, str], int] = {}
    for task in (*PAPER_LISTS["detect"], *PAPER_LISTS["TL"]):
        kind = "detection" if task.family == "detection" else "biometry"
        key = (task.dataset, kind)
        wanted[key] = max(wanted.get(key, 0), task.task_index)
    shapes = []
    for (dataset, kind), last in sorted(wanted.items()):
        for index in range(1, last + 1):
            if kind == "detection":
                docs = (
                    _planes(DETECT_DOCS[(dataset, index)]) if (dataset, index) in DETECT_DOCS else _mean_docs(dataset)
                )
            else:
                docs = TL_DOCS[(dataset, index)]
            shapes.append(_shape(dataset, kind, index, docs))
    return shapes


def _box(row: int, col: int) -> dict:
    """A box whose numbers vary as real ones do (so the gzip ratio is not flattered by repetition)."""
    rows, cols = 10 + (row * 37 + col * 11) % 90, 10 + (row * 13 + col * 29) % 120  # >= 10 px: none filtered
    return {"min_coords": [row, col], "max_coords": [row + rows - 1, col + cols - 1],
            "center_coords": [row + rows // 2, col + cols // 2], "dimensions": [rows, cols],
            "sizes": [rows * 0.78125, cols * 0.78125], "mask_image_ratio": rows * cols / 262144 * 0.7853981633974483}  # fmt: skip


def _case(shape: TaskShape, name: str) -> dict:
    files = {"case_ID": name, "image_file": f"Images/{name}.nii.gz", "mask_file": f"Masks/{name}.nii.gz"}
    if shape.kind == "detection":
        profiles = {
            f"slice_profiles_{axis}": [
                {
                    "slice_idx": 20 + i,
                    "slice_profile": [
                        {"label": 1 + k, "bboxes": [_box(100 + i, 40 + 9 * k + i % 7)]} for k in range(shape.labels)
                    ],
                }
                for i in range(n)
            ]
            for axis, n in zip("xyz", shape.slices)
        }
        box3d = {"min_coords": [90, 40, 20], "max_coords": [180, 150, 90], "sizes": [70.29, 85.91, 175.0]}
        return {
            **files,
            "image_file_info": INFO,
            "mask_file_info": INFO,
            **profiles,
            "profile_3D": [{"label": 1 + k, "bboxes": [box3d]} for k in range(shape.labels)],
        }

    def ellipse(dim: int, i: int) -> list[dict]:
        axes = (("L-1-2", 31.24921372 + i * 0.7071067811865476), ("L-3-4", 22.0912374 + i * 0.3183098861837907))
        return [{"metric_type": "distance", "metric_map_name": "lines_map", "metric_key": key, "metric_value": value,
                 "metric_unit": "mm", "slice_dim": dim} for key, value in axes]  # fmt: skip

    profiles = {f"slice_profiles_{axis}": [{"slice_idx": 20 + i, "slice_profile": [ellipse(dim, i)]} for i in range(n)]
                for dim, (axis, n) in enumerate(zip("xyz", shape.slices))}  # fmt: skip
    return {**files, "landmark_file": f"Landmarks-Label{shape.index}/{name}.json.gz", "image_file_info": INFO,
            "mask_file_info": INFO, **profiles}  # fmt: skip


def _header(shape: TaskShape) -> dict:
    if shape.kind == "detection":
        labels = {str(1 + k): f"organ {1 + k}" for k in range(max(shape.labels, 1))}
        return {"task_ID": f"{shape.index:02d}", "task_type": "detection", "image_modality": "CT",
                "image_description": "a CT scan", "labels_map": labels}  # fmt: skip
    return {"task_ID": f"{shape.index:02d}", "task_type": "biometry", "image_modality": "CT",
            "image_description": "a CT scan", "labels_map": {str(shape.index): "tumor"}, "target_label": shape.index,
            "cluster_size_threshold": 200, "landmarks_map": {}, "lines_map": {}, "angles_map": {}, "biometrics_map": []}  # fmt: skip


def _indented(value, indent: int) -> str:
    """``value`` as ``json.dump(indent=4)`` writes it at ``indent`` spaces (first line unindented)."""
    return json.dumps(value, indent=4).replace("\n", "\n" + " " * indent)


def _case_names(shape: TaskShape, split: str, n: int) -> Iterator[str]:
    return (f"{shape.dataset}-T{shape.index:02d}-{split}{i:05d}" for i in range(n))


def plan_chunks(shapes: list[TaskShape], dataset: str, fraction: float | None) -> Iterator[str]:
    """A plan's text in the planner's layout, chunk by chunk (``fraction`` None: full size).

    Equals ``json.dumps(plan, indent=4)`` of the same plan (checked on a small plan by :func:`_check_layout`).
    """
    yield '{\n    "dataset_info": ' + _indented({"dataset": dataset}, 4) + ',\n    "tasks": ['
    for t, shape in enumerate(shapes):
        yield (",\n" if t else "\n") + "        {"
        for key, value in _header(shape).items():
            yield f"\n            {json.dumps(key)}: {_indented(value, 12)},"
        train, test = case_counts(shape, fraction)
        for split, n, last in (("train", train, False), ("test", test, True)):
            yield f'\n            "{split}_cases_number": {n},\n            "{split}_cases": '
            template = _indented(_case(shape, "@NAME@"), 16)
            if not n:
                yield "[]"
            for i, name in enumerate(_case_names(shape, split, n)):  # one case at a time (bounded memory)
                yield ("[\n" if i == 0 else ",\n") + " " * 16 + template.replace("@NAME@", name)
            yield "\n            ]" if n else ""
            yield "" if last else ","
        yield "\n        }"
    yield f'\n    ],\n    "tasks_number": {len(shapes)}\n}}'


def case_counts(shape: TaskShape, fraction: float | None) -> tuple[int, int]:
    """Train and test cases written: all, or ``fraction`` of them but never fewer test cases than the cap needs."""
    if fraction is None:
        return shape.train_cases, shape.test_cases
    return round(shape.train_cases * fraction), max(shape.cap_cases, round(shape.test_cases * fraction))


def plan_bytes(shapes: list[TaskShape], dataset: str, fraction: float | None) -> int:
    """Bytes of the plan's decompressed JSON, from the case templates (nothing written)."""
    total = 0
    for chunk in plan_chunks([_tiny(s) for s in shapes], dataset, None):
        total += len(chunk.encode())
    for shape in shapes:  # the cases, counted from one template each
        one = len(_indented(_case(shape, next(_case_names(shape, "train", 1))), 16).encode()) + len(",\n") + 16
        total += one * sum(case_counts(shape, fraction))
    return total


def _tiny(shape: TaskShape) -> TaskShape:
    return TaskShape(shape.dataset, shape.kind, shape.index, 0, 0, shape.slices, shape.labels, 0)


def _check_layout() -> None:
    shape = TaskShape("X", "detection", 1, 2, 3, (1, 2, 3), 2, 1)
    text = "".join(plan_chunks([shape], "X", None))
    if json.dumps(json.loads(text), indent=4) != text:
        raise SystemExit("MedVision error: the synthetic plan writer no longer writes json.dump(indent=4)'s layout")


def write_benchmark_data(root: Path, fraction: float) -> tuple[dict[Path, int], dict[Path, int]]:
    """The synthetic data under ``root/Datasets``; per plan file, its bytes written and at full size."""
    _check_layout()
    by_plan: dict[tuple[str, str], list[TaskShape]] = {}
    for shape in task_shapes():
        by_plan.setdefault((shape.dataset, shape.kind), []).append(shape)
    written, full = {}, {}
    for (dataset, kind), shapes in by_plan.items():
        dataset_dir = root / "Datasets" / dataset
        path = dataset_dir / f"benchmark_plan_{kind}_v1.0.0.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as handle:
            for chunk in plan_chunks(shapes, dataset, fraction):
                handle.write(chunk)
        written[path] = plan_bytes(shapes, dataset, fraction)
        full[path] = plan_bytes(shapes, dataset, None)
        for shape in shapes:
            _, test = case_counts(shape, fraction)
            for name in _case_names(shape, "test", test):
                (dataset_dir / "Images").mkdir(exist_ok=True)
                (dataset_dir / f"Images/{name}.nii.gz").touch()
                if kind == "biometry":
                    points = [{"slice_idx": 20 + i, "landmarks": [{"P1": [9, 9, 20 + i], "P2": [1, 1, 20 + i],
                               "P3": [5, 6, 20 + i], "P4": [4, 3, 20 + i]}]} for i in range(shape.slices[2])]  # fmt: skip
                    landmarks = dataset_dir / f"Landmarks-Label{shape.index}/{name}.json.gz"
                    landmarks.parent.mkdir(exist_ok=True)
                    with gzip.open(landmarks, "wt") as handle:
                        json.dump(
                            {"slice_landmarks_x": [], "slice_landmarks_y": [], "slice_landmarks_z": points}, handle
                        )
        if kind == "biometry":
            (dataset_dir / "multi_cluster_samples_v1.0.0_to_v1.1.0.json").write_text("[]")
    _write_angle_distance(root)
    return written, full


def _write_angle_distance(root: Path) -> None:
    """Ceph-Biometrics-400 (280 train, 120 test cases) and FeTA24 (45, 20) A/D plans, in full (small)."""
    # fmt: off
    for dataset, train, test, metrics in (
        ("Ceph-Biometrics-400", 280, 120, [("angle", f"A{i}", 0) for i in range(8)] + [("distance", f"L-{i}", 0) for i in range(11)]),
        ("FeTA24", 45, 20, [("distance", "L-1-2", 0), ("distance", "L-3-4", 0), ("distance", "L-5-6", 2), ("distance", "L-7-8", 2), ("distance", "L-9-10", 1)]),
    ):
        lines = {key: {"name": "", "element_keys": ["P1", "P2"], "element_map_name": "landmarks_map"} for t, key, _ in metrics if t == "distance"}
        angles = {key: {"name": "", "element_keys": [next(iter(lines))] * 2, "element_map_name": "lines_map"} for t, key, _ in metrics if t == "angle"}
        cases = []
        for i in range(train + test):
            name = f"{i:04d}"
            profiles: dict[int, list] = {0: [], 1: [], 2: []}
            for t, key, dim in metrics:
                profiles[dim].append({"slice_idx": 3, "slice_profile": [{"metric_type": t, "metric_map_name": f"{'angles' if t == 'angle' else 'lines'}_map",
                                      "metric_key": key, "metric_value": 12.5, "metric_unit": "degree" if t == "angle" else "mm", "slice_dim": dim}]})
            cases.append({"case_ID": name, "image_file": f"Images/{name}.nii.gz", "landmark_file": f"Landmarks/{name}.json.gz", "image_file_info": INFO,
                          **{f"slice_profiles_{a}": profiles[d] for d, a in enumerate("xyz")}})
            if i >= train:
                path = root / "Datasets" / dataset / f"Landmarks/{name}.json.gz"
                path.parent.mkdir(parents=True, exist_ok=True)
                with gzip.open(path, "wt") as handle:
                    json.dump({f"slice_landmarks_{a}": [{"slice_idx": 3, "landmarks": {"P1": [3, 3, 3], "P2": [3, 9, 9]}}] for a in "xyz"}, handle)
                (root / "Datasets" / dataset / "Images").mkdir(exist_ok=True)
                (root / "Datasets" / dataset / f"Images/{name}.nii.gz").touch()
        task = {"task_ID": "01", "task_type": "biometry", "image_modality": "MRI", "image_description": "", "landmarks_map": {"P1": "a", "P2": "b"},
                "lines_map": lines, "angles_map": angles, "biometrics_map": [{"metric_type": t, "metric_key": k} for t, k, _ in metrics],
                "train_cases": cases[:train], "test_cases": cases[train:]}
        with gzip.open(root / "Datasets" / dataset / "benchmark_plan_biometry_v1.0.0.json.gz", "wt") as handle:
            json.dump({"dataset_info": {"dataset": dataset}, "tasks": [task], "tasks_number": 1}, handle, indent=4)
    # fmt: on


def _prepare(root: Path, out: Path, workers: int, tasks: list[str] | None = None):
    manifest = Manifest(path=Path("benchmark"), base_dir=root)
    entry = {"data_dir": str(root), **({"tasks": tasks} if tasks else {})}
    manifest.public.append(public_request(entry, root, manifest.path, "benchmark"))
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = prepare(manifest, out, workers=workers, use_cache=False, progress=False)
    return report, time.perf_counter() - started


def _inflate_seconds(path: Path) -> float:
    """The naive floor: decompress the whole file as the reader does (4 MB at a time), nothing parsed."""
    started = time.perf_counter()
    with gzip.open(path, "rb") as handle:
        while handle.read(1 << 22):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/medvision-bench"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.1, help="share of train and past-cap test cases written")
    args = parser.parse_args()
    shutil.rmtree(args.root, ignore_errors=True)
    started = time.perf_counter()
    written, full = write_benchmark_data(args.root, args.fraction)
    gz = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} detection/T-L plans at fraction {args.fraction}: {sum(written.values()) / 1e9:.2f} GB JSON "
          f"({gz / 1e9:.2f} GB gzip, level 6) in {time.perf_counter() - started:.0f} s; full size "
          f"{sum(full.values()) / 1e9:.1f} GB JSON (computed from the same case templates)")  # fmt: skip
    for path in sorted(full, key=full.get, reverse=True)[:4]:
        print(f"  {path.parent.name}/{path.name}: {written[path] / 1e9:.2f} GB written, {full[path] / 1e9:.2f} GB full")

    report, seconds = _prepare(args.root, args.root / "out", args.workers)
    docs = report.doc_counts["test"]
    print(f"prepare --public (detect, TL, AD; {args.workers} workers), measured: {sum(docs.values())} docs {docs} "
          f"in {seconds:.1f} s; {len(report.errors)} errors")  # fmt: skip
    for error in report.errors:
        print(f"  MedVision error: {error}")

    largest = max(full, key=full.get)
    name = next(t.config for t in PAPER_LISTS["detect"] if t.dataset == largest.parent.name)
    _, alone = _prepare(args.root, args.root / "out-one", 1, [name])
    throughput = written[largest] / alone
    floor = _inflate_seconds(largest)
    print(f"reader on {largest.parent.name} alone (1 process): {written[largest] / 1e9:.2f} GB in {alone:.1f} s = "
          f"{throughput / 1e9:.2f} GB/s; naive floor, zlib decompression only: {floor:.1f} s "
          f"(reader / decompression = {alone / floor:.2f})")  # fmt: skip
    scaled = seconds * sum(full.values()) / sum(written.values())
    print(f"full size, extrapolated (not measured): {sum(full.values()) / 1e9:.1f} GB of JSON; the measured build scaled "
          f"by bytes, {seconds:.1f} s x {sum(full.values()) / sum(written.values()):.2f} = {scaled:.0f} s "
          f"({scaled / 60:.1f} min); the largest plan alone at {throughput / 1e9:.2f} GB/s: "
          f"{full[largest] / throughput:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
