"""The manifest: YAML parsed into specs, defaults inherited, and every error naming its entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvision_tasks.builder.manifest import ManifestError, did_you_mean, load_manifest
from medvision_tasks.builder.spec import LabelSpec, MaskSpec, MeasurementSpec
from tests.helpers.volumes import write_manifest


def test_cases_inherit_defaults_then_dataset_keys(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        {
            "seed": 3,
            "defaults": {"planes": ["axial", "sagittal"], "modality": "CT", "slice_step": 2},
            "datasets": [
                {
                    "name": "Organs",
                    "modality": "MRI",
                    "cases": [
                        {
                            "id": "c1",
                            "image": "img/c1.nii.gz",
                            "masks": [
                                {"file": "seg/organs.nii.gz", "labels": {1: "liver"}},
                                {"file": "seg/lesion.nii.gz", "labels": {2: "tumor"}, "families": ["tl"]},
                            ],
                            "landmarks": "pts/c1.fcsv",
                            "measurements": [{"name": "span", "distance": ["top", "bottom"]}],
                        }
                    ],
                }
            ],
        },
    )
    manifest = load_manifest(path)
    (case,) = manifest.cases
    assert manifest.seed == 3 and manifest.train_fraction == 0.7
    assert (case.name, case.subject_id, case.modality, case.slice_step) == ("Organs/c1", "c1", "MRI", 2)
    assert case.planes == (2, 0)  # axial, sagittal
    assert case.image == str(tmp_path / "img/c1.nii.gz")
    assert case.masks == (
        MaskSpec(str(tmp_path / "seg/organs.nii.gz"), (LabelSpec(1, "liver", ("detection",)),), "01"),
        MaskSpec(str(tmp_path / "seg/lesion.nii.gz"), (LabelSpec(2, "tumor", ("tl",)),), "02"),
    )
    assert case.measurements == (MeasurementSpec("span", "span", "distance", ("top", "bottom"), (2, 0), "01"),)
    assert (case.min_box_side_px, case.min_lesion_pixels, case.landmark_tolerance_mm) == (10, 200, 2.0)


@pytest.mark.parametrize(
    ("name", "allowed", "guess"),
    [
        ("lables", {"labels", "landmarks", "planes"}, "labels"),
        # difflib's ratio 2M/T: maks~masks 2*4/9 = 0.89 beats maks~mask 2*3/8 = 0.75.
        ("maks", {"mask", "masks", "image"}, "masks"),
        ("xyz", {"labels", "mask"}, None),
    ],
)
def test_a_misspelt_key_gets_the_closest_allowed_one(name, allowed, guess):
    assert did_you_mean(name, allowed) == guess


def test_the_typo_message_suggests_the_key(tmp_path: Path) -> None:
    case = {"id": "c", "image": "i.nii.gz", "mask": "m.nii.gz", "lables": {1: "liver"}}
    path = write_manifest(tmp_path, {"datasets": [{"name": "D", "cases": [case]}]})
    with pytest.raises(ManifestError, match=r"unknown key\(s\) \['lables'\] \(did you mean 'labels' for 'lables'\?\)"):
        load_manifest(path)


MASK_CASE = {"image": "i.nii.gz", "mask": "m.nii.gz", "labels": {1: "a"}}
BAD_RESAMPLE_MM = [0, -1.5, [1, 2], [1, 1, 0], "1mm", True]
RESAMPLE_IDS = [f"resample-{name}" for name in ("zero", "negative", "two", "zero-axis", "text", "bool")]


@pytest.mark.parametrize(
    "manifest, phrase",
    [
        (
            {"datasets": [{"name": "D", "cases": [{"id": "c", "image": "i.nii.gz", "maks": "m"}]}]},
            "unknown key(s) ['maks']",
        ),
        ({"datasets": [{"name": "D", "cases": [{"id": "c", "image": "i.nii.gz"}]}]}, "nothing to build"),
        ({"datasets": [{"name": "D", "planes": ["oblique"], "cases": [{"id": "c"}]}]}, "unknown plane 'oblique'"),
        (
            {"datasets": [{"name": "D", "cases": [{"id": "c", "image": "i", "mask": "m", "labels": {"x": "a"}}]}]},
            "label 'x' is not an integer",
        ),
        (
            {
                "datasets": [
                    {
                        "name": "D",
                        "cases": [
                            {
                                "id": "c",
                                "image": "i",
                                "landmarks": "l.fcsv",
                                "measurements": [{"name": "n", "angle": ["a", "b"]}],
                            }
                        ],
                    }
                ]
            },
            "angle must be [[l1p1, l1p2], [l2p1, l2p2]]",
        ),
        *(
            (
                {"datasets": [{"name": "D", "resample_mm": value, "cases": [{"id": "c", **MASK_CASE}]}]},
                f"resample_mm must be a positive number or three positive numbers (mm), got {value!r}",
            )
            for value in BAD_RESAMPLE_MM
        ),
    ],
    ids=["unknown-key", "nothing-to-build", "bad-plane", "bad-label", "bad-angle", *RESAMPLE_IDS],
)
def test_errors_name_the_manifest_and_the_entry(tmp_path: Path, manifest: dict, phrase: str) -> None:
    path = write_manifest(tmp_path, manifest)
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert str(error.value).startswith(f"{path}: datasets[0]") and phrase in str(error.value)


def test_an_import_entry_names_the_public_root_for_its_names(tmp_path: Path) -> None:
    (tmp_path / "MedVision" / "Datasets").mkdir(parents=True)
    path = write_manifest(tmp_path, {"imports": [{"docs": "export.jsonl", "plans": "MedVision"}]})
    (spec,) = load_manifest(path).imports
    assert (spec.plans, spec.plan_version) == (str(tmp_path / "MedVision"), "1.0.0")
    path = write_manifest(tmp_path, {"imports": [{"docs": "export.jsonl", "plans": "elsewhere"}]})
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    assert "imports[0]" in str(error.value) and f"plans: {tmp_path / 'elsewhere'} has no Datasets/ folder" in str(
        error.value
    )
