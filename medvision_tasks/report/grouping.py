"""Who is compared (systems) and over which docs (label groups, subsets), as the paper groups them.

- A *system* is one leaderboard row: a model (as named by :mod:`.runs`) and a prompt variant
  (plain or CoT). Its records of one family are pooled over every task and run that holds
  them (e.g. ``medvision_detect`` and ``medvision_detect_coronal``), one record per
  ``doc_key``: a doc evaluated twice keeps the record of the later run.
- A *label group* is one label-task of one dataset on one plane: ``(dataset, task_id,
  label, label_name, modality, plane, metric_type)``, shown as ``label @ modality (plane)``.
- Table 2 splits detection label groups into **tumor/lesion** (the label name says tumor,
  tumour, lesion or metasta-tic/-sis) and **anatomy** (all others); each subset's number is a
  sample-weighted mean over its label groups of at least ``min_group_docs`` (50) docs.
- Table 4 splits A/D docs by sub-task ``(dataset, metric_type)``, e.g. Ceph-Biometrics-400
  distance / angle, FeTA24 distance.

Every number is :func:`medvision_tasks.metrics.aggregate` of some records, or the
sample-weighted mean of such numbers (:func:`weighted_mean_over_groups`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from medvision_tasks.families import FAMILY_NAMES
from medvision_tasks.metrics import aggregate
from medvision_tasks.record import DocRecord
from medvision_tasks.report.runs import Run, TaskRun

logger = logging.getLogger(__name__)

MIN_GROUP_DOCS = 50
"""The paper's Table 2 averages over label groups of at least this many docs."""
_TUMOR_LESION = re.compile(r"tumou?r|lesion|metasta", re.IGNORECASE)
_DATASET_SLUGS = {"Ceph-Biometrics-400": "ceph", "FeTA24": "feta24"}


@dataclass(frozen=True, order=True)
class System:
    """One leaderboard row: a model and a prompt variant."""

    model: str
    cot: bool = False

    @property
    def name(self) -> str:
        """Display name: the model, with `` · CoT`` for the chain-of-thought variant."""
        return f"{self.model} · CoT" if self.cot else self.model


@dataclass(frozen=True, order=True)
class LabelGroup:
    """One label-task of one dataset on one plane (A/D: one measurement)."""

    dataset: str
    label_name: str
    modality: str
    plane: str
    task_id: str = ""
    label: str = ""
    metric_type: str = ""

    @property
    def display(self) -> str:
        """``label @ modality (plane)``."""
        modality = f" @ {self.modality}" if self.modality else ""
        return f"{self.label_name}{modality} ({self.plane})"


@dataclass(frozen=True, order=True)
class SubTask:
    """An A/D sub-task of Table 4: one dataset and one measurement type."""

    dataset: str
    metric_type: str

    @property
    def display(self) -> str:
        """e.g. ``Ceph-Biometrics-400 · distance``."""
        return f"{self.dataset} · {self.metric_type}"

    @property
    def slug(self) -> str:
        """CSV subset name, as in the paper's table: ``ceph_distance``, ``feta24_distance``."""
        dataset = _DATASET_SLUGS.get(self.dataset) or re.sub(r"[^a-z0-9]+", "", self.dataset.lower())
        return f"{dataset}_{self.metric_type}"


def is_tumor_lesion(label_name: str) -> bool:
    """True when a label names a tumor or lesion (the paper: tumor, lesion or metastatic)."""
    return bool(_TUMOR_LESION.search(label_name or ""))


def label_group(record: DocRecord) -> LabelGroup:
    """The label group of a per-doc record (label name falls back to the metric type)."""
    return LabelGroup(
        dataset=record.dataset,
        label_name=record.label_name or record.metric_type or "unnamed",
        modality=record.modality,
        plane=record.plane,
        task_id=record.task_id or "",
        label="" if record.label is None else str(record.label),
        metric_type=record.metric_type or "",
    )


def sub_task(record: DocRecord) -> SubTask:
    """The Table 4 sub-task of an A/D record."""
    return SubTask(dataset=record.dataset, metric_type=record.metric_type or "unknown")


def group_by(records: Sequence[DocRecord], key: Callable[[DocRecord], Hashable]) -> dict:
    """Records split by ``key(record)``, keys sorted, records in their original order."""
    groups: dict = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return dict(sorted(groups.items()))


