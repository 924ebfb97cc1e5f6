"""Writing the data directory: test docs always, a train folder only when it has docs, the summary's counts."""

from __future__ import annotations

import json
from pathlib import Path

from medvision_tasks.builder.output import summary, write_docs
from medvision_tasks.builder.spec import Manifest

DOC = {"dataset_name": "D", "label_name": "liver", "slice_dim": 2}


def _docs(train: list[dict]) -> dict:
    return {
        "test": {"detection": [DOC, {**DOC, "slice_dim": 0}], "tl": [], "ad": []},
        "train": {"detection": train, "tl": [], "ad": []},
    }


def test_the_train_folder_exists_only_with_train_docs(tmp_path: Path) -> None:
    write_docs(tmp_path, _docs([DOC]))
    assert (tmp_path / "train/detection.jsonl").read_text() == json.dumps(DOC) + "\n"
    assert (tmp_path / "tl.jsonl").read_text() == "" and (tmp_path / "train/ad.jsonl").is_file()
    write_docs(tmp_path, _docs([]))
    assert not (tmp_path / "train").exists()
    assert len((tmp_path / "detection.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad.jsonl", "detection.jsonl", "tl.jsonl"]  # no partials


def test_summary_counts_docs_by_plane_and_label_and_skips_by_reason(tmp_path: Path) -> None:
    rows = [
        {"case": "D/c", "family": "detection", "item": "liver", "plane": "axial", "reason": "r1", "count": 2},
        {"case": "D/c", "family": "tl", "item": "t", "plane": "axial", "reason": "r1", "count": 1},
    ]
    manifest = Manifest(path=tmp_path / "m.yaml", base_dir=tmp_path)
    content = summary(manifest, "1", 4, {"s1": "test", "s2": "train"}, _docs([]), rows, ["e"], 2, 1)
    assert content["subjects"] == {"train": ["s2"], "test": ["s1"]}
    assert content["docs"]["test"]["by_family"]["detection"] == {
        "total": 2,
        "by_plane": {"axial": 1, "sagittal": 1},
        "by_label": {"D/liver": 2},
    }
    assert content["skips"]["by_reason"] == {"r1": 3}
    assert content["skips"]["by_family"] == {"detection": {"r1": 2}, "tl": {"r1": 1}}
    assert (content["cases"], content["seed"], content["errors"]) == ({"total": 2, "failed": 1}, 4, ["e"])
