"""Faults in a docs file: each named with the file, the line and the field; skip mode drops that doc alone.

Through the loader (exact messages) and through lmms-eval's evaluator with a scripted model (the
other docs are still scored, and a duplicate doc is scored once).
"""

from __future__ import annotations

import copy
import json

import pytest
from lmms_eval.evaluator import simple_evaluate
from lmms_eval.tasks import TaskManager

from medvision_tasks import utils
from medvision_tasks.cli import task_folder
from medvision_tasks.documents import MedVisionDataError, load_documents
from tests.helpers.scripted_model import ScriptedModel
from tests.helpers.synthetic_data import default_docs, write_data_dir

DOC_KEY = "Phantom/01/volumes/phantom.nii.gz#2:8"  # the first doc of every family: axial slice 8


def _data(tmp_path, monkeypatch, docs=None, extra_lines: dict[str, bytes] | None = None):
    root = write_data_dir(tmp_path / "data", docs)
    for family, raw in (extra_lines or {}).items():
        with (root / f"{family}.jsonl").open("ab") as handle:
            handle.write(raw)
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(root))
    return root


def _refused(family: str) -> list[str]:
    with pytest.raises(MedVisionDataError) as raised:
        load_documents(family, None)
    return str(raised.value).splitlines()


def _spoiled(family: str, index: int, spoil) -> dict:
    docs = default_docs()
    spoil(docs[family][index])
    return docs


# (family, docs with one fault, extra raw lines appended as line 5, the exact error line after the file path)
LINE_FAULTS = [
    ("tl", None, '{"dataset_name": "caf\xe9"}\n'.encode("latin-1"), ":5: not UTF-8 (byte 0xe9 at column 22)"),
    ("tl", None, b"[1,2]\n", ":5: a doc must be a JSON object, got list [1,2]"),
    ("ad", None, b"42\n", ":5: a doc must be a JSON object, got int 42"),
]
FIELD_FAULTS = [
    (
        "ad",
        lambda d: d.update(biometric_profile="abc"),
        ":1 doc: field biometric_profile is 'abc'; expected a JSON object",
    ),
    (
        "tl",
        lambda d: d.update(biometric_profile="abc"),
        ":1 doc: field biometric_profile is 'abc'; expected a JSON object",
    ),
    (
        "ad",
        lambda d: d["biometric_profile"].update(metric_value="abc"),
        f":1 {DOC_KEY}/distance-1: biometric_profile.metric_value is 'abc'; expected a number",
    ),
    (
        "ad",
        lambda d: d["biometric_profile"].update(metric_key=[1]),
        ":1 doc: field biometric_profile.metric_key is [1]; expected a string",
    ),
    ("tl", lambda d: d.update(label="abc"), ":1 doc: field label is 'abc'; expected a whole number"),
    (
        "tl",
        lambda d: d["biometric_profile"].update(metric_value_minor_axis=1e400),
        f":1 {DOC_KEY}/2: biometric_profile.metric_value_minor_axis = inf (a target must be a finite number)",
    ),
]


@pytest.mark.parametrize(("family", "docs", "raw", "expected"), LINE_FAULTS)
def test_a_line_that_holds_no_doc_is_named_and_skip_mode_drops_it_alone(
    tmp_path, monkeypatch, family, docs, raw, expected
):
    root = _data(tmp_path, monkeypatch, docs, {family: raw})
    assert _refused(family) == [
        "1 MedVision doc(s) cannot be evaluated:",
        f"  {root / f'{family}.jsonl'}{expected}",
        "Fix them, or set MEDVISION_SKIP_INVALID=1 to drop them.",
    ]
    monkeypatch.setenv("MEDVISION_SKIP_INVALID", "1")
    assert len(load_documents(family, None)) == 4


@pytest.mark.parametrize(("family", "spoil", "expected"), FIELD_FAULTS)
def test_a_field_of_the_wrong_type_is_named_and_skip_mode_drops_its_doc(tmp_path, monkeypatch, family, spoil, expected):
    root = _data(tmp_path, monkeypatch, _spoiled(family, 0, spoil))
    assert _refused(family)[1] == f"  {root / f'{family}.jsonl'}{expected}"
    monkeypatch.setenv("MEDVISION_SKIP_INVALID", "1")
    assert len(load_documents(family, None)) == 3


