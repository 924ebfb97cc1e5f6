"""The per-doc record: its JSON layout, the round trip through it, and the errors of a bad one."""

import json
from dataclasses import replace

import pytest

from medvision_tasks.ledger import UNKNOWN_POLICY
from medvision_tasks.record import UNKNOWN_PROTOCOL, DocRecord
from medvision_tasks.steps import StepAnalysis
from tests.helpers.records import detection_record, measurement_record

# A T/L answer (12, 6) to a target of (15, 5): errors |12-15| = 3 and |6-5| = 1 mm, mean 2 mm;
# relative 3/15 = 0.2 and 1/5 = 0.2, mean 0.2.
TL = DocRecord(
    doc_key="KiTS23/01/img.nii.gz#2:40/2",
    dataset="KiTS23",
    family="tl",
    task_id="01",
    label=2,
    label_name="kidney tumor",
    plane="axial",
    modality="CT",
    metric_type="size",
    unit="mm",
    image_policy="qwen2_5_vl",
    protocol="published",
    slice_size=(512, 512),
    image_size=(504, 504),
    pixel_size=(0.8 * 512 / 504, 0.8 * 512 / 504),
    parsed=True,
    prediction=(12.0, 6.0),
    target=(15.0, 5.0),
    abs_error=2.0,
    rel_error=0.2,
)


# The step analysis of that answer: points measuring (12, 7), the answer (12, 6) against them and the
# target (15, 5) against their value (numbers as scored; their derivation is tests/test_steps.py's).
STEPS = StepAnalysis(
    status=("ok", "ok"),
    points=((0.7, 0.75), (0.2, 0.75), (0.4, 0.9), (0.4, 0.55)),
    true_points=None,
    frame_mm=(24.0, 20.0),
    points_value=(12.0, 7.0),
    arithmetic_error=0.5,
    arithmetic_rel=0.1,
    error_from_points=2.5,
    error_from_points_rel=0.3,
)


def test_the_json_layout_lmms_eval_logs():
    assert list(TL.to_dict()) == [
        "doc_key",
        "dataset",
        "family",
        "task_id",
        "label",
        "label_name",
        "plane",
        "modality",
        "metric_type",
        "unit",
        "image_policy",
        "protocol",
        "slice_size",
        "image_size",
        "pixel_size",
        "parsed",
        "prediction",
        "target",
        "upstream_task",
        "variant",
        "abs_error",
        "rel_error",
    ]
    assert TL.to_dict()["image_size"] == [504, 504] and TL.to_dict()["prediction"] == [12.0, 6.0]


def test_a_detection_record_carries_box_scores_and_no_errors():
    data = DocRecord.from_dict(detection_record("d", "AMOS22", "liver", scores=(0.5, 0.25, 1 / 3, 0.2))).to_dict()
    assert list(data)[-5:] == ["iou", "f1", "precision", "recall", "box_area_fraction"]
    assert "abs_error" not in data


@pytest.mark.parametrize(
    "record",
    [
        TL,
        DocRecord.from_dict(detection_record("d", "AMOS22", "liver", scores=None)),
        DocRecord.from_dict(measurement_record("a", "FeTA24", "ad", "angle", errors=(3.0, 0.1), unit="degree")),
        replace(TL, variant="cot", steps=STEPS),
    ],
    ids=["tl", "failed detection", "angle", "tl with steps"],
)
def test_round_trip_through_json(record):
    assert DocRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_the_protocol_is_read_back():
    data = {**TL.to_dict(), "protocol": "original"}
    assert DocRecord.from_dict(data).protocol == "original"


def test_records_of_earlier_versions_still_read():
    old = measurement_record("a", "FeTA24", "ad", "distance", errors=(1.0, 0.1))
    del old["image_policy"], old["slice_size"]
    old.pop("protocol", None)
    record = DocRecord.from_dict(old)
    assert record.image_policy == UNKNOWN_POLICY
    assert record.protocol == UNKNOWN_PROTOCOL
    assert record.slice_size == (64, 64)  # the stated image size stands in


