"""The prompt ledger: a prompt's statement reaches its answer's record; a missing one is unknown, never guessed."""

import pytest

from medvision_tasks import utils
from medvision_tasks.documents import load_documents
from medvision_tasks.ledger import UNKNOWN, UNKNOWN_POLICY, PromptLedger, Stated
from tests.helpers.synthetic_data import write_data_dir


def test_a_noted_statement_is_read_back_per_family():
    ledger = PromptLedger()
    ledger.note("tl", "k", Stated((532, 392), (0.0376, 0.0612), "qwen2_5_vl"))
    ledger.note("detection", "k", Stated((532, 392), None, "qwen2_5_vl"))
    assert ledger.stated("tl", "k").pixel_size == (0.0376, 0.0612)
    assert ledger.stated("detection", "k").pixel_size is None
    assert ledger.stated("ad", "k") is UNKNOWN
    assert UNKNOWN == Stated(None, None, "unknown")


def test_forgetting_a_task_s_docs_leaves_the_others():
    ledger = PromptLedger()
    for key in ("a", "b"):
        ledger.note("tl", key, Stated((10, 10), (1.0, 1.0), "native"))
    ledger.forget("tl", ["a", "never noted"])
    assert ledger.stated("tl", "a") is UNKNOWN and ledger.stated("tl", "b").image_policy == "native"
    assert len(ledger) == 1


@pytest.fixture()
def tumor_doc(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path)))
    return load_documents("tl", "axial")[0]


def test_an_answer_whose_prompt_was_never_built_is_marked_unknown(tumor_doc):
    utils.medvision_process_docs_tl_axial(None)  # loading the task forgets earlier statements of its docs
    record = utils.score_response(tumor_doc, "<answer>1, 1</answer>", variant="cot")
    assert record.image_policy == UNKNOWN_POLICY == "unknown"
    assert record.image_size is None and record.pixel_size is None
    assert record.slice_size == (40, 30)  # what the slice is, unlike what was stated, is known


def test_loading_a_task_again_forgets_what_an_earlier_run_stated(tumor_doc):
    utils.medvision_doc_to_text(tumor_doc, {"image_policy": "native"})
    assert utils.score_response(tumor_doc, None, variant="plain").image_policy == "native"
    utils.medvision_process_docs_tl_axial(None)
    assert utils.score_response(tumor_doc, None, variant="plain").image_policy == UNKNOWN_POLICY
