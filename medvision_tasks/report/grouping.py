"""Who is compared (systems) and which docs are one doc.

- A *system* is one leaderboard row: what tells runs apart for a reader, the checkpoint, the
  ``--model`` wrapper, model arguments that differ between runs of both (:mod:`.runs`), the
  scoring protocol its records name, and the task variant (plain, CoT, coordinates only, no
  image: :mod:`medvision_tasks.variants`). Its records of one family
  are pooled over every task and run that holds them (e.g. ``medvision_detect`` and
  ``medvision_detect_coronal``), one record per ``doc_key``: a doc evaluated twice keeps the
  record of the later run.
- A *label group* of this package is one label-task of one dataset on one plane: ``(dataset,
  task_id, label, label_name, modality, plane, metric_type)``; the plane tables compare a
  system's planes over the label groups it was asked on every plane. The paper's own grouping
  (regions pooled across datasets) is :mod:`.paper`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from medvision_tasks.families import FAMILY_NAMES
from medvision_tasks.record import DocRecord
from medvision_tasks.report.runs import Run, TaskRun
from medvision_tasks.variants import PLAIN, VARIANT_NAMES, VARIANTS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class System:
    """One leaderboard row.

    Attributes:
        checkpoint: the checkpoint (:func:`.runs.checkpoint_of`), else the wrapper name.
        wrapper: the ``--model`` name.
        variant: model arguments that tell runs of this checkpoint and wrapper apart, or "".
        protocol: the scoring protocol the records name, "" when they name none.
        task_variant: how the questions were asked (a name of :data:`medvision_tasks.variants.VARIANTS`).
    """

    checkpoint: str
    wrapper: str
    variant: str = ""
    protocol: str = ""
    task_variant: str = PLAIN.name

    def __lt__(self, other: System) -> bool:
        """Ordered by checkpoint, wrapper, model arguments, protocol, then task variant in table order (plain first)."""
        return self._order() < other._order()

    def _order(self) -> tuple:
        return (self.checkpoint, self.wrapper, self.variant, self.protocol, VARIANT_NAMES.index(self.task_variant))

    @property
    def cot(self) -> bool:
        """The chain-of-thought prompt (with or without the image)."""
        return VARIANTS[self.task_variant].cot

    @property
    def is_full_task(self) -> bool:
        """The benchmark's question with the image shown (plain or CoT): a row of the paper's tables."""
        return VARIANTS[self.task_variant].is_full_task

    @property
    def model_name(self) -> str:
        """The row label without the task variant: ``checkpoint (wrapper) [variant] · protocol``."""
        model = self.checkpoint if self.checkpoint == self.wrapper else f"{self.checkpoint} ({self.wrapper})"
        parts = [f"{model} [{self.variant}]" if self.variant else model]
        if self.protocol:
            parts.append(self.protocol)
        return " · ".join(parts)

    @property
    def name(self) -> str:
        """The row label: ``checkpoint (wrapper) [variant] · protocol · <task variant>`` (plain, CoT, ...)."""
        return f"{self.model_name} · {VARIANTS[self.task_variant].title}"

    @property
    def model(self) -> str:
        """The model a reader counts: the checkpoint."""
        return self.checkpoint


def system_of(run: Run, task: TaskRun) -> System:
    """The leaderboard row a task of a run belongs to."""
    return System(run.checkpoint, run.model_id, run.variant, task.protocol, task.variant)


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


def group_by(records: Sequence[DocRecord], key: Callable[[DocRecord], Hashable]) -> dict:
    """Records split by ``key(record)``, keys sorted, records in their original order."""
    groups: dict = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return dict(sorted(groups.items()))


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
            key = (system_of(run, task), task.task)
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
