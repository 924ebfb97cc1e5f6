"""lmms-eval's ``--use_cache`` never serves an answer stored under other image or scoring settings.

Its key holds the prompt, the model's arguments and the task's printed config, not the image
(lmms_eval/caching/response_cache.py). The image policy, the protocol and the data directory are
environment settings; the tasks print them into their config, so changing one misses the cache
while repeating a run hits it.
"""

from __future__ import annotations

import pytest
from lmms_eval.evaluator import simple_evaluate
from lmms_eval.tasks import TaskManager

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from tests.helpers.scripted_model import ScriptedModel, perfect_answer
from tests.helpers.synthetic_data import write_data_dir

TASKS = ["medvision_ad"]


class NamedModel(ScriptedModel):
    """A scripted model printed the same in every run: the cache keys a model by its printed name, as the CLI's."""

    def __str__(self) -> str:
        return "scripted"


@pytest.fixture(scope="module")
def task_manager() -> TaskManager:
    return TaskManager(include_path=task_folder(), include_defaults=False)


def answered(task_manager: TaskManager, cache) -> list[dict]:
    """What the model was asked in one run with the response cache at ``cache``."""
    utils.SLICES.clear()
    model = NamedModel(perfect_answer)
    simple_evaluate(model=model, tasks=TASKS, task_manager=task_manager, bootstrap_iters=0, use_cache=str(cache))
    return model.seen


def test_a_repeated_run_is_served_and_changed_settings_are_not(tmp_path, monkeypatch, task_manager):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path / "data")))
    monkeypatch.setenv("MEDVISION_IMAGE_POLICY", "fixed:336x336")
    cache = tmp_path / "cache"
    first = answered(task_manager, cache)
    # the 4 A/D docs of the synthetic data directory.
    assert len(first) == 4 and {seen["image_sizes"][0] for seen in first} == {(336, 336)}
    assert answered(task_manager, cache) == []

    monkeypatch.setenv("MEDVISION_IMAGE_POLICY", "fixed:448x448")
    other_policy = answered(task_manager, cache)
    assert len(other_policy) == 4 and {seen["image_sizes"][0] for seen in other_policy} == {(448, 448)}

    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")
    assert len(answered(task_manager, cache)) == 4

    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path / "other data")))
    assert len(answered(task_manager, cache)) == 4


def test_the_printed_hook_names_the_settings(tmp_path, monkeypatch):
    for name in ("MEDVISION_PROTOCOL", "MEDVISION_IMAGE_POLICY", "MEDVISION_DATA_DIR", "MEDVISION_SYSTEM_PROMPT"):
        monkeypatch.delenv(name, raising=False)
    assert str(utils.medvision_doc_to_target) == "<medvision hook medvision_doc_to_target under {}>"
    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")
    monkeypatch.setenv("MEDVISION_DATA_DIR", f"{tmp_path}/./data")
    assert str(utils.medvision_doc_to_target) == (
        "<medvision hook medvision_doc_to_target under "
        f"{{'MEDVISION_PROTOCOL': 'original', 'MEDVISION_DATA_DIR': '{tmp_path.resolve()}/data'}}>"
    )
    assert utils.medvision_doc_to_target({"target": [1.5, 2]}) == "1.5000, 2.0000"
