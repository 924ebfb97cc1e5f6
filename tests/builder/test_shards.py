"""A build spread over machines: ``--shard I/N`` runs into one shared folder, then ``--merge``.

The "cluster" is three concurrent ``python -m medvision_tasks.builder`` processes on one shared
output folder, as array jobs on a shared file system would run; the merged data directory must be
byte for byte the one a single process builds, for manifest cases and public plan files alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medvision_tasks.builder import prepare
from medvision_tasks.builder.cli import default_workers, main
from medvision_tasks.builder.driver import parse_shard
from tests.builder.test_driver import _split_manifest
from tests.helpers.public_data import KITS, write_public_data

OUTPUTS = ("detection.jsonl", "train/detection.jsonl", "summary.json")


def _shard_process(manifest: Path, out: Path, shard: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "medvision_tasks.builder", str(manifest), "--out", str(out)]
    return subprocess.Popen([*command, "--shard", shard, "--workers", "1", "--quiet"], stderr=subprocess.PIPE)


def test_shards_on_concurrent_processes_then_merge_give_the_single_process_build(tmp_path: Path) -> None:
    manifest = _split_manifest(tmp_path)  # 12 cases
    single = tmp_path / "single"
    prepare(manifest, single, use_cache=False, progress=False)
    shared = tmp_path / "shared"
    processes = [_shard_process(manifest, shared, f"{i}/3") for i in range(3)]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()
        assert b"built 4, reused 0, failed 0" in stderr  # cases i, i+3, i+6, i+9
    assert not (shared / "detection.jsonl").exists()  # shards write only the case cache and volumes
    assert len(list((shared / ".cases").glob("*.json"))) == 12
    merged = prepare(manifest, shared, merge=True, progress=False)
    assert (merged.cases_built, merged.cases_reused, merged.cases_missing) == (0, 12, 0)
    for name in OUTPUTS:
        assert (shared / name).read_bytes() == (single / name).read_bytes(), name
    assert sorted(p.name for p in (shared / "volumes").iterdir()) == sorted(
        p.name for p in (single / "volumes").iterdir()
    )


def test_a_shard_run_again_reuses_its_cases_and_a_merge_names_missing_ones(tmp_path: Path, capsys) -> None:
    manifest = _split_manifest(tmp_path)
    out = tmp_path / "out"
    first = prepare(manifest, out, shard=(1, 4), progress=False)
    again = prepare(manifest, out, shard=(1, 4), progress=False)
    assert (first.cases_built, again.cases_built, again.cases_reused) == (3, 0, 3)
    assert main([str(manifest), "--out", str(out), "--merge", "--quiet"]) == 1
    merged = prepare(manifest, out, merge=True, progress=False)
    assert (merged.cases_reused, merged.cases_missing, merged.cases_failed) == (3, 9, 9)
    missing = [e for e in merged.errors if "no shard built it" in e]
    assert len(missing) == 9 and missing[0].startswith("case S/sub0-scan0:")  # case 0 belongs to shard 0
    stderr = capsys.readouterr().err
    assert "case S/sub0-scan0: no shard built it" in stderr and "case S/sub0-scan1:" not in stderr
    assert sum(merged.doc_counts[split]["detection"] for split in merged.doc_counts) == 3 * 3  # 3 cases x 3 slices


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1", "a/b", "1/0"])
def test_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_shard_and_merge_need_the_cache_and_exclude_each_other(tmp_path: Path) -> None:
    manifest = _split_manifest(tmp_path)
    with pytest.raises(ValueError, match="--no-cache"):
        prepare(manifest, tmp_path / "o", shard=(0, 2), use_cache=False)
    with pytest.raises(ValueError, match="either one shard or the merge"):
        prepare(manifest, tmp_path / "o", shard=(0, 2), merge=True)


def test_default_workers_use_every_cpu_memory_allows(monkeypatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 256 * 2**30 // 4096}  # 256 GiB
    monkeypatch.setattr("os.sysconf", lambda name: pages[name])
    assert default_workers() == 64
    pages["SC_PHYS_PAGES"] = 16 * 2**30 // 4096  # 16 GiB: 2 GiB a worker
    assert default_workers() == 8


PUBLIC_TASKS = (
    "KiTS23_BoxSize_Task01_Axial",
    "KiTS23_TumorLesionSize_Task01_Axial",
    "Ceph-Biometrics-400_BiometricsFromLandmarks_Angle_Task01_Sagittal",
)  # three plan files: KiTS23 detection, KiTS23 biometry, Ceph biometry


def test_shards_split_manifest_cases_and_public_plans_alike(tmp_path: Path, capsys) -> None:
    manifest = _split_manifest(tmp_path)  # 12 cases, then 3 plan files: 15 units
    public = ["--public", str(write_public_data(tmp_path / "MedVision")), "--tasks", *PUBLIC_TASKS, "--quiet"]
    single, shared = tmp_path / "single", tmp_path / "shared"
    assert main([str(manifest), "--out", str(single), "--no-cache", "--workers", "1", *public]) == 0
    for shard in range(4):  # units 3, 7, 11 (cases) and 12, 13, 14 (plans) fall to shards 3, 3, 3, 0, 1, 2
        assert main([str(manifest), "--out", str(shared), "--shard", f"{shard}/4", "--workers", "1", *public]) == 0
    built = [line for line in capsys.readouterr().err.splitlines() if "cached its cases and plan files" in line]
    assert [line.split(": ", 2)[2] for line in built] == [
        f"built {n}, reused 0, failed 0; run --merge once every shard is done" for n in (4, 4, 4, 3)
    ]
    assert not (shared / "tl.jsonl").exists()
    assert main([str(manifest), "--out", str(shared), "--merge", "--workers", "1", *public]) == 0
    for name in (*OUTPUTS, "tl.jsonl", "ad.jsonl"):
        assert (shared / name).read_bytes() == (single / name).read_bytes(), name
    assert len((single / "tl.jsonl").read_text().splitlines()) == 2


def test_a_public_plan_with_errors_is_built_again_by_its_shard_and_reported_by_the_merge(
    tmp_path: Path, capsys
) -> None:
    root = write_public_data(tmp_path / "MedVision")
    (root / "Datasets" / KITS / "Images/c2_0000.nii.gz").unlink()  # an error from a file outside the plan's key
    args = ["--public", str(root), "--out", str(tmp_path / "out"), "--tasks", PUBLIC_TASKS[0], "--workers", "1"]
    for _ in range(2):
        assert main([*args, "--shard", "0/1", "--quiet"]) == 1
        assert "built 1, reused 0, failed 0" in capsys.readouterr().err
    assert main([*args, "--merge"]) == 1
    err = capsys.readouterr().err
    assert "reusing 1 cached result(s)" in err
    assert "MedVision error: KiTS23_BoxSize_Task01_Axial_Test: 1 image volume(s) missing" in err
