"""lmms-eval's own CLI and stock `qwen2_5_vl` wrapper on the bundled sample, with a tiny random
Qwen2.5-VL built offline in the test: a real model code path end to end (its answers are noise)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks.cli import task_folder
from tests.helpers.tiny_models import build_tiny_qwen2_5_vl

TASKS = ["medvision_detect", "medvision_tl_cot", "medvision_ad"]


def lmms_eval_cli() -> str:
    return str(Path(sys.executable).with_name("lmms-eval"))


@pytest.mark.slow
def test_stock_qwen2_5_vl_runs_every_family_through_the_cli(tmp_path):
    model_dir = build_tiny_qwen2_5_vl(tmp_path / "tiny-qwen")
    output = tmp_path / "results"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("MEDVISION_DATA_DIR", None)
    command = [
        lmms_eval_cli(),
        "--include_path", task_folder(),
        "--tasks", ",".join(TASKS),
        "--model", "qwen2_5_vl",
        "--model_args", f"pretrained={model_dir},device_map=cpu,attn_implementation=sdpa",
        "--device", "cpu",
        "--batch_size", "1",
        "--limit", "2",
        "--gen_kwargs", "max_new_tokens=8",
        "--output_path", str(output),
        "--log_samples",
        "--verbosity", "DEBUG",  # lmms-eval exits 0 on errors otherwise
    ]  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-6000:]

    (results_file,) = output.rglob("*_results.json")
    results = json.loads(results_file.read_text())["results"]
    assert set(TASKS) <= set(results)
    assert 0.0 <= results["medvision_detect"]["sr,none"] <= 100.0
    assert "mre<0.1,none" in results["medvision_tl_cot"]
    for task in TASKS:
        (samples_file,) = output.rglob(f"*_samples_{task}.jsonl")
        lines = [json.loads(line) for line in samples_file.read_text().splitlines()]
        assert len(lines) == 2
        record = lines[0]["medvision_record"]
        assert record["image_policy"] == "qwen2_5_vl"
        assert record["dataset"] and record["plane"] and record["label_name"]
