"""Faults of `medvision-tasks prepare`: colliding imports, bad import fields, corrupt and non-RAS
volumes, interrupted writes, damaged cached outputs, a killed parent. Through the real CLI where
it is cheap, with the exact message and exit status, and the docs that still get written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvision_tasks.builder import atomic
from medvision_tasks.builder.cli import main
from tests.helpers.volumes import save_nifti, write_manifest

BOX = {"min_coords": [2, 3], "max_coords": [14, 15]}


def _doc(image_file: str, **fields) -> dict:
    return {
        "dataset_name": "Public",
        "taskID": "01",
        "taskType": "BoxCoordinate",
        "image_file": image_file,
        "slice_dim": 2,
        "slice_idx": 1,
        "image_size_2d": [20, 20],
        "pixel_size": [1.0, 1.0],
        "label": 1,
        "bounding_boxes": [BOX],
        **fields,
    }


def _import_manifest(tmp_path: Path, lines: list[str], volumes: str = "link", image_root: str = "src") -> Path:
    (tmp_path / "docs.jsonl").write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    entry = {"docs": "docs.jsonl", "image_root": image_root, "volumes": volumes, "labels": {1: "liver"}}
    return write_manifest(tmp_path, {"imports": [entry]})


def _volume(path: Path, fill: int) -> Path:
    return save_nifti(path, np.full((20, 20, 4), fill, np.int16), np.eye(4))


def _docs(out: Path, family: str = "detection") -> list[dict]:
    return [json.loads(line) for line in (out / f"{family}.jsonl").read_text().splitlines()]


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("MedVision error:")]


# --- item 1: one file per source path, nothing overwritten, nothing out of image_root -----------


@pytest.mark.parametrize("volumes", ["link", "copy"])
def test_two_sources_with_one_file_name_stay_two_files(tmp_path, volumes, capsys):
    first = _volume(tmp_path / "src/s0001/ct.nii.gz", 1)
    second = _volume(tmp_path / "src/s0002/ct.nii.gz", 2)
    manifest = _import_manifest(tmp_path, [json.dumps(_doc(str(first))), json.dumps(_doc(str(second)))], volumes)
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 0
    docs = _docs(out)
    assert [d["image_file"] for d in docs] == [
        "volumes/imported/Public/s0001/ct.nii.gz",
        "volumes/imported/Public/s0002/ct.nii.gz",
    ]
    # Each doc reads its own subject's voxels.
    assert [int(np.asarray(nib.load(out / d["image_file"]).dataobj).max()) for d in docs] == [1, 2]


def test_an_existing_different_file_is_never_replaced(tmp_path, capsys):
    source = _volume(tmp_path / "src/s0001/ct.nii.gz", 1)
    out = tmp_path / "out"
    foreign = out / "volumes/imported/Public/s0001/ct.nii.gz"
    foreign.parent.mkdir(parents=True)
    foreign.symlink_to(tmp_path / "elsewhere.nii.gz")
    manifest = _import_manifest(tmp_path, [json.dumps(_doc("s0001/ct.nii.gz"))])
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 1
    assert os.readlink(foreign) == str(tmp_path / "elsewhere.nii.gz")  # untouched
    assert _errors(capsys) == [
        f"MedVision error: import {tmp_path / 'docs.jsonl'} line 1: field image_file: {foreign} already exists and "
        + f"is not a link to {source}; not replaced (remove it first)"
    ]
    assert _docs(out) == []


def test_a_copy_that_differs_from_its_source_is_not_replaced_and_an_identical_one_is_kept(tmp_path, capsys):
    _volume(tmp_path / "src/a/ct.nii.gz", 1)
    manifest = _import_manifest(tmp_path, [json.dumps(_doc("a/ct.nii.gz"))], volumes="copy")
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 0
    copy = out / "volumes/imported/Public/a/ct.nii.gz"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 0  # identical: kept
    copy.write_bytes(b"someone else's file")
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 1
    assert copy.read_bytes() == b"someone else's file"
    assert _errors(capsys)[-1] == (
        f"MedVision error: import {tmp_path / 'docs.jsonl'} line 1: field image_file: {copy} already exists and "
        f"differs from {tmp_path / 'src/a/ct.nii.gz'}; not replaced (remove it first)"
    )


@pytest.mark.parametrize("image_file", ["../outside/ct.nii.gz", "ABSOLUTE"])
@pytest.mark.parametrize("volumes", ["link", "copy"])
def test_a_path_out_of_image_root_is_refused_for_link_and_copy(tmp_path, image_file, volumes, capsys):
    outside = _volume(tmp_path / "outside/ct.nii.gz", 1)
    _volume(tmp_path / "src/in/ct.nii.gz", 2)
    value = str(outside) if image_file == "ABSOLUTE" else image_file
    lines = [json.dumps(_doc(value)), json.dumps(_doc("in/ct.nii.gz"))]
    out = tmp_path / "out"
    assert main([str(_import_manifest(tmp_path, lines, volumes)), "--out", str(out), "--quiet"]) == 1
    assert _errors(capsys) == [
        f"MedVision error: import {tmp_path / 'docs.jsonl'} line 1: field image_file: {value!r} is not below "
        + f"image_root {tmp_path / 'src'}: volumes: {volumes} places only files below image_root "
        + "(use volumes: keep to reference it in place)"
    ]
    assert [d["image_file"] for d in _docs(out)] == ["volumes/imported/Public/in/ct.nii.gz"]
    assert not (out / "volumes/imported/outside").exists()


# --- item 4: import fields ---------------------------------------------------------------------


def test_bad_import_fields_name_file_line_and_field_and_the_other_docs_go_on(tmp_path, capsys):
    _volume(tmp_path / "src/ct.nii.gz", 1)
    good = json.dumps(_doc("ct.nii.gz"))
    ad = {
        **_doc("ct.nii.gz"),
        "taskType": "BiometricsFromLandmarks",
        "biometric_profile": "a string",
    }
    lines = [
        json.dumps(_doc("ct.nii.gz", label="abc")),
        json.dumps(_doc("ct.nii.gz", slice_dim="x")),
        json.dumps(_doc("ct.nii.gz", slice_idx=-1)),
        json.dumps(_doc("ct.nii.gz", image_size_2d="20x20")),
        json.dumps(_doc("ct.nii.gz", pixel_size=[1.0, 0])),
        json.dumps(ad),
        "[1, 2]",
        "{not json",
        good,
    ]
    manifest = _import_manifest(tmp_path, lines)
    (tmp_path / "docs.jsonl").write_bytes((tmp_path / "docs.jsonl").read_bytes() + b'{"a": "\xff"}\n' + good.encode())
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 1
    where = f"MedVision error: import {tmp_path / 'docs.jsonl'}"
    errors = _errors(capsys)
    assert errors[:7] == [
        f"{where} line 1: field label is 'abc'; expected a whole number",
        f"{where} line 2: field slice_dim is 'x'; expected 0, 1 or 2",
        f"{where} line 3: field slice_idx is -1; expected a whole number >= 0",
        f"{where} line 4: field image_size_2d is '20x20'; expected two positive whole numbers",
        f"{where} line 5: field pixel_size is [1.0, 0]; expected two positive numbers (mm)",
        f"{where} line 6: field biometric_profile is 'a string'; expected an object with a metric_key",
        f"{where} line 7: [1, 2] is not a JSON object",
    ]
    assert errors[7].startswith(f"{where} line 8: not valid JSON (")
    assert errors[8].startswith(f"{where} line 10: not UTF-8 (")
    assert len(errors) == 9
    assert len(_docs(out)) == 2  # lines 9 and 11
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skips"]["by_reason"] == {
        "malformed field biometric_profile": 1,
        "malformed field image_size_2d": 1,
        "malformed field label": 1,
        "malformed field pixel_size": 1,
        "malformed field slice_dim": 1,
        "malformed field slice_idx": 1,
        "not a JSON object": 1,
        "unreadable line": 2,
    }


# --- item 2/3 in imports: the volume's header ------------------------------------------------


def test_an_imported_corrupt_volume_is_named_and_the_others_go_on(tmp_path, capsys):
    _volume(tmp_path / "src/good.nii.gz", 1)
    bad = tmp_path / "src/bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b" + bytes(100))
    lines = [
        json.dumps(_doc("bad.nii.gz")),
        json.dumps(_doc("good.nii.gz")),
        json.dumps(_doc("good.nii.gz", slice_idx=9)),
    ]
    out = tmp_path / "out"
    assert main([str(_import_manifest(tmp_path, lines)), "--out", str(out), "--quiet"]) == 1
    errors = _errors(capsys)
    where = f"MedVision error: import {tmp_path / 'docs.jsonl'}"
    assert errors[0].startswith(f"{where} line 1: field image_file: cannot decode volume {bad}: ")
    assert errors[1] == (
        f"{where} line 3: field image_file: slice_idx 9 outside volume {tmp_path / 'src/good.nii.gz'} "
        "(RAS+ shape [20, 20, 4], along dim 2)"
    )
    assert [d["image_file"] for d in _docs(out)] == ["volumes/imported/Public/good.nii.gz"]


def test_an_imported_lps_volume_is_said_once_and_read_in_ras(tmp_path, capsys):
    ras = np.arange(20 * 20 * 4, dtype=np.int16).reshape(20, 20, 4)
    lps_affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    lps_affine[:2, 3] = 19.0
    source = save_nifti(tmp_path / "src/lps.nii.gz", np.ascontiguousarray(ras[::-1, ::-1, :]), lps_affine)
    lines = [json.dumps(_doc("lps.nii.gz")), json.dumps(_doc("lps.nii.gz", slice_idx=2))]
    out = tmp_path / "out"
    assert main([str(_import_manifest(tmp_path, lines)), "--out", str(out), "--quiet"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "RAS+" in line]
    assert said == [
        f"MedVision: volume {source} is stored LPS; its slices are taken from its RAS+ reorientation "
        + "(the frame MedVision docs index)"
    ]
    from medvision_tasks.volumes import read_slices

    got = dict(read_slices(out / _docs(out)[0]["image_file"], [(2, 1)]))
    assert np.array_equal(got[(2, 1)], ras[:, :, 1])


# --- item 5: complete or absent; cached outputs validated; workers end with their parent ---------


def test_an_interrupted_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "v.nii.gz"
    with pytest.raises(KeyboardInterrupt), atomic.writing(target, ".nii.gz") as partial:
        partial.write_bytes(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def _case_manifest(tmp_path: Path, cases: int = 1) -> Path:
    block = np.zeros((16, 16, 3), dtype=np.uint8)
    block[2:14, 2:14, :] = 1
    save_nifti(tmp_path / "image.nii.gz", np.arange(16 * 16 * 3, dtype=np.int16).reshape(16, 16, 3), np.eye(4))
    save_nifti(tmp_path / "mask.nii.gz", block, np.eye(4))
    entries = [{"id": f"c{n}", "image": "image.nii.gz", "mask": "mask.nii.gz", "split": "test"} for n in range(cases)]
    return write_manifest(
        tmp_path,
        {"defaults": {"planes": ["axial"], "labels": {1: "block"}}, "datasets": [{"name": "S", "cases": entries}]},
    )


def test_stale_partial_files_of_dead_processes_are_removed_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "out"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    host = atomic._HOST
    stale = [
        out / f"volumes/.S_c0_image.{host}-{dead_pid}.partial.nii.gz",
        out / f".detection.jsonl.{dead_pid}.partial",  # written before partial names held the host
    ]
    kept = [
        out / f"volumes/.S_c9_image.{host}-{os.getpid()}.partial.nii.gz",  # a live process's
        out / f"volumes/.S_c8_image.otherhost-{dead_pid}.partial.nii.gz",  # another machine's shard
    ]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    assert main([str(_case_manifest(tmp_path)), "--out", str(out)]) == 0
    assert [p.exists() for p in stale + kept] == [False, False, True, True]
    assert f"MedVision: prepare: removed 2 partial file(s) an interrupted run left in {out}" in capsys.readouterr().err


def test_a_truncated_output_volume_is_rebuilt(tmp_path, capsys):
    manifest = _case_manifest(tmp_path)
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 0
    volume = out / "volumes/S_c0_image.nii.gz"
    written = volume.read_bytes()
    os.truncate(volume, len(written) // 2)
    assert main([str(manifest), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert (
        f"MedVision: prepare: S/c0: {volume} is not as it was written "
        f"(it holds {len(written) // 2} bytes, {len(written)} were written); building it again"
    ) in err
    assert "built 1, reused 0" in err
    assert volume.read_bytes() == written
    # Same size, another content and time: found by its hash.
    volume.write_bytes(bytes(len(written)))
    assert main([str(manifest), "--out", str(out)]) == 0
    assert "(its content changed (SHA-256)); building it again" in capsys.readouterr().err
    assert volume.read_bytes() == written
    # Untouched: reused.
    assert main([str(manifest), "--out", str(out)]) == 0
    assert "built 0, reused 1" in capsys.readouterr().err


_PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from medvision_tasks.builder import atomic, driver

    folder = Path(sys.argv[1])

    def slow(unit, out_dir):
        with atomic.writing(folder / f"{os.getpid()}.nii.gz", ".nii.gz") as partial:
            partial.write_bytes(b"half")
            (folder / f"{os.getpid()}.started").write_text("")
            time.sleep(120)

    driver._builder = lambda unit: slow
    units = [(n, f"u{n}") for n in range(2)]
    list(driver._run_cases(units, folder, workers=2, progress=False))
    """
)


