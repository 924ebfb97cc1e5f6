"""Seeded percentile-bootstrap confidence intervals for report numbers.

The statistic is the one the tables show: :func:`.paper.weighted_mean` of
:func:`.paper.group_value` over one or more strata (label groups). A resample
draws, within each stratum, as many docs as it has, with replacement; stratum sizes (the
weights) therefore stay fixed, as the paper's sample-weighted mean over label groups needs.
The interval is the (2.5, 97.5) percentile pair of the resampled statistics (95 %).

Speed: every per-group number is a mean over docs of a per-doc value (over all docs, or over
parsed docs for ``mae``/``mre``), so a resample's value is the NaN-skipping mean of the per-doc
values ``group_value([record], metric)`` (:func:`.paper.per_doc_values`, read once per doc) at the
drawn indices, not a group value per resample; that mean is a sum and a count of the values,
NaN-filled and counted once per stratum (:func:`_row_means`: ``np.nanmean``'s operations, bit for
bit). Before using this, each stratum's NaN-skipping mean is checked against ``group_value`` of
the whole stratum; if they differ (a metric that is not such a mean), ``group_value`` is called
on every resample instead.

Table 3's rule (a group with no parsed doc leaves every average) is ``keep_if_defined="mre"``:
in each resample, a stratum whose drawn docs hold no parsed answer is left out of every metric.

Reproducibility: the draws come from ``numpy.random.SeedSequence([seed, crc32(key)])``, one
spawned child generator per stratum, with ``key`` naming the number (table, system, subset): an
interval depends only on the seed and its own docs, not on which other numbers the report
computes, in what order, or how the resamples are chunked in memory.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence

import numpy as np

from medvision_tasks.record import DocRecord
from medvision_tasks.report.paper import group_value, per_doc_values, weighted_mean

CONFIDENCE = 0.95
_MAX_CHUNK_ELEMENTS = 4_000_000  # resample indices held at once (~32 MB of int64)


def _seed_sequence(seed: int, key: str) -> np.random.SeedSequence:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"bootstrap seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))])


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _nanmean_rows(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is NaN, as aggregate says
        return np.nanmean(matrix, axis=1)


def _row_means(filled: np.ndarray, defined: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Per row of ``indices``, ``np.nanmean`` of the drawn values (``filled``: NaN put to 0)."""
    totals = filled[indices].sum(axis=1)
    counts = defined[indices].sum(axis=1, dtype=np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row with no defined value is NaN, as nanmean says
        return totals / counts


def _weighted(stats: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per resample (rows), the weighted mean over strata (columns) of the defined values."""
    defined = ~np.isnan(stats)
    total = np.where(defined, stats, 0.0) @ weights
    weight = defined.astype(float) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)


def bootstrap_intervals(
    strata: Sequence[Sequence[DocRecord]],
    metrics: Sequence[str],
    *,
    n_resamples: int,
    seed: int,
    key: str,
    confidence: float = CONFIDENCE,
    keep_if_defined: str | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the sample-weighted mean over strata, per metric.

    Args:
        strata: the docs of each label group (one stratum for a plain pooled number).
        metrics: metric names of :func:`.paper.group_value`; all share the same resamples.
        n_resamples: number of resamples (>= 1).
        seed: non-negative seed.
        key: names the number, e.g. ``"table2/model · CoT/anatomy"``.
        confidence: central coverage of the interval (0.95: the 2.5 and 97.5 percentiles).
        keep_if_defined: as in :func:`.paper.weighted_mean`: per resample, strata where this
            metric is undefined leave every metric's mean.

    Returns:
        ``{metric: (low, high)}``; ``(nan, nan)`` when no resample has a defined value.

    Raises:
        ValueError: no strata, an empty stratum, or ``n_resamples < 1``.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not strata or any(len(stratum) == 0 for stratum in strata):
        raise ValueError(f"{key}: bootstrap needs at least one stratum and no empty stratum")
    # One generator per stratum, so the draws do not depend on how resamples are chunked.
    generators = [np.random.default_rng(child) for child in _seed_sequence(seed, key).spawn(len(strata))]
    sizes = [len(stratum) for stratum in strata]
    weights = np.asarray(sizes, dtype=float)

    needed = list(dict.fromkeys([*metrics, *([keep_if_defined] if keep_if_defined else [])]))
    values: dict[str, list[np.ndarray] | None] = {}
    for metric in needed:
        per_stratum = [per_doc_values(stratum, metric) for stratum in strata]
        decomposes = all(
            _same(float(_nanmean_rows(v[None, :])[0]), group_value(stratum, metric))
            for v, stratum in zip(per_stratum, strata)
        )
        values[metric] = per_stratum if decomposes else None
    fast = all(values[metric] is not None for metric in needed)
    # np.nanmean of a resample is the sum of its values with NaN as 0 over its count of defined
    # values: prepared once per stratum, the same operations as nanmean on every row.
    prepared = (
        {metric: [(np.where(np.isnan(v), 0.0, v), ~np.isnan(v)) for v in values[metric]] for metric in needed}
        if fast
        else {}
    )

    chunk = max(1, _MAX_CHUNK_ELEMENTS // max(sizes))
    resampled: dict[str, list[np.ndarray]] = {metric: [] for metric in metrics}
    done = 0
    while done < n_resamples:
        count = min(chunk, n_resamples - done)
        indices = [rng.integers(0, size, size=(count, size)) for rng, size in zip(generators, sizes)]
        if fast:
            stats = {
                metric: np.column_stack([_row_means(*pair, idx) for pair, idx in zip(prepared[metric], indices)])
                for metric in needed
            }
            dropped = np.isnan(stats[keep_if_defined]) if keep_if_defined else None
            for metric in metrics:
                kept = stats[metric] if dropped is None else np.where(dropped, np.nan, stats[metric])
                resampled[metric].append(_weighted(kept, weights))
        else:
            for metric in metrics:
                resampled[metric].append(
                    np.array(
                        [
                            weighted_mean(
                                [[stratum[i] for i in idx[row]] for stratum, idx in zip(strata, indices)],
                                metric,
                                keep_if_defined=keep_if_defined,
                            )
                            for row in range(count)
                        ]
                    )
                )
        done += count

    alpha = 100.0 * (1.0 - confidence) / 2.0
    intervals = {}
    for metric in metrics:
        stats = np.concatenate(resampled[metric])
        if np.all(np.isnan(stats)):
            intervals[metric] = (float("nan"), float("nan"))
            continue
        low, high = np.nanpercentile(stats, [alpha, 100.0 - alpha])
        intervals[metric] = (float(low), float(high))
    return intervals
