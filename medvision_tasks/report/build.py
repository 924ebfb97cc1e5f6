"""Computing every table of the report from the runs (numbers only; no formatting).

Tables (keys are file stems):

- ``table2_detection``: detection on axial (in-distribution) slices, anatomy vs tumor/lesion,
  each a sample-weighted mean over label groups of >= ``min_group_docs`` docs (the paper's rule).
- ``table3_tumor_lesion_size``: T/L on axial slices, all docs.
- ``table4_angle_distance``: A/D per sub-task (dataset x distance/angle), every plane.
- ``per_label_<family>``: every label group (label @ modality (plane)) x system.
- ``per_upstream_task_<family>``: every public upstream task config x system (records built by
  ``prepare --public`` carry it); shown with the per-label tables.
- ``planes_<family>``: axial (in-distribution) beside coronal/sagittal (plane OOD) for systems
  run on more than one plane, over the label groups present on every plane they ran.
- ``box_size``: detection (axial) by target box area / image area, 5 % bins, with the random
  uniform-integer-box baseline (:mod:`medvision_tasks.chance`) drawn on the same docs.
- ``consistency``: per run and task, the report's recomputation next to lmms-eval's number.

Every number is :func:`medvision_tasks.metrics.aggregate` of records, or a sample-weighted
mean of such numbers over label groups (:func:`.grouping.weighted_mean_over_groups`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from medvision_tasks.chance import doc_rng, random_box
from medvision_tasks.families import ANGLE_DISTANCE, BOX_METRICS, DETECTION, FAMILIES, MEASUREMENT_METRICS, TUMOR_LESION
from medvision_tasks.ledger import UNKNOWN_POLICY
from medvision_tasks.metrics import aggregate, box_scores
from medvision_tasks.planes import IN_DISTRIBUTION_PLANE, PLANES
from medvision_tasks.record import DocRecord
from medvision_tasks.report.bootstrap import bootstrap_intervals
from medvision_tasks.report.grouping import (
    MIN_GROUP_DOCS,
    LabelGroup,
    SubTask,
    System,
    collect_systems,
    doc_identity,
    group_by,
    is_tumor_lesion,
    label_group,
    select_groups,
    sub_task,
    weighted_mean_over_groups,
)
from medvision_tasks.report.reference import CITATION, PAPER_SUBTASKS, PublishedValue, load_published
from medvision_tasks.report.runs import Run
from medvision_tasks.report.tables import (
    SOURCE_BASELINE,
    SOURCE_PUBLISHED,
    Cell,
    Column,
    Row,
    Table,
    assign_ranks,
)
from medvision_tasks.spacing import DEFAULT_POLICY

TABLE2_SUBSETS = (("anatomy", "Anatomy"), ("tumor_lesion", "Tumor/lesion"))
RANDOM_BOX_NAME = "random boxes (uniform integer)"
FALLBACK_MARK = "†"


@dataclass
class ReportOptions:
    """Choices that change the numbers.

    Attributes:
        seed: seed of the bootstrap and of the random-box baseline (non-negative).
        n_bootstrap: bootstrap resamples per headline number; 0 skips the intervals.
        min_group_docs: Table 2 uses label groups of at least this many docs (the paper: 50).
        paper: add the paper's published rows to Tables 2-4.
        random_draws: random boxes drawn per doc for the box-size baseline.
        bin_width: box-size bin width, percent of the image area.
    """

    seed: int = 0
    n_bootstrap: int = 1000
    min_group_docs: int = MIN_GROUP_DOCS
    paper: bool = False
    random_draws: int = 10
    bin_width: float = 5.0


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
    consistency: Table | None = None

    @property
    def tables(self) -> list[Table]:
        """All tables in report order."""
        extra = [t for t in (self.box_size, self.consistency) if t is not None]
        return [*self.headline, *self.per_label, *self.planes, *extra]


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
    strata: Sequence[Sequence[DocRecord]], metrics: Sequence[str], options: ReportOptions, key: str, note: str = ""
) -> dict[str, Cell]:
    """Cells of one subset: the weighted mean over strata, with bootstrap intervals."""
    n_docs = sum(len(s) for s in strata)
    intervals = (
        bootstrap_intervals(strata, metrics, n_resamples=options.n_bootstrap, seed=options.seed, key=key)
        if options.n_bootstrap > 0
        else {}
    )
    return {
        metric: Cell(
            value=weighted_mean_over_groups(strata, metric), ci=intervals.get(metric), n_docs=n_docs, note=note
        )
        for metric in metrics
    }


def _published_rows(table: Table, published: Sequence[PublishedValue]) -> list[Row]:
    rows: dict[str, Row] = {}
    keys = {column.key for column in table.columns}
    for value in published:
        if value.table != table.key or (value.subset, value.metric) not in keys:
            continue
        row = rows.setdefault(value.model, Row(labels={"model": value.model}, source=SOURCE_PUBLISHED))
        row.cells[(value.subset, value.metric)] = Cell(value=value.value)
    return list(rows.values())


def _headline_table(key: str, title: str, caption: str, columns: list[Column]) -> Table:
    """A headline table (paper Tables 2-4): one ranked row per model."""
    return Table(key=key, title=title, caption=caption, label_columns=["model"], columns=columns, ranked=True)


def _ranked(table: Table, options: ReportOptions, published: Sequence[PublishedValue]) -> Table:
    """The table with the paper's published rows when asked (``--paper``), best three marked."""
    if options.paper:
        table.rows += _published_rows(table, published)
    assign_ranks(table)
    return table


