"""`medvision-tasks prepare`: docs built from synthetic volumes of known geometry.

Every expected value below is derived by hand from the phantom's construction (comments show
the arithmetic), never read back from the builder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml

from medvision_tasks.builder import prepare
from medvision_tasks.builder.cli import main
from tests.helpers.volumes import save_nifti, save_nifti_sform_only, save_nrrd_lps, write_manifest

# ---- the phantom grid -------------------------------------------------------------------------
# RAS+ grid: 64 x 48 x 30 voxels of 0.5 x 0.75 x 2.0 mm, origin (-10, 20, 5) mm.
SHAPE = (64, 48, 30)
SPACING = (0.5, 0.75, 2.0)
ORIGIN = np.array([-10.0, 20.0, 5.0])
# Ellipsoid lesion centred on voxel (32, 24, 15), semi-axes 10 mm (x), 6 mm (y), 12 mm (z):
# 20, 8 and 6 voxels.
CENTRE = (32, 24, 15)
SEMI_AXES_MM = (10.0, 6.0, 12.0)


def ras_affine() -> np.ndarray:
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = ORIGIN
    return affine


def ellipsoid_ras() -> np.ndarray:
    """Label 1 where ((x-cx)/a)^2 + ((y-cy)/b)^2 + ((z-cz)/c)^2 <= 1 (distances in mm)."""
    i, j, k = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    r2 = sum(((idx - c) * s / a) ** 2 for idx, c, s, a in zip((i, j, k), CENTRE, SPACING, SEMI_AXES_MM))
    return (r2 <= 1.0 + 1e-9).astype(np.uint8)


def to_stored(ras: np.ndarray) -> np.ndarray:
    """The RAS+ array as stored on a non-RAS grid: x and y flipped (LPS) and axes permuted to (z, x, y)."""
    return np.ascontiguousarray(ras[::-1, ::-1, :].transpose(2, 0, 1))


def stored_affine() -> np.ndarray:
    """Affine of :func:`to_stored`: stored index (k, a, b) = RAS voxel (nx-1-a, ny-1-b, k)."""
    nx, ny, _ = SHAPE
    affine = np.zeros((4, 4))
    affine[:3, 0] = [0.0, 0.0, SPACING[2]]
    affine[:3, 1] = [-SPACING[0], 0.0, 0.0]
    affine[:3, 2] = [0.0, -SPACING[1], 0.0]
    affine[:3, 3] = ORIGIN + [(nx - 1) * SPACING[0], (ny - 1) * SPACING[1], 0.0]
    affine[3, 3] = 1.0
    return affine


def stored_index(ras_voxel: tuple[float, float, float]) -> list[float]:
    i, j, k = ras_voxel
    return [k, SHAPE[0] - 1 - i, SHAPE[1] - 1 - j]


def ramp_image() -> np.ndarray:
    i, j, k = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (i + 3 * j + 7 * k).astype(np.int16)


def read_docs(out: Path, family: str, split: str = "test") -> list[dict]:
    path = out / (f"{family}.jsonl" if split == "test" else f"train/{family}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def skip_count(summary: dict, *, family: str, plane: str, reason: str) -> int:
    return sum(
        r["count"]
        for r in summary["skips"]["details"]
        if r["family"] == family and r["plane"] == plane and r["reason"] == reason
    )


# ---- ellipsoid lesion on an anisotropic, non-RAS grid --------------------------------------------


@pytest.fixture(params=["nifti", "nrrd"])
def ellipsoid_manifest(request, tmp_path: Path) -> Path:
    if request.param == "nifti":
        image = save_nifti(tmp_path / "in/image.nii.gz", to_stored(ramp_image()), stored_affine())
        mask = save_nifti(tmp_path / "in/mask.nii.gz", to_stored(ellipsoid_ras()), stored_affine())
    else:
        image = save_nrrd_lps(tmp_path / "in/image.nrrd", to_stored(ramp_image()), stored_affine())
        mask = save_nrrd_lps(tmp_path / "in/mask.nrrd", to_stored(ellipsoid_ras()), stored_affine())
    return write_manifest(
        tmp_path,
        {
            "datasets": [
                {
                    "name": "Phantom",
                    "modality": "MRI",
                    "image_description": "a synthetic MRI, {plane} slice",
                    "cases": [
                        {
                            "id": "ellipsoid",
                            "image": str(image.relative_to(tmp_path)),
                            "mask": str(mask.relative_to(tmp_path)),
                            "labels": {1: {"name": "lesion", "families": ["detection", "tl"]}},
                            "split": "test",
                        }
                    ],
                }
            ]
        },
    )


# Hand derivation of the detection slices. A slice at offset d (mm) from the centre along one
# axis cuts the ellipsoid in an ellipse whose semi-axes shrink by s = sqrt(1 - (d / semi)^2);
# along an in-plane axis of semi-axis A mm and spacing p the label spans 2 * floor(s * A / p) + 1
# pixels. Both sides must be >= 10 px, i.e. floor(s * A / p) >= 5:
# - axial (k, d = 2|k-15|, semi 12): rows x: A/p = 20, cols y: A/p = 8 -> need 8s >= 5,
#   s >= 0.625, d <= 9.37 -> |k-15| <= 4: k = 11..19. The label is present for d <= 12
#   (k = 9..21, the end slices a single voxel), so 4 slices are skipped for the box side.
# - coronal (j, d = 0.75|j-24|, semi 6): rows x: 20, cols z: A/p = 6 -> 6s >= 5, d <= 3.32
#   -> |j-24| <= 4: j = 20..28; present |j-24| <= 8 (j = 16..32): 8 box-side skips.
# - sagittal (i, d = 0.5|i-32|, semi 10): rows y: 8, cols z: 6 -> 6s >= 5, d <= 5.53
#   -> |i-32| <= 11: i = 21..43; present |i-32| <= 20 (i = 12..52): 18 box-side skips.
EXPECTED_DETECTION = {
    2: (list(range(11, 20)), 4, [64, 48], [0.5, 0.75]),
    1: (list(range(20, 29)), 8, [64, 30], [0.5, 2.0]),
    0: (list(range(21, 44)), 18, [48, 30], [0.75, 2.0]),
}


def test_ellipsoid_detection_docs_after_reorientation(ellipsoid_manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = prepare(ellipsoid_manifest, out, progress=False)
    assert report.errors == []
    docs = read_docs(out, "detection")
    summary = json.loads((out / "summary.json").read_text())
    for dim, (slices, box_skips, size_hw, pixel_hw) in EXPECTED_DETECTION.items():
        plane_docs = [d for d in docs if d["slice_dim"] == dim]
        assert [d["slice_idx"] for d in plane_docs] == slices
        for doc in plane_docs:
            assert doc["image_size_2d"] == size_hw
            assert doc["pixel_size"] == pixel_hw
            assert doc["image_size_3d"] == [64, 48, 30]
            assert doc["voxel_size"] == [0.5, 0.75, 2.0]
            assert doc["taskType"] == "BoxCoordinate" and doc["label"] == 1 and doc["label_name"] == "lesion"
            assert doc["subject_id"] == "ellipsoid" and doc["modality"] == "MRI"
        plane = {0: "sagittal", 1: "coronal", 2: "axial"}[dim]
        assert plane_docs[0]["image_description"] == f"a synthetic MRI, {plane} slice"
        assert skip_count(summary, family="detection", plane=plane, reason="box side under 10 px") == box_skips
    # Centre axial slice: rows x span |di| <= 20 around 32, cols y |dj| <= 8 around 24.
    centre = next(d for d in docs if d["slice_dim"] == 2 and d["slice_idx"] == 15)
    assert centre["bounding_boxes"] == [
        {
            "min_coords": [12, 16],
            "max_coords": [52, 32],
            "center_coords": [32.0, 24.0],
            "dimensions": [41, 17],
            "sizes": [20.5, 12.75],
        }
    ]
    # The written volume is RAS+ with the phantom's spacing, and the mask is where it was built.
    image = nib.load(str(out / centre["image_file"]))
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    np.testing.assert_allclose(image.affine, ras_affine())
    mask = np.asarray(nib.load(str(out / centre["mask_file"])).dataobj)
    np.testing.assert_array_equal(mask, ellipsoid_ras())
    np.testing.assert_array_equal(np.asarray(image.dataobj), ramp_image())


def test_ellipsoid_tumor_lesion_axes(ellipsoid_manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare(ellipsoid_manifest, out, progress=False)
    docs = read_docs(out, "tl")
    summary = json.loads((out / "summary.json").read_text())
    by_plane = {dim: {d["slice_idx"]: d for d in docs if d["slice_dim"] == dim} for dim in (0, 1, 2)}
    small = "lesion under 200 px"
    # Section areas: axial pi * 20s * 8s = 503 s^2 px, coronal pi * 20s * 6s = 377 s^2 px,
    # sagittal pi * 8s * 6s = 151 s^2 px (s as in EXPECTED_DETECTION).
    # Axial: 503 s^2 >= 200 needs |k-15| <= 4 (k = 11: s^2 = 0.556 -> 279 px; k = 10: 154 px), so
    # k = 9, 10, 20, 21 are too small. The sections are axis-aligned 1.67:1 ellipses whose axis
    # endpoints lie on the component's box, so all nine pass the 0.9x-1.1x band.
    assert sorted(by_plane[2]) == list(range(11, 20))
    assert skip_count(summary, family="tl", plane="axial", reason=small) == 4
    # Coronal: 377 s^2 >= 200 needs |j-24| <= 5 (j = 19..29); 6 of the 17 slices are too small.
    # The sections there are nearly circular in mm (20 x 24 mm), so the fitted axes may turn
    # diagonal and fail the band: only the count of the remaining slices is fixed.
    assert set(by_plane[1]) <= set(range(19, 30))
    assert skip_count(summary, family="tl", plane="coronal", reason=small) == 6
    others = sum(
        skip_count(summary, family="tl", plane="coronal", reason=r)
        for r in ("ellipse endpoints outside the 0.9x-1.1x box band", "ellipse fit failed")
    )
    assert len(by_plane[1]) + others == 11
    # Sagittal: at most 151 px: no doc; all 41 sagittal slices holding the label are too small.
    assert by_plane[0] == {}
    assert skip_count(summary, family="tl", plane="sagittal", reason=small) == 41
    # Centre axial slice: the x-y ellipse, 2 * 10 = 20 mm along rows, 2 * 6 = 12 mm along columns.
    centre = by_plane[2][15]["biometric_profile"]
    assert abs(centre["metric_value_major_axis"] - 20.0) <= 2 * 0.5
    assert abs(centre["metric_value_minor_axis"] - 12.0) <= 2 * 0.75
    for dim, slice_axis, (row_axis, col_axis) in ((2, 2, (0, 1)), (1, 1, (0, 2))):
        for index, doc in by_plane[dim].items():
            # Analytic full axes at this slice; the outline fit (pixel-centre contour) and the
            # pixel grid shift each end by at most one pixel: tolerance two pixel sizes per axis.
            offset_mm = abs(index - CENTRE[slice_axis]) * SPACING[slice_axis]
            shrink = math.sqrt(1.0 - (offset_mm / SEMI_AXES_MM[slice_axis]) ** 2)
            axes = sorted([(2 * shrink * SEMI_AXES_MM[a], 2 * SPACING[a]) for a in (row_axis, col_axis)], reverse=True)
            profile = doc["biometric_profile"]
            assert profile["metric_key_major_axis"] == "L-1-2" and profile["metric_unit"] == "mm"
            assert abs(profile["metric_value_major_axis"] - axes[0][0]) <= axes[0][1]
            assert abs(profile["metric_value_minor_axis"] - axes[1][0]) <= axes[1][1]
            assert doc["taskType"] == "TumorLesionSize"
            assert (out / doc["landmark_file"]).is_file()


# ---- landmarks at a known distance ---------------------------------------------------------------
# RAS voxels: P1 (20, 10, 8); P2 = P1 + (8, 4, 0) voxels = P1 + (4.0, 3.0, 0) mm; P3 = P1 + (0, 4, 0)
# voxels = P1 + (0, 3.0, 0) mm. Axial (all at k = 8): |P1P2| = 5.0 mm; angle between P1P2 and
# P1P3 = acos(9 / (5 * 3)) = acos(0.6) = 53.130102 deg. Coronal: j = 10 and 14, slice 12, each
# 2 voxels = 1.5 mm away (tolerance 1.8 mm): |P1P2| in (x, z) = 4.0 mm; the angle's line P1P3 has
# no in-plane length (skipped as zero). Sagittal: i = 20 and 28 are 2.0 mm from slice 24 (> 1.8).
P1, P2, P3 = (20.0, 10.0, 8.0), (28.0, 14.0, 8.0), (20.0, 14.0, 8.0)


def ras_mm(voxel: tuple[float, float, float]) -> list[float]:
    return list(ORIGIN + np.array(voxel) * SPACING)


def _fcsv_ras_mm(path: Path) -> None:
    rows = [
        "# Markups fiducial file version = 4.11",
        "# CoordinateSystem = RAS",
        "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID",
    ]
    for n, (name, voxel) in enumerate((("P1", P1), ("P2", P2), ("P3", P3)), start=1):
        x, y, z = ras_mm(voxel)
        rows.append(f"vtkMRMLMarkupsFiducialNode_{n},{x},{y},{z},0,0,0,1,1,1,0,{name},,vtkMRMLScalarVolumeNode1")
    path.write_text("\n".join(rows) + "\n")


def _json_stored_voxels(path: Path) -> None:
    path.write_text(
        json.dumps(
            {"space": "voxel", "landmarks": {name: stored_index(v) for name, v in (("P1", P1), ("P2", P2), ("P3", P3))}}
        )
    )


def _csv_lps_mm(path: Path) -> None:
    lines = ["name,x,y,z"]
    for name, voxel in (("P1", P1), ("P2", P2), ("P3", P3)):
        x, y, z = ras_mm(voxel)
        lines.append(f"{name},{-x},{-y},{z}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "file_name, writer, options",
    [
        ("points.fcsv", _fcsv_ras_mm, {}),
        ("points.json", _json_stored_voxels, {}),
        ("points.csv", _csv_lps_mm, {"coordinate_system": "LPS"}),
    ],
    ids=["fcsv-ras-mm", "json-voxels-of-stored-grid", "csv-lps-mm"],
)
def test_landmark_distance_and_angle(tmp_path: Path, file_name: str, writer, options: dict) -> None:
    image = save_nifti(tmp_path / "image.nii.gz", to_stored(ramp_image()), stored_affine())
    writer(tmp_path / file_name)
    manifest = write_manifest(
        tmp_path,
        {
            "datasets": [
                {
                    "name": "Points",
                    "cases": [
                        {
                            "id": "case1",
                            "image": image.name,
                            "landmarks": {"file": file_name, **options},
                            "landmark_names": {"P1": "first point", "P2": "second point"},
                            "landmark_tolerance_mm": 1.8,
                            "split": "test",
                            "measurements": [
                                {"name": "P1-P2", "key": "D12", "distance": ["P1", "P2"]},
                                {"name": "P1P2 to P1P3", "key": "A", "angle": [["P1", "P2"], ["P1", "P3"]]},
                            ],
                        }
                    ],
                }
            ]
        },
    )
    out = tmp_path / "out"
    report = prepare(manifest, out, progress=False)
    assert report.errors == []
    docs = {(d["biometric_profile"]["metric_key"], d["slice_dim"]): d for d in read_docs(out, "ad")}
    assert sorted(docs) == [("A", 2), ("D12", 1), ("D12", 2)]
    assert docs[("D12", 2)]["slice_idx"] == 8
    assert docs[("D12", 2)]["biometric_profile"]["metric_value"] == pytest.approx(5.0, abs=1e-9)
    assert docs[("D12", 1)]["slice_idx"] == 12
    assert docs[("D12", 1)]["biometric_profile"]["metric_value"] == pytest.approx(4.0, abs=1e-9)
    assert docs[("A", 2)]["biometric_profile"] == {
        "metric_type": "angle",
        "metric_key": "A",
        "metric_value": pytest.approx(math.degrees(math.acos(0.6)), abs=1e-9),
        "metric_unit": "degree",
    }
    assert docs[("D12", 2)]["landmark_names"] == ["first point", "second point"]
    assert docs[("A", 2)]["landmark_names"] == ["first point", "second point", "first point", "P3"]
    assert docs[("D12", 2)]["measurement_name"] == "P1-P2"
    assert docs[("D12", 2)]["taskType"] == "BiometricsFromLandmarks"
    summary = json.loads((out / "summary.json").read_text())
    far = "landmark farther than 1.8 mm from the slice"
    assert skip_count(summary, family="ad", plane="sagittal", reason=far) == 2
    assert skip_count(summary, family="ad", plane="coronal", reason="measured value is zero") == 1


# ---- a label split in two, and the other filters ------------------------------------------------


def test_two_component_slice_is_skipped_and_counted(tmp_path: Path) -> None:
    labels = np.zeros((30, 30, 8), dtype=np.uint8)
    labels[5:17, 5:17, 2:6] = 1  # one 12 x 12 block on axial slices 2..5
    labels[20:28, 20:28, 4] = 1  # a second block on slice 4 only: two components there
    labels[5:8, 5:17, 7] = 1  # slice 7: one component, 3 x 12 px (box side under 10)
    affine = np.eye(4)
    save_nifti(tmp_path / "image.nii.gz", np.ones(labels.shape, np.int16), affine)
    save_nifti(tmp_path / "mask.nii.gz", labels, affine)
    manifest = write_manifest(
        tmp_path,
        {
            "datasets": [
                {
                    "name": "Blocks",
                    "planes": ["axial"],
                    "split": "test",
                    "cases": [{"id": "c", "image": "image.nii.gz", "mask": "mask.nii.gz", "labels": {1: "block"}}],
                }
            ]
        },
    )
    out = tmp_path / "out"
    prepare(manifest, out, progress=False)
    docs = read_docs(out, "detection")
    assert sorted(d["slice_idx"] for d in docs) == [2, 3, 5]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skips"]["by_reason"] == {
        "label is not one 4-connected component in the slice": 1,
        "box side under 10 px": 1,
    }


@pytest.mark.parametrize(
    "options, slices, step_skips, max_skips",
    [
        # 4 passing slices (2..5); 2 kept, the centre of each half: (0.5 * 4 / 2, 1.5 * 4 / 2) -> #1, #3.
        ({"max_slices_per_label_plane": 2}, [3, 5], 0, 2),
        # slice_step 2: only even slice indices are considered (2 and 4); 3 and 5 are counted.
        ({"slice_step": 2}, [2, 4], 2, 0),
    ],
    ids=["max-slices", "slice-step"],
)
def test_crop_and_slice_subsampling(
    tmp_path: Path, options: dict, slices: list, step_skips: int, max_skips: int
) -> None:
    labels = np.zeros((30, 30, 8), dtype=np.uint8)
    labels[5:17, 5:17, 2:6] = 1  # 12 x 12 voxels on axial slices 2..5
    save_nifti(tmp_path / "image.nii.gz", np.arange(labels.size, dtype=np.int32).reshape(labels.shape), np.eye(4))
    save_nifti(tmp_path / "mask.nii.gz", labels, np.eye(4))
    case = {"id": "c", "image": "image.nii.gz", "mask": "mask.nii.gz", "labels": {1: "block"}, **options}
    manifest = write_manifest(
        tmp_path,
        {
            "defaults": {"planes": ["axial"], "split": "test", "crop": {"margin_mm": 2}},
            "datasets": [{"name": "Crop", "cases": [case]}],
        },
    )
    out = tmp_path / "out"
    prepare(manifest, out, progress=False)
    docs = read_docs(out, "detection")
    assert [d["slice_idx"] for d in docs] == slices
    # The label spans voxels 5..16 along x and y and 2..5 along z; 2 mm margins at 1 mm voxels:
    # x, y 3..18 (16 voxels), z 0..7 (clipped at the volume's ends): shape (16, 16, 8).
    assert docs[0]["image_size_3d"] == [16, 16, 8] and docs[0]["image_size_2d"] == [16, 16]
    assert docs[0]["bounding_boxes"][0]["min_coords"] == [2, 2]
    assert docs[0]["bounding_boxes"][0]["max_coords"] == [13, 13]
    image = nib.load(str(out / docs[0]["image_file"]))
    np.testing.assert_allclose(image.affine[:3, 3], [3.0, 3.0, 0.0])  # the crop's first voxel
    original = np.arange(labels.size, dtype=np.int32).reshape(labels.shape)
    np.testing.assert_array_equal(np.asarray(image.dataobj), original[3:19, 3:19, 0:8])
    summary = json.loads((out / "summary.json").read_text())
    assert (
        skip_count(summary, family="detection", plane="axial", reason="slice not on the slice_step grid") == step_skips
    )
    assert (
        skip_count(summary, family="detection", plane="axial", reason="beyond max_slices_per_label_plane") == max_skips
    )


# ---- resampling a thick-slice grid (resample_mm) ------------------------------------------------
# RAS+ grid: 40 x 30 x 10 voxels of 1 x 1 x 3 mm, origin (-10, 20, 5) mm. Block label at voxels
# i 10..29, j 5..24, k 2..5 (inclusive). The image is the ramp i + 2j + 30k, linear along every
# axis, so linear interpolation reproduces it exactly at any new voxel centre.
# resample_mm [2, 1, 1] keeps the first voxel centre and the axis directions:
# - x: centres span 39 mm -> floor(39 / 2) + 1 = 20 voxels; new n sits on native i = 2n (no
#   interpolation, no nearest-neighbour ties). The block holds 2n in 10..29: n = 5..14.
# - y: unchanged, 30 voxels.
# - z: centres span 9 * 3 = 27 mm -> 28 slices; new m sits at native k = m / 3, the ramp term
#   becomes 30 * m / 3 = 10m, and the nearest native slice is round(m / 3) (never a tie: m / 3
#   is a whole number or a third off one). The block holds 2 <= round(m / 3) <= 5, i.e.
#   1.5 <= m / 3 < 5.5: m = 5..16 (12 slices).
# Coronal slice j: rows n (2 mm), columns m (1 mm): box rows 5..14 (10 px), columns 5..16
# (12 px) = 20 x 12 mm. On the native grid the same section is 20 x 4 px: under the 10 px side.
# With crop {margin_mm: [2, 2, 3]} (applied first, on the native grid: 2, 2 and 1 voxels):
# i 8..31 (24), j 3..26 (24), k 1..6 (6). Then x: floor(23 / 2) + 1 = 12 voxels on i = 8 + 2n,
# block 10 <= 8 + 2n <= 29: n = 1..10; z: 5 * 3 = 15 mm -> 16 slices on k = 1 + m / 3, block
# 2 <= round(1 + m / 3) <= 5: 1.5 <= m / 3 < 4.5, m = 2..13; y: j' = j - 3, block j' = 2..21.
RESAMPLE_SHAPE = (40, 30, 10)
RESAMPLE_SPACING = (1.0, 1.0, 3.0)


def block_case_stored(tmp_path: Path) -> None:
    """Image and block mask stored as (z, x flipped, y): stored[k, a, j] = ras[39 - a, j, k]."""
    i, j, k = np.meshgrid(*(np.arange(n) for n in RESAMPLE_SHAPE), indexing="ij")
    ramp = (i + 2 * j + 30 * k).astype(np.int16)
    block = ((i >= 10) & (i <= 29) & (j >= 5) & (j <= 24) & (k >= 2) & (k <= 5)).astype(np.uint8)
    affine = np.zeros((4, 4))
    affine[:3, 0] = [0.0, 0.0, 3.0]  # stored axis 0 = RAS k
    affine[:3, 1] = [-1.0, 0.0, 0.0]  # stored axis 1 = RAS i, flipped
    affine[:3, 2] = [0.0, 1.0, 0.0]  # stored axis 2 = RAS j
    affine[:3, 3] = ORIGIN + [39.0, 0.0, 0.0]
    affine[3, 3] = 1.0
    for name, ras in (("image", ramp), ("mask", block)):
        save_nifti(tmp_path / f"{name}.nii.gz", np.ascontiguousarray(ras[::-1].transpose(2, 0, 1)), affine)


@pytest.mark.parametrize(
    "crop, shape, offset, rows, cols, slices",
    [
        # no crop: n = 5..14, m = 5..16, coronal slices j = 5..24
        (None, [20, 30, 28], (0, 0, 0), (5, 14), (5, 16), (5, 24)),
        # crop first, from native voxel (8, 3, 1): n = 1..10, m = 2..13, coronal slices j' = 2..21
        ({"margin_mm": [2, 2, 3]}, [12, 24, 16], (8, 3, 1), (1, 10), (2, 13), (2, 21)),
    ],
    ids=["whole", "cropped"],
)
def test_resample_mm_puts_thick_slices_on_a_new_grid(
    tmp_path: Path, crop: dict | None, shape: list, offset: tuple, rows: tuple, cols: tuple, slices: tuple
) -> None:
    block_case_stored(tmp_path)
    case = {"id": "block", "image": "image.nii.gz", "mask": "mask.nii.gz", "labels": {1: "block"}}
    if crop is not None:
        case["crop"] = crop
    manifest = write_manifest(
        tmp_path,
        {"datasets": [{"name": "Thick", "split": "test", "resample_mm": [2, 1, 1], "cases": [case]}]},
    )
    out = tmp_path / "out"
    report = prepare(manifest, out, progress=False)
    assert report.errors == []
    docs = read_docs(out, "detection")
    for doc in docs:
        assert doc["image_size_3d"] == shape and doc["voxel_size"] == [2.0, 1.0, 1.0]
    coronal = [d for d in docs if d["slice_dim"] == 1]
    assert [d["slice_idx"] for d in coronal] == list(range(slices[0], slices[1] + 1))
    (r0, r1), (c0, c1) = rows, cols
    for doc in coronal:
        assert doc["image_size_2d"] == [shape[0], shape[2]] and doc["pixel_size"] == [2.0, 1.0]
        assert doc["bounding_boxes"] == [
            {
                "min_coords": [r0, c0],
                "max_coords": [r1, c1],
                "center_coords": [(r0 + r1) / 2, (c0 + c1) / 2],
                "dimensions": [10, 12],
                "sizes": [20.0, 12.0],
            }
        ]
    axial = [d["slice_idx"] for d in docs if d["slice_dim"] == 2]
    sagittal = [d["slice_idx"] for d in docs if d["slice_dim"] == 0]
    assert axial == list(range(c0, c1 + 1)) and sagittal == list(range(r0, r1 + 1))
    # The written grid: RAS+, 2 x 1 x 1 mm, starting at the (cropped) first native voxel centre.
    image = nib.load(str(out / coronal[0]["image_file"]))
    expected_affine = np.diag([2.0, 1.0, 1.0, 1.0])
    expected_affine[:3, 3] = ORIGIN + np.array(offset) * RESAMPLE_SPACING
    np.testing.assert_allclose(image.affine, expected_affine, atol=1e-9)
    # Image: the ramp at native voxel offset + (2n, j, m / 3), stored as int16 without a scale factor.
    n, j, m = np.meshgrid(*(np.arange(s) for s in shape), indexing="ij")
    ramp = (offset[0] + 2 * n) + 2 * (offset[1] + j) + 30 * offset[2] + 10 * m
    assert image.get_data_dtype() == np.int16 and image.dataobj.slope == 1.0
    np.testing.assert_array_equal(np.asarray(image.dataobj), ramp)
    mask = np.asarray(nib.load(str(out / coronal[0]["mask_file"])).dataobj)
    block = (n >= r0) & (n <= r1) & (j >= slices[0]) & (j <= slices[1]) & (m >= c0) & (m <= c1)
    np.testing.assert_array_equal(mask, block.astype(np.uint8))


# ---- bad input: each case fails alone, with a message naming it ---------------------------------


def test_bad_inputs_name_the_case_and_others_finish(tmp_path: Path, capsys) -> None:
    eye = np.eye(4)
    block = np.zeros((20, 20, 6), dtype=np.uint8)
    block[3:15, 3:15, 1:5] = 1
    save_nifti(tmp_path / "image.nii.gz", np.ones(block.shape, np.int16), eye)
    save_nifti(tmp_path / "mask.nii.gz", block, eye)
    save_nifti(tmp_path / "small_mask.nii.gz", block[:10], eye)
    degenerate = eye.copy()
    degenerate[2, 2] = 0.0  # the third voxel axis has zero length
    save_nifti_sform_only(tmp_path / "degenerate.nii.gz", np.ones(block.shape, np.int16), degenerate)
    sheared = eye.copy()
    sheared[0, 1] = 0.5  # second axis leans into the first: not orthogonal
    save_nifti_sform_only(tmp_path / "sheared.nii.gz", np.ones(block.shape, np.int16), sheared)
    (tmp_path / "far.fcsv").write_text(
        "# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n"
        "1,1,1,1,0,0,0,1,1,1,0,A,,\n2,500,1,1,0,0,0,1,1,1,0,B,,\n3,5,1,1,0,0,0,1,1,1,0,C,,\n"
    )
    good = {"image": "image.nii.gz", "mask": "mask.nii.gz", "labels": {1: "block"}}
    cases = [
        {"id": "good", **good},
        {"id": "missing", **good, "image": "nowhere.nii.gz"},
        {"id": "mismatch", **good, "mask": "small_mask.nii.gz"},
        {"id": "absent", **good, "labels": {1: "block", 2: "ghost"}},
        {
            "id": "outside",
            "image": "image.nii.gz",
            "landmarks": "far.fcsv",
            "measurements": [
                {"name": "A-B", "distance": ["A", "B"]},
                {"name": "A-C", "distance": ["A", "C"]},
            ],
        },
        {"id": "degenerate", **good, "image": "degenerate.nii.gz"},
        {"id": "sheared", **good, "image": "sheared.nii.gz"},
    ]
    manifest = write_manifest(
        tmp_path, {"defaults": {"planes": ["axial"], "split": "test"}, "datasets": [{"name": "Bad", "cases": cases}]}
    )
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--workers", "2", "--quiet"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    errors = summary["errors"]
    expected = {
        "Bad/missing": "file not found",
        "Bad/mismatch": "does not match the image grid",
        "Bad/absent": "label 2 ('ghost') does not occur in mask",
        "Bad/outside": "landmark 'B'",
        "Bad/degenerate": "degenerate affine",
        "Bad/sheared": "non-orthogonal affine",
    }
    for case, phrase in expected.items():
        matching = [e for e in errors if e.startswith(f"case {case}:")]
        assert len(matching) == 1 and phrase in matching[0], (case, errors)
    assert "lies outside the volume" in next(e for e in errors if e.startswith("case Bad/outside"))
    assert len(errors) == len(expected)
    assert summary["cases"] == {"total": 7, "failed": 4}
    stderr = capsys.readouterr().err
    assert all(f"case {case}:" in stderr for case in expected)
    # The good case, the label that exists and the measurement inside the volume all finish.
    detection = read_docs(out, "detection")
    assert sorted({d["image_file"] for d in detection}) == [
        "volumes/Bad_absent_image.nii.gz",
        "volumes/Bad_good_image.nii.gz",
    ]
    assert [d["biometric_profile"]["metric_key"] for d in read_docs(out, "ad")] == ["A-C"]
    assert read_docs(out, "ad")[0]["biometric_profile"]["metric_value"] == pytest.approx(4.0)
    assert skip_count(summary, family="ad", plane="axial", reason="landmark outside the volume") == 1
    assert skip_count(summary, family="detection", plane="all", reason="label absent from the mask") == 1
    # Failed cases leave no volumes behind.
    assert not list((out / "volumes").glob("Bad_missing*")) and not list((out / "volumes").glob("Bad_mismatch*"))


# ---- split ------------------------------------------------------------------------------------


def _split_manifest(tmp_path: Path) -> Path:
    block = np.zeros((16, 16, 3), dtype=np.uint8)
    block[2:14, 2:14, :] = 1
    save_nifti(tmp_path / "image.nii.gz", np.ones(block.shape, np.int16), np.eye(4))
    save_nifti(tmp_path / "mask.nii.gz", block, np.eye(4))
    cases = [
        {"id": f"sub{s}-scan{n}", "subject_id": f"sub{s}", "image": "image.nii.gz", "mask": "mask.nii.gz"}
        for s in range(6)
        for n in range(2)
    ]
    return write_manifest(
        tmp_path,
        {
            "seed": 5,
            "defaults": {"planes": ["axial"], "labels": {1: "block"}},
            "datasets": [{"name": "S", "cases": cases}],
        },
    )


def test_split_end_to_end_identical_across_runs_and_workers(tmp_path: Path) -> None:
    manifest = _split_manifest(tmp_path)
    outputs = []
    for name, workers in (("a", 1), ("b", 2)):
        prepare(manifest, tmp_path / name, workers=workers, use_cache=False, progress=False)
        outputs.append(tmp_path / name)
    for family_file in ("detection.jsonl", "train/detection.jsonl", "summary.json"):
        assert (outputs[0] / family_file).read_bytes() == (outputs[1] / family_file).read_bytes()
    test_subjects = {d["subject_id"] for d in read_docs(outputs[0], "detection")}
    train_subjects = {d["subject_id"] for d in read_docs(outputs[0], "detection", "train")}
    assert not test_subjects & train_subjects
    assert len(train_subjects) == 4 and len(test_subjects) == 2  # round(0.7 * 6) = 4
    assert len(read_docs(outputs[0], "detection")) == 2 * 2 * 3  # 2 subjects x 2 scans x 3 slices
    summary = json.loads((outputs[0] / "summary.json").read_text())
    assert sorted(summary["subjects"]["train"]) == sorted(train_subjects)
    # Another seed gives another split over the same subjects (seed 5 vs 6 differ for 6 subjects).
    prepare(manifest, tmp_path / "c", seed=6, use_cache=False, progress=False)
    other = json.loads((tmp_path / "c" / "summary.json").read_text())["subjects"]
    assert other != summary["subjects"]


# ---- cache ------------------------------------------------------------------------------------


def test_rerun_reuses_cached_cases(tmp_path: Path) -> None:
    manifest = _split_manifest(tmp_path)
    out = tmp_path / "out"
    first = prepare(manifest, out, progress=False)
    assert (first.cases_built, first.cases_reused) == (12, 0)
    volume = out / "volumes" / "S_sub0-scan0_image.nii.gz"
    written = volume.stat().st_mtime_ns
    jsonl = (out / "detection.jsonl").read_bytes()
    second = prepare(manifest, out, progress=False)
    assert (second.cases_built, second.cases_reused) == (0, 12)
    assert volume.stat().st_mtime_ns == written  # not rewritten
    assert (out / "detection.jsonl").read_bytes() == jsonl
    # Changing one input (its mtime) rebuilds exactly the cases that read it: here all 12 share
    # one image, so use a case-specific change: edit the manifest entry of one case.
    content = yaml.safe_load(manifest.read_text())
    content["datasets"][0]["cases"][0]["slice_step"] = 2
    manifest.write_text(yaml.safe_dump(content))
    third = prepare(manifest, out, progress=False)
    assert (third.cases_built, third.cases_reused) == (1, 11)
    os.utime(tmp_path / "mask.nii.gz", ns=(written + 10**9, written + 10**9))
    fourth = prepare(manifest, out, progress=False)
    assert (fourth.cases_built, fourth.cases_reused) == (12, 0)
    # A case dropped from the manifest is forgotten, and so are the files it had written.
    del content["datasets"][0]["cases"][-1]
    manifest.write_text(yaml.safe_dump(content))
    fifth = prepare(manifest, out, progress=False)
    assert (fifth.cases_built, fifth.cases_reused) == (0, 11)
    assert not list((out / "volumes").glob("S_sub5-scan1_*"))
    assert len(list((out / ".cases").glob("*.json"))) == 11


# ---- importing public-layout docs ---------------------------------------------------------------


def test_import_public_docs_adds_names(tmp_path: Path) -> None:
    public = tmp_path / "public"
    save_nifti(public / "imagesTs/case_0001.nii.gz", np.ones((20, 20, 4), np.int16), np.eye(4))
    base = {
        "dataset_name": "Public",
        "taskID": "01",
        "image_file": "imagesTs/case_0001.nii.gz",
        "slice_dim": 2,
        "slice_idx": 1,
        "image_size_2d": [20, 20],
        "pixel_size": [1.0, 1.0],
        "image_size_3d": [20, 20, 4],
        "voxel_size": [1.0, 1.0, 1.0],
    }
    box = {
        "min_coords": [2, 3],
        "max_coords": [14, 15],
        "center_coords": [8.0, 9.0],
        "dimensions": [13, 13],
        "sizes": [13.0, 13.0],
    }
    rows = [
        {**base, "taskType": "BoxCoordinate", "label": 1, "bounding_boxes": [box]},
        {**base, "taskType": "BoxCoordinate", "label": 7, "bounding_boxes": [box]},  # no name given
        {
            **base,
            "taskType": "BiometricsFromLandmarks",
            "biometric_profile": {
                "metric_type": "distance",
                "metric_key": "D1",
                "metric_value": 12.5,
                "metric_unit": "mm",
            },
        },
        {
            **base,
            "taskType": "BiometricsFromLandmarks",
            "biometric_profile": {
                "metric_type": "angle",
                "metric_key": "A1",
                "metric_value": 30.0,
                "metric_unit": "degree",
            },
        },
    ]
    (public / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = write_manifest(
        tmp_path,
        {
            "imports": [
                {
                    "docs": "public/test.jsonl",
                    "split": "test",
                    "modality": "CT",
                    "image_description": "an abdominal CT, {plane} slice",
                    "labels": {1: "liver"},
                    "measurements": {
                        "D1": {"name": "liver span", "landmarks": ["top", "bottom"]},
                        "A1": {"name": "", "landmarks": [["a", "b"], ["c", "d"]]},  # unnamed, as Ceph's
                    },
                }
            ]
        },
    )
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--quiet"]) == 1  # the unnamed label is reported
    detection = read_docs(out, "detection")
    assert len(detection) == 1
    assert detection[0]["label_name"] == "liver" and detection[0]["modality"] == "CT"
    assert detection[0]["image_description"] == "an abdominal CT, axial slice"
    assert detection[0]["subject_id"] == "case_0001"
    assert (out / detection[0]["image_file"]).is_file()
    ad = read_docs(out, "ad")
    assert ad[0]["measurement_name"] == "liver span" and ad[0]["landmark_names"] == ["top", "bottom"]
    # An unnamed measurement stays unnamed (the prompt's unnamed form); its records are named by its key.
    assert ad[1]["measurement_name"] == "" and ad[1]["label_name"] == "A1"
    assert ad[1]["landmark_names"] == [["a", "b"], ["c", "d"]]  # flattened when a task loads it
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skips"]["by_reason"] == {"no label name for label": 1}
    assert any("no name for label 7" in e for e in summary["errors"])


# ---- the bundled sample -----------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _same_docs(rebuilt: object, shipped: object) -> bool:
    """Equal JSON values, floats within 1e-9 relative (last-digit differences across builds)."""
    if isinstance(shipped, float) or isinstance(rebuilt, float):
        return isinstance(rebuilt, (int, float)) and rebuilt == pytest.approx(shipped, rel=1e-9, abs=1e-12)
    if isinstance(shipped, dict):
        return (
            isinstance(rebuilt, dict)
            and rebuilt.keys() == shipped.keys()
            and all(_same_docs(rebuilt[key], shipped[key]) for key in shipped)
        )
    if isinstance(shipped, list):
        return (
            isinstance(rebuilt, list)
            and len(rebuilt) == len(shipped)
            and all(_same_docs(a, b) for a, b in zip(rebuilt, shipped))
        )
    return rebuilt == shipped


@pytest.mark.slow
def test_sample_rebuilds_identically_from_sources(tmp_path: Path) -> None:
    sources = REPO / "sources"
    needed = [
        sources / "mni152/mni152_t1.nii.gz",
        sources / "pyradiomics-3.0.1/data/lung2_image.nrrd",
        sources / "autoafids/autoafids/resources/tpl-MNI152NLin2009cAsym_res-01_T1w.nii.gz",
    ]
    if not all(p.exists() for p in needed):
        pytest.skip("sample sources absent: run scripts/fetch_sample_sources.sh")
    manifest = tmp_path / "scripts" / "sample_manifest.yaml"
    manifest.parent.mkdir()
    shutil.copy(REPO / "scripts" / "sample_manifest.yaml", manifest)
    (tmp_path / "sources").symlink_to(sources)
    out = tmp_path / "sample"
    report = prepare(manifest, out, workers=2, use_cache=False, progress=False)
    assert report.errors == []
    committed = REPO / "yaml_tasks" / "sample"
    expected = json.loads((committed / "summary.json").read_text())
    assert report.summary["docs"] == expected["docs"]
    assert report.summary["skips"]["by_reason"] == expected["skips"]["by_reason"]
    # Compared by content, not bytes, so that another zlib or numpy build on a CI machine cannot
    # fail an identical sample (a rebuild here is also byte-identical).
    for family in ("detection", "tl", "ad"):
        rebuilt = [json.loads(line) for line in (out / f"{family}.jsonl").read_text().splitlines()]
        shipped = [json.loads(line) for line in (committed / f"{family}.jsonl").read_text().splitlines()]
        assert _same_docs(rebuilt, shipped), family
    assert not (out / "train").exists()
    built = sorted(p.name for p in (out / "volumes").iterdir())
    assert built == sorted(p.name for p in (committed / "volumes").iterdir())
    for name in built:
        if name.endswith(".json"):
            assert _same_docs(
                [json.loads((out / "volumes" / name).read_text())],
                [json.loads((committed / "volumes" / name).read_text())],
            ), name
            continue
        rebuilt_image, shipped_image = nib.load(out / "volumes" / name), nib.load(committed / "volumes" / name)
        np.testing.assert_array_equal(
            np.asanyarray(rebuilt_image.dataobj), np.asanyarray(shipped_image.dataobj), err_msg=name
        )
        np.testing.assert_allclose(rebuilt_image.affine, shipped_image.affine, atol=1e-6, err_msg=name)
    assert report.doc_counts["test"] == {"detection": 48, "tl": 17, "ad": 33}
    # Every plane task (medvision_{detect,tl,ad}_{axial,coronal,sagittal}) has docs to run on:
    # the PyRadiomics lesions reach coronal and sagittal through resample_mm.
    for family in ("detection", "tl", "ad"):
        by_plane = report.summary["docs"]["test"]["by_family"][family]["by_plane"]
        assert sorted(by_plane) == ["axial", "coronal", "sagittal"], (family, by_plane)
