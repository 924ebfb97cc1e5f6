"""The medvision_qwen2_5_vl / medvision_v0 wrappers and the stock qwen2_5_vl wrapper, end to end.

A tiny random Qwen2.5-VL (tests/helpers/tiny_models.py) runs through the real lmms-eval evaluator,
the real task YAMLs and hooks, on a phantom data directory (tests/helpers/synthetic_data.py: one
40 x 30 x 20 volume, so axial slices are 40x30, coronal 40x20, sagittal 30x20 pixels). Its
answers are noise; what is checked is the image the model saw against the size the prompt stated.

Expected Qwen sizes, by hand (smart_resize, factor 28; all three slices are below the minimum area,
so both sides scale by beta = sqrt(min_pixels / (H * W)) and ceil to multiples of 28).

The stock wrapper's limits, 200704..1605632 pixels (the task hands over these sizes itself):
- axial 40x30: beta = 12.933; 40 * beta / 28 = 18.5 -> 19 -> 532; 30 * beta / 28 = 13.9 -> 14 -> 392
- coronal 40x20: beta = 15.839; 22.6 -> 23 -> 644; 11.3 -> 12 -> 336
- sagittal 30x20: beta = 18.289; 19.6 -> 20 -> 560; 13.1 -> 14 -> 392

Qwen2.5-VL's own limits, 3136..12845056 pixels, in this package's wrapper (the task hands over the
slice; the processor resizes it, as upstream's vLLM runs did):
- axial 40x30: beta = sqrt(3136 / 1200) = 1.617; 40 * beta / 28 = 2.31 -> 3 -> 84; 30 * beta / 28 = 1.73 -> 2 -> 56
- coronal 40x20: beta = 1.980; 2.83 -> 3 -> 84; 1.41 -> 2 -> 56
- sagittal 30x20: beta = 2.286; 2.45 -> 3 -> 84; 1.63 -> 2 -> 56
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from medvision_tasks.prompts import SYSTEM_PROMPT
from medvision_tasks.spacing import POLICY_ENV_VAR
from tests.helpers.synthetic_data import write_data_dir
from tests.helpers.tiny_models import build_tiny_qwen2_5_vl

QWEN_SIZE_OF_PLANE = {"axial": (532, 392), "coronal": (644, 336), "sagittal": (560, 392)}
PROCESSOR_SIZE_OF_PLANE = {"axial": (84, 56), "coronal": (84, 56), "sagittal": (84, 56)}
SLICE_OF_PLANE = {"axial": (40, 30), "coronal": (40, 20), "sagittal": (30, 20)}
STATED = re.compile(r"The image size is (\d+) pixels \(width\) x (\d+) pixels \(height\)")
TASKS = ["medvision_tl", "medvision_ad_cot", "medvision_detect_cot_coronal", "medvision_tl_cot_sagittal"]


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory) -> Path:
    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny_qwen2_5_vl"))


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    root = write_data_dir(tmp_path / "data")
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(root))
    monkeypatch.delenv(POLICY_ENV_VAR, raising=False)
    utils.SLICES.clear()
    return root


def evaluate(model, model_name: str, tasks=TASKS) -> dict:
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    # The task manager gets the --model name: it picks that name's lmms_eval_specific_kwargs.
    manager = TaskManager(include_path=task_folder(), include_defaults=False, model_name=model_name)
    return simple_evaluate(
        model=model,
        tasks=tasks,
        task_manager=manager,
        bootstrap_iters=0,
        log_samples=True,
        gen_kwargs="max_new_tokens=4",
    )


def records_by_doc(results: dict) -> dict[tuple[str, int], dict]:
    """(task, doc_id) -> the per-doc record the task logged (what its prompt stated)."""
    out = {}
    for task, samples in results["samples"].items():
        for sample in samples:
            record = next(value for value in sample.values() if isinstance(value, dict) and "image_size" in value)
            out[(task, int(sample["doc_id"]))] = record
    return out


# --- unit ---------------------------------------------------------------------------------------


def test_size_check_compares_the_processed_grid_with_what_the_task_meant():
    from medvision_tasks.models.medvision_qwen2_5_vl import SizeCheck

    assert SizeCheck(0, "t", (512, 512), (504, 504), (504, 504), "medvision_v0").ok  # resized as meant
    assert SizeCheck(0, "t", (504, 504), (504, 504), (504, 504), "fixed:504x504").ok
    assert not SizeCheck(0, "t", (512, 512), (504, 504), (512, 512), "native").ok  # resized, not meant
    assert not SizeCheck(0, "t", (504, 504), (504, 504), None, "unknown").ok  # nothing known to compare


def test_unknown_model_args_and_bad_mismatch_mode_are_refused(tiny_qwen):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    with pytest.raises(TypeError, match="unexpected model_args"):
        MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu", min_pixel=3)
    with pytest.raises(ValueError, match="on_mismatch"):
        MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu", on_mismatch="ignore")


def test_the_prompt_comes_before_the_image_unless_asked(tiny_qwen):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    image = object()
    upstream_order = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu").messages("q", [image])
    assert [part["type"] for part in upstream_order[0]["content"]] == ["text", "image"]
    card_order = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu", image_first="true").messages("q", [image])
    assert [part["type"] for part in card_order[0]["content"]] == ["image", "text"]


def test_manifests_register_both_names_without_shadowing_the_stock_wrapper():
    from lmms_eval.models import MODEL_REGISTRY_V2

    assert MODEL_REGISTRY_V2.resolve("medvision_qwen2_5_vl").class_path.endswith("MedVisionQwen2_5_VL")
    assert MODEL_REGISTRY_V2.resolve("medvision_v0").class_path.endswith("MedVisionV0")
    assert MODEL_REGISTRY_V2.resolve("qwen2_5_vl").class_path.startswith("lmms_eval.models.chat.qwen2_5_vl")


# --- our wrapper through the evaluator ----------------------------------------------------------


def test_wrapper_sees_exactly_the_stated_size_on_every_plane(tiny_qwen, data_dir, tmp_path):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    log = tmp_path / "sizes.jsonl"
    model = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu", batch_size=3, size_log=str(log))
    results = evaluate(model, "medvision_qwen2_5_vl")
    records = records_by_doc(results)
    assert len(model.size_checks) == len(records) == 2 + 4 + 1 + 1
    for check in model.size_checks:
        record = records[(check.task, check.doc_id)]
        expected = PROCESSOR_SIZE_OF_PLANE[record["plane"]]
        assert record["image_policy"] == check.image_policy == "qwen2_5_vl_processor"
        assert check.handed_hw == SLICE_OF_PLANE[record["plane"]]  # the slice, as upstream handed it over
        assert check.processed_hw == check.expected_hw == tuple(record["image_size"]) == expected
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry["ok"] for entry in logged] == [True] * len(records)
    assert not any(entry["system_prompt_in_chat"] for entry in logged)  # off unless asked


def test_medvision_v0_sees_504_with_the_system_prompt(tiny_qwen, data_dir, tmp_path):
    from medvision_tasks.models.medvision_v0 import MedVisionV0

    log = tmp_path / "sizes.jsonl"
    model = MedVisionV0(pretrained=str(tiny_qwen), device="cpu", batch_size=2, size_log=str(log))
    assert model.system_prompt == SYSTEM_PROMPT
    chat = model.processor.apply_chat_template(model.messages("question", []), tokenize=False)
    assert chat.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
    results = evaluate(model, "medvision_v0", ["medvision_tl_cot", "medvision_ad_cot"])
    for check in model.size_checks:
        assert check.handed_hw == (512, 512)  # as MedVision-V0 was trained and benchmarked
        assert check.processed_hw == check.expected_hw == (504, 504)
    assert {record["image_policy"] for record in records_by_doc(results).values()} == {"medvision_v0"}
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 2 + 4 and all(entry["ok"] and entry["system_prompt_in_chat"] for entry in logged)


def test_a_size_the_processor_changes_is_a_loud_error(tiny_qwen, data_dir, monkeypatch):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL, SizeMismatchError

    monkeypatch.setenv(POLICY_ENV_VAR, "native")  # hand over 40x30 slices and state them: Qwen resizes them
    model = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu")
    with pytest.raises(SizeMismatchError, match=r"handed 40x30, processor grid gives 84x56, the task meant 40x30"):
        evaluate(model, "medvision_qwen2_5_vl", ["medvision_tl"])


def test_the_check_works_for_prompts_that_state_no_size(tiny_qwen, data_dir, monkeypatch):
    # The original protocol's plain prompts state the pixel size only: the ledger says what was meant.
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")
    model = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu")
    results = evaluate(model, "medvision_qwen2_5_vl", ["medvision_tl"])
    assert all("The image size is" not in sample["arguments"][0] for sample in results["samples"]["medvision_tl"])
    assert [check.ok for check in model.size_checks] == [True, True]
    assert [check.expected_hw for check in model.size_checks] == [(84, 56), (84, 56)]
    assert {record["protocol"] for record in records_by_doc(results).values()} == {"original"}
    monkeypatch.setenv(POLICY_ENV_VAR, "native")
    with pytest.raises(Exception, match=r"the task meant 40x30"):
        evaluate(MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu"), "medvision_qwen2_5_vl", ["medvision_tl"])


def test_warn_mode_flags_every_mismatching_image_and_goes_on(tiny_qwen, data_dir, monkeypatch):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    monkeypatch.setenv(POLICY_ENV_VAR, "native")
    model = MedVisionQwen2_5_VL(pretrained=str(tiny_qwen), device="cpu", on_mismatch="warn")
    results = evaluate(model, "medvision_qwen2_5_vl", ["medvision_tl"])
    assert len(results["samples"]["medvision_tl"]) == 2
    assert [check.ok for check in model.size_checks] == [False, False]


# --- the stock lmms-eval qwen2_5_vl wrapper, chat and simple paths -------------------------------


class RecordingProcessor:
    """Wraps a processor; records the chat texts and image grids of every call."""

    def __init__(self, processor):
        self._processor = processor
        self.seen: list[tuple[str, list[int]]] = []

    def __getattr__(self, name):
        return getattr(self._processor, name)

    def __call__(self, *args, **kwargs):
        out = self._processor(*args, **kwargs)
        texts = kwargs["text"] if isinstance(kwargs["text"], list) else [kwargs["text"]]
        self.seen.extend(zip(texts, out["image_grid_thw"].tolist()))
        return out


@pytest.mark.parametrize("path", ["chat", "simple"])
def test_stock_qwen2_5_vl_wrapper_sees_exactly_the_stated_size(tiny_qwen, data_dir, path):
    import importlib

    stock = importlib.import_module(f"lmms_eval.models.{path}.qwen2_5_vl").Qwen2_5_VL
    model = stock(pretrained=str(tiny_qwen), device="cpu", device_map="cpu")
    model.processor = RecordingProcessor(model.processor)
    evaluate(model, "qwen2_5_vl", ["medvision_tl", "medvision_ad_cot"])
    assert len(model.processor.seen) == 2 + 4
    seen_sizes = set()
    for text, (_, grid_h, grid_w) in model.processor.seen:
        width, height = (int(value) for value in STATED.search(text).groups())
        assert (grid_h * 14, grid_w * 14) == (height, width)
        seen_sizes.add((height, width))
    assert seen_sizes <= set(QWEN_SIZE_OF_PLANE.values())


# --- the command line, on the bundled sample -----------------------------------------------------


def run_cli(model: str, model_args: str, tasks: list[str], output: Path, env_extra: dict | None = None) -> dict:
    """Run `lmms-eval` offline on the bundled sample; returns {task: [sample lines]}."""
    import os

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env_extra or {})}
    env.pop("MEDVISION_DATA_DIR", None)
    env.pop(POLICY_ENV_VAR, None)
    command = [
        sys.executable, "-m", "lmms_eval",
        "--model", model, "--model_args", model_args, "--batch_size", "4",
        "--include_path", task_folder(), "--tasks", ",".join(tasks),
        "--gen_kwargs", "max_new_tokens=4",
        "--output_path", str(output), "--log_samples",
        "--verbosity", "DEBUG",  # else the CLI exits 0 after an exception
    ]  # fmt: skip
    completed = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    samples = {}
    for path in output.rglob("*_samples_*.jsonl"):
        task = path.stem.split("_samples_", 1)[1]
        samples[task] = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(samples) == sorted(tasks)
    return samples


@pytest.mark.slow
def test_cli_wrapper_with_system_prompt_sees_every_stated_size_on_the_sample(tiny_qwen, tmp_path):
    """`lmms-eval --model medvision_qwen2_5_vl` on every bundled doc, MedVision system prompt on."""
    log = tmp_path / "sizes.jsonl"
    tasks = ["medvision_detect_cot", "medvision_tl_cot", "medvision_ad_cot"]
    samples = run_cli(
        "medvision_qwen2_5_vl",
        f"pretrained={tiny_qwen},device=cpu,use_system_prompt=True,size_log={log}",
        tasks,
        tmp_path / "out",
    )
    checks = {(entry["task"], entry["doc_id"]): entry for entry in map(json.loads, log.read_text().splitlines())}
    assert len(checks) == sum(len(lines) for lines in samples.values()) > 0
    stated_count = 0
    for task, lines in samples.items():
        for line in lines:
            check = checks[(task, line["doc_id"])]
            assert check["ok"] and check["system_prompt_in_chat"]
            record = line["medvision_record"]
            assert record["image_policy"] == "qwen2_5_vl_processor"
            assert check["processed_hw"] == check["expected_hw"] == record["image_size"]
            stated = STATED.search(line["input"])  # the prompt as lmms-eval logged it
            if record["family"] == "detection":
                assert stated is None
                continue
            width, height = (int(value) for value in stated.groups())
            assert [height, width] == check["processed_hw"]  # stated size == processed grid x 14
            assert height % 28 == 0 and width % 28 == 0
            stated_count += 1
    assert stated_count == len(samples["medvision_tl_cot"]) + len(samples["medvision_ad_cot"])


@pytest.mark.slow
def test_cli_medvision_v0_gets_its_policy_from_its_model_name(tiny_qwen, tmp_path):
    log = tmp_path / "sizes.jsonl"
    samples = run_cli(
        "medvision_v0", f"pretrained={tiny_qwen},device=cpu,size_log={log}", ["medvision_tl_cot"], tmp_path / "out"
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == len(samples["medvision_tl_cot"]) > 0
    assert all(
        entry["ok"] and entry["system_prompt_in_chat"] and entry["expected_hw"] == [504, 504] for entry in entries
    )
    assert all(entry["handed_hw"] == [512, 512] for entry in entries)
    assert {line["medvision_record"]["image_policy"] for line in samples["medvision_tl_cot"]} == {"medvision_v0"}
