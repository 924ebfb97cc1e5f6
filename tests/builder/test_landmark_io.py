"""Landmark files: every format read into RAS world mm, and placed on a voxel grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medvision_tasks.builder.landmark_io import inside_volume, read_landmarks, world_to_voxel
from medvision_tasks.builder.volume_io import InputError

# Voxel (i, j, k) -> (1 + 0.5 i, 2 + 0.8 j, 3 + 2.5 k) mm.
AFFINE = np.array([[0.5, 0, 0, 1.0], [0, 0.8, 0, 2.0], [0, 0, 2.5, 3.0], [0, 0, 0, 1]])
FCSV_COLUMNS = "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fcsv_in_lps_is_turned_to_ras(tmp_path):
    path = _write(tmp_path, "p.fcsv", f"# CoordinateSystem = LPS\n{FCSV_COLUMNS}\n1,-1,-2,3,0,0,0,1,1,1,0,AC,,\n")
    landmarks = read_landmarks(path)
    assert landmarks.names == ("AC",)
    np.testing.assert_allclose(landmarks.position("AC"), [1.0, 2.0, 3.0])


def test_the_name_column_can_be_another_one(tmp_path):
    path = _write(tmp_path, "p.fcsv", f"{FCSV_COLUMNS}\n1,1,2,3,0,0,0,1,1,1,0,,genu,\n")
    assert read_landmarks(path, name_column="desc").names == ("genu",)


def test_json_voxel_indices_of_the_stored_image(tmp_path):
    path = _write(tmp_path, "p.json", json.dumps({"space": "voxel", "landmarks": {"A": [1, 0, 2]}}))
    np.testing.assert_allclose(read_landmarks(path, voxel_affine=AFFINE).position("A"), [1.5, 2.0, 8.0])


def test_slicer_markups_json_default_to_lps(tmp_path):
    markups = {"markups": [{"controlPoints": [{"label": "B", "position": [-4.0, 5.0, 6.0]}]}]}
    path = _write(tmp_path, "p.mrk.json", json.dumps(markups))
    np.testing.assert_allclose(read_landmarks(path).position("B"), [4.0, -5.0, 6.0])


def test_csv_with_ijk_columns_is_voxels(tmp_path):
    path = _write(tmp_path, "p.csv", "name,i,j,k\nC,2,5,0\n")
    np.testing.assert_allclose(read_landmarks(path, voxel_affine=AFFINE).position("C"), [2.0, 6.0, 3.0])


@pytest.mark.parametrize(
    ("name", "text", "phrase"),
    [
        ("p.csv", "name,x,y,z\nA,1,2,3\nA,4,5,6\n", "duplicate landmark names ['A']"),
        ("p.csv", "name,x,y,z\n,1,2,3\n", "landmark #1 has no name"),
        ("p.csv", "name,x,y,z\nA,1,two,3\n", "non-numeric coordinates"),
        ("p.txt", "A 1 2 3\n", "unknown landmark format"),
        ("p.json", json.dumps({"A": [1, 2]}), "landmark 'A' needs three coordinates"),
    ],
)
def test_bad_files_are_named(tmp_path, name, text, phrase):
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError, match=f"^{path}: ") as error:
        read_landmarks(path)
    assert phrase in str(error.value)


def test_voxel_landmarks_need_the_image(tmp_path):
    path = _write(tmp_path, "p.csv", "name,i,j,k\nC,2,5,0\n")
    with pytest.raises(InputError, match="voxel landmarks need the case's image"):
        read_landmarks(path)


def test_world_positions_placed_on_a_grid_and_the_half_voxel_border():
    np.testing.assert_allclose(world_to_voxel(AFFINE, np.array([[1.5, 2.0, 8.0]])), [[1.0, 0.0, 2.0]])
    assert inside_volume((-0.5, 0.0, 2.5), (4, 3, 3))  # within half a voxel of the first/last centre
    assert not inside_volume((-0.51, 0.0, 0.0), (4, 3, 3))
    assert not inside_volume((0.0, 2.51, 0.0), (4, 3, 3))
