"""LMMS_EVAL_PLUGINS: each plugin's tasks folder is on the include path of the TaskManager that indexes the tasks."""

import argparse
import sys

import pytest

import lmms_eval.__main__ as cli_main


class _TaskManagerBuilt(Exception):
    """Raised by the stand-in TaskManager: the CLI has got as far as indexing the tasks."""


def _include_path_of_the_task_manager(monkeypatch, include_path):
    seen = {}

    def task_manager(verbosity, include_path=None, model_name=None):
        seen["include_path"] = include_path
        raise _TaskManagerBuilt

    monkeypatch.setattr(cli_main, "TaskManager", task_manager)
    args = argparse.Namespace(tasks="demo_task", include_path=include_path, verbosity="INFO", model="dummy")
    with pytest.raises(_TaskManagerBuilt):
        cli_main.cli_evaluate_single(args)
    return seen["include_path"]


@pytest.fixture
def demo_plugin(tmp_path, monkeypatch):
    """A plugin package `demo_plugin` with a `tasks` folder, named in LMMS_EVAL_PLUGINS."""
    tasks = tmp_path / "demo_plugin" / "tasks"
    tasks.mkdir(parents=True)
    (tmp_path / "demo_plugin" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LMMS_EVAL_PLUGINS", "demo_plugin")
    yield tasks
    for name in [name for name in sys.modules if name.split(".")[0] == "demo_plugin"]:
        del sys.modules[name]  # the next test's plugin lives in another tmp_path


def test_plugin_tasks_folder_is_indexed(demo_plugin, monkeypatch):
    assert _include_path_of_the_task_manager(monkeypatch, None) == [str(demo_plugin)]


def test_plugin_tasks_folder_is_indexed_with_include_path(demo_plugin, monkeypatch, tmp_path):
    include_path = str(tmp_path / "my_tasks")

    assert _include_path_of_the_task_manager(monkeypatch, include_path) == [include_path, str(demo_plugin)]
