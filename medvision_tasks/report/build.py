"""Computing every table of the report from the runs (numbers only; no formatting).

Tables (keys are file stems); the paper's aggregation rules are :mod:`.paper`:

- ``table2_detection``: detection on axial slices, anatomy vs tumor/lesion, each side the
  sample-weighted mean of per-region numbers (regions pooled across datasets, miscellaneous/
  others and regions under 50 docs left out).
- ``table3_tumor_lesion_size``: T/L on axial slices, the sample-weighted mean of per-label-group
  numbers (groups with no parsed answer left out of every metric).
- ``table4_angle_distance``: A/D per sub-task, the sample-weighted mean of per-measurement
  numbers (every plane; targets below 0.1 skipped).
- ``per_label_<family>``: every group of the paper's grouping x system, with upstream's further
  thresholds (IoU and F1 >= 0.5 ... 0.9; MRE < 0.1 ... 1.0).
- ``per_upstream_task_<family>``: every public upstream task config x system (records built by
  ``prepare --public`` carry it); shown with the per-label tables.
- ``planes_<family>``: axial (in-distribution) beside coronal/sagittal (plane OOD), pooled over
  docs (not a table of the paper).
- ``box_size``: detection (axial) in upstream's box/image bins, with upstream's random-box
  baseline on the same docs.
- ``consistency``: per run and task, the report's recomputation next to lmms-eval's number.
- ``variants_<family>`` and ``error_split``: the full task beside its coordinate-only and no-image
  variants, and each model's error split into localisation and arithmetic (:mod:`.diagnosis`).

Every table but the last two holds the full tasks only (plain and CoT with the image shown, the
paper's questions); the controls are compared with them in :mod:`.diagnosis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from medvision_tasks.families import (
    ANGLE_DISTANCE,
    BOX_METRICS,
    DETECTION,
    FAMILIES,
    MEASUREMENT_METRICS,
    TUMOR_LESION,
)
from medvision_tasks.ledger import UNKNOWN_POLICY
from medvision_tasks.metrics import aggregate
from medvision_tasks.planes import IN_DISTRIBUTION_PLANE, PLANES
from medvision_tasks.record import DocRecord
from medvision_tasks.report.bootstrap import bootstrap_intervals
from medvision_tasks.report.diagnosis import error_split_table, variants_table
from medvision_tasks.report.grouping import LabelGroup, System, collect_systems, doc_identity, group_by, label_group
from medvision_tasks.report.paper import (
    DETECTION_THRESHOLD_METRICS,
    MEASUREMENT_THRESHOLD_METRICS,
    PAPER_SUBTASKS,
    RANDOM_BOX_DRAWS,
    TABLE2_SIDES,
    PaperGroup,
    SubTask,
    box_size_bin,
    box_size_label,
    detection_group,
    group_of,
    group_value,
    measurement_group,
    near_zero_target,
    random_baseline_record,
    subtask_of,
    table2_exclusion,
    table2_side,
    tl_group,
    weighted_mean,
)
from medvision_tasks.report.reference import CITATION, PublishedValue, load_published
from medvision_tasks.report.runs import Run
from medvision_tasks.report.tables import (
    MISSING,
    SOURCE_BASELINE,
    SOURCE_PAPER,
    Cell,
    Column,
    Row,
    Table,
    assign_ranks,
    mark_doc_sets,
)
from medvision_tasks.report.upstream_labels import MINIMUM_GROUP_SIZE, NEAR_ZERO_TARGET
from medvision_tasks.spacing import DEFAULT_POLICY

RANDOM_BOX_NAME = "random boxes (the benchmark's random model)"
PER_LABEL_METRICS = {
    DETECTION: ("recall", "precision", "f1", "iou", "sr", *DETECTION_THRESHOLD_METRICS),
    TUMOR_LESION: ("mae", "mre", "sr", *MEASUREMENT_THRESHOLD_METRICS),
    ANGLE_DISTANCE: ("mae", "mre", "sr", *MEASUREMENT_THRESHOLD_METRICS),
}
"""Columns of the per-label tables: the family's numbers and upstream's further thresholds."""


@dataclass
class ReportOptions:
    """Choices that change the numbers.

    Attributes:
        seed: seed of the bootstrap and of the random-box baseline (non-negative).
        n_bootstrap: bootstrap resamples per headline number; 0 skips the intervals.
        min_group_docs: Table 2 averages regions of at least this many docs (the paper: 50).
        paper: add the paper's published rows to Tables 2-4.
        random_draws: random boxes drawn per doc for the box-size baseline (the paper: 100).
    """

    seed: int = 0
    n_bootstrap: int = 1000
    min_group_docs: int = MINIMUM_GROUP_SIZE
    paper: bool = False
    random_draws: int = RANDOM_BOX_DRAWS


@dataclass
class Report:
    """Everything the writers need: the inputs, the systems and the computed tables."""

    runs: list[Run]
    systems: dict[System, dict[str, list[DocRecord]]]
    options: ReportOptions
    headline: list[Table] = field(default_factory=list)
    per_label: list[Table] = field(default_factory=list)
    planes: list[Table] = field(default_factory=list)
    box_size: Table | None = None
    diagnosis: list[Table] = field(default_factory=list)
    consistency: Table | None = None

    @property
    def full_systems(self) -> dict[System, dict[str, list[DocRecord]]]:
        """The systems that ran the full tasks (plain or CoT, the image shown): the paper's rows."""
        return {system: families for system, families in self.systems.items() if system.is_full_task}

    @property
    def tables(self) -> list[Table]:
        """All tables in report order."""
        box = [self.box_size] if self.box_size is not None else []
        check = [self.consistency] if self.consistency is not None else []
        return [*self.headline, *self.per_label, *self.planes, *box, *self.diagnosis, *check]