def test_workers_end_when_their_parent_dies(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path)], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.started"))) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "the workers did not start"
            time.sleep(0.1)
        workers = [int(p.name.split(".")[0]) for p in tmp_path.glob("*.started")]
        assert len(list(tmp_path.glob(".*.partial.nii.gz"))) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [_running(pid) for pid in workers] == [False, False]
        assert list(tmp_path.glob(".*.partial.nii.gz")) == []  # each worker removed its partial file
    finally:
        if parent.poll() is None:
            parent.kill()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped by init, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


_TERMINATED = textwrap.dedent(
    """
    import os, sys, time
    from medvision_tasks.builder import atomic, driver
    from medvision_tasks.builder.cli import main

    def slow(unit, out_dir):
        with atomic.writing(out_dir / "volumes/slow.nii.gz", ".nii.gz") as partial:
            partial.write_bytes(b"half")
            time.sleep(120)

    driver._builder = lambda unit: slow
    sys.exit(main([sys.argv[1], "--out", sys.argv[2], "--workers", "1", "--quiet"]))
    """
)


def test_sigterm_stops_prepare_without_leaving_a_partial_file(tmp_path):
    manifest = _case_manifest(tmp_path)
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED, str(manifest), str(out)], cwd=Path(__file__).resolve().parents[2]
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("volumes/.*.partial.nii.gz")):
            assert time.monotonic() < deadline and run.poll() is None, "prepare did not start writing"
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=30) == 128 + signal.SIGTERM
        assert list((out / "volumes").iterdir()) == []
    finally:
        if run.poll() is None:
            run.kill()
