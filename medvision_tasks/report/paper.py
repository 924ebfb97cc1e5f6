"""The paper's aggregation: how the MedVision benchmark's summarizers turn per-doc scores into Tables 2-4.

Facts of upstream ``YongchengYAO/MedVision`` at ``c221615`` (``summarize_detection_task.py``,
``summarize_TL_task.py``, ``summarize_AD_task.py``, ``analyze_detection_task_boxsize_vs_random.py``,
``utils/parse_utils.py``), written as rules on :class:`~medvision_tasks.record.DocRecord`:

**Groups.** A group's name is upstream's:

- detection: ``<region> @ <MOD> (<P>)``, the region from ``label_map_regroup``
  (:mod:`.upstream_labels`), e.g. ``Liver @ CT (A)``; docs of every dataset pooled;
- T/L: ``<renamed label> @ <MOD> (<P>)`` with ``label_map_rename``, e.g. ``liver tumor @ CT (A)``;
- A/D: ``<dataset>_<metric type>_<metric key>``, one measurement, every plane pooled (FeTA24's
  three planes are one group upstream: its three files are concatenated).

``MOD`` abbreviates the modality (MRI -> MR, ultrasound -> US, X-ray -> XR), ``P`` is A, C or S.
A label upstream's maps do not list (upstream raises) keeps its own name and is flagged
(:attr:`PaperGroup.in_upstream_map`): Table 2 leaves it out, Tables 3 and the per-label tables
show it under its own name, each with a note.

**Per-group numbers** (``N`` = all docs of the group, failures included):
:func:`group_value`. R, P, F1, IoU are means over all N docs (a failure scores 0); SR =
parsed / N; MAE, MRE are means over parsed docs only (NaN when none parsed);
``iou>k``, ``f1>k`` = docs with a value >= k, over N; ``mre<k`` = parsed docs whose bucket
``min(int(MRE * 10), 9)`` is below ``10 k``, over N. The last bucket is [0.9, inf), so
``mre<1.0`` counts every parsed doc and equals SR: upstream's rule, kept, and said so in the
tables.

**Means over groups** (:func:`weighted_mean`): ``sum_g N_g m_g / sum_g N_g`` over the groups
whose ``m_g`` is defined, per metric (Table 2 sides, Table 4 sub-tasks). Table 3 first drops the
groups where no doc parsed (MRE undefined) from *every* metric, SR included
(``keep_if_defined="mre"``).

**Table 2** (:func:`table2_exclusion`, :func:`table2_side`): groups whose lower-cased name holds
"miscellaneous" or "others" are left out, then groups under 50 docs; a group is tumor/lesion
when its name holds "tumor", "lesion" or "metastatic" (so ``kidney cyst`` -> ``Kidney
Tumor/Lesion`` is T/L), else anatomy. No fallback: a side with no group left has no number.

**Table 4** sub-tasks (:func:`subtask_of`): FeTA24 distance, Ceph-Biometrics-400 distance and
angle, as upstream names them; other datasets get their own (dataset, metric type) sub-task,
not in the paper. Docs whose target is below 0.1 are skipped (the later summarizer's near-zero
filter, behind the published 957 Ceph angles): :func:`near_zero_target`.

**Random-box baseline** (:func:`random_baseline_record`): 100 boxes per doc from
:func:`medvision_tasks.chance.doc_random_boxes` (upstream's law; seeded here, unseeded
upstream), their R, P, F1, IoU averaged into one per-doc value, the doc counted as parsed;
thresholds (IoU>0.5) apply to the averaged IoU. **Box-size bins** (:func:`box_size_bin`):
``box / image`` area with inclusive pixel counts, 5 % bins up to 90 %, then >= 90 %.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from medvision_tasks.chance import doc_random_boxes
from medvision_tasks.families import DETECTION, TUMOR_LESION
from medvision_tasks.metrics import aggregate, box_scores_of_many, doc_value
from medvision_tasks.record import BOX_SCORES, DocRecord
from medvision_tasks.report.upstream_labels import (
    EXCLUDED_GROUP_WORDS,
    MINIMUM_GROUP_SIZE,
    NEAR_ZERO_TARGET,
    PLANE_LETTERS,
    TUMOR_LESION_GROUP_WORDS,
    modality_abbreviation,
    region_of,
    tl_label_of,
)

ANATOMY = "anatomy"
TUMOR_LESION_SIDE = "tumor_lesion"
TABLE2_SIDES = ((ANATOMY, "Anatomy"), (TUMOR_LESION_SIDE, "Tumor/lesion"))
RANDOM_BOX_DRAWS = 100
"""Random boxes per doc of the box-size baseline (upstream ``RANDOM_BOX_SIMULATIONS``)."""

OVERLAP_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
"""``iou>k`` and ``f1>k`` thresholds of upstream's per-group summaries (a value >= k counts)."""
MRE_THRESHOLDS = tuple(k / 10 for k in range(1, 11))
"""``mre<k`` thresholds of upstream's per-group summaries (bucket rule, module docstring)."""
DETECTION_THRESHOLD_METRICS = tuple(f"{score}>{k:.1f}" for score in ("iou", "f1") for k in OVERLAP_THRESHOLDS)
MEASUREMENT_THRESHOLD_METRICS = tuple(f"mre<{k:.1f}" for k in MRE_THRESHOLDS)
_THRESHOLD = re.compile(r"^(iou|f1|precision|recall)>(0\.[5-9])$|^mre<(0\.[1-9]|1\.0)$")

