"""Bootstrap intervals: contain the estimate, reproducible under the seed, exact in known cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from medvision_tasks.metrics import aggregate
from medvision_tasks.report import bootstrap
from medvision_tasks.report.bootstrap import _row_means, bootstrap_intervals
from medvision_tasks.report.paper import group_value, per_doc_values, weighted_mean
from tests.helpers.records import detection_record, measurement_record, typed
from tests.test_report_fixtures import alpha_detection, alpha_tl, beta_detection

DETECTION = ("recall", "precision", "f1", "iou", "sr", "iou>0.5")
MEASUREMENT = ("mae", "mre", "sr", "mre<0.1")


def groups_of(records):
    groups = {}
    for r in records:
        groups.setdefault(r.label_name, []).append(r)
    return list(groups.values())


def test_interval_contains_the_point_estimate_and_is_stable_under_the_seed():
    strata = groups_of(typed(alpha_detection()))
    first = bootstrap_intervals(strata, DETECTION, n_resamples=500, seed=7, key="t2/alpha")
    again = bootstrap_intervals(strata, DETECTION, n_resamples=500, seed=7, key="t2/alpha")
    other_seed = bootstrap_intervals(strata, DETECTION, n_resamples=500, seed=8, key="t2/alpha")
    assert first == again
    assert first != other_seed
    for metric in DETECTION:
        point = weighted_mean(strata, metric)
        low, high = first[metric]
        assert low <= point <= high, metric
        assert low < high or metric == "sr" and low == high == point


def test_measurement_interval_contains_estimate_with_failures():
    records = typed(alpha_tl()) * 10  # 40 docs, 10 of them failures
    intervals = bootstrap_intervals([records], MEASUREMENT, n_resamples=400, seed=0, key="t3")
    for metric in MEASUREMENT:
        low, high = intervals[metric]
        assert low <= aggregate(records, metric) <= high


def test_interval_depends_on_its_key_not_on_other_numbers():
    strata = groups_of(typed(beta_detection()))
    alone = bootstrap_intervals(strata[:1], ("iou",), n_resamples=200, seed=1, key="k")
    bootstrap_intervals(strata, DETECTION, n_resamples=200, seed=1, key="other")  # another number first
    assert bootstrap_intervals(strata[:1], ("iou",), n_resamples=200, seed=1, key="k") == alone


def test_constant_groups_give_a_degenerate_interval_because_group_weights_stay_fixed():
    # beta: liver 60 docs all IoU .8, spleen 90 docs all IoU .1. Resampling inside each group can
    # only redraw the same values, so every resample gives (60*80 + 90*10)/150 = 38.
    strata = groups_of(typed(beta_detection()))
    intervals = bootstrap_intervals(strata, ("iou", "iou>0.5"), n_resamples=300, seed=3, key="beta")
    assert intervals["iou"] == pytest.approx((38.0, 38.0))
    assert intervals["iou>0.5"] == pytest.approx((40.0, 40.0))


def test_two_docs_zero_and_hundred_give_the_full_range():
    # Resampled means of {0, 100}: 0 w.p. 1/4, 50 w.p. 1/2, 100 w.p. 1/4 -> 2.5th pct 0, 97.5th pct 100.
    records = typed(
        [
            detection_record("a", "D", "liver", scores=(1.0, 1.0, 1.0, 1.0)),
            detection_record("b", "D", "liver", scores=None),
        ]
    )
    intervals = bootstrap_intervals([records], ("sr", "iou"), n_resamples=2000, seed=0, key="two")
    assert intervals["sr"] == (0.0, 100.0)
    assert intervals["iou"] == (0.0, 100.0)


def test_no_parsed_doc_gives_an_undefined_interval_for_errors():
    records = typed(measurement_record(f"d{i}", "D", "tl", "size", errors=None) for i in range(5))
    intervals = bootstrap_intervals([records], MEASUREMENT, n_resamples=50, seed=0, key="none")
    assert all(math.isnan(v) for v in intervals["mae"])
    assert intervals["sr"] == (0.0, 0.0)


def test_fast_path_equals_calling_aggregate_on_every_resample(monkeypatch):
    strata = groups_of(typed(alpha_detection())) + [typed(alpha_tl())]
    detection_strata, tl_strata = strata[:-1], strata[-1:]
    fast = {
        **bootstrap_intervals(detection_strata, DETECTION, n_resamples=120, seed=5, key="x"),
        **{
            f"tl:{k}": v
            for k, v in bootstrap_intervals(tl_strata, MEASUREMENT, n_resamples=120, seed=5, key="y").items()
        },
    }
    # Force the slow path: pretend no metric decomposes into per-doc values.
    monkeypatch.setattr(bootstrap, "_same", lambda a, b: False)
    slow = {
        **bootstrap_intervals(detection_strata, DETECTION, n_resamples=120, seed=5, key="x"),
        **{
            f"tl:{k}": v
            for k, v in bootstrap_intervals(tl_strata, MEASUREMENT, n_resamples=120, seed=5, key="y").items()
        },
    }
    assert fast.keys() == slow.keys()
    for name, interval in fast.items():
        assert interval == pytest.approx(slow[name], abs=1e-9), name


def test_table3_rule_drops_a_group_without_parsed_docs_from_every_metric_in_each_resample(monkeypatch):
    # Group "a": 3 docs, one parsed (abs 2 mm, rel .05); group "b": 2 docs, both parsed (rel .5).
    # A resample of "a" that draws only failures (probability (2/3)^3 = 0.30) leaves "a" out of SR
    # too, so SR is then b's 100 %; without the rule it is (3 * 0 + 2 * 100) / 5 = 40 %.
    a = typed(
        [
            measurement_record("a0", "D", "tl", "size", errors=(2.0, 0.05), label_name="a"),
            measurement_record("a1", "D", "tl", "size", errors=None, label_name="a"),
            measurement_record("a2", "D", "tl", "size", errors=None, label_name="a"),
        ]
    )
    b = typed([measurement_record(f"b{i}", "D", "tl", "size", errors=(4.0, 0.5), label_name="b") for i in range(2)])
    fast = bootstrap_intervals([a, b], MEASUREMENT, n_resamples=400, seed=1, key="t3", keep_if_defined="mre")
    assert fast["sr"][1] == pytest.approx(100.0)
    plain = bootstrap_intervals([a, b], MEASUREMENT, n_resamples=400, seed=1, key="t3")
    assert plain["sr"][0] == pytest.approx(40.0)
    monkeypatch.setattr(bootstrap, "_same", lambda x, y: False)
    slow = bootstrap_intervals([a, b], MEASUREMENT, n_resamples=400, seed=1, key="t3", keep_if_defined="mre")
    for metric in MEASUREMENT:
        assert fast[metric] == pytest.approx(slow[metric], abs=1e-9), metric


def test_resampling_is_chunked_without_changing_the_draws(monkeypatch):
    strata = groups_of(typed(alpha_detection()))
    whole = bootstrap_intervals(strata, ("iou",), n_resamples=100, seed=2, key="c")
    monkeypatch.setattr(bootstrap, "_MAX_CHUNK_ELEMENTS", 1)  # one resample per chunk
    chunked = bootstrap_intervals(strata, ("iou",), n_resamples=100, seed=2, key="c")
    assert chunked == whole


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_seed_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="seed"):
        bootstrap_intervals([typed(alpha_tl())], ("mae",), n_resamples=10, seed=bad, key="k")


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_intervals([typed(alpha_tl())], ("mae",), n_resamples=0, seed=0, key="k")
    with pytest.raises(ValueError, match="empty stratum"):
        bootstrap_intervals([[]], ("mae",), n_resamples=10, seed=0, key="k")


def test_row_means_are_nanmean_bit_for_bit():
    rng = np.random.default_rng(11)
    values = rng.normal(50, 20, size=40)
    values[[3, 7, 19]] = np.nan
    indices = rng.integers(0, 40, size=(500, 40))
    indices[0] = 3  # a resample of undefined values only: NaN, as nanmean says
    filled, defined = np.where(np.isnan(values), 0.0, values), ~np.isnan(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmean(values[indices], axis=1)
    got = _row_means(filled, defined, indices)
    assert np.isnan(got[0]) and got[1:].tobytes() == expected[1:].tobytes()


@pytest.mark.parametrize(
    ("records", "metrics"),
    [
        (alpha_detection, (*DETECTION, "iou>0.7", "f1>0.9", "precision>0.5", "recall>0.8")),
        (alpha_tl, (*MEASUREMENT, "mre<0.5", "mre<1.0")),
    ],
)
def test_per_doc_values_are_the_one_doc_group_values(records, metrics):
    docs = typed(records())
    assert any(not r.parsed for r in docs) and any(r.parsed for r in docs)
    for metric in metrics:
        expected = np.array([group_value([record], metric) for record in docs])
        assert per_doc_values(docs, metric).tobytes() == expected.tobytes(), metric  # NaN where undefined too
