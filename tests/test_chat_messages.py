"""Chat turns for chat-path models: lmms-eval's own user turn, plus the MedVision-V0 system turn
when MEDVISION_SYSTEM_PROMPT asks for it (server backends send nothing else)."""

import pytest
from lmms_eval.api.task import ConfigurableMessagesTask
from lmms_eval.protocol import ChatMessages

from medvision_tasks import utils
from medvision_tasks.documents import load_documents
from medvision_tasks.prompts import SYSTEM_PROMPT
from tests.helpers.synthetic_data import write_data_dir

KWARGS = {"image_policy": "qwen2_5_vl"}


@pytest.fixture()
def tl_doc(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path)))
    monkeypatch.delenv("MEDVISION_SYSTEM_PROMPT", raising=False)
    return load_documents("tl", "axial")[0]


def test_without_the_switch_the_turns_are_lmms_evals_own(tl_doc):
    messages = utils.medvision_doc_to_messages_cot(tl_doc, KWARGS)
    images = utils.medvision_doc_to_visual(tl_doc, KWARGS)
    expected = ConfigurableMessagesTask._build_user_turn(images, utils.medvision_doc_to_text_cot(tl_doc, KWARGS))
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"][-1] == expected[0]["content"][-1]
    assert [c["type"] for c in messages[0]["content"]] == [c["type"] for c in expected[0]["content"]]
    # 40 x 30 axial slice -> Qwen smart_resize fixed point, handed over at that size.
    assert messages[0]["content"][0]["url"].size == images[0].size


@pytest.mark.parametrize("switch", ["1", "true"])
def test_the_switch_adds_the_model_card_system_prompt_first(tl_doc, monkeypatch, switch):
    monkeypatch.setenv("MEDVISION_SYSTEM_PROMPT", switch)
    messages = utils.medvision_doc_to_messages(tl_doc, KWARGS)
    assert [m["role"] for m in messages] == ["system", "user"]
    openai = ChatMessages(messages=messages).to_openai_messages()
    assert openai[0]["role"] == "system"
    assert openai[0]["content"][0]["text"] == SYSTEM_PROMPT
    assert openai[0]["content"][0]["text"].startswith("A conversation between a User and an Assistant.")


def test_switch_off_values(tl_doc, monkeypatch):
    for value in ("", "0", "false", "no"):
        monkeypatch.setenv("MEDVISION_SYSTEM_PROMPT", value)
        assert [m["role"] for m in utils.medvision_doc_to_messages(tl_doc, KWARGS)] == ["user"]
