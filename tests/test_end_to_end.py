"""The real lmms-eval evaluator over every task family, through the real hooks and YAMLs.

A scripted model answers from each doc's target, so every aggregated number is known exactly:
perfect answers give iou 100 and mre 0; a doc answered with garbage lowers sr by 100/N.
"""

from __future__ import annotations

import json
import logging

import pytest
from lmms_eval.evaluator import simple_evaluate
from lmms_eval.tasks import TaskManager

from medvision_tasks import documents, utils
from medvision_tasks.cli import task_folder
from tests.helpers.scripted_model import ScriptedModel, perfect_answer
from tests.helpers.synthetic_data import default_docs, write_data_dir

BASE_TASKS = [
    "medvision_detect",
    "medvision_detect_cot",
    "medvision_tl",
    "medvision_tl_cot",
    "medvision_ad",
    "medvision_ad_cot",
]
PLANE_TASKS = [
    f"medvision_{stem}{cot}_{plane}"
    for stem in ("detect", "tl")
    for cot in ("", "_cot")
    for plane in ("coronal", "sagittal")
]


@pytest.fixture(scope="module")
def task_manager() -> TaskManager:
    return TaskManager(include_path=task_folder(), include_defaults=False)


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    root = write_data_dir(tmp_path / "data")
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(root))
    utils.SLICES.clear()
    return root


def evaluate(model, tasks, task_manager) -> dict:
    return simple_evaluate(model=model, tasks=tasks, task_manager=task_manager, bootstrap_iters=0, log_samples=True)


def metric(results: dict, task: str, name: str) -> float:
    return results["results"][task][f"{name},none"]


def test_every_task_is_registered(task_manager):
    names = set(task_manager.all_tasks)
    assert set(BASE_TASKS + PLANE_TASKS) <= names
    assert "medvision" in names


def test_perfect_answers_score_perfectly_on_every_family(data_dir, task_manager):
    model = ScriptedModel(perfect_answer)
    decodes_before = utils.SLICES.decode_count
    results = evaluate(model, BASE_TASKS + PLANE_TASKS, task_manager)
    docs = default_docs()
    for task in ("medvision_detect", "medvision_detect_cot"):
        for name in ("recall", "precision", "f1", "iou", "sr", "iou>0.5"):
            assert metric(results, task, name) == pytest.approx(100.0), (task, name)
    for task in ("medvision_tl", "medvision_tl_cot", "medvision_ad", "medvision_ad_cot", "medvision_tl_coronal"):
        assert metric(results, task, "mae") == pytest.approx(0.0, abs=1e-5)
        assert metric(results, task, "mre") == pytest.approx(0.0, abs=1e-5)
        assert metric(results, task, "sr") == 100.0
        assert metric(results, task, "mre<0.1") == 100.0
    # Doc counts per task follow the planes of the synthetic docs: 2 axial, 1 coronal, 1 sagittal.
    n_samples = {task: len(samples) for task, samples in results["samples"].items()}
    assert n_samples["medvision_detect"] == 2
    assert n_samples["medvision_detect_cot_coronal"] == 1
    assert n_samples["medvision_tl_sagittal"] == 1
    assert n_samples["medvision_ad"] == len(docs["ad"])  # A/D spans every plane
    # One volume behind every doc: decoded once for all 28 requests.
    assert utils.SLICES.decode_count - decodes_before == 1


def test_unparsable_answer_lowers_success_rate_exactly(data_dir, task_manager):
    garbage_key = "Phantom/01/volumes/phantom.nii.gz#2:9/"

    def script(doc, prompt):
        return "I cannot tell." if doc["doc_key"].startswith(garbage_key) else perfect_answer(doc, prompt)

    results = evaluate(ScriptedModel(script), ["medvision_detect", "medvision_tl_cot"], task_manager)
    # 2 axial docs each, one of them unanswered: sr 50; detection scores count the failure as 0.
    assert metric(results, "medvision_detect", "sr") == 50.0
    assert metric(results, "medvision_detect", "iou") == pytest.approx(50.0)
    assert metric(results, "medvision_detect", "iou>0.5") == 50.0
    # T/L errors average over parsed docs only, but mre<0.1 counts all docs.
    assert metric(results, "medvision_tl_cot", "sr") == 50.0
    assert metric(results, "medvision_tl_cot", "mae") == pytest.approx(0.0, abs=1e-5)
    assert metric(results, "medvision_tl_cot", "mre<0.1") == 50.0


