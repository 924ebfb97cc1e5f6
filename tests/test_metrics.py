"""Detection and measurement metrics (yaml_tasks/README.md, "Metrics"), checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from medvision_tasks.families import ALL_METRICS
from medvision_tasks.metrics import aggregate, box_scores, measurement_errors
from tests.helpers.records import detection_record, measurement_record, typed

# ----------------------------------------------------------------------------- box_scores


def test_box_scores_shifted_quarter_overlap():
    # Target and prediction are 0.5 x 0.5 squares shifted by 0.25 on both axes:
    # A_t = A_p = 1/4, inter = 1/4 * 1/4 = 1/16, union = 1/4 + 1/4 - 1/16 = 7/16.
    scores = box_scores([0.25, 0.25, 0.75, 0.75], [0.0, 0.0, 0.5, 0.5])
    assert scores["iou"] == pytest.approx(1 / 7)  # (1/16) / (7/16)
    assert scores["f1"] == pytest.approx(1 / 4)  # 2/16 / (1/4 + 1/4)
    assert scores["precision"] == pytest.approx(1 / 4)  # (1/16) / (1/4)
    assert scores["recall"] == pytest.approx(1 / 4)  # (1/16) / (1/4)
    assert set(scores) == {"iou", "f1", "precision", "recall"}


def test_box_scores_prediction_inside_target_half():
    # Prediction is the left half of the target: A_t = 1/4, A_p = inter = 1/8.
    scores = box_scores([0.0, 0.0, 0.25, 0.5], [0.0, 0.0, 0.5, 0.5])
    assert scores["iou"] == pytest.approx(1 / 2)  # (1/8) / (1/4)
    assert scores["f1"] == pytest.approx(2 / 3)  # (2/8) / (3/8)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(1 / 2)


def test_box_scores_prediction_beyond_image_is_not_clipped():
    # x0 = -0.5: A_p = 1 * 0.5 = 1/2 (half of it off the image), inter = 1/4 = A_t.
    scores = box_scores([-0.5, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.5])
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["recall"] == pytest.approx(1.0)
    assert scores["iou"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(2 / 3)  # (2/4) / (3/4)


def test_box_scores_identical_boxes_are_perfect():
    box = [0.1, 0.2, 0.6, 0.9]
    assert box_scores(box, box) == pytest.approx({"iou": 1.0, "f1": 1.0, "precision": 1.0, "recall": 1.0})


NO_OVERLAP = {"iou": 0.0, "f1": 0.0, "precision": 0.0, "recall": 0.0}


@pytest.mark.parametrize(
    "prediction",
    [
        [0.6, 0.6, 0.9, 0.9],  # disjoint, up and to the right
        [0.5, 0.0, 1.0, 0.5],  # shares the edge x = 0.5: zero-width overlap
        [0.0, 0.5, 0.5, 1.0],  # shares the edge y = 0.5
    ],
)
def test_box_scores_disjoint_boxes_score_zero(prediction):
    assert box_scores(prediction, [0.0, 0.0, 0.5, 0.5]) == NO_OVERLAP


@pytest.mark.parametrize(
    "prediction",
    [
        [0.2, 0.1, 0.2, 0.4],  # x1 == x0
        [0.1, 0.3, 0.4, 0.3],  # y1 == y0
        [0.4, 0.1, 0.1, 0.4],  # corners swapped in x
        [0.4, 0.4, 0.1, 0.1],  # upper-right given first
    ],
)
def test_box_scores_zero_area_prediction_scores_zero(prediction):
    # Would otherwise overlap the target: a degenerate box still scores 0, without dividing by 0.
    assert box_scores(prediction, [0.0, 0.0, 0.5, 0.5]) == NO_OVERLAP


@pytest.mark.parametrize(
    ("prediction", "target", "message"),
    [
        ([0.1, 0.1, 0.2], [0.0, 0.0, 0.5, 0.5], "prediction box needs 4"),
        ([0.1, 0.1, 0.2, 0.2], [0.0, 0.0, 0.5], "target box needs 4"),
        ([0.1, 0.1, 0.2, 0.2], [0.0, 0.0, 0.0, 0.5], "zero area"),
        ([0.1, 0.1, math.nan, 0.2], [0.0, 0.0, 0.5, 0.5], "finite"),
    ],
)
def test_box_scores_bad_input_raises(prediction, target, message):
    with pytest.raises(ValueError, match=message):
        box_scores(prediction, target)


# ----------------------------------------------------------------------- measurement_errors


def test_measurement_errors_tumor_lesion_pair():
    # major 25 vs 20 mm, minor 9 vs 10 mm: |errors| 5 and 1, relative 0.25 and 0.1.
    abs_error, rel_error = measurement_errors([25.0, 9.0], [20.0, 10.0])
    assert abs_error == pytest.approx(3.0)  # (5 + 1) / 2
    assert rel_error == pytest.approx(0.175)  # (0.25 + 0.1) / 2


def test_measurement_errors_single_value():
    assert measurement_errors([80.0], [100.0]) == pytest.approx((20.0, 0.2))
    assert measurement_errors([12.5], [12.5]) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("prediction", "target"),
    [
        ([1.0], [0.0]),  # t = 0: relative error undefined
        ([1.0, 2.0], [3.0, -2.0]),
        ([1.0], [1.0, 2.0]),
        ([], []),
        ([math.inf], [1.0]),
    ],
)
def test_measurement_errors_bad_input_raises(prediction, target):
    with pytest.raises(ValueError):
        measurement_errors(prediction, target)


# ------------------------------------------------------------------------------- aggregate


def _box_record(key, parsed, iou=0.0, f1=0.0, precision=0.0, recall=0.0):
    (record,) = typed([detection_record(key, "D", "x", scores=(recall, precision, f1, iou) if parsed else None)])
    return record


# Scores of the two worked boxes above, an exact hit and a parse failure.
DETECTION_RECORDS = [
    _box_record("quarter", True, iou=1 / 7, f1=1 / 4, precision=1 / 4, recall=1 / 4),
    _box_record("half", True, iou=1 / 2, f1=2 / 3, precision=1.0, recall=1 / 2),
    _box_record("exact", True, iou=1.0, f1=1.0, precision=1.0, recall=1.0),
    _box_record("failed", False),
]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("iou", 100 * (1 / 7 + 1 / 2 + 1 + 0) / 4),  # = 100 * 23/56
        ("f1", 100 * (1 / 4 + 2 / 3 + 1 + 0) / 4),  # = 100 * 23/48
        ("precision", 100 * (1 / 4 + 1 + 1 + 0) / 4),  # = 56.25
        ("recall", 100 * (1 / 4 + 1 / 2 + 1 + 0) / 4),  # = 43.75
        ("sr", 75.0),  # 3 of 4 parsed
        ("iou>0.5", 50.0),  # "half" (IoU exactly 0.5 counts) and "exact", of 4 docs
    ],
)
def test_aggregate_detection(metric, expected):
    assert aggregate(DETECTION_RECORDS, metric) == pytest.approx(expected)


def test_detection_failure_counts_as_zero_and_lowers_sr_by_one_share():
    parsed_only = DETECTION_RECORDS[:3]
    assert aggregate(parsed_only, "sr") == 100.0
    assert aggregate(DETECTION_RECORDS, "sr") == 100.0 - 25.0
    # The failure stays in the denominator: every mean shrinks by exactly 3/4.
    for metric in ("iou", "f1", "precision", "recall", "iou>0.5"):
        assert aggregate(DETECTION_RECORDS, metric) == pytest.approx(aggregate(parsed_only, metric) * 3 / 4)


def test_detection_failure_scores_are_not_read():
    # A failed doc counts 0 whatever scores its record carries (None included).
    (failed,) = typed([{**detection_record("x", "D", "x"), "iou": None, "f1": 0.9, "precision": None}])
    records = [_box_record("exact", True, 1.0, 1.0, 1.0, 1.0), failed]
    assert aggregate(records, "iou") == pytest.approx(50.0)
    assert aggregate(records, "f1") == pytest.approx(50.0)
    assert aggregate(records, "precision") == pytest.approx(50.0)
    assert aggregate(records, "iou>0.5") == pytest.approx(50.0)


def _size_record(key, parsed, abs_error=None, rel_error=None):
    (record,) = typed([measurement_record(key, "D", "tl", "size", errors=(abs_error, rel_error) if parsed else None)])
    return record


MEASUREMENT_RECORDS = [
    _size_record("a", True, 3.0, 0.175),
    _size_record("b", True, 20.0, 0.2),
    _size_record("c", True, 1.0, 0.1),  # exactly 0.1: not below the threshold
    _size_record("d", True, 0.5, 0.05),
    _size_record("failed", False),
]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("mae", (3.0 + 20.0 + 1.0 + 0.5) / 4),  # = 6.125, parsed docs only
        ("mre", 100 * (0.175 + 0.2 + 0.1 + 0.05) / 4),  # = 13.125 %
        ("sr", 80.0),  # 4 of 5
        ("mre<0.1", 20.0),  # only "d", of all 5 docs
    ],
)
def test_aggregate_measurement(metric, expected):
    assert aggregate(MEASUREMENT_RECORDS, metric) == pytest.approx(expected)


def test_measurement_failure_excluded_from_mae_and_mre_but_lowers_sr():
    parsed_only = MEASUREMENT_RECORDS[:4]
    assert aggregate(MEASUREMENT_RECORDS, "mae") == aggregate(parsed_only, "mae")
    assert aggregate(MEASUREMENT_RECORDS, "mre") == aggregate(parsed_only, "mre")
    assert aggregate(parsed_only, "sr") == 100.0
    assert aggregate(MEASUREMENT_RECORDS, "sr") == 80.0
    # mre<0.1 is a share of all docs: 1 of 4, then 1 of 5.
    assert aggregate(parsed_only, "mre<0.1") == pytest.approx(25.0)
    assert aggregate(MEASUREMENT_RECORDS, "mre<0.1") == pytest.approx(20.0)


def test_mre_threshold_boundary_from_measurement_errors():
    # 11 vs 10: relative error 1/10, not below 0.1; 10.99 vs 10: 0.099, below.
    _, at_boundary = measurement_errors([11.0], [10.0])
    _, just_below = measurement_errors([10.99], [10.0])
    assert aggregate([_size_record("k", True, 1.0, at_boundary)], "mre<0.1") == 0.0
    assert aggregate([_size_record("k", True, 0.99, just_below)], "mre<0.1") == 100.0


def test_no_parsed_docs():
    records = [_size_record("x", False), _size_record("y", False)]
    assert math.isnan(aggregate(records, "mae"))
    assert math.isnan(aggregate(records, "mre"))
    assert aggregate(records, "sr") == 0.0
    assert aggregate(records, "mre<0.1") == 0.0
    boxes = [_box_record("x", False)]
    assert aggregate(boxes, "iou") == 0.0
    assert aggregate(boxes, "iou>0.5") == 0.0


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_empty_records_give_nan(metric):
    assert math.isnan(aggregate([], metric))


@pytest.mark.parametrize("metric", ["accuracy", "IoU", "mre<0.05", ""])
def test_unknown_metric_raises(metric):
    with pytest.raises(ValueError, match="unknown metric"):
        aggregate(DETECTION_RECORDS, metric)


def test_a_metric_of_another_family_names_the_doc_and_the_field():
    with pytest.raises(ValueError, match="quarter: a parsed detection record has no 'abs_error'"):
        aggregate(DETECTION_RECORDS, "mae")
    with pytest.raises(ValueError, match="a: a parsed tl record has no 'iou'"):
        aggregate(MEASUREMENT_RECORDS, "iou>0.5")


def test_many_boxes_are_scored_row_by_row():
    from medvision_tasks.metrics import box_scores_of_many

    target = [0.2, 0.2, 0.6, 0.6]  # area 0.16
    boxes = [
        [0.2, 0.2, 0.6, 0.6],  # the target: all 1
        [0.4, 0.4, 0.8, 0.8],  # overlap 0.2 x 0.2 = 0.04, union 0.28
        [0.5, 0.5, 0.4, 0.9],  # x1 < x0: no area, all 0
        [0.0, 0.0, 1.0, 1.0],  # the whole image: overlap 0.16, area 1
    ]
    many = box_scores_of_many(boxes, target)
    assert list(many["iou"]) == pytest.approx([1.0, 0.04 / 0.28, 0.0, 0.16])
    assert list(many["f1"]) == pytest.approx([1.0, 0.08 / 0.32, 0.0, 0.32 / 1.16])
    assert list(many["precision"]) == pytest.approx([1.0, 0.25, 0.0, 0.16])
    assert list(many["recall"]) == pytest.approx([1.0, 0.25, 0.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        box_scores_of_many([[0.0, 0.0, 1.0]], target)


def test_lmms_eval_aggregates_the_small_per_doc_values_to_the_same_numbers():
    from medvision_tasks.metrics import doc_value, mean_of_doc_values

    records = typed(
        [
            measurement_record("a", "D", "tl", "size", errors=(2.0, 0.05)),
            measurement_record("b", "D", "tl", "size", errors=(6.0, 0.3)),
            measurement_record("c", "D", "tl", "size", errors=None),
        ]
    )
    values = {m: [doc_value(r, m) for r in records] for m in ("mae", "mre", "sr", "mre<0.1")}
    assert values == {
        "mae": [2.0, 6.0, None],
        "mre": [5.0, 30.0, None],
        "sr": [100.0, 100.0, 0.0],
        "mre<0.1": [100.0, 0.0, 0.0],
    }
    assert {m: mean_of_doc_values(v) for m, v in values.items()} == pytest.approx(
        {"mae": 4.0, "mre": 17.5, "sr": 200 / 3, "mre<0.1": 100 / 3}
    )
    assert math.isnan(mean_of_doc_values([None, None]))
    for bad in (math.inf, math.nan, True, "1"):
        with pytest.raises(ValueError, match=r"mae value of doc #1: expected a finite number or null"):
            mean_of_doc_values([1.0, bad], "mae value of doc")
