"""Answer checkpoints (``medvision_tasks.checkpoints``): a run killed midway resumes with identical results.

- The kill: the real ``lmms-eval`` CLI runs ``--model medvision_resume`` around a test model
  (``tests/helpers/resume_plugin``) that sends itself SIGKILL after 25 of the sample's 60 answers;
  the same command run again answers those 25 from the checkpoint, generates only the other 35, and
  writes the results and samples of an uninterrupted run of the bare model.
- The package's own wrappers: ``medvision_random`` and the tiny Qwen2.5-VL resume from a
  checkpoint cut after part of its answers (and a torn last line), generating only the rest.
- The key: what the model is shown (prompt, image policy, protocol, volume, model arguments) changes
  it; the file format survives a torn last line and concurrent writers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from lmms_eval.evaluator import simple_evaluate
from lmms_eval.tasks import TaskManager

from medvision_tasks import checkpoints
from medvision_tasks.checkpoints import CHECKPOINT_DIR_ENV, AnswerCheckpoint, answer_requests
from medvision_tasks.cli import task_folder
from medvision_tasks.ledger import LEDGER, Stated
from medvision_tasks.spacing import POLICY_ENV_VAR
from tests.helpers.lmms_runs import plugin_cli_env

BIN = Path(sys.executable).parent
TASKS = "medvision_detect_cot,medvision_tl_cot,medvision_ad"
SAMPLE_DOCS = {"medvision_detect_cot": 33, "medvision_tl_cot": 9, "medvision_ad": 18}  # in-distribution planes
KILL_AFTER = 25
# Fields of a results JSON that differ between two runs of the same evaluation (time, paths, the command).
RUN_SPECIFIC = {
    "config", "date", "start_time", "end_time", "total_evaluation_time_seconds", "pretty_env_info",
    "git_hash", "model_source", "model_name", "model_name_sanitized", "transformers_version",
    "lmms_eval_version", "chat_template", "chat_template_sha", "system_instruction", "system_instruction_sha",
    "fewshot_as_multiturn", "max_length", "tokenizer_pad_token", "tokenizer_eos_token", "tokenizer_bos_token",
    "eot_token_id",
}  # fmt: skip


class _Request:
    """The part of an lmms-eval ``Instance`` the checkpoint reads."""

    def __init__(self, *args) -> None:
        self.args = args


def _doc(tmp_path: Path, key: str = "D/v.nii.gz#2:5/1") -> dict:
    volume = tmp_path / "v.nii.gz"
    if not volume.exists():
        nib.save(nib.Nifti1Image(np.zeros((4, 4, 6), np.int16), np.eye(4)), volume)
    return {"doc_key": key, "family": "tl", "image_path": str(volume), "target": [3.0, 2.0]}


def _checkpoint(tmp_path: Path, doc: dict, **model_args) -> AnswerCheckpoint:
    return AnswerCheckpoint(tmp_path / "ck", "m", model_args or {"seed": 0}, {"t": {"test": [doc]}})


def _request(prompt: str = "How long?") -> _Request:
    return _Request(prompt, {"max_new_tokens": 8}, None, 0, "t", "test")


# --- the key -------------------------------------------------------------------------------------------


def test_the_key_changes_with_everything_the_model_is_shown(tmp_path, monkeypatch):
    doc = _doc(tmp_path)
    LEDGER.note("tl", doc["doc_key"], Stated((40, 30), (1.0, 1.0), "native", "published"))
    base = _checkpoint(tmp_path, doc).key(_request().args)
    assert _checkpoint(tmp_path, doc).key(_request().args) == base  # stable

    assert _checkpoint(tmp_path, doc).key(_request("How long? ").args) != base  # one byte of prompt
    other_kwargs = _Request("How long?", {"max_new_tokens": 9}, None, 0, "t", "test")
    assert _checkpoint(tmp_path, doc).key(other_kwargs.args) != base
    assert _checkpoint(tmp_path, doc, seed=1).key(_request().args) != base  # model arguments

    LEDGER.note("tl", doc["doc_key"], Stated((504, 504), (1.0, 1.0), "medvision_v0", "published"))
    assert _checkpoint(tmp_path, doc).key(_request().args) != base  # image policy
    LEDGER.note("tl", doc["doc_key"], Stated((40, 30), (1.0, 1.0), "native", "original"))
    assert _checkpoint(tmp_path, doc).key(_request().args) != base  # protocol
    LEDGER.note("tl", doc["doc_key"], Stated((40, 30), (1.0, 1.0), "native", "published"))
    assert _checkpoint(tmp_path, doc).key(_request().args) == base

    monkeypatch.setenv("MEDVISION_SYSTEM_PROMPT", "1")
    assert _checkpoint(tmp_path, doc).key(_request().args) != base
    monkeypatch.delenv("MEDVISION_SYSTEM_PROMPT")

    os.utime(doc["image_path"], ns=(1, 1))  # the volume rewritten
    assert _checkpoint(tmp_path, doc).key(_request().args) != base


def test_a_chat_request_is_keyed_by_its_generation_settings_too(tmp_path):
    doc = _doc(tmp_path)
    simple = _Request("Q", {"max_new_tokens": 8}, print, 0, "t", "test")
    chat = _Request("Q", print, {"max_new_tokens": 8}, 0, "t", "test")
    chat_other = _Request("Q", print, {"max_new_tokens": 9}, 0, "t", "test")
    checkpoint = _checkpoint(tmp_path, doc)
    assert checkpoint.key(simple.args) == checkpoint.key(chat.args) != checkpoint.key(chat_other.args)


# --- the file ------------------------------------------------------------------------------------------


def test_answers_are_read_back_and_a_torn_last_line_is_ignored(tmp_path, capsys):
    doc = _doc(tmp_path)
    generated: list[str] = []

    def generate(requests, on_answer):
        answers = []
        for index, request in enumerate(requests):
            answers.append(f"answer to {request.args[0]}")
            generated.append(request.args[0])
            on_answer(index, answers[-1])
        return answers

    first = [_request("A"), _request("B")]
    assert answer_requests(first, generate, _checkpoint(tmp_path, doc)) == ["answer to A", "answer to B"]
    (path,) = (tmp_path / "ck").glob("m-*/t/*.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["answer"] for line in lines] == ["answer to A", "answer to B"]
    path.write_text(lines[0] + "\n" + lines[1][:-7], encoding="utf-8")  # killed while writing B's line

    generated.clear()
    again = [_request("A"), _request("B"), _request("C")]
    assert answer_requests(again, generate, _checkpoint(tmp_path, doc)) == [
        "answer to A",
        "answer to B",
        "answer to C",
    ]
    assert generated == ["B", "C"]
    assert "1 of 3 answers read from the checkpoint" in capsys.readouterr().err
    # The torn bytes were cut before this process appended to its own file again: every line reads.
    assert [json.loads(line)["answer"] for line in path.read_text(encoding="utf-8").splitlines()] == [
        "answer to A",
        "answer to B",
        "answer to C",
    ]


def test_a_damaged_line_inside_a_file_is_named_and_skipped(tmp_path, capsys):
    doc = _doc(tmp_path)
    checkpoint = _checkpoint(tmp_path, doc)
    key = checkpoint.key(_request().args)
    folder = checkpoint.folder / "t"
    folder.mkdir(parents=True)
    (folder / "other-host-7.jsonl").write_text(
        "garbage\n" + json.dumps({"key": key, "task": "t", "doc_id": 0, "answer": "kept"}) + "\n", encoding="utf-8"
    )
    assert checkpoint.lookup(_request().args) == (key, checkpoints.Answer("kept"))
    assert (
        f"MedVision: answer checkpoint {folder / 'other-host-7.jsonl'} line 1 is unreadable" in capsys.readouterr().err
    )


def test_every_writer_has_its_own_file_and_a_resume_reads_them_all(tmp_path):
    doc = _doc(tmp_path)
    one, two = _checkpoint(tmp_path, doc), _checkpoint(tmp_path, doc)
    two.writer_name = "rank1-host-99.jsonl"  # another rank or node
    one.record(_request("A").args, one.key(_request("A").args), "a")
    two.record(_request("B").args, two.key(_request("B").args), "b")
    assert len(list(one.folder.glob("t/*.jsonl"))) == 2
    reader = _checkpoint(tmp_path, doc)
    assert [reader.lookup(_request(p).args)[1].text for p in "AB"] == ["a", "b"]


def test_token_counts_survive_the_checkpoint(tmp_path):
    from lmms_eval.api.instance import GenerationResult, TokenCounts

    doc = _doc(tmp_path)
    writer = _checkpoint(tmp_path, doc)
    output = GenerationResult(text="x", token_counts=TokenCounts(input_tokens=5, output_tokens=2))
    writer.record(_request().args, writer.key(_request().args), output)
    _, answer = _checkpoint(tmp_path, doc).lookup(_request().args)
    assert checkpoints.as_output(answer) == output


def test_no_directory_no_checkpoint_and_an_unwritable_one_is_refused_before_any_answer(tmp_path, monkeypatch):
    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    assert AnswerCheckpoint.from_environment("m", {}, {}) is None
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "file"))
    with pytest.raises(ValueError, match=f"^MedVision error: {CHECKPOINT_DIR_ENV}={tmp_path / 'file'}: cannot write "):
        AnswerCheckpoint.from_environment("m", {}, {})


# --- the package's wrappers, in-process ----------------------------------------------------------------


def _results_and_samples(results: dict) -> str:
    """The metrics and samples of an in-process run as JSON text (NaN, a failed MAE, compares equal as text)."""
    samples = {
        task: [{k: v for k, v in s.items() if k != "doc"} for s in rows] for task, rows in results["samples"].items()
    }
    return json.dumps([results["results"], samples], sort_keys=True, default=str)


def _cut(folder: Path, keep: int) -> int:
    """Keep the first ``keep`` answer lines of each task's checkpoint, then half a line; the lines cut."""
    cut = 0
    for path in folder.glob("*/*/*.jsonl"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        cut += len(lines) - keep
        path.write_text("".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2], encoding="utf-8")
    return cut


