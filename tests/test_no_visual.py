"""The no-image controls through the real lmms-eval evaluator: no image reaches the model, on either path.

lmms-eval hands a simple model ``doc_to_visual`` and a chat model ``doc_to_messages`` (whose
callable ignores ``doc_to_visual``: lmms-eval_facts 8), so both must withhold the image. The same
models on the image-shown tasks see exactly one image per request: the check can fail.
"""

from __future__ import annotations

import pytest
from lmms_eval.evaluator import simple_evaluate
from lmms_eval.tasks import TaskManager

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from medvision_tasks.record import RECORD_KEY
from tests.helpers.scripted_model import ScriptedChatModel, ScriptedModel, perfect_answer
from tests.helpers.synthetic_data import write_data_dir

NO_VISUAL = [f"medvision_{stem}{cot}_no_visual" for stem in ("detect", "tl", "ad") for cot in ("", "_cot")]
SHOWN = [name.removesuffix("_no_visual") for name in NO_VISUAL]


@pytest.fixture(scope="module")
def task_manager() -> TaskManager:
    return TaskManager(include_path=task_folder(), include_defaults=False)


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path / "data")))
    utils.SLICES.clear()


def evaluate(model, tasks, task_manager) -> dict:
    return simple_evaluate(model=model, tasks=tasks, task_manager=task_manager, bootstrap_iters=0, log_samples=True)


def test_a_simple_model_is_handed_no_image(data_dir, task_manager):
    model = ScriptedModel(perfect_answer)
    results = evaluate(model, NO_VISUAL + SHOWN, task_manager)
    blind = [seen for seen in model.seen if seen["task"].endswith("_no_visual")]
    shown = [seen for seen in model.seen if not seen["task"].endswith("_no_visual")]
    # 2 axial detection, 2 axial T/L and 4 A/D docs, plain and CoT.
    assert len(blind) == len(shown) == 16
    assert all(seen["image_sizes"] == [] for seen in blind)
    assert all(len(seen["image_sizes"]) == 1 for seen in shown)
    # The same question, word for word.
    prompts = {(seen["task"], seen["doc"]["doc_key"]): seen["prompt"] for seen in model.seen}
    for (task, key), prompt in prompts.items():
        if task.endswith("_no_visual"):
            assert prompt == prompts[(task.removesuffix("_no_visual"), key)]
    for task in NO_VISUAL:
        records = [sample[RECORD_KEY] for sample in results["samples"][task]]
        assert {record["variant"] for record in records} == {"cot_no_visual" if "_cot" in task else "no_visual"}
        assert all(record["parsed"] for record in records)


def test_a_chat_model_gets_turns_without_the_image(data_dir, task_manager):
    model = ScriptedChatModel(perfect_answer)
    evaluate(model, NO_VISUAL + SHOWN, task_manager)
    blind = [seen for seen in model.seen if seen["task"].endswith("_no_visual")]
    shown = [seen for seen in model.seen if not seen["task"].endswith("_no_visual")]
    assert len(blind) == len(shown) == 16
    assert all(seen["types"] == ["text"] for seen in blind)
    assert all(seen["types"] == ["image", "text"] for seen in shown)
