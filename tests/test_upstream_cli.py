"""The bare command through lmms-eval's real CLI, in copies of the installed lmms-eval placed first on a subprocess's path.

1. ``medvision-tasks upstream`` writes the pull request into a copy; there
   ``lmms-eval --tasks medvision_tl_cot --model qwen2_5_vl`` runs with no ``--include_path`` (tiny offline
   Qwen2.5-VL), on the sample of the installed package, and the generated ``test/eval`` test passes.
2. In a pristine copy the ``LMMS_EVAL_PLUGINS`` patch's test fails, then passes once the patch is applied; there
   ``LMMS_EVAL_PLUGINS=medvision_tasks lmms-eval --tasks medvision_tl_cot --model qwen2_5_vl`` finds the plugin's
   task with no ``--include_path``.

Nothing is installed or changed in the environment: the copies live in the test's tmp folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks.cli import task_folder as plugin_task_folder
from medvision_tasks.documents import sample_dir
from medvision_tasks.upstream import main as upstream_main
from medvision_tasks.upstream.plugins_fix import FIX_TEST, PATCH_FILE
from tests.helpers.lmms_eval_checkout import copy_of_installed_lmms_eval
from tests.helpers.tiny_models import build_tiny_qwen2_5_vl

TASK = "medvision_tl_cot"
LIMIT = 2


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory) -> Path:
    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny-qwen"))


def _env(checkout: Path, **extra: str) -> dict[str, str]:
    """The copy first on the path; offline; no MedVision or plugin settings from the caller."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MEDVISION_", "LMMS_EVAL_PLUGINS"))}
    env.update(PYTHONPATH=str(checkout), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env | extra


def _run(command: list[str], checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=900, check=False)


def _lmms_eval_in(checkout: Path, env: dict[str, str]) -> Path:
    probe = _run([sys.executable, "-c", "import lmms_eval; print(lmms_eval.__file__)"], checkout, env)
    return Path(probe.stdout.strip()).parent


def _bare_command(checkout: Path, model_dir: Path, output: Path, env: dict[str, str]) -> dict:
    """``lmms-eval --tasks medvision_tl_cot --model qwen2_5_vl`` with the tiny model; returns the results JSON."""
    command = [
        str(Path(sys.executable).with_name("lmms-eval")),
        "--tasks", TASK,
        "--model", "qwen2_5_vl",
        "--model_args", f"pretrained={model_dir},device_map=cpu,attn_implementation=sdpa",
        "--device", "cpu",
        "--batch_size", "1",
        "--limit", str(LIMIT),
        "--gen_kwargs", "max_new_tokens=8",
        "--output_path", str(output),
        "--log_samples",
        "--verbosity", "DEBUG",  # lmms-eval exits 0 on errors otherwise
    ]  # fmt: skip
    completed = _run(command, checkout, env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-6000:]
    (results_file,) = output.rglob("*_results.json")
    results = json.loads(results_file.read_text())
    (samples_file,) = output.rglob(f"*_samples_{TASK}.jsonl")
    records = [json.loads(line)["medvision_record"] for line in samples_file.read_text().splitlines()]
    assert len(records) == LIMIT
    assert {record["image_policy"] for record in records} == {"qwen2_5_vl"}  # the YAML's entry for --model qwen2_5_vl
    assert {record["family"] for record in records} == {"tl"} and {record["plane"] for record in records} == {"axial"}
    assert set(results["results"][TASK]) >= {"mae,none", "mre,none", "sr,none", "mre<0.1,none"}
    return results


@pytest.mark.slow
def test_bare_command_runs_the_upstream_tasks_in_a_copy_of_lmms_eval(tmp_path, tiny_qwen):
    checkout = copy_of_installed_lmms_eval(tmp_path / "lmms-eval")
    assert upstream_main([str(checkout)]) == 0
    env = _env(checkout)
    assert _lmms_eval_in(checkout, env) == checkout / "lmms_eval"

    results = _bare_command(checkout, tiny_qwen, tmp_path / "results", env)

    # The task came from the copy's task folder and read the sample of the installed package.
    assert results["configs"][TASK]["dataset_kwargs"]["data_files"] == str(sample_dir() / "tl.jsonl")
    tested = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test/eval/test_medvision.py"], checkout, env
    )
    assert tested.returncode == 0 and re.search(r"^4 passed", tested.stdout, re.MULTILINE), (
        tested.stdout[-4000:] + tested.stderr[-2000:]
    )


@pytest.mark.slow
def test_patched_plugin_ordering_finds_the_plugins_tasks_without_include_path(tmp_path, tiny_qwen):
    writer = copy_of_installed_lmms_eval(tmp_path / "with-pull-request")
    assert upstream_main([str(writer)]) == 0
    patch = (writer / PATCH_FILE).read_text()
    checkout = copy_of_installed_lmms_eval(tmp_path / "lmms-eval")  # no MedVision task folder in this one
    (checkout / PATCH_FILE).write_text(patch)
    env = _env(checkout, LMMS_EVAL_PLUGINS="medvision_tasks")
    fix_test = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", FIX_TEST]

    subprocess.run(["git", "apply", f"--include={FIX_TEST}", PATCH_FILE], cwd=checkout, check=True)
    unfixed = _run(fix_test, checkout, env)
    assert unfixed.returncode == 1 and re.search(r"^2 failed", unfixed.stdout, re.MULTILINE), unfixed.stdout[-4000:]
    subprocess.run(["git", "apply", "--include=lmms_eval/*", PATCH_FILE], cwd=checkout, check=True)
    fixed = _run(fix_test, checkout, env)
    assert fixed.returncode == 0 and re.search(r"^2 passed", fixed.stdout, re.MULTILINE), (
        fixed.stdout[-4000:] + fixed.stderr[-2000:]
    )

    results = _bare_command(checkout, tiny_qwen, tmp_path / "results", env)

    assert not (checkout / "lmms_eval" / "tasks" / "medvision").exists()
    assert results["configs"][TASK]["dataset_kwargs"]["data_files"] == str(
        Path(plugin_task_folder()) / "sample" / "tl.jsonl"
    )