def test_medvision_random_resumes_and_generates_only_the_missing_answers(tmp_path, monkeypatch):
    from medvision_tasks.models import medvision_random

    tasks = TASKS.split(",")
    manager = TaskManager(include_path=task_folder(), include_defaults=False, model_name="medvision_random")

    def evaluate():
        model = medvision_random.MedVisionRandom(seed=3)
        return _results_and_samples(
            simple_evaluate(model=model, tasks=tasks, task_manager=manager, bootstrap_iters=0, log_samples=True)
        )

    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    uninterrupted = evaluate()
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "ck"))
    assert evaluate() == uninterrupted
    cut = _cut(tmp_path / "ck", keep=4)
    assert cut == sum(SAMPLE_DOCS.values()) - 3 * 4

    drawn = []
    real = medvision_random.answer_for_doc

    def counted(doc, seed, where="doc", **kwargs):
        drawn.append(doc["doc_key"])
        return real(doc, seed, where, **kwargs)

    monkeypatch.setattr(medvision_random, "answer_for_doc", counted)
    assert evaluate() == uninterrupted
    assert len(drawn) == cut


@pytest.mark.slow
def test_the_qwen_wrapper_resumes_its_batches(tmp_path, monkeypatch):
    from medvision_tasks.models.medvision_qwen2_5_vl import MedVisionQwen2_5_VL

    from medvision_tasks import utils
    from medvision_tasks.spacing import POLICY_ENV_VAR
    from tests.helpers.synthetic_data import write_data_dir
    from tests.helpers.tiny_models import build_tiny_qwen2_5_vl

    tiny = build_tiny_qwen2_5_vl(tmp_path / "tiny")
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path / "data")))
    monkeypatch.delenv(POLICY_ENV_VAR, raising=False)
    utils.SLICES.clear()
    tasks = ["medvision_tl", "medvision_ad_cot"]
    manager = TaskManager(include_path=task_folder(), include_defaults=False, model_name="medvision_qwen2_5_vl")

    def evaluate():
        model = MedVisionQwen2_5_VL(pretrained=str(tiny), device="cpu", dtype="float32", batch_size=1)
        calls = []
        generate = model.model.generate
        monkeypatch.setattr(model.model, "generate", lambda **kw: calls.append(1) or generate(**kw))
        results = simple_evaluate(
            model=model, tasks=tasks, task_manager=manager, bootstrap_iters=0, log_samples=True,
            gen_kwargs="max_new_tokens=4",
        )  # fmt: skip
        return _results_and_samples(results), len(calls)

    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "ck"))
    uninterrupted, total = evaluate()
    cut = _cut(tmp_path / "ck", keep=1)
    assert 0 < cut < total
    assert evaluate() == (uninterrupted, cut)


