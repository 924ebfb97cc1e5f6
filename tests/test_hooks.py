"""The per-doc record reads back exactly what the doc's prompt stated to the model."""

import pytest

from medvision_tasks import utils
from medvision_tasks.documents import load_documents
from tests.helpers.synthetic_data import write_data_dir

QWEN = {"image_policy": "qwen2_5_vl"}


@pytest.fixture()
def docs(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path)))
    return load_documents("detection", "axial")[0], load_documents("tl", "axial")[0]


def test_record_states_the_seen_geometry_even_when_keys_of_two_families_collide(docs):
    detection, tumor = docs
    tumor = {**tumor, "doc_key": detection["doc_key"]}  # a label with families [detection, tl]
    utils.medvision_doc_to_text_cot(tumor, QWEN)
    utils.medvision_doc_to_text_cot(detection, QWEN)  # built last: must not overwrite the T/L entry
    record = utils.score_response(tumor, "<answer>(12.5, 7.0)</answer>", variant="cot")
    # 40 x 30 slice at 0.5 x 0.8 mm; smart_resize to >= 200704 px: scale sqrt(200704 / 1200) = 12.93,
    # rows ceil(40 * 12.93 / 28) * 28 = 532, columns ceil(30 * 12.93 / 28) * 28 = 392.
    assert record.slice_size == (40, 30)
    assert record.image_size == (532, 392)
    assert record.pixel_size == pytest.approx((0.5 * 40 / 532, 0.8 * 30 / 392))
    assert record.image_policy == "qwen2_5_vl"
    assert record.abs_error == 0.0 and record.parsed is True
    assert utils.score_response(detection, "<answer>0,0,1,1</answer>", variant="cot").pixel_size is None


@pytest.mark.parametrize("response", [None, "", "no numbers here", "<answer>1</answer>", "<answer>a,b</answer>"])
def test_malformed_answers_are_scored_failures(docs, response):
    _, tumor = docs
    record = utils.score_response(tumor, response, variant="cot")
    assert record.parsed is False and record.prediction is None and record.abs_error is None


# --- parsing per protocol ---------------------------------------------------------------------------


@pytest.fixture()
def ad_doc(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path)))
    return next(doc for doc in load_documents("ad", None) if doc["biometric_profile"]["metric_type"] == "distance")


@pytest.mark.parametrize(
    ("protocol", "response", "parsed"),
    [
        ("original", "major 12.5, minor 7.0", True),  # whole response
        ("published", "major 12.5, minor 7.0", False),  # the tag its plain prompt asked for is missing
        ("published_whole_response", "major 12.5, minor 7.0", True),
        ("original", "<answer>12.5, 7.0</answer>", True),
        ("published", "<think>8 9</think><answer>12.5, 7.0</answer> 3", True),
    ],
)
def test_plain_answers_are_read_where_the_protocol_says(docs, monkeypatch, protocol, response, parsed):
    _, tumor = docs
    monkeypatch.setenv("MEDVISION_PROTOCOL", protocol)
    utils.medvision_doc_to_text(tumor, QWEN)
    record = utils.score_response(tumor, response, variant="plain")
    assert record.parsed is parsed and record.protocol == protocol
    if parsed:
        assert record.prediction == (12.5, 7.0)


@pytest.mark.parametrize("protocol", ["original", "published"])
def test_cot_answers_need_the_answer_tag_in_every_protocol(docs, monkeypatch, protocol):
    _, tumor = docs
    monkeypatch.setenv("MEDVISION_PROTOCOL", protocol)
    utils.medvision_doc_to_text_cot(tumor, QWEN)
    assert utils.score_response(tumor, "12.5, 7.0", variant="cot").parsed is False
    assert utils.score_response(tumor, "<answer>12.5, 7.0</answer>", variant="cot").parsed is True


def test_the_record_names_the_protocol_its_prompt_was_written_under(docs, monkeypatch):
    _, tumor = docs
    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")
    utils.medvision_doc_to_text(tumor, QWEN)
    monkeypatch.setenv("MEDVISION_PROTOCOL", "published")  # changed between prompt and scoring
    record = utils.score_response(tumor, "12.5, 7.0", variant="plain")
    assert record.protocol == "original" and record.parsed is True


@pytest.mark.parametrize("protocol", ["original", "published"])
def test_a_negative_distance_is_scored_as_an_error(ad_doc, monkeypatch, protocol):
    monkeypatch.setenv("MEDVISION_PROTOCOL", protocol)
    utils.medvision_doc_to_text_cot(ad_doc, QWEN)
    target = ad_doc["target"][0]
    record = utils.score_response(ad_doc, "<answer>-5</answer>", variant="cot")
    assert record.parsed is True and record.prediction == (-5.0,)
    assert record.abs_error == pytest.approx(target + 5)
    assert record.rel_error == pytest.approx((target + 5) / target)


def test_non_finite_numbers_never_reach_a_record(ad_doc):
    import json

    utils.medvision_doc_to_text_cot(ad_doc, QWEN)
    # 400 digits read as inf: a failure.
    record = utils.score_response(ad_doc, "<answer>" + "9" * 400 + "</answer>", variant="cot")
    assert record.parsed is False and record.abs_error is None
    # 1e308 is finite, but its relative error to a 0.5 target overflows: a failure too.
    small = {**ad_doc, "target": [0.5]}
    record = utils.score_response(small, "<answer>1" + "0" * 308 + "</answer>", variant="cot")
    assert record.parsed is False and record.prediction is None and record.rel_error is None
    json.dumps(record.to_dict(), allow_nan=False)


def test_negative_box_coordinates_are_read(docs):
    detection, _ = docs
    utils.medvision_doc_to_text_cot(detection, QWEN)
    record = utils.score_response(detection, "<answer>-0.1, 0.2, 0.5, 0.6</answer>", variant="cot")
    assert record.parsed is True and record.prediction == (-0.1, 0.2, 0.5, 0.6)


def test_a_unit_stored_as_a_list_is_recorded_as_its_unit(docs):
    # The public export stores T/L units as ["mm"]; upstream printed "mm" and so does the prompt.
    _, tumor = docs
    tumor = {**tumor, "biometric_profile": {**tumor["biometric_profile"], "metric_unit": ["mm"]}}
    assert "in mm.\n" in utils.medvision_doc_to_text(tumor, QWEN)
    assert utils.score_response(tumor, "<answer>1, 2</answer>", variant="plain").unit == "mm"