BOX_SIZE_EDGES = tuple(k / 20 for k in range(1, 19))
"""Upper edges of upstream's box-size bins (``group_by_boxImgRatio``): 5 %, 10 %, ..., 90 %."""


@dataclass(frozen=True, order=True)
class PaperGroup:
    """One group of the paper's tables.

    Attributes:
        name: upstream's group name, e.g. ``Liver @ CT (A)``, ``liver tumor @ CT (A)``,
            ``FeTA24_distance_L-5-6``.
        in_upstream_map: False when upstream's label maps do not list the label (upstream
            would stop); the name then carries the label itself.
    """

    name: str
    in_upstream_map: bool = True


@dataclass(frozen=True, order=True)
class SubTask:
    """A Table 4 sub-task: one dataset and one measurement type."""

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


_DATASET_SLUGS = {"Ceph-Biometrics-400": "ceph", "FeTA24": "feta24"}
PAPER_SUBTASKS = (
    SubTask("Ceph-Biometrics-400", "distance"),
    SubTask("Ceph-Biometrics-400", "angle"),
    SubTask("FeTA24", "distance"),
)
"""Table 4's sub-tasks, in the paper's column order."""


def _suffix(record: DocRecord) -> str:
    """`` @ MOD (P)``: the modality and plane part of a detection or T/L group name."""
    return f" @ {modality_abbreviation(record.modality)} ({PLANE_LETTERS.get(record.plane, record.plane)})"


def detection_group(record: DocRecord) -> PaperGroup:
    """Table 2's group of a detection record: ``<region> @ <MOD> (<P>)``."""
    label = record.label_name or ""
    region = region_of(label)
    return PaperGroup((region if region is not None else label) + _suffix(record), region is not None)


def tl_group(record: DocRecord) -> PaperGroup:
    """Table 3's group of a T/L record: ``<renamed label> @ <MOD> (<P>)``."""
    label = record.label_name or ""
    renamed = tl_label_of(label)
    return PaperGroup((renamed if renamed is not None else label) + _suffix(record), renamed is not None)


def metric_key_of(record: DocRecord) -> str:
    """An A/D record's ``metric_key``: what follows the slice in its ``doc_key`` (docs/ARCHITECTURE.md).

    A key not of that form (``.../image#dim:idx/metric_key``) falls back to the measurement's name.
    """
    _, hash_mark, slice_and_item = record.doc_key.rpartition("#")
    _, slash, key = slice_and_item.partition("/")
    return key if hash_mark and slash and key else (record.label_name or "")


def measurement_group(record: DocRecord) -> PaperGroup:
    """Table 4's group of an A/D record: ``<dataset>_<metric type>_<metric key>``, every plane."""
    return PaperGroup(f"{record.dataset}_{record.metric_type}_{metric_key_of(record)}")


def group_of(record: DocRecord) -> PaperGroup:
    """The paper's group of any record, by family."""
    if record.family == DETECTION:
        return detection_group(record)
    if record.family == TUMOR_LESION:
        return tl_group(record)
    return measurement_group(record)


def subtask_of(record: DocRecord) -> SubTask:
    """The Table 4 sub-task of an A/D record."""
    return SubTask(record.dataset, record.metric_type or "unknown")


def near_zero_target(record: DocRecord) -> bool:
    """True for an A/D doc the later summarizer skips: a target below 0.1."""
    return record.target[0] < NEAR_ZERO_TARGET


def table2_side(group: PaperGroup) -> str:
    """``tumor_lesion`` when the group's name says tumor, lesion or metastatic, else ``anatomy``."""
    name = group.name.lower()
    return TUMOR_LESION_SIDE if any(word in name for word in TUMOR_LESION_GROUP_WORDS) else ANATOMY


def table2_exclusion(group: PaperGroup, n_docs: int, min_docs: int = MINIMUM_GROUP_SIZE) -> str | None:
    """Why Table 2 leaves a group out (None: it enters its side's mean).

    Upstream's order: a miscellaneous/others group first, then one under ``min_docs`` docs. A
    label upstream does not know is left out before both (upstream stops on it).
    """
    if not group.in_upstream_map:
        return "label not in upstream's map"
    name = group.name.lower()
    if any(word in name for word in EXCLUDED_GROUP_WORDS):
        return "miscellaneous/others group"
    if n_docs < min_docs:
        return f"under {min_docs} docs"
    return None


