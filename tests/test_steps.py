"""Seeing or computing: scripted answers of known points, every error derived by hand.

The phantom's axial slice is 40 rows x 30 columns of 0.5 mm (rows) x 0.8 mm (columns), so the
image is 30 x 0.8 = 24 mm wide and 40 x 0.5 = 20 mm high. A pixel (row, col) is the relative point
(col / 30, 1 - row / 40); a relative step dx is dx x 24 mm, dy is dy x 20 mm.
"""

from __future__ import annotations

import math

import pytest

from medvision_tasks import utils
from medvision_tasks.documents import load_documents
from medvision_tasks.steps import (
    STEP_MALFORMED,
    STEP_MISSING,
    STEP_OK,
    Frame,
    StepAnalysis,
    measure,
    read_steps,
    relative_point,
)
from tests.helpers.synthetic_data import ad_doc, detection_doc, tl_doc, write_data_dir

NATIVE = {"image_policy": "native"}
QWEN = {"image_policy": "qwen2_5_vl"}

# T/L: major axis P1 (10, 5) - P2 (10, 20): 15 columns x 0.8 = 12 mm; minor P3 (4, 12) - P4 (16, 12):
# 12 rows x 0.5 = 6 mm. Relative: P1 (1/6, 0.75), P2 (2/3, 0.75), P3 (0.4, 0.9), P4 (0.4, 0.6).
TL_POINTS = [[10, 5], [10, 20], [4, 12], [16, 12]]
# Distance: L1 (20, 6) - L2 (8, 21): 12 mm across, 6 mm up: sqrt(180) mm. Relative (0.2, 0.5), (0.7, 0.8).
DISTANCE_POINTS = [[20, 6], [8, 21]]
# Angle: line 1 (10, 5) - (10, 20): (12, 0) mm; line 2 (30, 5) - (18, 20): (12, 6) mm: atan(6 / 12).
ANGLE_POINTS = [[10, 5], [10, 20], [30, 5], [18, 20]]
ANGLE = math.degrees(math.atan(0.5))


def _with_points(doc: dict, points: list) -> dict:
    return {**doc, "landmark_points": points}


@pytest.fixture()
def docs(tmp_path, monkeypatch):
    rows = {
        "detection": [detection_doc(2, 8, (5, 6, 14, 20), "bright block")],
        "tl": [_with_points(tl_doc(2, 8, 12.0, 6.0), TL_POINTS)],
        "ad": [
            _with_points(ad_doc(2, 8, "distance", math.sqrt(180.0)), DISTANCE_POINTS),
            _with_points(ad_doc(2, 9, "angle", ANGLE), ANGLE_POINTS),
        ],
    }
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path, rows)))
    loaded = {family: load_documents(family, None) for family in rows}
    return {
        "detection": loaded["detection"][0],
        "tl": loaded["tl"][0],
        "distance": loaded["ad"][0],
        "angle": loaded["ad"][1],
    }


def flat(points) -> list[float]:
    return [v for point in points for v in point]


def cot_answer(steps: list[str], answer: str) -> str:
    """A response in MedVision-V0's form (COT_TEMPLATE_*): reasoning and answer per step, then the answer."""
    think = " ".join(
        f"<step-{k}-reasoning> step {k} </step-{k}-reasoning> <step-{k}-answer> {text} </step-{k}-answer>"
        for k, text in enumerate(steps, start=1)
    )
    return f"<think> {think} </think> <answer> {answer} </answer>"


