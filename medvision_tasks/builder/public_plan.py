"""The paper's test docs from the public MedVision data: one plan file per worker, as one :class:`CaseResult`.

For each requested upstream task config (:class:`~.spec.UpstreamTask`) of a plan, in this order:

1. the public builder's docs of the task's test cases, in its order and with its filters
   (:mod:`.public_docs`), read from the plan without decoding any volume (:mod:`.plan_reader`);
2. the cap: the first ``cap`` docs (the paper ran every task with ``--limit 1000``);
3. the filters the paper's tables applied afterwards: A/D docs whose (float16) target is below
   ``min_ad_target`` (0.1) are dropped; T/L docs named by the dataset's multi-cluster exclusion
   list (``multi_cluster_samples_v1.0.0_to_v1.1.0.json``; 1.0.0 plans only) are dropped;
4. the ground-truth points, from the task's landmark files: T/L the ellipse's axis endpoints
   ``P1, P2`` (major) and ``P3, P4`` (minor), A/D the measurement's landmarks in the order of
   ``landmark_names``; each a pixel ``[row, col]`` of the slice (the landmark's voxel indices
   with the slice axis dropped), in ``landmark_points``;
5. every image volume the docs name must exist; optionally a sample of docs is checked against
   their volumes (shape and voxel size from the header; detection boxes and T/L labels from the mask).

A task that cannot be built (a missing plan, task, volume or exclusion list, a malformed entry)
is an error naming the task and the file, and writes no docs; the other tasks still finish.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from medvision_tasks.builder.plan_reader import PlanError, plan_file_name, read_plan
from medvision_tasks.builder.public_docs import PlanContentError, case_docs, measurement_names
from medvision_tasks.builder.results import CaseResult, Skip
from medvision_tasks.builder.spec import PAPER_PLAN_VERSION, PublicPlanSpec, PublicRequest, UpstreamTask
from medvision_tasks.export_shape import box_list, float16
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILY_NAMES, TUMOR_LESION
from medvision_tasks.ground_truth import single_component_box
from medvision_tasks.planes import in_plane_axes

DATASETS_DIR = "Datasets"
KNOWN_PLAN_VERSIONS = ("1.0.0", "1.1.0", "1.1.1")
"""Plan versions whose builder rules this reader follows; 1.1.x changes only the T/L plans."""
PLAN_KIND = {DETECTION: "detection", TUMOR_LESION: "biometry", ANGLE_DISTANCE: "biometry"}
"""The plan file each family's configs read."""
TL_EXCLUSION_FILE = "multi_cluster_samples_v1.0.0_to_v1.1.0.json"
"""Per dataset: the 1.0.0 T/L slices whose 1.1.0 annotation found more than one cluster."""
SKIP_NEAR_ZERO = "target below {threshold:g}"
SKIP_EXCLUDED = "on the multi-cluster exclusion list"
_AXES = {"x": 0, "y": 1, "z": 2}
_MAX_LISTED = 5


def exclusion_file(request: PublicRequest, dataset: str) -> str | None:
    """The T/L exclusion list of a dataset: among ``request.tl_exclusions`` (a folder holding
    ``<dataset>/<file>``, or the file itself inside a folder named for the dataset), else beside its plans."""
    candidates = []
    for place in map(Path, request.tl_exclusions):
        if place.is_dir():
            candidates.append(place / dataset / TL_EXCLUSION_FILE)
        elif place.parent.name == dataset:
            candidates.append(place)
    candidates.append(Path(request.root) / DATASETS_DIR / dataset / TL_EXCLUSION_FILE)
    return next((str(path.resolve()) for path in candidates if path.is_file()), None)


def plan_specs(request: PublicRequest) -> list[PublicPlanSpec]:
    """One spec per plan file the request reads, in the order of first use; each with its tasks in request order.

    A 1.1.x request reads the 1.1.x T/L plans, and the 1.0.0 plan of any other family when no
    1.1.x one exists (as the public loader falls back).
    """
    grouped: dict[tuple[str, str], list[UpstreamTask]] = {}
    for task in request.tasks:
        grouped.setdefault((task.dataset, PLAN_KIND[task.family]), []).append(task)
    specs = []
    for (dataset, kind), tasks in grouped.items():
        dataset_dir = (Path(request.root) / DATASETS_DIR / dataset).resolve()
        plan = dataset_dir / plan_file_name(kind, request.plan_version)
        only_tl = all(task.family == TUMOR_LESION for task in tasks)
        if not plan.is_file() and not only_tl and request.plan_version != PAPER_PLAN_VERSION:
            fallback = dataset_dir / plan_file_name(kind, PAPER_PLAN_VERSION)
            plan = fallback if fallback.is_file() else plan
        has_tl = any(task.family == TUMOR_LESION for task in tasks)
        specs.append(
            PublicPlanSpec(
                dataset=dataset,
                kind=kind,
                dataset_dir=str(dataset_dir),
                plan_file=str(plan),
                plan_version=request.plan_version,
                tasks=tuple(tasks),
                cap=request.cap,
                use_tl_exclusions=request.use_tl_exclusions and has_tl and _version_of(plan) == PAPER_PLAN_VERSION,
                min_ad_target=request.min_ad_target,
                check_volumes=request.check_volumes,
                tl_exclusion_file=exclusion_file(request, dataset) if has_tl and request.use_tl_exclusions else None,
            )
        )
    return specs