def test_known_errors_aggregate_to_hand_computed_values(data_dir, task_manager):
    # Every A/D answer is 10% high: mre 10%, mae = 0.1 * mean(targets), mre<0.1 counts none.
    def script(doc, prompt):
        return f"<answer>{doc['target'][0] * 1.1:.6f}</answer>"

    results = evaluate(ScriptedModel(script), ["medvision_ad_cot"], task_manager)
    targets = [27.9, 10.0, 35.0, 60.0]
    assert metric(results, "medvision_ad_cot", "mae") == pytest.approx(0.1 * sum(targets) / 4, rel=1e-6)
    assert metric(results, "medvision_ad_cot", "mre") == pytest.approx(10.0, rel=1e-6)
    assert metric(results, "medvision_ad_cot", "mre<0.1") == 0.0


def test_the_medvision_group_row_pools_its_subtasks_by_size(data_dir, task_manager):
    from lmms_eval.utils import make_table

    garbage_key = "Phantom/01/volumes/phantom.nii.gz#2:9/"

    def script(doc, prompt):
        return "no idea" if doc["doc_key"].startswith(garbage_key) else perfect_answer(doc, prompt)

    results = evaluate(ScriptedModel(script), ["medvision"], task_manager)
    group = results["results"]["medvision"]
    sizes = {task: len(results["samples"][task]) for task in BASE_TASKS}
    # Means over all docs pooled by size: SR over every doc of the six subtasks, IoU over both detection tasks.
    total = sum(sizes.values())
    expected_sr = sum(sizes[t] * metric(results, t, "sr") for t in BASE_TASKS) / total
    assert group["sr,none"] == pytest.approx(expected_sr)
    detect = ("medvision_detect", "medvision_detect_cot")
    expected_iou = sum(sizes[t] * metric(results, t, "iou") for t in detect) / sum(sizes[t] for t in detect)
    assert group["iou,none"] == pytest.approx(expected_iou)
    assert 0.0 < expected_iou < 100.0 and 0.0 < expected_sr < 100.0
    assert "mae,none" not in group and "mre,none" not in group  # means over parsed docs: not pooled by size
    printed = make_table(results, "groups")
    (row,) = [line for line in printed.splitlines() if line.startswith("|medvision") and "|sr" in line]
    assert f"{expected_sr:.4f}" in row


def test_negative_angle_or_distance_is_scored_as_an_error(data_dir, task_manager):
    # As upstream's table summaries did: |-5 - t| = t + 5 mm or degrees, relative (t + 5) / t.
    results = evaluate(ScriptedModel(lambda doc, prompt: "<answer>-5.0</answer>"), ["medvision_ad_cot"], task_manager)
    targets = [27.9, 10.0, 35.0, 60.0]
    assert metric(results, "medvision_ad_cot", "sr") == 100.0
    assert metric(results, "medvision_ad_cot", "mae") == pytest.approx(sum(targets) / 4 + 5, rel=1e-6)
    assert metric(results, "medvision_ad_cot", "mre") == pytest.approx(100 * sum((t + 5) / t for t in targets) / 4)


def test_sample_lines_carry_what_a_per_label_report_needs(data_dir, task_manager):
    results = evaluate(ScriptedModel(perfect_answer), ["medvision_tl", "medvision_detect_sagittal"], task_manager)
    line = results["samples"]["medvision_tl"][0]
    record = line["medvision_record"]
    assert line["mae"] == pytest.approx(record["abs_error"])  # each metric key: the doc's number only
    assert record["dataset"] == "Phantom"
    assert record["label_name"] == "tumor"
    assert record["plane"] == "axial"
    assert record["modality"] == "CT"
    assert record["parsed"] is True
    assert record["prediction"] == pytest.approx(record["target"])
    assert record["abs_error"] == pytest.approx(0.0, abs=1e-6)
    json.dumps(line)  # the whole line is JSON-serialisable for --log_samples
    detection = results["samples"]["medvision_detect_sagittal"][0]["medvision_record"]
    assert detection["plane"] == "sagittal"
    # Sagittal slice 8: 30 x 20 pixels, box rows 6..20, cols 4..11 (inclusive) -> 15 * 8 / 600.
    assert detection["box_area_fraction"] == pytest.approx(15 * 8 / 600)
    assert detection["target"] == pytest.approx([4 / 20, (30 - 20) / 30, 11 / 20, (30 - 6) / 30])


def test_prompts_state_the_native_geometry_for_an_unknown_model(data_dir, task_manager):
    model = ScriptedModel(perfect_answer)
    evaluate(model, ["medvision_tl_coronal"], task_manager)
    (seen,) = model.seen
    # Coronal slice: rows along x (0.5 mm), columns along z (2.0 mm); 40 x 20 pixels.
    assert seen["image_sizes"] == [(20, 40)]  # PIL gives (width, height)
    assert "The image size is 20 pixels (width) x 40 pixels (height)." in seen["prompt"]
    assert "The pixel size for this image is 2.000 mm (width) x 0.500 mm (height)." in seen["prompt"]