def test_a_duplicate_doc_is_refused_and_skip_mode_keeps_its_first_copy(tmp_path, monkeypatch):
    docs = default_docs()
    docs["tl"].append(copy.deepcopy(docs["tl"][0]))  # line 5 repeats line 1
    root = _data(tmp_path, monkeypatch, docs)
    assert (
        _refused("tl")[1] == f"  {root / 'tl.jsonl'}:5 {DOC_KEY}/2: duplicate of the doc on line 1 (the same doc_key)"
    )
    monkeypatch.setenv("MEDVISION_SKIP_INVALID", "1")
    kept = load_documents("tl", None)
    assert [doc["doc_key"] for doc in kept] == [f"{DOC_KEY}/2", *(doc["doc_key"] for doc in kept[1:])]
    assert len({doc["doc_key"] for doc in kept}) == len(kept) == 4


# --- through lmms-eval: the other docs are scored, a duplicate once --------------------------------


@pytest.fixture(scope="module")
def task_manager() -> TaskManager:
    return TaskManager(include_path=task_folder(), include_defaults=False)


def _answer_off_by_major(doc, prompt) -> str:
    """An answer off by the target's own major axis: each doc's error differs (12.5, 10.0 mm on the axial slices)."""
    major, minor = doc["target"]
    return f"<answer>{2 * major}, {minor}</answer>"


def test_lmms_eval_scores_the_good_docs_once_in_skip_mode(tmp_path, monkeypatch, task_manager):
    docs = default_docs()
    docs["tl"].append(copy.deepcopy(docs["tl"][0]))  # duplicate of the 12.5 x 7.0 doc: scored twice before
    docs["tl"].append({**copy.deepcopy(docs["tl"][1]), "biometric_profile": "abc"})
    _data(tmp_path, monkeypatch, docs, {"tl": b"[1,2]\n"})
    monkeypatch.setenv("MEDVISION_SKIP_INVALID", "1")
    utils.SLICES.clear()
    results = simple_evaluate(
        model=ScriptedModel(_answer_off_by_major),
        tasks=["medvision_tl_cot"],
        task_manager=task_manager,
        bootstrap_iters=0,
    )
    scores = results["results"]["medvision_tl_cot"]
    # The two axial docs, once each: MAE = mean(12.5 / 2, 10.0 / 2) = 5.625 mm (with the duplicate: 5.833).
    assert scores["mae,none"] == pytest.approx(5.625)
    assert scores["sr,none"] == 100.0
    assert json.dumps(results["results"], allow_nan=False)


METADATA_FAULTS = [
    (b'{"labels": [{"dataset_name": "Phantom", "label": "abc"}]}', "labels entry 1: field label is 'abc'; expected a whole number"),
    (b"[1, 2]", "expected a JSON object with 'labels' and 'measurements' lists"),
    (b'{"labels": [3]}', "'labels' must be a list of objects"),
    (b'{"measurements": {"a": 1}}', "'measurements' must be a list of objects"),
    (b'{"labels": ["caf\xe9"]}', "not valid UTF-8 JSON ('utf-8' codec can't decode byte 0xe9 in position 16: invalid continuation byte)"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), METADATA_FAULTS)
def test_a_malformed_metadata_file_is_named(tmp_path, monkeypatch, content, expected):
    root = _data(tmp_path, monkeypatch)
    (root / "metadata.json").write_bytes(content)
    with pytest.raises(MedVisionDataError) as raised:
        load_documents("tl", None)
    assert str(raised.value) == f"{root / 'metadata.json'}: {expected}"


def test_metadata_labels_written_as_text_name_the_docs(tmp_path, monkeypatch):
    docs = default_docs()
    for doc in docs["tl"]:
        doc.pop("label_name", None)
    root = _data(tmp_path, monkeypatch, docs)
    labels = [{"dataset_name": "Phantom", "taskID": "01", "label": "2.0", "label_name": "phantom lesion"}]
    (root / "metadata.json").write_text(json.dumps({"labels": labels}))
    assert {doc["label_name"] for doc in load_documents("tl", None)} == {"phantom lesion"}
