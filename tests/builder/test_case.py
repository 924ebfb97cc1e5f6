"""One case start to finish: a result per case, and a failed case leaves no file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medvision_tasks.builder.case import build_case
from medvision_tasks.builder.spec import CaseSpec, LabelSpec, MaskSpec
from tests.helpers.volumes import save_nifti


def _case(tmp_path: Path, mask_shape=(16, 16, 3), labels=(1,)) -> CaseSpec:
    block = np.zeros(mask_shape, dtype=np.uint8)
    block[2:14, 2:14, :] = 1  # 12 x 12 px on each of the axial slices
    save_nifti(tmp_path / "image.nii.gz", np.ones((16, 16, 3), np.int16), np.eye(4))
    save_nifti(tmp_path / "mask.nii.gz", block, np.eye(4))
    specs = tuple(LabelSpec(v, f"label {v}", ("detection",)) for v in labels)
    mask = MaskSpec(str(tmp_path / "mask.nii.gz"), specs, "01")
    return CaseSpec("D", "c", "s", str(tmp_path / "image.nii.gz"), masks=(mask,), planes=(2,))


def test_a_built_case(tmp_path: Path) -> None:
    result = build_case(_case(tmp_path, labels=(1, 5)), tmp_path / "out")
    assert not result.fatal and [d["slice_idx"] for d in result.docs["detection"]] == [0, 1, 2]
    assert result.files == ("volumes/D_c_image.nii.gz", "volumes/D_c_mask.nii.gz")
    # A label missing from its mask is reported and skipped; the rest of the case stands.
    assert result.errors == (
        f"case D/c: label 5 ('label 5') does not occur in mask {tmp_path / 'mask.nii.gz'} (values present: [0, 1])",
    )
    assert dict(result.skips) == {("detection", "label 5", "all", "label absent from the mask"): 1}


def test_a_failed_case_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert not build_case(_case(tmp_path), out).fatal  # an earlier run wrote the case's files
    result = build_case(_case(tmp_path, mask_shape=(16, 16, 2)), out)
    assert result.fatal and result.files == () and result.docs["detection"] == ()
    assert result.errors[0].startswith("case D/c: ") and "does not match the image grid" in result.errors[0]
    assert list((out / "volumes").iterdir()) == []
