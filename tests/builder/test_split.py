"""The subject-level train/test split: seeded, stable, and forced where the manifest says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvision_tasks.builder.manifest import ManifestError, load_manifest
from medvision_tasks.builder.split import assign_splits, forced_splits
from tests.helpers.volumes import write_manifest


def test_assign_splits_is_seeded_subject_level_and_stable() -> None:
    subjects = [f"s{n:02d}" for n in range(10)] * 2  # each subject twice
    first = assign_splits(subjects, {}, seed=7, train_fraction=0.7)
    assert sorted(first) == sorted(set(subjects))
    assert sorted(first.values()).count("train") == 7  # round(0.7 * 10)
    assert assign_splits(list(reversed(subjects)), {}, seed=7, train_fraction=0.7) == first
    others = [assign_splits(subjects, {}, seed=s, train_fraction=0.7) for s in range(8, 12)]
    assert any(o != first for o in others)
    forced = assign_splits(subjects, {"s03": "test", "s04": "train"}, seed=7, train_fraction=0.7)
    assert forced["s03"] == "test" and forced["s04"] == "train"
    assert sorted(forced.values()).count("train") == 1 + 6  # the forced one + round(0.7 * 8)


def test_a_subject_forced_into_both_splits_is_an_error(tmp_path: Path) -> None:
    cases = [
        {"id": "a", "subject_id": "s1", "image": "i", "mask": "m", "labels": {1: "x"}, "split": "train"},
        {"id": "b", "subject_id": "s1", "image": "i", "mask": "m", "labels": {1: "x"}, "split": "test"},
    ]
    manifest = load_manifest(write_manifest(tmp_path, {"datasets": [{"name": "D", "cases": cases}]}))
    with pytest.raises(ManifestError, match=r"subject 's1' is forced into both train and test \(case D/b says test\)"):
        forced_splits(manifest)