def test_the_points_of_a_tl_answer_with_an_arithmetic_slip(docs):
    doc = docs["tl"]
    assert doc["landmark_points"] == [[10.0, 5.0], [10.0, 20.0], [4.0, 12.0], [16.0, 12.0]]
    utils.medvision_doc_to_text_cot(doc, NATIVE)
    # The major axis's ends given in the other order, each 1/30 off in x (0.8 mm); the minor axis's
    # second end 0.05 low (1.0 mm). Its points measure |0.7 - 0.2| x 24 = 12 mm and |0.9 - 0.55| x 20 = 7 mm;
    # the answer says 15 for the major axis (the slip) and 7 for the minor.
    response = cot_answer(
        [
            "The endpoints of the major axis: (0.700, 0.750), (0.200, 0.750).",
            "The endpoints of the minor axis: (0.400, 0.900), (0.400, 0.550).",
            "The major axis length: 15.000.",
            "The minor axis length: 7.000.",
        ],
        "(15.000, 7.000)",
    )
    record = utils.score_response(doc, response, variant="cot")
    steps = record.steps
    assert steps.status == (STEP_OK, STEP_OK)
    assert steps.points == ((0.7, 0.75), (0.2, 0.75), (0.4, 0.9), (0.4, 0.55))
    assert flat(steps.true_points) == pytest.approx([1 / 6, 0.75, 2 / 3, 0.75, 0.4, 0.9, 0.4, 0.6])
    assert steps.frame_mm == pytest.approx((24.0, 20.0))
    assert steps.points_value == pytest.approx((12.0, 7.0))
    # Localisation: (0.8 + 0.8 + 0 + 1.0) / 4 = 0.65 mm, over the true axes' mean length (12 + 6) / 2 = 9 mm.
    assert steps.localisation_error == pytest.approx(0.65)
    assert steps.localisation_rel == pytest.approx(0.65 / 9)
    # Arithmetic: (|15 - 12| + |7 - 7|) / 2 = 1.5 mm; relative (3 / 12 + 0 / 6) / 2 = 0.125.
    assert steps.arithmetic_error == pytest.approx(1.5)
    assert steps.arithmetic_rel == pytest.approx(0.125)
    # The points' value against the target: (|12 - 12| + |7 - 6|) / 2 = 0.5 mm; relative (0 + 1/6) / 2 = 1/12.
    assert steps.error_from_points == pytest.approx(0.5)
    assert steps.error_from_points_rel == pytest.approx(1 / 12)
    # Shares of 0.125 + 1/12: arithmetic 0.125 / (5 / 24) = 0.6, localisation 0.4.
    assert steps.arithmetic_share == pytest.approx(0.6)
    assert steps.localisation_share == pytest.approx(0.4)
    assert steps.sees_right is True and steps.computes_right is False
    # The final error, as the benchmark scores it: (|15 - 12| + |7 - 6|) / 2 = 2 mm; (3/12 + 1/6) / 2 = 5/24.
    assert record.abs_error == pytest.approx(2.0) and record.rel_error == pytest.approx(5 / 24)
    assert record.variant == "cot"


def test_the_frame_is_the_stated_one_whatever_size_the_model_sees(docs):
    doc = docs["tl"]
    utils.medvision_doc_to_text_cot(doc, QWEN)  # 532 x 392 pixels of 20/532 x 24/392 mm: the same extent
    response = cot_answer(
        ["The endpoints of the major axis: (0.700, 0.750), (0.200, 0.750).", "(0.400, 0.900), (0.400, 0.550)"],
        "(15.000, 7.000)",
    )
    record = utils.score_response(doc, response, variant="cot")
    assert record.image_size == (532, 392)
    assert record.steps.frame_mm == pytest.approx((24.0, 20.0))
    assert record.steps.points_value == pytest.approx((12.0, 7.0))
    assert record.steps.localisation_error == pytest.approx(0.65)


def test_a_distance_with_its_landmarks_swapped_and_named_in_parentheses(docs):
    doc = docs["distance"]
    utils.medvision_doc_to_text_cot(doc, NATIVE)
    # Exact points, landmark 2 first: a measurement does not care, so the localisation error is 0.
    response = cot_answer(
        [
            "The relative coordinates of anterior commissure (AC): (0.7, 0.8).",
            "The relative coordinates of posterior commissure (PC): (0.2, 0.5).",
            "The distance: 20.0.",
        ],
        "20.0",
    )
    steps = utils.score_response(doc, response, variant="cot").steps
    assert steps.points == ((0.7, 0.8), (0.2, 0.5))
    assert steps.localisation_error == pytest.approx(0.0, abs=1e-12)
    # Its points measure sqrt((0.5 x 24)^2 + (0.3 x 20)^2) = sqrt(180) mm; the answer says 20.
    assert steps.points_value == pytest.approx((math.sqrt(180.0),))
    assert steps.arithmetic_error == pytest.approx(20.0 - math.sqrt(180.0))
    assert steps.arithmetic_rel == pytest.approx((20.0 - math.sqrt(180.0)) / math.sqrt(180.0))
    assert steps.error_from_points == pytest.approx(0.0, abs=1e-12)
    assert steps.arithmetic_share == pytest.approx(1.0)


