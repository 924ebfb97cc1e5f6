"""The per-case cache: a key that sees the spec and the inputs, reuse only with every file present."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from medvision_tasks.builder.cache import case_cache_key, load_cached, prune_cache, store_cached
from medvision_tasks.builder.results import CaseResult
from medvision_tasks.builder.spec import CaseSpec
from tests.helpers.volumes import save_nifti


def _case(tmp_path: Path, case_id: str = "c") -> CaseSpec:
    image = save_nifti(tmp_path / "image.nii.gz", np.zeros((2, 2, 2), np.int16), np.eye(4))
    return CaseSpec("D", case_id, "s", str(image))


def _result(case: CaseSpec, *files: str) -> CaseResult:
    docs = {"detection": (), "tl": (), "ad": ()}
    return CaseResult(case.name, case.dataset_name, case.subject_id, docs, {}, (), False, files)


def test_the_key_changes_with_the_spec_and_the_input_files(tmp_path: Path) -> None:
    case = _case(tmp_path)
    key = case_cache_key(case)
    assert case_cache_key(case) == key
    assert case_cache_key(replace(case, slice_step=2)) != key
    stat = Path(case.image).stat()
    os.utime(case.image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert case_cache_key(case) != key


def test_a_stored_result_is_reused_only_while_its_files_exist(tmp_path: Path) -> None:
    case, out = _case(tmp_path), tmp_path / "out"
    (out / "volumes").mkdir(parents=True)
    (out / "volumes/D_c_image.nii.gz").write_bytes(b"x")
    result = _result(case, "volumes/D_c_image.nii.gz")
    store_cached(out, case, "k1", result)
    assert load_cached(out, case, "k1") == result
    assert load_cached(out, case, "k2") is None  # another key
    (out / "volumes/D_c_image.nii.gz").unlink()
    assert load_cached(out, case, "k1") is None  # a file it wrote is gone


def test_cases_gone_from_the_manifest_are_forgotten_with_their_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    kept, gone = _case(tmp_path, "kept"), _case(tmp_path, "gone")
    for name in ("shared.json", "gone.nii.gz"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x")
    store_cached(out, kept, "k", _result(kept, "shared.json"))
    store_cached(out, gone, "k", _result(gone, "shared.json", "gone.nii.gz"))
    prune_cache(out, {kept.name}, {"shared.json"})
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["shared.json"]
    assert load_cached(out, kept, "k") is not None and load_cached(out, gone, "k") is None