def _records(families: Mapping[str, list[DocRecord]], family: str, plane: str | None = None) -> list[DocRecord]:
    records = families.get(family, [])
    return [r for r in records if plane is None or r.plane == plane]


def table2_detection(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 2: detection, anatomy vs tumor/lesion, axial slices (see module docstring)."""
    columns = [Column(subset, label, metric) for subset, label in TABLE2_SUBSETS for metric in BOX_METRICS]
    table = _headline_table(
        "table2_detection",
        "Table 2: Detection (%), anatomy vs tumor/lesion",
        (
            f"Axial (in-distribution) slices. R recall, P precision, F1 (Dice), IoU, SR success rate, IoU>0.5 share "
            f"of docs with IoU >= 0.5; a parse failure counts 0. Each subset is the sample-weighted mean over its "
            f"label groups of at least {options.min_group_docs} docs (a label is tumor/lesion when its name says "
            f"tumor, lesion or metastatic). " + _ci_caption(options, "docs resampled within each label group")
        ),
        columns,
    )
    excluded: dict[LabelGroup, int] = {}
    fallback_used = False
    shapes: dict[str, set[tuple[int, int]]] = {subset: set() for subset, _ in TABLE2_SUBSETS}
    for system, families in systems.items():
        records = _records(families, DETECTION, IN_DISTRIBUTION_PLANE)
        if not records:
            continue
        groups = group_by(records, label_group)
        row = Row(labels={"model": system.name})
        for subset, _ in TABLE2_SUBSETS:
            wanted = subset == "tumor_lesion"
            subset_groups = {g: rs for g, rs in groups.items() if is_tumor_lesion(g.label_name) == wanted}
            if not subset_groups:
                continue
            selection = select_groups({g: len(rs) for g, rs in subset_groups.items()}, options.min_group_docs)
            for group in selection.excluded:
                excluded[group] = max(excluded.get(group, 0), len(subset_groups[group]))
            fallback_used |= selection.fallback
            strata = [subset_groups[g] for g in selection.included]
            shapes[subset].add((len(strata), sum(len(s) for s in strata)))
            cells = _cells(
                strata,
                BOX_METRICS,
                options,
                f"table2/{system.name}/{subset}",
                FALLBACK_MARK if selection.fallback else "",
            )
            for metric, cell in cells.items():
                row.cells[(subset, metric)] = cell
        table.rows.append(row)
    # "Anatomy: 18 label groups, 13,400 docs" when every system averaged over the same amount.
    averaged = []
    for subset, label in TABLE2_SUBSETS:
        if len(shapes[subset]) == 1:
            n_groups, n_docs = next(iter(shapes[subset]))
            note = f"{_count(n_groups, 'label group')}, {_count(n_docs, 'doc')}"
            table.columns = [replace(c, subset_note=note) if c.subset == subset else c for c in table.columns]
            averaged.append(f"{label}: {note}")
    if averaged:
        table.notes.append("Averaged over " + "; ".join(averaged) + ".")
    if fallback_used:
        table.notes.append(
            f"{FALLBACK_MARK} Every label group of this subset has fewer than {options.min_group_docs} docs (a small "
            "input such as the bundled sample or a --limit run): all its groups are used, weighted by their docs. "
            "Not comparable with the paper's numbers."
        )
    if excluded:
        listed = ", ".join(f"{g.display} [{g.dataset}] ({n} docs)" for g, n in sorted(excluded.items()))
        table.notes.append(f"Left out for having fewer than {options.min_group_docs} docs: {listed}.")
    return _ranked(table, options, published)


def table3_tumor_lesion(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 3: T/L size on axial slices, all docs pooled."""
    table = _headline_table(
        "table3_tumor_lesion_size",
        "Table 3: Tumor/lesion size",
        (
            "Axial (in-distribution) slices, major and minor axis. MAE in mm (mean over parsed docs of the mean "
            "absolute error of the two axes); MRE in % (same, relative); SR success rate in %; MRE<0.1 share of "
            "all docs with relative error < 0.1, in %. " + _ci_caption(options, "docs resampled")
        ),
        [Column("all", "", metric) for metric in MEASUREMENT_METRICS],
    )
    for system, families in systems.items():
        records = _records(families, TUMOR_LESION, IN_DISTRIBUTION_PLANE)
        if not records:
            continue
        cells = _cells([records], MEASUREMENT_METRICS, options, f"table3/{system.name}/all")
        table.rows.append(Row(labels={"model": system.name}, cells={("all", m): c for m, c in cells.items()}))
    return _ranked(table, options, published)


def table4_angle_distance(
    systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions, published: Sequence[PublishedValue]
) -> Table:
    """Table 4: A/D per sub-task (dataset x distance/angle), every plane."""
    seen: set[SubTask] = set()
    per_system: dict[System, dict[SubTask, list[DocRecord]]] = {}
    for system, families in systems.items():
        records = _records(families, ANGLE_DISTANCE)
        if records:
            per_system[system] = group_by(records, sub_task)
            seen |= set(per_system[system])
    subtasks = [s for s in PAPER_SUBTASKS if s in seen or options.paper] + sorted(seen - set(PAPER_SUBTASKS))
    table = _headline_table(
        "table4_angle_distance",
        "Table 4: Angle/distance per sub-task",
        "Every plane. MAE in mm (distance) or degrees (angle); MRE, SR and MRE<0.1 in %. "
        + _ci_caption(options, "docs resampled"),
        [Column(s.slug, s.display, metric) for s in subtasks for metric in MEASUREMENT_METRICS],
    )
    for system, groups in per_system.items():
        row = Row(labels={"model": system.name})
        for subtask, records in groups.items():
            cells = _cells([records], MEASUREMENT_METRICS, options, f"table4/{system.name}/{subtask.slug}")
            for metric, cell in cells.items():
                row.cells[(subtask.slug, metric)] = cell
        table.rows.append(row)
    for index, column in enumerate(table.columns):
        sizes = {len(groups[s]) for groups in per_system.values() for s in groups if s.slug == column.subset}
        if len(sizes) == 1:
            table.columns[index] = replace(column, subset_note=_count(sizes.pop(), "doc"))
    return _ranked(table, options, published)


def per_label_table(systems: Mapping[System, Mapping[str, list[DocRecord]]], family: str) -> Table | None:
    """Every label group (all planes) x system of one family; None when no system ran it."""
    metrics = FAMILIES[family].metrics
    by_group: dict[LabelGroup, list[tuple[System, list[DocRecord]]]] = {}
    for system, families in systems.items():
        for group, records in group_by(_records(families, family), label_group).items():
            by_group.setdefault(group, []).append((system, records))
    if not by_group:
        return None
    units = "MAE in mm (degrees for angles), the rest in %" if family != DETECTION else "all in %"
    table = Table(
        key=f"per_label_{family}",
        title=f"{FAMILIES[family].title} per label",
        caption=f"One row per label group (label @ modality (plane), dataset) and model; {units}.",
        label_columns=["label", "dataset", "model", "docs"],
        columns=[Column("all", "", metric) for metric in metrics],
    )
    for group, entries in sorted(by_group.items(), key=lambda kv: (_plane_rank(kv[0].plane), kv[0])):
        for system, records in entries:
            table.rows.append(
                Row(
                    labels={
                        "label": group.display,
                        "dataset": group.dataset,
                        "model": system.name,
                        "docs": str(len(records)),
                    },
                    cells={("all", m): Cell(aggregate(records, m), n_docs=len(records)) for m in metrics},
                )
            )
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
            "Axial slices are in-distribution; coronal and sagittal are the plane out-of-distribution test. For each "
            "model only the label groups it was asked on every plane it ran enter the comparison. "
            + _ci_caption(options, "docs resampled")
        ),
        label_columns=["model", "label groups"],
        columns=[Column(plane, plane_label(plane), metric) for plane in all_planes for metric in metrics],
        ranked=True,
    )
    for system, (planes, kept, n_common) in compared.items():
        row = Row(labels={"model": system.name, "label groups": str(n_common)})
        for plane in planes:
            cells = _cells([kept[plane]], metrics, options, f"planes_{family}/{system.name}/{plane}")
            for metric, cell in cells.items():
                row.cells[(plane, metric)] = cell
        table.rows.append(row)
    assign_ranks(table)
    return table


