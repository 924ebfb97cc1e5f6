"""The task folder is generated from its table, and every file of it (and of the upstream templates) ships in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

from medvision_tasks.tasks import _generate_configs

from medvision_tasks.cli import main, task_folder

REPO = Path(__file__).resolve().parents[1]


def test_generated_yaml_matches_the_table(tmp_path):
    for name, content in _generate_configs.generated_files().items():
        committed = REPO / "yaml_tasks" / name
        assert committed.is_file(), f"{name} is not generated into yaml_tasks/: run yaml_tasks/_generate_configs.py"
        assert committed.read_text() == content, f"{name} is stale: run yaml_tasks/_generate_configs.py"
    generated = {path.name for path in (REPO / "yaml_tasks").glob("*.yaml")} | {
        path.name for path in (REPO / "yaml_tasks").glob("_*_yaml")
    }
    assert generated == set(_generate_configs.generated_files()), "a YAML in yaml_tasks/ is not from the generator"


def test_every_task_carries_a_version():
    for name, content in _generate_configs.generated_files().items():
        if name.endswith(".yaml") and name != "_medvision.yaml":
            assert "metadata:\n  version: " in content, name


def test_path_command_prints_the_task_folder(capsys):
    assert main(["path"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == task_folder()
    assert (Path(printed) / "medvision_detect.yaml").is_file()


def test_wheel_ships_every_task_folder_file(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("medvision_tasks-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    folder = REPO / "yaml_tasks"
    expected = {
        "medvision_tasks/tasks/" + str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected - shipped == set()
    assert not any(name.startswith("models/") for name in shipped), "no top-level package may be called models"
    templates = REPO / "medvision_tasks" / "upstream" / "templates"  # what `medvision-tasks upstream` writes
    assert {f"medvision_tasks/upstream/templates/{path.name}" for path in templates.glob("*.[pm][yd]")} <= shipped
