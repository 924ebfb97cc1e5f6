"""Upstream's label groups and CT windows, checked against values read off upstream's configs.py by hand."""

from __future__ import annotations

import pytest

from medvision_tasks.label_groups import (
    CT_WINDOWS,
    FIRST_RELEASE,
    KNEE_SPLIT,
    LABEL_MAP_REGROUP,
    LABEL_MAP_RENAME,
    UnknownLabelError,
    label_group,
)


@pytest.mark.parametrize(
    ("label", "group"),
    [
        ("aorta", "Artery"),
        ("portal vein and splenic vein", "Vein"),
        ("external cerebrospinal fluid", "Brain"),
        # regrouped onto the tumor/lesion side although their names say neither
        ("surrounding non-enhancing flair hyperintensity of brain", "Brain Tumor/Lesion"),
        ("edema of brain", "Brain Tumor/Lesion"),
        ("kidney cyst", "Kidney Tumor/Lesion"),
        ("colon cancer primaries", "Colon Tumor/Lesion"),
        ("vestibular schwannoma", "Head-Neck Tumor/Lesion"),
        ("metastatic lymph node", "Metastatic Lymph Node"),
        ("edema", "Miscellaneous Tumor/Lesion"),
        ("left 12th rib", "Rib"),
        ("right 3rd rib", "Rib"),
        ("vertebra S1", "Spine"),
        ("vertebra L5", "Spine"),
        ("lower right third molar (wisdom tooth)", "Tooth"),
        ("prostate/uterus", "Others"),
        ("na", "Others"),
    ],
)
def test_regroup_of_labels_in_both_versions(label, group):
    assert label_group(label, FIRST_RELEASE) == group
    assert label_group(label, KNEE_SPLIT) == group


def test_knee_labels_are_one_group_in_the_first_release_and_two_later():
    assert label_group("femur", FIRST_RELEASE) == "Knee"
    assert label_group("medial meniscus", FIRST_RELEASE) == "Knee"
    assert label_group("femur", KNEE_SPLIT) == "Knee Bone"
    assert label_group("medial meniscus", KNEE_SPLIT) == "Knee Soft Tissue"
    changed = {
        k
        for k in LABEL_MAP_REGROUP[KNEE_SPLIT]
        if LABEL_MAP_REGROUP[KNEE_SPLIT][k] != LABEL_MAP_REGROUP[FIRST_RELEASE][k]
    }
    assert len(changed) == 10


def test_map_sizes_as_upstream():
    # 243 labels in upstream's dict (counted in configs.py: 22 arteries, 12 veins, ..., 15 catch-alls)
    assert len(LABEL_MAP_REGROUP[FIRST_RELEASE]) == 243
    assert len(LABEL_MAP_REGROUP[KNEE_SPLIT]) == 243
    assert set(LABEL_MAP_RENAME) == set(LABEL_MAP_REGROUP[KNEE_SPLIT])
    assert sum(group == "Tooth" for group in LABEL_MAP_REGROUP[KNEE_SPLIT].values()) == 32
    assert sum(group == "Spine" for group in LABEL_MAP_REGROUP[KNEE_SPLIT].values()) == 28


@pytest.mark.parametrize(
    ("label", "renamed"),
    [
        ("aorta", "aorta"),
        ("liver tumour", "liver tumor"),
        ("peritumoral edema of brain", "brain edema"),
        ("primary gross tumor volume (head & neck)", "head & neck tumor"),
        ("transition zone of prostate", "prostate"),
        ("tumor", "miscellaneous tumor/lesion"),
        ("left autochthon", "left autochthon"),
        ("crown", "others"),
    ],
)
def test_rename(label, renamed):
    assert LABEL_MAP_RENAME[label] == renamed


@pytest.mark.parametrize(
    ("group", "width_level"),
    [
        ("Brain", (80, 40)),
        ("Brain Tumor/Lesion", (80, 40)),
        ("Lung Tumor/Lesion", (1500, -600)),
        ("Liver", (400, 40)),
        ("Knee Bone", (1800, 400)),
        ("Knee Soft Tissue", (400, 40)),
        ("Tooth", (1800, 400)),
        ("Miscellaneous Tumor/Lesion", (400, 40)),
        ("Metastatic Lymph Node", (400, 40)),
    ],
)
def test_ct_windows(group, width_level):
    assert CT_WINDOWS[group] == width_level


def test_every_group_but_others_has_a_window():
    groups = set(LABEL_MAP_REGROUP[KNEE_SPLIT].values())
    assert set(CT_WINDOWS) == groups - {"Others"}
    assert len(CT_WINDOWS) == 35


def test_unknown_label_and_version():
    with pytest.raises(UnknownLabelError, match="'lung lesion' is not in upstream"):
        label_group("lung lesion")
    with pytest.raises(ValueError, match="unknown label_map_regroup version"):
        label_group("aorta", "v2")