def weighted_mean_over_groups(groups: Sequence[Sequence[DocRecord]], metric: str) -> float:
    """Sample-weighted mean over groups of ``aggregate(group, metric)``.

    Weights are the groups' doc counts. A group whose value is undefined (NaN: ``mae``/``mre``
    with no parsed doc) is left out of both sums. With one group this is exactly
    ``aggregate(group, metric)``; for metrics averaged over all docs it equals ``aggregate``
    of the pooled docs.

    Returns:
        The mean, NaN when no group has a defined value.
    """
    total = 0.0
    weight = 0
    for records in groups:
        value = aggregate(records, metric)
        if not math.isnan(value):
            total += len(records) * value
            weight += len(records)
    return total / weight if weight else float("nan")


@dataclass
class GroupSelection:
    """Label groups a Table 2 subset averages over.

    Attributes:
        included: groups that enter the mean.
        excluded: groups left out for having fewer than the minimum docs.
        fallback: True when every group was under the minimum and all were used instead.
    """

    included: list[LabelGroup]
    excluded: list[LabelGroup]
    fallback: bool


def select_groups(sizes: Mapping[LabelGroup, int], min_docs: int) -> GroupSelection:
    """The groups of at least ``min_docs`` docs; all of them when none is that large.

    The fallback keeps small inputs (the bundled sample, a ``--limit`` run) reportable; the
    report flags such a number instead of leaving the cell empty.
    """
    keys = sorted(sizes)
    included = [key for key in keys if sizes[key] >= min_docs]
    if included or not keys:
        return GroupSelection(included, [key for key in keys if sizes[key] < min_docs], False)
    return GroupSelection(keys, [], True)


def doc_identity(record: DocRecord) -> tuple[str, str]:
    """What makes a doc one doc across tasks and runs: its ``doc_key`` and ``task_id``.

    Records written before ``doc_key`` carried the task id need the task id beside it: two label-tasks of
    one dataset can share an image, a slice and a label value (one mask file per task).
    """
    return (record.doc_key, record.task_id or "")


def collect_systems(runs: Sequence[Run]) -> dict[System, dict[str, list[DocRecord]]]:
    """Per system and family, its records pooled over tasks and runs.

    - A task run more than once for a system (same task name in several runs) is taken from
      the latest run (by date id), as a whole.
    - Records of different tasks of one family are pooled; should two tasks hold the same doc
      (:func:`doc_identity`), the record of the later task is kept. Within one task every line
      is its own doc and is always kept.
    Both cases are logged. Records keep the plane they were asked on, so in-distribution and
    plane-OOD docs stay apart by their ``plane`` field, whichever task held them.

    Returns:
        ``{System: {family: [record, ...]}}`` ordered by system, families in the order
        detection, tl, ad.
    """
    latest: dict[tuple[System, str], tuple[Run, TaskRun]] = {}
    for run in sorted(runs, key=lambda r: r.date):
        for task in run.tasks.values():
            key = (System(run.model, task.cot), task.task)
            if key in latest:
                logger.warning(
                    "MedVision: %s: task %s was read from two runs; using %s (later) over %s",
                    key[0].name,
                    task.task,
                    run.results_path,
                    latest[key][0].results_path,
                )
            latest[key] = (run, task)
    pooled: dict[System, dict[str, list[DocRecord]]] = {}
    for system in sorted({system for system, _ in latest}):
        dated = sorted(((run.date, name), task) for (s, name), (run, task) in latest.items() if s == system)
        tasks = [task for _, task in dated]
        families: dict[str, list[DocRecord]] = {}
        for family in sorted({t.family for t in tasks}, key=FAMILY_NAMES.index):
            kept: list[DocRecord] = []
            seen_later: set[tuple[str, str]] = set()
            for task in reversed([t for t in tasks if t.family == family]):
                identities = [doc_identity(r) for r in task.records]
                overlap = seen_later.intersection(identities)
                if overlap:
                    logger.warning(
                        "MedVision: %s: %d docs of %s are also in a later task; keeping the later records",
                        system.name,
                        len(overlap),
                        task.task,
                    )
                kept = [r for r, i in zip(task.records, identities) if i not in seen_later] + kept
                seen_later.update(identities)
            families[family] = kept
        pooled[system] = families
    return pooled