def _bin_of(fraction: float, width: float) -> int:
    """Bin index of a box area fraction (0-1) in bins of ``width`` percent; 100 % joins the last bin."""
    return min(math.floor(fraction * 100.0 / width), math.ceil(100.0 / width) - 1)


def random_box_records(records: Sequence[DocRecord], seed: int, draws: int) -> list[DocRecord]:
    """The records of ``draws`` uniform integer boxes per doc (:func:`medvision_tasks.chance.random_box`).

    Each doc's generator is :func:`medvision_tasks.chance.doc_rng` of ``(seed, doc_key)``: its first box
    is the one ``medvision_random`` with the same seed answers for the doc. Boxes are drawn on the
    slice's own grid (``slice_size``), as ``medvision_random`` draws them.

    Returns:
        One parsed record per draw: the doc's record with the random box as its prediction.
    """
    out = []
    for record in records:
        rng = doc_rng(seed, record.doc_key)
        for _ in range(draws):
            box = random_box(rng, record.slice_size)
            out.append(replace(record, parsed=True, prediction=tuple(box), **box_scores(box, record.target)))
    return out


def box_size_table(systems: Mapping[System, Mapping[str, list[DocRecord]]], options: ReportOptions) -> Table | None:
    """Detection (axial) by target box area / image area, with the random-box baseline."""
    per_system = {s: _records(f, DETECTION, IN_DISTRIBUTION_PLANE) for s, f in systems.items()}
    per_system = {s: rs for s, rs in per_system.items() if rs}
    if not per_system:
        return None
    width = options.bin_width
    table = Table(
        key="box_size",
        title="Detection by box size",
        caption=(
            f"Axial slices binned by target box area / image area ({width:g} % bins). The baseline row draws "
            f"{options.random_draws} uniform integer boxes per doc (seed {options.seed}) on the same docs: two distinct "
            "column edges uniform without replacement from 0..W and two row edges from 0..H. All in %."
        ),
        label_columns=["box area", "model", "docs"],
        columns=[Column("all", "", metric) for metric in BOX_METRICS],
    )
    union: dict[tuple[str, str], DocRecord] = {}
    bins: dict[int, dict[System, list[DocRecord]]] = {}
    for system, records in per_system.items():
        for record in records:
            union.setdefault(doc_identity(record), record)
            bins.setdefault(_bin_of(record.box_area_fraction, width), {}).setdefault(system, []).append(record)
    baseline_bins = group_by(list(union.values()), lambda r: _bin_of(r.box_area_fraction, width))
    for index in sorted(bins):
        label = f"{index * width:g}–{(index + 1) * width:g}%"
        for system, records in bins[index].items():
            table.rows.append(
                Row(
                    labels={"box area": label, "model": system.name, "docs": str(len(records))},
                    cells={("all", m): Cell(aggregate(records, m), n_docs=len(records)) for m in BOX_METRICS},
                )
            )
        docs = baseline_bins[index]
        pseudo = random_box_records(docs, options.seed, options.random_draws)
        table.rows.append(
            Row(
                labels={"box area": label, "model": RANDOM_BOX_NAME, "docs": str(len(docs))},
                cells={("all", m): Cell(aggregate(pseudo, m), n_docs=len(docs)) for m in BOX_METRICS},
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
                            "model": run.model,
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
    if options.n_bootstrap < 0 or options.random_draws < 1 or options.min_group_docs < 0 or options.bin_width <= 0:
        raise ValueError(f"invalid report options: {options}")
    systems = collect_systems(runs)
    published = load_published() if options.paper else []
    report = Report(runs=list(runs), systems=systems, options=options)
    report.headline = [
        table2_detection(systems, options, published),
        table3_tumor_lesion(systems, options, published),
        table4_angle_distance(systems, options, published),
    ]
    if options.paper:
        for table in report.headline:
            table.notes.append(
                f"Published rows: numbers of the paper ({CITATION}) on its full test split, ranked among themselves."
            )
    for table, family in zip(report.headline[1:], (TUMOR_LESION, ANGLE_DISTANCE)):
        table.notes.extend(stated_geometry_notes(systems, family))
    report.per_label = [t for t in (per_label_table(systems, f) for f in FAMILIES) if t is not None]
    report.per_label += [t for t in (per_upstream_task_table(systems, f) for f in FAMILIES) if t is not None]
    report.planes = [t for t in (planes_table(systems, f, options) for f in FAMILIES) if t is not None]
    report.box_size = box_size_table(systems, options)
    report.consistency = consistency_table(runs)
    return report
