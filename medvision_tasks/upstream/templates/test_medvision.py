"""MedVision tasks (lmms_eval/tasks/medvision): task index, bundled sample, and the hooks on a synthetic phantom.

The hooks come from the medvision-tasks package (pip install "lmms_eval[medvision]"); without it these tests are skipped.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest
from datasets import Dataset

import lmms_eval.tasks
from lmms_eval.tasks import TaskManager

pytestmark = pytest.mark.skipif(importlib.util.find_spec("medvision_tasks") is None, reason="needs medvision-tasks: pip install lmms_eval[medvision]")

TASK_FOLDER = Path(lmms_eval.tasks.__file__).parent / "medvision"
VOLUME_SHAPE = (40, 30, 20)  # voxels; axial slices are 40 rows x 30 columns
VOXEL_SIZE = (0.5, 0.8, 2.0)  # mm


@pytest.fixture
def utils():
    from lmms_eval.tasks.medvision import utils

    return utils


@pytest.fixture
def phantom_tl_doc(tmp_path, monkeypatch, utils):
    """One tumor/lesion doc on an axial slice of a synthetic volume, loaded through the task's process_docs."""
    import nibabel as nib
    import numpy as np

    volume = np.zeros(VOLUME_SHAPE, dtype=np.int16)
    volume[10:30, 5:25, 5:15] = 100
    (tmp_path / "volumes").mkdir()
    nib.save(nib.Nifti1Image(volume, np.diag([*VOXEL_SIZE, 1.0])), tmp_path / "volumes" / "phantom.nii.gz")
    doc = {
        "dataset_name": "Phantom",
        "taskID": "01",
        "taskType": "TumorLesionSize",
        "image_file": "volumes/phantom.nii.gz",
        "slice_dim": 2,
        "slice_idx": 8,
        "image_size_2d": [40, 30],
        "pixel_size": [0.5, 0.8],
        "image_size_3d": list(VOLUME_SHAPE),
        "voxel_size": list(VOXEL_SIZE),
        "modality": "CT",
        "image_description": "a synthetic CT phantom",
        "label": 1,
        "label_name": "tumor",
        "biometric_profile": {"metric_type": "distance", "metric_value_major_axis": 20.0, "metric_value_minor_axis": 10.0, "metric_unit": "mm"},
    }
    (tmp_path / "tl.jsonl").write_text(json.dumps(doc) + "\n")
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEDVISION_SYSTEM_PROMPT", raising=False)
    monkeypatch.delenv("MEDVISION_IMAGE_POLICY", raising=False)
    docs = utils.medvision_process_docs_tl_axial(Dataset.from_list([{"unused": 0}]))
    assert len(docs) == 1
    return docs[0]


def test_medvision_group_and_tasks_are_indexed():
    yaml_tasks = {re.search(r"^task: (\S+)$", path.read_text(), re.MULTILINE).group(1) for path in TASK_FOLDER.glob("medvision_*.yaml")}

    manager = TaskManager(include_path=str(TASK_FOLDER), include_defaults=False)

    assert {"medvision_detect", "medvision_tl_cot", "medvision_ad"} <= yaml_tasks
    assert "medvision" in manager.all_groups
    assert yaml_tasks <= set(manager.all_subtasks)


def test_medvision_tl_cot_reads_the_bundled_sample_with_the_model_policy(monkeypatch):
    monkeypatch.delenv("MEDVISION_DATA_DIR", raising=False)
    manager = TaskManager(include_path=str(TASK_FOLDER), include_defaults=False, model_name="qwen2_5_vl")

    task = manager.load_task_or_group(["medvision_tl_cot"])["medvision_tl_cot"]

    docs = task.test_docs()
    assert len(docs) > 0
    assert {doc["family"] for doc in docs} == {"tl"} and {doc["plane"] for doc in docs} == {"axial"}
    assert all(Path(doc["image_path"]).is_file() for doc in docs)
    assert task.lmms_eval_specific_kwargs == {"image_policy": "qwen2_5_vl"}


def test_medvision_doc_to_visual_and_messages(phantom_tl_doc, utils):
    kwargs = {"image_policy": "native"}

    (image,) = utils.medvision_doc_to_visual(phantom_tl_doc, kwargs)
    text = utils.medvision_doc_to_text_cot(phantom_tl_doc, kwargs)
    messages = utils.medvision_doc_to_messages_cot(phantom_tl_doc, kwargs)

    assert image.mode == "RGB" and image.size == (30, 40)  # width x height of the axial slice
    assert len(messages) == 1 and messages[0]["role"] == "user"
    assert messages[0]["content"][0]["type"] == "image" and messages[0]["content"][0]["url"].size == (30, 40)
    assert messages[0]["content"][1] == {"type": "text", "text": text}


def test_medvision_process_results_and_aggregation(phantom_tl_doc, utils):
    utils.medvision_doc_to_text_cot(phantom_tl_doc, {"image_policy": "native"})  # the prompt is built before the answer is scored

    answered = utils.medvision_process_results_cot(phantom_tl_doc, ["<think>...</think> <answer>21, 9.5</answer>"])
    unanswered = utils.medvision_process_results_cot(phantom_tl_doc, ["no idea"])

    # Each metric key holds the doc's number; the per-doc record is logged once under medvision_record.
    assert set(answered) == {"mae", "mre", "sr", "mre<0.1", "medvision_record"}
    assert answered["medvision_record"]["prediction"] == [21.0, 9.5] and unanswered["medvision_record"]["parsed"] is False

    def values(metric):
        return [answered[metric], unanswered[metric]]

    # major 21 vs 20 mm, minor 9.5 vs 10 mm: absolute errors 1 and 0.5 mm, relative errors 5 % and 5 %
    assert utils.medvision_aggregate_mae(values("mae")) == pytest.approx(0.75)
    assert utils.medvision_aggregate_mre(values("mre")) == pytest.approx(5.0)
    assert utils.medvision_aggregate_sr(values("sr")) == pytest.approx(50.0)
    assert utils.medvision_aggregate_mre_below_tenth(values("mre<0.1")) == pytest.approx(50.0)