# --- kill and resume through the real CLI ---------------------------------------------------------------


def _lmms_eval(model: str, model_args: str, out: Path, env_extra: dict) -> subprocess.CompletedProcess:
    env = plugin_cli_env("tests.helpers.resume_plugin", **env_extra)
    command = [str(BIN / "lmms-eval"), "--include_path", task_folder(), "--model", model, "--tasks", TASKS,
               "--output_path", str(out), "--log_samples"]  # fmt: skip
    if model_args:
        command += ["--model_args", model_args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


def _written(out: Path) -> tuple[dict, dict]:
    """The results JSON without its run-specific fields, and each task's samples lines."""
    (results_file,) = out.rglob("*_results.json")
    # The task configs name the hooks with their addresses in memory, which differ between processes.
    text = re.sub(r" at 0x[0-9a-f]+", " at 0x", results_file.read_text(encoding="utf-8"))
    results = {k: v for k, v in json.loads(text).items() if k not in RUN_SPECIFIC}
    samples = {}
    for task in SAMPLE_DOCS:
        (path,) = out.rglob(f"*_samples_{task}.jsonl")
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return results, samples


def _generated(log: Path) -> Counter:
    return Counter(log.read_text(encoding="utf-8").splitlines()) if log.exists() else Counter()


@pytest.mark.slow
def test_a_run_killed_midway_resumes_to_the_results_of_an_uninterrupted_run(tmp_path):
    reference_log = tmp_path / "reference.log"
    reference = _lmms_eval("medvision_killed", "", tmp_path / "reference", {"RESUME_TEST_LOG": str(reference_log)})
    assert reference.returncode == 0 and "Traceback" not in reference.stderr, reference.stderr[-4000:]
    assert sum(_generated(reference_log).values()) == sum(SAMPLE_DOCS.values())

    checkpoint_dir, log = tmp_path / "checkpoints", tmp_path / "resumed.log"
    env = {CHECKPOINT_DIR_ENV: str(checkpoint_dir), "RESUME_TEST_LOG": str(log)}
    killed = _lmms_eval(
        "medvision_resume",
        "model=medvision_killed",
        tmp_path / "run",
        {**env, "RESUME_TEST_KILL_AFTER": str(KILL_AFTER)},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-4000:]
    folder = next(checkpoint_dir.iterdir())
    assert f"MedVision: 0 of 60 answers read from the checkpoint {folder}; generating 60\n" in killed.stderr
    before = _generated(log)
    assert sum(before.values()) == KILL_AFTER
    assert not list((tmp_path / "run").rglob("*_results.json"))
    lines = [json.loads(line) for path in checkpoint_dir.glob("*/*/*.jsonl") for line in path.read_text().splitlines()]
    assert Counter(f"{line['task']} {line['doc_id']}" for line in lines) == before

    resumed = _lmms_eval("medvision_resume", "model=medvision_killed", tmp_path / "run", env)
    assert resumed.returncode == 0 and "Traceback" not in resumed.stderr, resumed.stderr[-4000:]
    after = _generated(log) - before
    # Only the answers the killed run had not given were generated, each once.
    assert sum(after.values()) == sum(SAMPLE_DOCS.values()) - KILL_AFTER
    assert set(after) | set(before) == set(_generated(reference_log)) and not set(after) & set(before)
    assert max((before + after).values()) == 1
    assert f"MedVision: 25 of 60 answers read from the checkpoint {folder}; generating 35\n" in resumed.stderr
    assert _written(tmp_path / "run") == _written(tmp_path / "reference")


# --- the generic wrapper ---------------------------------------------------------------------------------


def test_medvision_resume_needs_a_checkpoint_directory(monkeypatch):
    from medvision_tasks.models.medvision_resume import MedVisionResume

    monkeypatch.delenv(CHECKPOINT_DIR_ENV, raising=False)
    monkeypatch.setenv(POLICY_ENV_VAR, "")
    with pytest.raises(ValueError, match="^MedVision error: --model medvision_resume checkpoints answers under "):
        MedVisionResume(model="medvision_random")
    assert os.environ[POLICY_ENV_VAR] == ""  # a refused wrapper changes nothing


def test_medvision_resume_resumes_a_chat_model_and_speaks_for_it(tmp_path, monkeypatch):
    import lmms_eval.models
    from medvision_tasks.models.medvision_resume import MedVisionResume

    from tests.helpers.scripted_model import ScriptedChatModel, perfect_answer

    monkeypatch.setattr(lmms_eval.models, "get_model", lambda name, force_simple=False: ScriptedChatModel)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "ck"))
    monkeypatch.setenv(POLICY_ENV_VAR, "")  # restored after the test, whatever the wrapper sets
    manager = TaskManager(include_path=task_folder(), include_defaults=False, model_name="medvision_resume")

    def evaluate():
        # The scripted chat model stands in for lmms-eval's qwen2_5_vl, whose image policy the tasks must use.
        model = MedVisionResume(model="qwen2_5_vl", script=perfect_answer, checkpoint_every="4")
        assert (model.is_simple, model.checkpoint_every, model.rank, model.world_size) == (False, 4, 0, 1)
        results = simple_evaluate(
            model=model, tasks=["medvision_tl_cot"], task_manager=manager, bootstrap_iters=0, log_samples=True
        )
        assert model.inner.seen is model.seen  # attributes the wrapper lacks are the inner model's
        policies = {sample["medvision_record"]["image_policy"] for sample in results["samples"]["medvision_tl_cot"]}
        assert policies == {"qwen2_5_vl"}
        return _results_and_samples(results), len(model.seen)

    whole = evaluate()
    assert whole[1] == SAMPLE_DOCS["medvision_tl_cot"]
    cut = _cut(tmp_path / "ck", keep=4)
    assert cut == SAMPLE_DOCS["medvision_tl_cot"] - 4
    assert evaluate() == (whole[0], cut)


def test_medvision_resume_keeps_a_policy_the_user_set_and_leaves_unknown_models_to_the_default(monkeypatch, tmp_path):
    import lmms_eval.models
    from medvision_tasks.models.medvision_resume import MedVisionResume

    from tests.helpers.scripted_model import ScriptedModel

    monkeypatch.setattr(lmms_eval.models, "get_model", lambda name, force_simple=False: ScriptedModel)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path / "ck"))
    monkeypatch.setenv(POLICY_ENV_VAR, "native")
    MedVisionResume(model="qwen2_5_vl", script=str)
    assert os.environ[POLICY_ENV_VAR] == "native"
    monkeypatch.setenv(POLICY_ENV_VAR, "")
    MedVisionResume(model="not_a_mapped_model", script=str)
    assert os.environ[POLICY_ENV_VAR] == ""
