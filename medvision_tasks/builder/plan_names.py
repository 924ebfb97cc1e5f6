"""Prompt names of imported docs, looked up in the public data's benchmark plans by (dataset, taskID).

Docs exported from the public dataset carry no names: the label's name, the image description and
modality, an A/D measurement's name and its landmarks' names live in the task's entry of the plan
(``labels_map``, ``image_description``, ``image_modality``, ``lines_map`` / ``angles_map`` /
``landmarks_map``). An import entry that names the public root (``plans:``) has them filled in from
``<root>/Datasets/<dataset>/benchmark_plan_<kind>_v<version>.json.gz``. A doc's own names win, then
the entry's (``labels``, ``measurements``, ``modality``, ``image_description``), then the plan's.

Each plan file is read once (every task's header; the case lists are skipped unparsed by
:func:`.plan_reader.read_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medvision_tasks.builder.plan_reader import PlanError, plan_file_name, read_plan
from medvision_tasks.builder.public_docs import PlanContentError, measurement_names
from medvision_tasks.builder.public_plan import DATASETS_DIR, PLAN_KIND
from medvision_tasks.builder.spec import ImportSpec
from medvision_tasks.families import ANGLE_DISTANCE


class PlanNameError(ValueError):
    """A doc whose names the plans cannot give; the message names the plan file and the task."""


class _Headers:
    """A plan visitor keeping every task's header and no case."""

    def __init__(self) -> None:
        self.headers: dict[int, Mapping[str, Any]] = {}

    def wants(self, task_index: int) -> bool:
        return True

    def start_task(self, task_index: int, header: Mapping[str, Any]) -> None:
        self.headers[task_index] = header

    def test_case(self, task_index: int, case: Mapping[str, Any]) -> bool:
        return False

    def done(self) -> bool:
        return False


def plan_path(root: str, version: str, dataset: str, family: str) -> Path:
    """``<root>/Datasets/<dataset>/benchmark_plan_<kind>_v<version>.json.gz`` of a family's docs."""
    return Path(root) / DATASETS_DIR / dataset / plan_file_name(PLAN_KIND[family], version)


class PlanNames:
    """Task headers of the public plans, read on first use and kept (one instance per import run)."""

    def __init__(self) -> None:
        self._plans: dict[Path, dict[int, Mapping[str, Any]] | PlanError] = {}

    def header(self, root: str, version: str, dataset: str, family: str, task_id: str) -> Mapping[str, Any]:
        """The plan's entry for task ``task_id`` of ``dataset`` (its fields but the case lists).

        Raises:
            PlanNameError: the plan is missing or unreadable, or has no such task.
        """
        path = plan_path(root, version, dataset, family)
        if path not in self._plans:
            try:
                self._plans[path] = read_plan(path, _Headers)[1].headers
            except PlanError as error:
                self._plans[path] = error
        headers = self._plans[path]
        if isinstance(headers, PlanError):
            raise PlanNameError(f"no names from the plans: {headers}")
        try:
            return headers[int(task_id)]
        except (KeyError, ValueError):
            raise PlanNameError(f"{path} has no task {task_id!r} (it has {len(headers)})") from None

    def fill(self, doc: dict, family: str, spec: ImportSpec) -> None:
        """Adds the names ``doc`` lacks and the entry does not give, from its task in the plans.

        Raises:
            PlanNameError: no plan or task for the doc, or a name the task's maps do not hold;
                the message names the plan file.
        """
        header = self.header(spec.plans, spec.plan_version, str(doc["dataset_name"]), family, str(doc["taskID"]))
        where = f"task {doc['taskID']} of {plan_path(spec.plans, spec.plan_version, str(doc['dataset_name']), family)}"
        if not doc.get("modality") and not spec.modality:
            doc["modality"] = str(header.get("image_modality") or "")
        if doc.get("image_description") is None and not spec.image_description:
            doc["image_description"] = str(header.get("image_description") or "")
        if family == ANGLE_DISTANCE:
            # a plain dict upstream; 1-element lists read alike
            profile = {
                k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in doc["biometric_profile"].items()
            }
            key = str(profile.get("metric_key"))
            if key in {k for k, _, _ in spec.measurements} or (
                doc.get("measurement_name") is not None and doc.get("landmark_names")
            ):
                return
            try:
                name, landmarks, _ = measurement_names(header, profile)
            except PlanContentError as error:
                raise PlanNameError(f"{where}: {error}") from None
            if doc.get("measurement_name") is None:
                doc["measurement_name"] = name
            doc["landmark_names"] = doc.get("landmark_names") or landmarks
            return
        label = int(doc["label"])
        if doc.get("label_name") or label in dict(spec.labels):
            return
        name = (header.get("labels_map") or {}).get(str(label))
        if not name:
            raise PlanNameError(f"label {label} has no name in the labels_map of {where}")
        doc["label_name"] = str(name)
