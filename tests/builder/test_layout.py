"""The data directory's file names: one prefix per case, mask names that never collide."""

from medvision_tasks.builder import layout
from medvision_tasks.builder.spec import CaseSpec, LabelSpec, MaskSpec


def _case(*masks: tuple[str, str]) -> CaseSpec:
    specs = tuple(
        MaskSpec(f"/m{n}", (LabelSpec(1, name, ("detection",)),), task) for n, (name, task) in enumerate(masks)
    )
    return CaseSpec(dataset_name="My Data", case_id="case 01", subject_id="s", image="/i", masks=specs)


def test_names_are_slugged_from_dataset_and_case():
    case = _case(("liver", "01"))
    assert layout.slug("  a/b c*  ") == "a_b_c" and layout.slug("***") == "x"
    assert layout.image_file(case) == "volumes/My_Data_case_01_image.nii.gz"
    assert layout.landmarks_file(case) == "volumes/My_Data_case_01_landmarks.json"
    assert layout.ellipses_file(case) == "volumes/My_Data_case_01_tl_landmarks.json"
    assert layout.mask_files(case) == ["volumes/My_Data_case_01_mask.nii.gz"]


def test_several_masks_are_named_by_their_first_label_then_their_task():
    case = _case(("liver", "01"), ("liver tumor", "02"), ("liver", "03"))
    assert layout.mask_files(case) == [
        "volumes/My_Data_case_01_mask-liver.nii.gz",
        "volumes/My_Data_case_01_mask-liver_tumor.nii.gz",
        "volumes/My_Data_case_01_mask-03-liver.nii.gz",
    ]