def _plane_rank(plane: str) -> int:
    """Axial, coronal, sagittal, then anything else."""
    return PLANES.index(plane) if plane in PLANES else len(PLANES)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _ci_caption(options: ReportOptions, how: str) -> str:
    if options.n_bootstrap <= 0:
        return "No confidence intervals (--bootstrap 0)."
    return (
        f"In parentheses: 95 % percentile bootstrap interval ({options.n_bootstrap} resamples, seed "
        f"{options.seed}, {how})."
    )


def _cells(
    strata: Sequence[Sequence[DocRecord]],
    metrics: Sequence[str],
    options: ReportOptions,
    key: str,
    *,
    keep_if_defined: str | None = None,
) -> dict[str, Cell]:
    """Cells of one subset: the sample-weighted mean over groups (:func:`.paper.weighted_mean`), with intervals."""
    n_docs = sum(len(s) for s in strata)
    intervals = (
        bootstrap_intervals(
            strata,
            metrics,
            n_resamples=options.n_bootstrap,
            seed=options.seed,
            key=key,
            keep_if_defined=keep_if_defined,
        )
        if options.n_bootstrap > 0
        else {}
    )
    return {
        metric: Cell(
            value=weighted_mean(strata, metric, keep_if_defined=keep_if_defined),
            ci=intervals.get(metric),
            n_docs=n_docs,
        )
        for metric in metrics
    }


NOTE_ITEMS = 12
"""A note lists at most this many groups, then says how many more there are and where to find them."""


def _listed(items: Sequence[str], where: str, separator: str = ", ") -> str:
    """``a, b, c`` of the first :data:`NOTE_ITEMS` items, then ``and N more (<where>)``."""
    shown = separator.join(items[:NOTE_ITEMS])
    hidden = len(items) - NOTE_ITEMS
    return shown if hidden <= 0 else f"{shown}{separator}and {hidden:,} more ({where})"


def _not_in_map_note(groups: Mapping[PaperGroup, Sequence[DocRecord]], where: str) -> list[str]:
    unmapped = [f"{g.name} ({_count(len(rs), 'doc')})" for g, rs in sorted(groups.items()) if not g.in_upstream_map]
    if not unmapped:
        return []
    listed = _listed(unmapped, "marked * in the per-group table")
    return [f"Labels not in upstream's label maps (upstream stops on them), {where}: {listed}."]


def _published_rows(table: Table, published: Sequence[PublishedValue]) -> list[Row]:
    rows: dict[str, Row] = {}
    keys = {column.key for column in table.columns}
    for value in published:
        if value.table != table.key or (value.subset, value.metric) not in keys:
            continue
        row = rows.setdefault(value.model, Row(labels={"model": value.model, "docs": MISSING}, source=SOURCE_PAPER))
        row.cells[(value.subset, value.metric)] = Cell(value=value.value)
    return list(rows.values())


def _headline_table(key: str, title: str, caption: str, columns: list[Column]) -> Table:
    """A headline table (paper Tables 2-4): one ranked row per model, with the docs behind it."""
    return Table(key=key, title=title, caption=caption, label_columns=["model", "docs"], columns=columns, ranked=True)