def _version_of(plan: Path) -> str:
    """The version in a plan file's name (``..._v1.0.0.json.gz`` -> ``1.0.0``)."""
    return plan.name.rsplit("_v", 1)[-1].removesuffix(".json.gz").removesuffix(".json")


class _TaskDocs:
    """One config's docs as the public builder yields them, up to the cap, and why it dropped others."""

    def __init__(self, task: UpstreamTask, cap: int | None) -> None:
        self.task = task
        self.cap = cap
        self.docs: list[dict] = []
        self.skips: Counter[str] = Counter()
        self.header: Mapping[str, Any] | None = None
        self.error: str | None = None

    @property
    def needs_more(self) -> bool:
        return self.error is None and (self.cap is None or len(self.docs) < self.cap)

    def take(self, case: Mapping[str, Any]) -> None:
        try:
            for doc, reason in case_docs(self.task, self.header or {}, case):
                if doc is None:
                    self.skips[reason] += 1
                    continue
                self.docs.append(doc)
                if not self.needs_more:
                    return
        except PlanContentError as error:
            self.error = str(error)


def _family_problem(task: UpstreamTask, header: Mapping[str, Any]) -> str | None:
    """Why the plan's task is not of the config's family, or None."""
    is_tl = header.get("target_label") is not None
    if task.family == TUMOR_LESION and not is_tl:
        return "is not a tumor/lesion size task (no target_label)"
    if task.family == ANGLE_DISTANCE and (is_tl or not header.get("biometrics_map")):
        return "is not an angle/distance task (no biometrics_map, or a target_label)"
    return None


class _Visitor:
    """Collects every wanted config's docs while the plan streams by (:class:`.plan_reader.PlanVisitor`)."""

    def __init__(self, spec: PublicPlanSpec) -> None:
        self.tasks = [_TaskDocs(task, spec.cap) for task in spec.tasks]
        self.seen = 0

    def _of(self, index: int) -> list[_TaskDocs]:
        return [t for t in self.tasks if t.task.task_index == index]

    def wants(self, task_index: int) -> bool:
        self.seen = max(self.seen, task_index)
        return any(t.needs_more for t in self._of(task_index))

    def start_task(self, task_index: int, header: Mapping[str, Any]) -> None:
        for collected in self._of(task_index):
            collected.header = header
            problem = _family_problem(collected.task, header)
            if problem:
                collected.error = f"task {collected.task.task_id} of the plan {problem}"

    def test_case(self, task_index: int, case: Mapping[str, Any]) -> bool:
        for collected in self._of(task_index):
            if collected.needs_more:
                collected.take(case)
        return any(t.needs_more for t in self._of(task_index))

    def done(self) -> bool:
        return not any(t.needs_more for t in self.tasks)


def _read_json(path: Path) -> Any:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _exclusion_keys(path: str) -> frozenset[tuple[str, int, int, int]]:
    """``(image_file, slice_dim, slice_idx, task number)`` of every slice an exclusion list names."""
    entries = _read_json(Path(path))
    if not isinstance(entries, list):
        raise ValueError("an exclusion list is a JSON list of entries")
    return frozenset(
        (str(e["image_file"]), _AXES.get(e["slice_dim"], e["slice_dim"]), int(e["slice_idx"]), int(e["task_ID"]))
        for e in entries
    )


