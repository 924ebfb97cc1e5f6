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
    record = utils.score_response(tumor, "<answer>(12.5, 7.0)</answer>", cot=True)
    # 40 x 30 slice at 0.5 x 0.8 mm; smart_resize to >= 200704 px: scale sqrt(200704 / 1200) = 12.93,
    # rows ceil(40 * 12.93 / 28) * 28 = 532, columns ceil(30 * 12.93 / 28) * 28 = 392.
    assert record.slice_size == (40, 30)
    assert record.image_size == (532, 392)
    assert record.pixel_size == pytest.approx((0.5 * 40 / 532, 0.8 * 30 / 392))
    assert record.image_policy == "qwen2_5_vl"
    assert record.abs_error == 0.0 and record.parsed is True
    assert utils.score_response(detection, "<answer>0,0,1,1</answer>", cot=True).pixel_size is None


@pytest.mark.parametrize("response", [None, "", "no numbers here", "<answer>1</answer>", "<answer>a,b</answer>"])
def test_malformed_answers_are_scored_failures(docs, response):
    _, tumor = docs
    record = utils.score_response(tumor, response, cot=True)
    assert record.parsed is False and record.prediction is None and record.abs_error is None