def mre_bucket(rel_error: float) -> int:
    """Upstream's MRE bucket: ``min(int(MRE * 10), 9)``, 0 for [0, 0.1), ..., 9 for [0.9, inf)."""
    return min(int(rel_error * 10), 9)


def _hit_test(match: re.Match) -> Callable[[DocRecord], bool]:
    """Whether one doc counts for a threshold metric: a parsed answer over an overlap threshold, or in a low MRE bucket."""
    if match.group(1):
        score, threshold = match.group(1), float(match.group(2))
        return lambda record: record.parsed and getattr(record, score) >= threshold
    limit = round(float(match.group(3)) * 10)
    return lambda record: record.parsed and mre_bucket(record.rel_error) < limit


def group_value(records: Sequence[DocRecord], metric: str) -> float:
    """One per-group number of upstream's summaries, in percent (MAE in the target's unit).

    Args:
        records: the group's docs (all of them, failures included).
        metric: a metric of :func:`medvision_tasks.metrics.aggregate`, or a threshold
            ``iou>k``/``f1>k``/``precision>k``/``recall>k`` (k = 0.5 ... 0.9) or ``mre<k``
            (k = 0.1 ... 1.0).

    Returns:
        NaN for no records, and for MAE/MRE when no doc parsed.
    """
    if not records:
        return float("nan")
    match = _THRESHOLD.match(metric)
    if match is None:
        return aggregate(records, metric)
    return 100.0 * sum(map(_hit_test(match), records)) / len(records)


def per_doc_values(records: Sequence[DocRecord], metric: str) -> np.ndarray:
    """``group_value([record], metric)`` of every record (NaN where undefined): what the bootstrap resamples.

    The one-doc group's value is the doc's own (:func:`medvision_tasks.metrics.doc_value`, or 100 / 0
    for a threshold), so it is read per doc instead of aggregating a group of one.
    """
    match = _THRESHOLD.match(metric)
    if match is None:
        values = (doc_value(record, metric) for record in records)
        return np.fromiter((math.nan if v is None else v for v in values), dtype=float, count=len(records))
    hit = _hit_test(match)
    return np.fromiter((100.0 if hit(record) else 0.0 for record in records), dtype=float, count=len(records))


def weighted_mean(
    groups: Sequence[Sequence[DocRecord]],
    metric: str,
    *,
    keep_if_defined: str | None = None,
    value: Callable[[Sequence[DocRecord], str], float] = group_value,
) -> float:
    """``sum_g N_g m_g / sum_g N_g`` over the groups whose ``m_g`` is defined.

    Args:
        groups: each group's docs; ``N_g`` is its number of docs.
        metric: see :func:`group_value`.
        keep_if_defined: drop, for every metric, the groups where this metric is undefined
            (Table 3: ``"mre"``, a group with no parsed doc).
        value: the per-group number (default :func:`group_value`).

    Returns:
        The mean; NaN when no group is left.
    """
    total = 0.0
    weight = 0
    for records in groups:
        if not records:
            continue
        if keep_if_defined is not None and math.isnan(value(records, keep_if_defined)):
            continue
        number = value(records, metric)
        if not math.isnan(number):
            total += len(records) * number
            weight += len(records)
    return total / weight if weight else float("nan")


def box_size_bin(fraction: float) -> int:
    """Upstream's box-size bin of a box/image area fraction: 0 for < 5 %, ..., 18 for >= 90 %."""
    for index, edge in enumerate(BOX_SIZE_EDGES):
        if fraction < edge:
            return index
    return len(BOX_SIZE_EDGES)


def box_size_label(index: int) -> str:
    """``<5%``, ``5–10%``, ..., ``≥90%``."""
    if index == 0:
        return f"<{BOX_SIZE_EDGES[0] * 100:g}%"
    if index >= len(BOX_SIZE_EDGES):
        return f"≥{BOX_SIZE_EDGES[-1] * 100:g}%"
    return f"{BOX_SIZE_EDGES[index - 1] * 100:g}–{BOX_SIZE_EDGES[index] * 100:g}%"


def random_baseline_record(record: DocRecord, seed: int, draws: int = RANDOM_BOX_DRAWS) -> DocRecord:
    """The doc's record as upstream's random model scores it: ``draws`` boxes, scores averaged.

    Boxes are drawn on the slice's own grid (``slice_size``, upstream's ``image_size_2d``) by
    :func:`medvision_tasks.chance.doc_random_boxes`; the first is ``medvision_random``'s answer
    (seed ``seed``), which becomes the record's prediction.

    Returns:
        A parsed record whose R, P, F1, IoU are the means over the draws.
    """
    boxes = doc_random_boxes(seed, record.doc_key, record.slice_size, draws)
    scores = box_scores_of_many(boxes, record.target)
    means = {name: float(np.mean(scores[name])) for name in BOX_SCORES}
    return replace(record, parsed=True, prediction=tuple(float(v) for v in boxes[0]), **means)