def test_the_original_protocol_end_to_end(data_dir, task_manager, monkeypatch):
    # First-release prompts (pixel size only, no tags), whole-response parsing, min-max pixels.
    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")

    def untagged(doc, prompt):
        return "The answer is " + ", ".join(f"{value:.6f}" for value in doc["target"])

    model = ScriptedModel(untagged)
    results = evaluate(model, ["medvision_tl_coronal", "medvision_detect"], task_manager)
    tl_seen = next(seen for seen in model.seen if "ellipse" in seen["prompt"])
    assert "The image size is" not in tl_seen["prompt"]
    assert "The pixel size for this image is 2.000 mm (width) x 0.500 mm (height).\n" in tl_seen["prompt"]
    assert metric(results, "medvision_tl_coronal", "sr") == 100.0
    assert metric(results, "medvision_detect", "iou") == pytest.approx(100.0)
    record = results["samples"]["medvision_tl_coronal"][0]["medvision_record"]
    assert record["protocol"] == "original"
    # The same untagged answers fail under the published protocol, whose plain prompts ask for tags.
    monkeypatch.setenv("MEDVISION_PROTOCOL", "published")
    results = evaluate(ScriptedModel(untagged), ["medvision_tl_coronal"], task_manager)
    assert metric(results, "medvision_tl_coronal", "sr") == 0.0
    assert results["samples"]["medvision_tl_coronal"][0]["medvision_record"]["protocol"] == "published"


def test_an_unknown_protocol_is_a_clear_error(data_dir, task_manager, monkeypatch):
    monkeypatch.setenv("MEDVISION_PROTOCOL", "paper")
    with pytest.raises(Exception) as raised:
        evaluate(ScriptedModel(perfect_answer), ["medvision_tl"], task_manager)
    chain, error = [], raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    assert any(
        "MEDVISION_PROTOCOL='paper': unknown protocol 'paper'; expected one of published, original" in text
        for text in chain
    ), chain


def test_missing_volume_is_reported_before_inference(data_dir, task_manager):
    (data_dir / "volumes" / "phantom.nii.gz").unlink()
    model = ScriptedModel(perfect_answer)
    with pytest.raises(Exception) as raised:
        evaluate(model, ["medvision_tl"], task_manager)
    # lmms-eval retries dataset loading and raises tenacity's RetryError from our error.
    chain, error = [], raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    assert any(
        "volume not found:" in text and "phantom.nii.gz" in text and "Phantom/01/volumes" in text for text in chain
    ), chain
    assert model.seen == []


def test_bundled_sample_is_used_and_announced_without_a_data_dir(monkeypatch, task_manager, caplog):
    monkeypatch.delenv("MEDVISION_DATA_DIR", raising=False)
    monkeypatch.setattr(documents, "_announced_sources", set())
    utils.SLICES.clear()
    model = ScriptedModel(perfect_answer)
    with caplog.at_level(logging.WARNING):
        results = evaluate(model, ["medvision_detect", "medvision_tl", "medvision_ad"], task_manager)
    for task in ("medvision_detect", "medvision_tl", "medvision_ad"):
        assert len(results["samples"][task]) > 0
        assert metric(results, task, "sr") == 100.0
    assert metric(results, "medvision_detect", "iou") == pytest.approx(100.0)
    announcements = [r for r in caplog.records if "running on the bundled sample benchmark" in r.getMessage()]
    assert len(announcements) == 1


def test_a_task_without_docs_says_which_selection_is_empty(tmp_path, monkeypatch, task_manager):
    docs = default_docs()
    docs["tl"] = [doc for doc in docs["tl"] if doc["slice_dim"] != 0]  # no sagittal T/L doc
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(write_data_dir(tmp_path, docs)))
    with pytest.raises(Exception) as raised:
        evaluate(ScriptedModel(perfect_answer), ["medvision_tl_sagittal"], task_manager)
    assert "no tl docs on the sagittal plane in " + str(tmp_path / "tl.jsonl") in str(raised.value.__cause__)


@pytest.mark.parametrize("family", ["detection", "tl", "ad"])
def test_bundled_sample_docs_are_valid_and_uniquely_keyed(monkeypatch, family):
    monkeypatch.delenv("MEDVISION_DATA_DIR", raising=False)
    docs = documents.load_documents(family, None)
    keys = [doc["doc_key"] for doc in docs]
    assert len(docs) > 0
    assert len(set(keys)) == len(keys)
