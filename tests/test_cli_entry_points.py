"""Every entry point the README advertises, through the real command lines.

lmms-eval 0.7.3 exits 0 after most failures, so a failed run is caught where the README's
commands end: ``medvision-tasks report`` exits 2 when a run wrote no results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from medvision_tasks.models import AVAILABLE_MODELS

from medvision_tasks.cli import task_folder
from tests.helpers.synthetic_data import write_data_dir

BIN = Path(sys.executable).parent


def run(command: list[str], env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env_extra or {})}
    for name in ("MEDVISION_DATA_DIR", "LMMS_EVAL_PLUGINS", "MEDVISION_IMAGE_POLICY"):
        if name not in (env_extra or {}):
            env.pop(name, None)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def lmms_eval(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return run([str(BIN / "lmms-eval"), *args], env_extra)


def report(run_dir: Path) -> subprocess.CompletedProcess:
    return run([str(BIN / "medvision-tasks"), "report", str(run_dir), "--out", str(run_dir / "report"), "--no-plots"])


@pytest.mark.slow
def test_plugin_variable_registers_our_models_without_crashing():
    listed = lmms_eval("--tasks", "list", env_extra={"LMMS_EVAL_PLUGINS": "medvision_tasks"})
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "Traceback" not in listed.stderr and "AttributeError" not in listed.stderr
    models = lmms_eval("models", env_extra={"LMMS_EVAL_PLUGINS": "medvision_tasks"})
    assert models.returncode == 0, models.stderr[-3000:]
    for name in AVAILABLE_MODELS:
        assert f"\n{name} " in models.stdout, name


def test_plugin_class_paths_name_real_classes():
    """LMMS_EVAL_PLUGINS imports medvision_tasks.models.<name>.<class> for each entry."""
    import importlib

    from medvision_tasks import models

    for name, class_name in AVAILABLE_MODELS.items():
        module = importlib.import_module(f"medvision_tasks.models.{name}")
        assert isinstance(getattr(module, class_name), type), name
    paths = {manifest.model_id: manifest.simple_class_path for manifest in models.manifests()}
    assert paths == {name: f"medvision_tasks.models.{name}.{cls}" for name, cls in AVAILABLE_MODELS.items()}


@pytest.mark.slow
def test_a_run_on_a_broken_data_dir_names_the_docs_file_and_the_chain_exits_non_zero(tmp_path):
    data = tmp_path / "data"
    data.mkdir()  # a data directory without docs files
    out = tmp_path / "run"
    evaluated = lmms_eval(
        "--include_path", task_folder(), "--tasks", "medvision_tl", "--model", "medvision_random",
        "--output_path", str(out), "--log_samples",
        env_extra={"MEDVISION_DATA_DIR": str(data)},
    )  # fmt: skip
    output = evaluated.stdout + evaluated.stderr
    headlines = [line for line in output.splitlines() if line.startswith("MedVision error:")]
    assert len(headlines) == 1, output[-4000:]  # once, although lmms-eval retries the load
    assert str(data / "tl.jsonl") in headlines[0]
    assert "medvision-tasks prepare" in headlines[0]  # what to do
    # The line comes before lmms-eval's traceback, not buried in it.
    assert output.index("MedVision error:") < output.index("Traceback")
    assert not list(out.rglob("*_results.json"))
    chained = report(out)
    assert chained.returncode == 2
    assert "no results were written" in chained.stderr and "MedVision error:" in chained.stderr


@pytest.mark.slow
def test_the_main_command_writes_results_and_ends_with_the_leaderboard(tmp_path):
    out = tmp_path / "results"
    evaluated = lmms_eval(
        "--include_path", task_folder(), "--tasks", "medvision_tl,medvision_ad", "--model", "medvision_random",
        "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert evaluated.returncode == 0
    assert "MedVision: running on the bundled sample benchmark" in evaluated.stderr
    (results_file,) = out.rglob("*_results.json")
    assert {"medvision_tl", "medvision_ad"} <= set(json.loads(results_file.read_text())["results"])
    chained = report(out)
    assert chained.returncode == 0, chained.stderr
    assert "Table 3: Tumor/lesion size" in chained.stdout
    assert "| medvision_random · published · plain |" in chained.stdout
    (samples_file,) = out.rglob("*_samples_medvision_tl.jsonl")
    record = json.loads(samples_file.read_text().splitlines()[0])["medvision_record"]
    assert record["versions"]["lmms_eval"] == "0.7.3"
    assert set(record["versions"]) == {
        "medvision-tasks",
        "lmms_eval",
        "transformers",
        "torch",
        "Pillow",
        "numpy",
        "scipy",
        "nibabel",
    }


def test_the_data_dir_is_announced_once(tmp_path, monkeypatch, caplog):
    import logging
    from importlib.metadata import version

    import medvision_tasks
    from medvision_tasks import documents

    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path / "data")))
    monkeypatch.setattr(documents, "_announced_sources", set())
    with caplog.at_level(logging.WARNING):
        documents.load_documents("tl", None)
        documents.load_documents("ad", None)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("MedVision: ")]
    assert said == [
        (
            f"MedVision: scoring with medvision-tasks {medvision_tasks.__version__}, lmms_eval {version('lmms_eval')}, "
            f"transformers {version('transformers')}, torch {version('torch')}, Pillow {version('Pillow')}, "
            f"numpy {version('numpy')}, scipy {version('scipy')}, nibabel {version('nibabel')}"
        ),
        f"MedVision: running on MEDVISION_DATA_DIR={tmp_path / 'data'}",
    ]


def test_a_data_error_is_shown_once_as_the_headline(capsys):
    from medvision_tasks.messages import error_once

    message = "doc X/01/a.nii.gz#2:3/1 in /d/tl.jsonl: volume not found: /d/a.nii.gz"
    error_once(message)
    error_once(message)
    assert capsys.readouterr().err == f"MedVision error: {message}\n"