def test_an_angle_whose_second_step_is_missing(docs):
    doc = docs["angle"]
    utils.medvision_doc_to_text_cot(doc, NATIVE)
    response = cot_answer(["The relative coordinates of A and B: (1/6, 0.75), (0.667, 0.75)."], "30")
    record = utils.score_response(doc, response, variant="cot")
    # Step 1 holds "(1/6, 0.75)", which is no pair of numbers: only one pair, so it is malformed too.
    assert record.steps.status == (STEP_MALFORMED, STEP_MISSING)
    assert record.steps.points is None and record.steps.localisation_error is None
    assert record.steps.arithmetic_error is None
    # The final answer is scored as ever: |30 - 26.565...| degrees.
    assert record.parsed and record.abs_error == pytest.approx(30.0 - ANGLE)


def test_an_angle_read_from_its_steps(docs):
    doc = docs["angle"]
    utils.medvision_doc_to_text_cot(doc, NATIVE)
    # Line 1 exact; line 2's ends given in the other order: atan(6 / 12) degrees either way.
    response = cot_answer(
        [
            "The relative coordinates of A and B: (0.16666666666666666, 0.75), (0.6666666666666666, 0.75).",
            "The relative coordinates of C and D: (0.6666666666666666, 0.55), (0.16666666666666666, 0.25).",
        ],
        "26.6",
    )
    steps = utils.score_response(doc, response, variant="cot").steps
    assert steps.status == (STEP_OK, STEP_OK)
    assert steps.points_value == pytest.approx((ANGLE,))
    assert steps.localisation_error == pytest.approx(0.0, abs=1e-12)
    assert steps.arithmetic_error == pytest.approx(26.6 - ANGLE)


def test_a_detection_answer_with_a_transcription_slip(docs):
    doc = docs["detection"]
    utils.medvision_doc_to_text_cot(doc, NATIVE)
    # Target box (r0, c0, r1, c1) = (5, 6, 14, 20): [6/30, 26/40, 20/30, 35/40] = [0.2, 0.65, 2/3, 0.875].
    # The step's upper-right corner is 1/30 right of it (0.8 mm); the answer writes y1 = 0.9 (0.5 mm above the step).
    response = cot_answer(
        ["The relative coordinates of the bounding box: (0.2, 0.65), (0.7, 0.875)."], "0.2,0.65,0.7,0.9"
    )
    steps = utils.score_response(doc, response, variant="cot").steps
    assert flat(steps.true_points) == pytest.approx([0.2, 0.65, 2 / 3, 0.875])
    assert steps.frame_mm == pytest.approx((24.0, 20.0))  # detection states no size: the slice's own
    assert steps.localisation_error == pytest.approx(0.4)  # (0 + 0.8) / 2
    assert steps.arithmetic_error == pytest.approx(0.25)  # (0 + 0.5) / 2
    diagonal = math.hypot((2 / 3 - 0.2) * 24, (0.875 - 0.65) * 20)  # sqrt(11.2^2 + 4.5^2)
    assert steps.localisation_rel == pytest.approx(0.4 / diagonal)
    assert steps.arithmetic_rel == pytest.approx(0.25 / diagonal)
    assert steps.error_from_points == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("response", "status"),
    [
        (None, (STEP_MISSING, STEP_MISSING)),
        ("", (STEP_MISSING, STEP_MISSING)),
        ("<answer>12, 6</answer>", (STEP_MISSING, STEP_MISSING)),
        ("<step-1-answer> the major axis </step-1-answer>", (STEP_MALFORMED, STEP_MISSING)),
        ("<step-1-answer>(0.1, 0.2), (0.3, 0.4)</step-1-answer><step-2-answer>(0.5, 0.6)", (STEP_OK, STEP_MISSING)),
        ("<step-2-answer>(0.5, 0.6), (0.5, 0.9)</step-2-answer>", (STEP_MISSING, STEP_OK)),
        ("<step-1-answer>(0.1, 0.2), (0.3, 1e999)</step-1-answer>", (STEP_MALFORMED, STEP_MISSING)),
    ],
)
def test_missing_or_malformed_steps_are_recorded_never_raised(docs, response, status):
    assert read_steps(response, "size")[0] == status
    record = utils.score_response(docs["tl"], response, variant="cot")
    assert record.steps.status == status and record.steps.points is None
    assert StepAnalysis.from_dict(record.to_dict()["steps"], "test") == record.steps


