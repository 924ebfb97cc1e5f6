"""Loaded docs kept as Arrow datasets: the same docs, loaded once per process, reused by later runs, never stale."""

import json
import os

import pytest

from medvision_tasks import docs_cache, documents
from medvision_tasks.documents import MedVisionDataError, load_documents
from tests.helpers.synthetic_data import IMAGE_FILE, default_docs, write_data_dir


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(docs_cache, "_loaded", {})
    return write_data_dir(tmp_path)


@pytest.fixture()
def loader_calls(monkeypatch):
    calls = []
    real = documents.load_documents

    def counting(family, plane, sample_rows=None):
        calls.append((family, plane))
        return real(family, plane, sample_rows)

    monkeypatch.setattr(documents, "load_documents", counting)
    return calls


def a_new_process(monkeypatch):
    monkeypatch.setattr(docs_cache, "_loaded", {})


def test_the_dataset_holds_the_loaded_docs(data_root):
    dataset = docs_cache.load_dataset("tl", "axial")
    assert dataset.to_list() == load_documents("tl", "axial")


def test_tasks_of_one_selection_load_once_and_later_runs_read_the_arrow_file(data_root, loader_calls, monkeypatch):
    first = docs_cache.load_dataset("detection", "axial").to_list()
    docs_cache.load_dataset("detection", "axial")  # the CoT task of the same selection
    assert loader_calls == [("detection", "axial")]
    a_new_process(monkeypatch)
    assert docs_cache.load_dataset("detection", "axial").to_list() == first
    assert loader_calls == [("detection", "axial")]
    docs_cache.load_dataset("detection", None)  # another selection is its own load
    assert loader_calls == [("detection", "axial"), ("detection", None)]


def test_an_edited_docs_file_is_loaded_again(data_root, loader_calls, monkeypatch):
    docs_cache.load_dataset("ad", None)
    path = data_root / "ad.jsonl"
    stat = os.stat(path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["biometric_profile"]["metric_value"] = 72.9  # same length as 27.9: same size
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    a_new_process(monkeypatch)
    assert docs_cache.load_dataset("ad", None)[0]["target"] == [72.9]
    assert len(loader_calls) == 2


def test_a_volume_gone_since_the_last_run_is_named_again(data_root, monkeypatch):
    docs_cache.load_dataset("tl", None)
    (data_root / IMAGE_FILE).unlink()
    a_new_process(monkeypatch)
    with pytest.raises(MedVisionDataError, match="volume not found"):
        docs_cache.load_dataset("tl", None)


def test_invalid_docs_are_reported_on_every_run(data_root, monkeypatch):
    docs = default_docs()
    docs["tl"][0]["biometric_profile"]["metric_value_major_axis"] = 0.0
    write_data_dir(data_root, docs)
    for _ in range(2):
        a_new_process(monkeypatch)
        with pytest.raises(MedVisionDataError, match="a target must be > 0"):
            docs_cache.load_dataset("tl", None)
    monkeypatch.setenv(documents.SKIP_INVALID_ENV, "1")
    assert len(docs_cache.load_dataset("tl", None)) == len(docs["tl"]) - 1
    stored = docs_cache._cache_file(docs_cache.selection_key(data_root, "tl", None, "published"))
    assert not stored.exists()  # so the next run warns about the dropped doc again


def test_each_protocol_is_its_own_load_and_an_unknown_one_is_named_with_a_cache(data_root, loader_calls, monkeypatch):
    # Loading builds every doc's prompts under the run's protocol, so a load under one protocol
    # never stands for another's.
    docs_cache.load_dataset("ad", None)
    a_new_process(monkeypatch)
    monkeypatch.setenv("MEDVISION_PROTOCOL", "original")
    docs_cache.load_dataset("ad", None)
    assert loader_calls == [("ad", None), ("ad", None)]
    a_new_process(monkeypatch)
    docs_cache.load_dataset("ad", None)  # original's own file, from the earlier run
    assert len(loader_calls) == 2
    assert len(list((docs_cache.volumes.cache_dir() / "docs").glob("*.arrow"))) == 2
    monkeypatch.setenv("MEDVISION_PROTOCOL", "nonesuch")
    with pytest.raises(MedVisionDataError, match="MEDVISION_PROTOCOL='nonesuch': unknown protocol"):
        docs_cache.load_dataset("ad", None)