class _Landmarks:
    """Landmark files read once per worker, and the points of a doc taken from them."""

    def __init__(self, dataset_dir: Path) -> None:
        self.dataset_dir = dataset_dir
        self._files: dict[str, Any] = {}

    def _entries(self, doc: Mapping) -> list:
        relative = doc["landmark_file"]
        if relative not in self._files:
            self._files[relative] = _read_json(self.dataset_dir / relative)
        axis = "xyz"[doc["slice_dim"]]
        return self._files[relative].get(f"slice_landmarks_{axis}") or []

    def points(self, doc: Mapping, family: str, header: Mapping) -> list[list[float]]:
        """The doc's ground-truth points as pixel ``[row, col]`` of its slice.

        Raises:
            OSError, ValueError, KeyError: the file is missing or unreadable, or does not hold the
                doc's slice and points.
        """
        slice_dim, slice_idx = doc["slice_dim"], doc["slice_idx"]
        entries = self._entries(doc)
        if family == TUMOR_LESION:
            matches = [e for e in entries if int(e["slice_idx"]) == slice_idx]
            if len(matches) != 1 or len(matches[0]["landmarks"]) != 1:
                raise ValueError(f"slice {slice_idx} is not one slice with one ellipse in the landmark file")
            found, keys = matches[0]["landmarks"][0], ("P1", "P2", "P3", "P4")
        else:
            _, _, keys = measurement_names(header, doc["biometric_profile"])
            # As the planner measured: the first entry holding every point of the measurement.
            found = next((e["landmarks"] for e in entries if all(k in e["landmarks"] for k in keys)), None)
            if found is None or round(float(found[keys[0]][slice_dim])) != slice_idx:
                raise ValueError(f"no entry on slice {slice_idx} holds the points {list(keys)}")
        rows, cols = in_plane_axes(slice_dim)
        return [[found[key][rows], found[key][cols]] for key in keys]


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def _sample(docs: list[dict], count: int) -> list[dict]:
    """``count`` docs evenly spaced over the list (first and last included)."""
    if count <= 0 or not docs:
        return []
    if count >= len(docs):
        return list(docs)
    return [docs[round(i * (len(docs) - 1) / (count - 1))] if count > 1 else docs[0] for i in range(count)]


def _check_against_volume(doc: Mapping, dataset_dir: Path) -> str | None:
    """What a doc's volumes contradict (header sizes; the detection box or the T/L label in the mask), or None."""
    image = nib.load(str(dataset_dir / doc["image_file"]))
    shape = [int(n) for n in image.shape[:3]]
    voxel = [float16(round(float(z), 3)) for z in image.header.get_zooms()[:3]]
    if shape != doc["image_size_3d"] or voxel != doc["voxel_size"]:
        return f"{doc['image_file']} is {shape} voxels of {voxel} mm; the doc says {doc['image_size_3d']} of {doc['voxel_size']}"
    if "mask_file" not in doc:
        return None
    mask = nib.load(str(dataset_dir / doc["mask_file"]))
    index = [slice(None)] * 3
    index[doc["slice_dim"]] = doc["slice_idx"]
    labels = np.rint(np.asarray(mask.dataobj[tuple(index)], dtype=np.float64)) == doc["label"]
    if doc["taskType"].startswith("Tumor"):
        return (
            None if labels.any() else f"{doc['mask_file']}: label {doc['label']} absent from slice {doc['slice_idx']}"
        )
    (box,) = box_list(doc["bounding_boxes"])
    expected = (*box["min_coords"], *box["max_coords"])
    found = single_component_box(labels)
    return (
        None if found == expected else f"{doc['mask_file']}: label {doc['label']} box {found}; the doc says {expected}"
    )


def _finish(
    collected: _TaskDocs, spec: PublicPlanSpec, excluded: frozenset | None, landmarks: _Landmarks
) -> list[dict]:
    """The task's docs after the later filters, with points and absolute paths; sets ``collected.error``."""
    task, docs = collected.task, collected.docs
    dataset_dir = Path(spec.dataset_dir)
    if task.family == ANGLE_DISTANCE and spec.min_ad_target is not None:
        kept = [d for d in docs if d["biometric_profile"]["metric_value"] >= spec.min_ad_target]
        collected.skips[SKIP_NEAR_ZERO.format(threshold=spec.min_ad_target)] += len(docs) - len(kept)
        docs = kept
    if excluded is not None:
        kept = [d for d in docs if (d["image_file"], d["slice_dim"], d["slice_idx"], task.task_index) not in excluded]
        collected.skips[SKIP_EXCLUDED] += len(docs) - len(kept)
        docs = kept
    missing = sorted({d["image_file"] for d in docs if not (dataset_dir / d["image_file"]).is_file()})
    if missing:
        collected.error = f"{len(missing)} image volume(s) missing under {dataset_dir}: {_listed(missing)}"
        return []
    unreadable = []
    for doc in docs:
        if task.family == DETECTION:
            continue
        try:
            doc["landmark_points"] = landmarks.points(doc, task.family, collected.header or {})
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
            doc["landmark_points"] = None
            unreadable.append(f"{doc['landmark_file']} ({error})")
    problems = [f"no ground-truth points for {len(unreadable)} doc(s): {_listed(unreadable)}"] if unreadable else []
    for doc in _sample(docs, spec.check_volumes):
        try:
            contradiction = _check_against_volume(doc, dataset_dir)
        except (OSError, ValueError, nib.filebasedimages.ImageFileError) as error:
            contradiction = f"cannot read its volumes ({error})"
        if contradiction:
            problems.append(f"doc {doc['image_file']} slice {doc['slice_idx']}: {contradiction}")
    if problems:
        collected.error = "; ".join(problems)
    for doc in docs:
        for field in ("image_file", "mask_file", "landmark_file"):
            if field in doc:
                doc[field] = str(dataset_dir / doc[field])
    return docs