@pytest.mark.parametrize("family", ["tl", "distance", "angle"])
def test_a_coordinate_only_answer_at_the_true_points_scores_zero_error(docs, family):
    doc = docs[family]
    utils.medvision_doc_to_text_coords(doc, QWEN)
    size = doc["image_size_2d"]
    points = [relative_point(row, col, size) for row, col in doc["landmark_points"]]
    response = "<answer>" + ", ".join(repr(v) for point in points for v in point) + "</answer>"
    record = utils.score_response(doc, response, variant="coords")
    assert record.parsed and record.variant == "coords"
    assert record.abs_error == pytest.approx(0.0, abs=1e-12) and record.rel_error == pytest.approx(0.0, abs=1e-12)
    assert record.prediction == pytest.approx(doc["target"])
    assert record.steps.status is None and record.steps.arithmetic_error is None
    assert record.steps.localisation_error == pytest.approx(0.0, abs=1e-12)


def test_a_coordinate_only_answer_is_measured_by_the_plugin(docs):
    doc = docs["tl"]
    utils.medvision_doc_to_text_coords(doc, NATIVE)
    # The points of the T/L test above: 12 mm and 7 mm; the target is (12, 6).
    record = utils.score_response(doc, "<answer>0.7, 0.75, 0.2, 0.75, 0.4, 0.9, 0.4, 0.55</answer>", variant="coords")
    assert record.prediction == pytest.approx((12.0, 7.0))
    assert record.abs_error == pytest.approx(0.5) and record.rel_error == pytest.approx(1 / 12)
    assert record.steps.localisation_error == pytest.approx(0.65)
    # Too few numbers, or an angle with a line of no length, is a failure, as any unreadable answer.
    assert not utils.score_response(doc, "<answer>0.7, 0.75, 0.2, 0.75</answer>", variant="coords").parsed
    angle = docs["angle"]
    utils.medvision_doc_to_text_coords(angle, NATIVE)
    flat = utils.score_response(angle, "<answer>0.5, 0.5, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4</answer>", variant="coords")
    assert not flat.parsed and flat.steps.points is not None and flat.steps.points_value is None


def test_measure_follows_the_prompts_formulas():
    frame = Frame.of((40, 30), (0.5, 0.8))
    assert (frame.width_mm, frame.height_mm) == (24.0, 20.0)
    assert measure([(0.2, 0.5), (0.7, 0.8)], "distance", frame) == pytest.approx((math.sqrt(180.0),))
    # Lines along x and along y are perpendicular; parallel lines make 0 degrees.
    assert measure([(0, 0), (1, 0), (0.5, 0.5), (0.5, 0.9)], "angle", frame) == pytest.approx((90.0,))
    assert measure([(0, 0), (1, 0), (0.2, 0.3), (0.4, 0.3)], "angle", frame) == pytest.approx((0.0,))
    assert measure([(0.1, 0.2), (0.3, 0.4)], "box", frame) == (0.1, 0.2, 0.3, 0.4)
    with pytest.raises(ValueError, match="a size needs 4 points, got 2"):
        measure([(0, 0), (1, 1)], "size", frame)


def test_a_malformed_landmark_points_field_names_the_doc(tmp_path, monkeypatch):
    from medvision_tasks.documents import MedVisionDataError

    rows = {"tl": [_with_points(tl_doc(2, 8, 12.0, 6.0), [[10, 5], [10, 20]])]}
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path, rows)))
    with pytest.raises(MedVisionDataError, match=r"tl\.jsonl:1 Phantom/01/.*landmark_points .* must be 4 \[row, col\]"):
        load_documents("tl", None)