def _bad(**changes) -> dict:
    return {**measurement_record("FeTA/d/0", "FeTA24", "tl", "size", errors=(1.0, 0.1)), **changes}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "samples.jsonl:3: a per-doc record must be a JSON object, got list"),
        (_bad(plane=None), "samples.jsonl:3: per-doc record has no field 'plane'"),
        (_bad(family="seg"), "samples.jsonl:3: record field 'family' is 'seg'; expected one of"),
        (_bad(parsed=1), "samples.jsonl:3: record field 'parsed' must be true or false, got 1"),
        (_bad(abs_error=None), "samples.jsonl:3: parsed doc's record needs a finite number in 'abs_error', got None"),
        (_bad(rel_error=float("inf")), "samples.jsonl:3: parsed doc's record needs a finite number in 'rel_error'"),
        (_bad(target=[15.0]), "samples.jsonl:3: record field 'target' must be a list of 2 finite number"),
        (_bad(prediction=[1.0, "x"]), "samples.jsonl:3: record field 'prediction' must be a list of 2 finite number"),
        (_bad(slice_size=[0, 64]), "samples.jsonl:3: record field 'slice_size' must be two positive whole numbers"),
        (_bad(pixel_size=[1.0]), "samples.jsonl:3: record field 'pixel_size' must be two positive numbers or null"),
        (_bad(label=1.5), "samples.jsonl:3: record field 'label' must be a whole number or null"),
        (
            {**detection_record("d", "D", "x"), "box_area_fraction": None},
            "samples.jsonl:3: detection record needs a finite number in 'box_area_fraction', got None",
        ),
    ],
)
def test_a_malformed_record_is_named_with_its_field(data, message):
    with pytest.raises(ValueError) as error:
        DocRecord.from_dict(data, "samples.jsonl:3")
    assert str(error.value).startswith(message)


def test_the_step_analysis_is_written_last_with_its_shares_and_checked():
    data = json.loads(json.dumps(replace(TL, variant="cot", steps=STEPS).to_dict()))
    assert list(data)[-1] == "steps" and data["variant"] == "cot"
    # Shares of the relative parts 0.1 + 0.3: arithmetic 0.25, localisation 0.75 (written, not read back).
    assert data["steps"]["arithmetic_share"] == pytest.approx(0.25)
    assert data["steps"]["localisation_share"] == pytest.approx(0.75)
    assert "steps" not in TL.to_dict() and DocRecord.from_dict(TL.to_dict()).steps is None
    for name, value, message in [
        ("status", ["ok", "fine"], "'steps.status' must be a list of ok, missing, malformed or null"),
        ("points", [[0.1]], "'steps.points' must be a list of [x, y] pairs or null"),
        ("frame_mm", [24.0, 0], "'steps.frame_mm' must be two positive numbers"),
        ("arithmetic_error", "big", "'steps.arithmetic_error' must be a finite number or null"),
    ]:
        bad = {**data, "steps": {**data["steps"], name: value}}
        with pytest.raises(ValueError, match="samples.jsonl:3: record field " + message.replace("[", r"\[")):
            DocRecord.from_dict(bad, "samples.jsonl:3")
    with pytest.raises(ValueError, match="record field 'variant' is 'blind'; expected one of"):
        DocRecord.from_dict({**data, "variant": "blind"}, "samples.jsonl:3")


def test_a_failed_answer_has_no_error_to_check():
    record = DocRecord.from_dict(_bad(parsed=False, abs_error=None, rel_error=None, prediction=[1.0, "x"]))
    assert record.parsed is False and record.prediction is None and record.abs_error is None


def test_versions_round_trip_and_are_checked():
    versioned = replace(TL, versions={"medvision-tasks": "0.2.0", "lmms_eval": "0.7.3", "torch": "not installed"})
    data = json.loads(json.dumps(versioned.to_dict()))
    assert list(data)[-1] == "versions"
    assert DocRecord.from_dict(data) == versioned
    assert "versions" not in TL.to_dict() and DocRecord.from_dict(TL.to_dict()).versions is None
    with pytest.raises(ValueError, match=r"record #3: record field 'versions' must be an object of package names"):
        DocRecord.from_dict({**data, "versions": {"torch": 2.14}}, where="record #3")


def test_upstream_task_is_kept_and_old_records_read_without_it():
    tagged = replace(TL, upstream_task="KiTS23_TumorLesionSize_Task01_Axial_Test")
    data = json.loads(json.dumps(tagged.to_dict()))
    assert data["upstream_task"] == "KiTS23_TumorLesionSize_Task01_Axial_Test"
    assert DocRecord.from_dict(data) == tagged
    del data["upstream_task"]  # a record written before the field existed
    assert DocRecord.from_dict(data).upstream_task is None