def build_public_plan(spec: PublicPlanSpec, out_dir: str | Path | None = None) -> CaseResult:
    """The docs of every requested task of one plan file; never raises for bad input.

    Args:
        spec: the plan and its tasks.
        out_dir: unused (the docs name the downloaded files); accepted so the driver calls every
            unit of work alike.

    Returns:
        A result whose ``docs`` hold each family's docs, task after task in request order;
        ``skips`` count what the builder, the cap and the later filters dropped, per task;
        ``errors`` name each task that failed (it has no docs) or whose docs lack something.
    """
    tasks = ", ".join(task.config for task in spec.tasks)
    failed = CaseResult(spec.name, spec.dataset, spec.dataset, {f: () for f in FAMILY_NAMES}, {}, (), True, ())
    version = _version_of(Path(spec.plan_file))
    if version not in KNOWN_PLAN_VERSIONS:
        return _failed(
            failed,
            f"{spec.plan_file}: plan version {version} is not one this reader knows "
            f"({', '.join(KNOWN_PLAN_VERSIONS)}); tasks {tasks} not built",
        )
    if not Path(spec.plan_file).is_file():
        present = sorted(p.name for p in Path(spec.dataset_dir).glob(f"benchmark_plan_{spec.kind}_v*"))
        where = f"present: {', '.join(present)}" if present else f"no {spec.kind} plan in {spec.dataset_dir}"
        return _failed(failed, f"{spec.plan_file}: plan file not found ({where}); tasks {tasks} not built")
    try:
        _, visitor = read_plan(Path(spec.plan_file), lambda: _Visitor(spec))
    except PlanError as error:
        return _failed(failed, f"{error}; tasks {tasks} not built")
    excluded = None
    exclusion_error = None
    if spec.use_tl_exclusions and spec.tl_exclusion_file:
        try:
            excluded = _exclusion_keys(spec.tl_exclusion_file)
        except (OSError, ValueError, KeyError, TypeError) as error:
            exclusion_error = f"{spec.tl_exclusion_file}: unreadable exclusion list ({type(error).__name__}: {error})"
    elif spec.use_tl_exclusions:
        exclusion_error = (
            f"no multi-cluster exclusion list {Path(spec.dataset_dir) / TL_EXCLUSION_FILE}: the paper's T/L docs "
            "leave out the slices it names (Table 3's 2K docs). Name it with --tl-exclusions, or pass "
            "--no-tl-exclusions to build every single-ellipse slice (not the paper's set)"
        )
    landmarks = _Landmarks(Path(spec.dataset_dir))
    docs: dict[str, list[dict]] = {family: [] for family in FAMILY_NAMES}
    skips: Counter[Skip] = Counter()
    errors: list[str] = []
    for collected in visitor.tasks:
        task = collected.task
        if collected.header is None and collected.error is None:
            collected.error = f"task {task.task_id} not in {spec.plan_file} (it has {visitor.seen} task(s))"
        if collected.error is None and task.family == TUMOR_LESION and exclusion_error:
            collected.error = exclusion_error
        finished: list[dict] = []
        if collected.error is None:
            finished = _finish(collected, spec, excluded if task.family == TUMOR_LESION else None, landmarks)
        if collected.error is not None:
            errors.append(f"{task.config}: {collected.error} ({spec.plan_file})")
        docs[task.family].extend(finished)
        for reason, count in collected.skips.items():
            skips[Skip(task.family, task.config, task.plane, reason)] += count
    return CaseResult(
        case=spec.name,
        dataset_name=spec.dataset,
        subject_id=spec.dataset,
        docs={family: tuple(items) for family, items in docs.items()},
        skips=skips,
        errors=tuple(errors),
        fatal=False,
        files=(),
    )


def _failed(template: CaseResult, message: str) -> CaseResult:
    return replace(template, errors=(message,))