def _system_row(system: System, records: Sequence[DocRecord]) -> Row:
    """A row of one system whose numbers are made of ``records``: its label, doc count and doc set.

    Rows are ranked together only when the docs behind their numbers are the same (:func:`.tables.assign_ranks`).
    """
    return Row(
        labels={"model": system.name, "docs": f"{len(records):,}"},
        doc_set=frozenset(doc_identity(r) for r in records) or None,
    )


def _ranked(table: Table, options: ReportOptions, published: Sequence[PublishedValue]) -> Table:
    """The table with the paper's published rows when asked (``--paper``), doc sets lettered, best three marked."""
    if options.paper:
        table.rows += _published_rows(table, published)
    mark_doc_sets(table)
    assign_ranks(table)
    return table


def _records(families: Mapping[str, list[DocRecord]], family: str, plane: str | None = None) -> list[DocRecord]:
    records = families.get(family, [])
    return [r for r in records if plane is None or r.plane == plane]


def table2_detection(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 2: detection, anatomy vs tumor/lesion, axial slices, as the paper aggregates it (:mod:`.paper`)."""
    minimum = options.min_group_docs
    columns = [Column(side, label, metric) for side, label in TABLE2_SIDES for metric in BOX_METRICS]
    table = _headline_table(
        "table2_detection",
        "Table 2: Detection (%), anatomy vs tumor/lesion",
        (
            "Axial (in-distribution) slices. R recall, P precision, F1 (Dice), IoU, SR success rate, IoU>0.5 share "
            "of docs with IoU >= 0.5; a parse failure counts 0. Docs are pooled across datasets into the benchmark's "
            "regions (upstream's label_map_regroup, e.g. 'Liver @ CT (A)'); regions named miscellaneous/others and "
            f"regions under {minimum} docs are left out; a region is tumor/lesion when its name says tumor, lesion "
            "or metastatic. Each side is the mean of its regions' numbers weighted by their docs. "
            + _ci_caption(options, "docs resampled within each region")
        ),
        columns,
    )
    left_out: dict[PaperGroup, tuple[str, int]] = {}
    empty: dict[str, list[str]] = {side: [] for side, _ in TABLE2_SIDES}
    shapes: dict[str, set[tuple[int, int]]] = {side: set() for side, _ in TABLE2_SIDES}
    for system, families in systems.items():
        records = _records(families, DETECTION, IN_DISTRIBUTION_PLANE)
        if not records:
            continue
        groups = group_by(records, detection_group)
        cells: dict[tuple[str, str], Cell] = {}
        behind: list[DocRecord] = []
        for side, _ in TABLE2_SIDES:
            included = []
            for group, group_records in groups.items():
                if table2_side(group) != side:
                    continue
                reason = table2_exclusion(group, len(group_records), minimum)
                if reason is None:
                    included.append(group_records)
                else:
                    previous = left_out.get(group, ("", 0))[1]
                    left_out[group] = (reason, max(previous, len(group_records)))
            if not included:
                empty[side].append(system.name)
                continue
            shapes[side].add((len(included), sum(len(g) for g in included)))
            behind += [r for group_records in included for r in group_records]
            for metric, cell in _cells(included, BOX_METRICS, options, f"table2/{system.name}/{side}").items():
                cells[(side, metric)] = cell
        row = _system_row(system, behind)
        row.cells = cells
        table.rows.append(row)
    averaged = []
    for side, label in TABLE2_SIDES:
        if len(shapes[side]) == 1:
            n_groups, n_docs = next(iter(shapes[side]))
            note = f"{_count(n_groups, 'region')}, {_count(n_docs, 'doc')}"
            table.columns = [replace(c, subset_note=note) if c.subset == side else c for c in table.columns]
            averaged.append(f"{label}: {note}")
    if averaged:
        table.notes.append("Averaged over " + "; ".join(averaged) + ".")
    with_records = [s for s, f in systems.items() if _records(f, DETECTION, IN_DISTRIBUTION_PLANE)]
    for side, label in TABLE2_SIDES:
        if empty[side]:
            who = "any model" if len(empty[side]) == len(with_records) > 1 else ", ".join(empty[side])
            table.notes.append(
                f"{label}: no region left for {who} (every {label.lower()} region of its axial docs is left out, or "
                "it has none), so the cells are empty; the paper's rule has no fallback (--min-group-docs 0 shows "
                "every region, as a number that is not the paper's)."
            )
    if left_out:
        items = [f"{group.name} ({_count(n, 'doc')}: {reason})" for group, (reason, n) in sorted(left_out.items())]
        listed = _listed(items, "the Table 2 column of the per-group detection table", "; ")
        table.notes.append(f"Left out of Table 2: {listed}.")
    if minimum != MINIMUM_GROUP_SIZE:
        table.notes.append(
            f"--min-group-docs {minimum}: regions of at least {minimum} docs are averaged; the paper uses "
            f"{MINIMUM_GROUP_SIZE}, so these numbers are not the paper's aggregation."
        )
    return _ranked(table, options, published)


def table3_tumor_lesion(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 3: T/L size on axial slices, the weighted mean of per-label-group numbers (:mod:`.paper`)."""
    table = _headline_table(
        "table3_tumor_lesion_size",
        "Table 3: Tumor/lesion size",
        (
            "Axial (in-distribution) slices, major and minor axis. Per label group (upstream's label_map_rename, "
            "e.g. 'liver tumor @ CT (A)'): MAE in mm and MRE in % over the group's parsed docs (each the mean of "
            "the two axes' errors), SR and MRE<0.1 over all its docs; each number is the mean over groups weighted "
            "by their docs, leaving out groups without a parsed answer. "
            + _ci_caption(options, "docs resampled within each group")
        ),
        [Column("all", "", metric) for metric in MEASUREMENT_METRICS],
    )
    unanswered: dict[str, list[str]] = {}
    seen: dict[PaperGroup, list[DocRecord]] = {}
    for system, families in systems.items():
        records = _records(families, TUMOR_LESION, IN_DISTRIBUTION_PLANE)
        if not records:
            continue
        groups = group_by(records, tl_group)
        seen.update(groups)
        kept = [rs for rs in groups.values() if any(r.parsed for r in rs)]
        silent = [f"{g.name} ({_count(len(rs), 'doc')})" for g, rs in groups.items() if not any(r.parsed for r in rs)]
        if silent:
            every = f"every group ({_count(len(groups), 'group')}, {_count(len(records), 'doc')})"
            unanswered[system.name] = silent if kept else [every]
        row = _system_row(system, [r for group_records in kept for r in group_records])
        if kept:
            cells = _cells(kept, MEASUREMENT_METRICS, options, f"table3/{system.name}/all", keep_if_defined="mre")
            row.cells = {("all", metric): cell for metric, cell in cells.items()}
        table.rows.append(row)
    for name, groups_left_out in unanswered.items():
        listed = _listed(groups_left_out, "the per-group T/L table")
        table.notes.append(f"Left out of {name}'s numbers, SR included (no parsed answer, as upstream): {listed}.")
    table.notes.extend(_not_in_map_note(seen, "grouped under their own name"))
    return _ranked(table, options, published)


def table4_angle_distance(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 4: A/D per sub-task, the weighted mean of per-measurement numbers, every plane (:mod:`.paper`)."""
    seen: set[SubTask] = set()
    per_system: dict[System, dict[SubTask, dict[PaperGroup, list[DocRecord]]]] = {}
    counted: dict[System, list[DocRecord]] = {}
    skipped: dict[str, int] = {}
    for system, families in systems.items():
        records = _records(families, ANGLE_DISTANCE)
        if not records:
            continue
        near_zero = sum(near_zero_target(r) for r in records)
        if near_zero:
            skipped[system.name] = near_zero
        kept = [r for r in records if not near_zero_target(r)]
        counted[system] = kept
        per_system[system] = {
            subtask: group_by(subtask_records, measurement_group)
            for subtask, subtask_records in group_by(kept, subtask_of).items()
        }
        seen |= set(per_system[system])
    subtasks = [s for s in PAPER_SUBTASKS if s in seen or options.paper] + sorted(seen - set(PAPER_SUBTASKS))
    table = _headline_table(
        "table4_angle_distance",
        "Table 4: Angle/distance per sub-task",
        (
            "Every plane. Per measurement (upstream's group '<dataset>_<type>_<metric key>', planes pooled): MAE in "
            "mm (distance) or degrees (angle) and MRE in % over its parsed docs, SR and MRE<0.1 in % over all its "
            "docs; each number is the mean over the sub-task's measurements weighted by their docs (a measurement "
            f"without a parsed answer has no MAE or MRE). Docs whose target is below {NEAR_ZERO_TARGET:g} are "
            "skipped, as the published summarizer does. "
            + _ci_caption(options, "docs resampled within each measurement")
        ),
        [
            Column(s.slug, s.display if s in PAPER_SUBTASKS else f"{s.display} (not in the paper)", metric)
            for s in subtasks
            for metric in MEASUREMENT_METRICS
        ],
    )
    for system, by_subtask in per_system.items():
        row = _system_row(system, counted[system])
        for subtask, groups in by_subtask.items():
            cells = _cells(list(groups.values()), MEASUREMENT_METRICS, options, f"table4/{system.name}/{subtask.slug}")
            for metric, cell in cells.items():
                row.cells[(subtask.slug, metric)] = cell
        table.rows.append(row)
    for index, column in enumerate(table.columns):
        shapes = {
            (len(groups), sum(len(g) for g in groups.values()))
            for by_subtask in per_system.values()
            for subtask, groups in by_subtask.items()
            if subtask.slug == column.subset
        }
        if len(shapes) == 1:
            n_groups, n_docs = shapes.pop()
            table.columns[index] = replace(
                column, subset_note=f"{_count(n_groups, 'measurement')}, {_count(n_docs, 'doc')}"
            )
    if skipped:
        listed = ", ".join(f"{name} ({_count(n, 'doc')})" for name, n in sorted(skipped.items()))
        table.notes.append(f"Skipped for a target below {NEAR_ZERO_TARGET:g}: {listed}.")
    return _ranked(table, options, published)


def _per_label_records(families: Mapping[str, list[DocRecord]], family: str) -> list[DocRecord]:
    """A system's records of one family as the per-label summaries count them (A/D: near-zero targets skipped)."""
    records = _records(families, family)
    return [r for r in records if not near_zero_target(r)] if family == ANGLE_DISTANCE else records


def _table2_status(group: PaperGroup, records: Sequence[DocRecord], min_docs: int) -> str:
    """Where a detection group stands in Table 2: its side, or why it is left out."""
    if records[0].plane != IN_DISTRIBUTION_PLANE:
        return f"no: {records[0].plane}"
    reason = table2_exclusion(group, len(records), min_docs)
    if reason is not None:
        return f"no: {reason}"
    return dict(TABLE2_SIDES)[table2_side(group)].lower()


def per_label_table(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str, options: ReportOptions
) -> Table | None:
    """Every group of the paper's grouping (all planes) x system of one family; None when no system ran it."""
    metrics = PER_LABEL_METRICS[family]
    by_group: dict[PaperGroup, list[tuple[System, list[DocRecord]]]] = {}
    for system, families in systems.items():
        for group, records in group_by(_per_label_records(families, family), group_of).items():
            by_group.setdefault(group, []).append((system, records))
    if not by_group:
        return None
    units = "MAE in mm (degrees for angles), the rest in %" if family != DETECTION else "all in %"
    grouping = {
        DETECTION: "region @ modality (plane) of upstream's label_map_regroup, pooled across datasets",
        TUMOR_LESION: "label @ modality (plane) of upstream's label_map_rename, pooled across datasets",
        ANGLE_DISTANCE: f"measurement, planes pooled; targets below {NEAR_ZERO_TARGET:g} skipped",
    }[family]
    thresholds = (
        "IoU>k and F1>k: share of all docs with a value >= k"
        if family == DETECTION
        else "MRE<k: share of all docs whose MRE bucket min(int(10 MRE), 9) is below 10 k, so MRE<1.0 equals SR"
    )
    table = Table(
        key=f"per_label_{family}",
        title=f"{FAMILIES[family].title} per group",
        caption=(
            f"One row per group ({grouping}) and model, with upstream's further thresholds ({thresholds}); {units}."
        ),
        label_columns=["group", "datasets", "model", "docs", *(["Table 2"] if family == DETECTION else [])],
        columns=[Column("all", "", metric) for metric in metrics],
    )
    # Detection and T/L groups are per plane (axial first); an A/D measurement pools its planes.
    per_plane = family != ANGLE_DISTANCE
    ordered = sorted(by_group.items(), key=lambda kv: (_plane_rank(kv[1][0][1][0].plane) if per_plane else 0, kv[0]))
    for group, entries in ordered:
        for system, records in entries:
            labels = {
                "group": group.name + ("" if group.in_upstream_map else " *"),
                "datasets": ", ".join(sorted({r.dataset for r in records})),
                "model": system.name,
                "docs": str(len(records)),
            }
            if family == DETECTION:
                labels["Table 2"] = _table2_status(group, records, options.min_group_docs)
            table.rows.append(
                Row(
                    labels=labels,
                    cells={("all", m): Cell(group_value(records, m), n_docs=len(records)) for m in metrics},
                )
            )
    if any(not group.in_upstream_map for group in by_group):
        table.notes.append("* not in upstream's label maps (upstream stops on such a label): grouped by its own name.")
    return table


def per_upstream_task_table(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str) -> Table | None:
    """One row per public upstream task config x system of one family; None when no record names one."""
    metrics = FAMILIES[family].metrics
    table = Table(
        key=f"per_upstream_task_{family}",
        title=f"{FAMILIES[family].title} per upstream task",
        caption="One row per public MedVision task config the docs were built for (prepare --public) and model.",
        label_columns=["upstream task", "model", "docs"],
        columns=[Column("all", "", metric) for metric in metrics],
    )
    for system, families in systems.items():
        tagged = [r for r in _records(families, family) if r.upstream_task]
        for task, records in group_by(tagged, lambda r: r.upstream_task).items():
            labels = {"upstream task": task, "model": system.name, "docs": str(len(records))}
            cells = {("all", m): Cell(aggregate(records, m), n_docs=len(records)) for m in metrics}
            table.rows.append(Row(labels=labels, cells=cells))
    table.rows.sort(key=lambda row: (row.labels["upstream task"], row.labels["model"]))
    return table if table.rows else None


def planes_table(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str, options: ReportOptions
) -> Table | None:
    """In-distribution (axial) beside plane-OOD (coronal, sagittal) for systems run on 2+ planes."""
    metrics = FAMILIES[family].metrics
    compared: dict[System, tuple[list[str], dict[str, list[DocRecord]], int]] = {}
    for system, families in systems.items():
        records = _records(families, family)
        by_plane = group_by(records, lambda r: r.plane)
        if len(by_plane) < 2:
            continue

        # Compare like with like: only the label groups asked on every plane this system ran.
        def unplaned(record: DocRecord) -> LabelGroup:
            group = label_group(record)
            return LabelGroup(
                group.dataset, group.label_name, group.modality, "", group.task_id, group.label, group.metric_type
            )

        common = set.intersection(*({unplaned(r) for r in rs} for rs in by_plane.values()))
        kept = {plane: [r for r in rs if unplaned(r) in common] for plane, rs in by_plane.items()}
        kept = {plane: rs for plane, rs in kept.items() if rs}
        if len(kept) >= 2:
            planes = sorted(kept, key=_plane_rank)
            compared[system] = (planes, kept, len(common))
    if not compared:
        return None
    all_planes = sorted(
        {p for planes, _, _ in compared.values() for p in planes},
        key=_plane_rank,
    )

    def plane_label(plane: str) -> str:
        return f"{plane} (in-distribution)" if plane == IN_DISTRIBUTION_PLANE else f"{plane} (OOD)"

    table = Table(
        key=f"planes_{family}",
        title=f"{FAMILIES[family].title}: in-distribution vs plane OOD",
        caption=(
            "Pooled over docs, as lmms-eval's task numbers (a view of this report, not a table of the paper). "
            "Axial slices are in-distribution; coronal and sagittal are the plane out-of-distribution test. For each "
            "model only the label groups it was asked on every plane it ran enter the comparison. "
            + _ci_caption(options, "docs resampled")
        ),
        label_columns=["model", "label groups", "docs"],
        columns=[Column(plane, plane_label(plane), metric) for plane in all_planes for metric in metrics],
        ranked=True,
    )
    for system, (planes, kept, n_common) in compared.items():
        docs = [r for plane in planes for r in kept[plane]]
        row = _system_row(system, docs)
        row.labels["label groups"] = str(n_common)
        for plane in planes:
            cells = _cells([kept[plane]], metrics, options, f"planes_{family}/{system.name}/{plane}")
            for metric, cell in cells.items():
                row.cells[(plane, metric)] = cell
        table.rows.append(row)
    mark_doc_sets(table)
    assign_ranks(table)
    return table


def box_size_table(systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions) -> Table | None:
    """Detection (axial) in upstream's box/image bins, with upstream's random-box baseline (:mod:`.paper`)."""
    per_system = {s: _records(f, DETECTION, IN_DISTRIBUTION_PLANE) for s, f in systems.items()}
    per_system = {s: rs for s, rs in per_system.items() if rs}
    if not per_system:
        return None
    table = Table(
        key="box_size",
        title="Detection by box size",
        caption=(
            "Axial slices binned by target box area / image area (the box's inclusive pixel counts over the "
            "slice's pixels), in the benchmark's bins: under 5 %, 5 % steps, 90 % and over. The baseline is the "
            f"benchmark's random model on the same docs: per doc {options.random_draws} random boxes (width uniform "
            "in 1..W, then left edge uniform in 0..W-w; rows likewise), R, P, F1 and IoU averaged per doc, then "
            "over the bin's docs; IoU>0.5 counts docs whose averaged IoU is >= 0.5. Drawn with seed "
            f"{options.seed} (the benchmark's draws were unseeded). All in %."
        ),
        label_columns=["box area", "model", "docs"],
        columns=[Column("all", "", metric) for metric in BOX_METRICS],
    )
    union: dict[tuple[str, str], DocRecord] = {}
    bins: dict[int, dict[System, list[DocRecord]]] = {}
    for system, records in per_system.items():
        for record in records:
            union.setdefault(doc_identity(record), record)
            bins.setdefault(box_size_bin(record.box_area_fraction), {}).setdefault(system, []).append(record)
    baseline = [random_baseline_record(r, options.seed, options.random_draws) for r in union.values()]
    baseline_bins = group_by(baseline, lambda r: box_size_bin(r.box_area_fraction))
    for index in sorted(bins):
        label = box_size_label(index)
        for system, records in bins[index].items():
            table.rows.append(
                Row(
                    labels={"box area": label, "model": system.name, "docs": str(len(records))},
                    cells={("all", m): Cell(aggregate(records, m), n_docs=len(records)) for m in BOX_METRICS},
                )
            )
        docs = baseline_bins[index]
        table.rows.append(
            Row(
                labels={"box area": label, "model": RANDOM_BOX_NAME, "docs": str(len(docs))},
                cells={("all", m): Cell(aggregate(docs, m), n_docs=len(docs)) for m in BOX_METRICS},
                source=SOURCE_BASELINE,
            )
        )
    return table


def consistency_table(runs: Sequence[Run]) -> Table:
    """Per run, task and metric: ``aggregate`` of the task's records beside lmms-eval's number."""
    table = Table(
        key="consistency",
        title="Check: report vs lmms-eval, per task",
        caption=(
            "Each task's numbers recomputed from its samples file with medvision_tasks.metrics.aggregate, beside the "
            "numbers lmms-eval wrote in its results JSON. They agree by construction; a difference means the samples "
            "and results files do not belong together."
        ),
        label_columns=["model", "task", "task metric", "docs"],
        columns=[
            Column("report", "report", "value", decimals=4),
            Column("lmms-eval", "lmms-eval", "value", decimals=4),
            Column("difference", "|difference|", "value", decimals=6),
        ],
    )
    worst = 0.0
    for run in runs:
        for task in run.tasks.values():
            for metric in FAMILIES[task.family].metrics:
                ours = aggregate(task.records, metric)
                theirs = task.reported.get(metric, float("nan"))
                diff = abs(ours - theirs) if not (math.isnan(ours) or math.isnan(theirs)) else float("nan")
                if math.isnan(ours) != math.isnan(theirs):
                    diff = float("inf")
                if not math.isnan(diff):
                    worst = max(worst, diff)
                table.rows.append(
                    Row(
                        labels={
                            "model": run.label,
                            "task": task.task,
                            "task metric": metric,
                            "docs": str(len(task.records)),
                        },
                        cells={
                            ("report", "value"): Cell(ours, n_docs=len(task.records)),
                            ("lmms-eval", "value"): Cell(theirs),
                            ("difference", "value"): Cell(diff),
                        },
                    )
                )
    table.notes.append(f"Largest |difference|: {worst:.3g}.")
    return table


def _systems_under_policy(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str, policy: str) -> str:
    """Names of the systems with a record of ``family`` made under ``policy``, comma separated."""
    names = {
        system.name
        for system, families in systems.items()
        if any(record.image_policy == policy for record in families.get(family, []))
    }
    return ", ".join(sorted(names))


def stated_geometry_notes(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str) -> list[str]:
    """Warnings naming the models whose measurement prompts stated sizes nobody can vouch for.

    - Under the default policy (no policy for the ``--model`` name), prompts state the slice's
      native size, which is wrong if the model's processor resized the image.
    - Under the ``unknown`` policy, nothing recorded what the prompt stated (the prompt was built
      by other code or in another process; :mod:`medvision_tasks.ledger`).
    """
    notes = []
    unmapped = _systems_under_policy(systems, family, DEFAULT_POLICY)
    if unmapped:
        notes.append(
            f"Unverified spacing: {unmapped} ran under the default image policy `{DEFAULT_POLICY}` (no policy for "
            "its --model name): its prompts stated the native slice size and pixel size, which are wrong if its "
            "processor resized the image. Name the policy with MEDVISION_IMAGE_POLICY (docs/models.md)."
        )
    unknown = _systems_under_policy(systems, family, UNKNOWN_POLICY)
    if unknown:
        notes.append(
            f"Unknown stated geometry: records of {unknown} carry no entry of what their prompts stated (image policy "
            f"`{UNKNOWN_POLICY}`, no stated sizes): the prompts were not built by this package's hooks in the process "
            "that scored the answers, so whether their millimetres match the image shown cannot be checked."
        )
    return notes


RUN_COLUMNS = ("run", "--model", "checkpoint", "protocol", "date", "tasks (docs)", "upstream tasks", "results file")


def runs_overview(runs: Sequence[Run]) -> list[list[str]]:
    """One row of :data:`RUN_COLUMNS` per run: what it ran, with what, and from which file."""
    rows = []
    for run in runs:
        tasks = ", ".join(f"{name} ({len(task.records):,})" for name, task in run.tasks.items())
        upstream = sorted({name for task in run.tasks.values() for name in task.upstream_tasks})
        rows.append(
            [
                run.label,
                run.model_id,
                run.checkpoint,
                run.protocols or "not recorded",
                run.date,
                tasks,
                ", ".join(upstream) if upstream else MISSING,
                str(run.results_path),
            ]
        )
    return rows


def versions_overview(runs: Sequence[Run]) -> tuple[list[str], list[list[str]], set[str]]:
    """Per run the versions of the packages that change scores.

    Returns:
        The packages (columns after ``run`` and ``date``), one row per run, and the packages whose
        version differs between runs.
    """
    found = [run.package_versions for run in runs]
    packages = sorted({package for versions in found for package in versions})
    rows = [[run.label, run.date, *(versions.get(p, MISSING) for p in packages)] for run, versions in zip(runs, found)]
    differing = {p for p in packages if len({versions.get(p, MISSING) for versions in found}) > 1}
    return packages, rows, differing


def build_report(runs: Sequence[Run], options: ReportOptions | None = None) -> Report:
    """All tables of the report for the given runs.

    Args:
        runs: from :func:`.runs.read_runs`.
        options: see :class:`ReportOptions`.

    Raises:
        ValueError: an invalid option.
    """
    options = options or ReportOptions()
    if options.seed < 0:
        raise ValueError(f"seed must be >= 0, got {options.seed}")
    if options.n_bootstrap < 0 or options.random_draws < 1 or options.min_group_docs < 0:
        raise ValueError(f"invalid report options: {options}")
    report = Report(runs=list(runs), systems=collect_systems(runs), options=options)
    systems = report.full_systems
    published = load_published() if options.paper else []
    report.headline = [
        table2_detection(systems, options, published),
        table3_tumor_lesion(systems, options, published),
        table4_angle_distance(systems, options, published),
    ]
    if options.paper:
        for table in report.headline:
            table.notes.append(
                f"Paper rows: numbers of the paper ({CITATION}) on its full test split, ranked among themselves."
            )
    for table, family in zip(report.headline[1:], (TUMOR_LESION, ANGLE_DISTANCE)):
        table.notes.extend(stated_geometry_notes(systems, family))
    report.per_label = [t for t in (per_label_table(systems, f, options) for f in FAMILIES) if t is not None]
    report.per_label += [t for t in (per_upstream_task_table(systems, f) for f in FAMILIES) if t is not None]
    report.planes = [t for t in (planes_table(systems, f, options) for f in FAMILIES) if t is not None]
    report.box_size = box_size_table(systems, options)
    report.diagnosis = [t for t in (variants_table(report.systems, f) for f in FAMILIES) if t is not None]
    split = error_split_table(report.systems)
    if split is not None:
        report.diagnosis.append(split)
    report.consistency = consistency_table(runs)
    return report
