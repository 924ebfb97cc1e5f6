"""The paper's task lists against the upstream files, name by name and in order.

The names are copied by hand from the public repository's ``tasks_list/tasks_MedVision-{detect,TL,AD,
detect-planeOOD,TL-planeOOD}.json`` (YongchengYAO/MedVision, commit 837709e; unchanged since the
initial commit 49b0762), keys in file order. Upstream turns a task name into its dataset config with
``f"{task}_Test".replace("BoxCoordinate", "BoxSize")`` (``tasks_to_configs``).
"""

from __future__ import annotations

import json

import pytest

from medvision_tasks.builder.upstream_tasks import PAPER_LISTS, parse_task_name, read_task_list

# fmt: off
UPSTREAM_LISTS = {
    "detect": [
        "CrossMoDA_BoxCoordinate_Task01_Axial", "ISLES24_BoxCoordinate_Task01_Axial",
        "FeTA24_BoxCoordinate_Task01_Axial", "AMOS22_BoxCoordinate_Task01_Axial",
        "AbdomenAtlas1.0Mini_BoxCoordinate_Task01_Axial", "AbdomenCT-1K_BoxCoordinate_Task01_Axial",
        "autoPET-III_BoxCoordinate_Task01_Axial", "BCV15_BoxCoordinate_Task01_Axial",
        "BraTS24_BoxCoordinate_Task01_Axial", "BraTS24_BoxCoordinate_Task06_Axial",
        "BraTS24_BoxCoordinate_Task10_Axial", "CAMUS_BoxCoordinate_Task01_Axial",
        "FLARE22_BoxCoordinate_Task01_Axial", "HNTSMRG24_BoxCoordinate_Task01_Axial",
        "KiPA22_BoxCoordinate_Task01_Axial", "KiTS23_BoxCoordinate_Task01_Axial",
        "MSD_BoxCoordinate_Task01_Axial", "MSD_BoxCoordinate_Task05_Axial",
        "MSD_BoxCoordinate_Task06_Axial", "MSD_BoxCoordinate_Task07_Axial",
        "MSD_BoxCoordinate_Task09_Axial", "MSD_BoxCoordinate_Task10_Axial",
        "MSD_BoxCoordinate_Task11_Axial", "MSD_BoxCoordinate_Task12_Axial",
        "MSD_BoxCoordinate_Task14_Axial", "OAIZIB-CM_BoxCoordinate_Task01_Axial",
        "SKM-TEA_BoxCoordinate_Task01_Axial", "TopCoW24_BoxCoordinate_Task01_Axial",
    ],
    "TL": [
        "autoPET-III_TumorLesionSize_Task01_Axial", "BraTS24_TumorLesionSize_Task04_Axial",
        "BraTS24_TumorLesionSize_Task05_Axial", "BraTS24_TumorLesionSize_Task10_Axial",
        "HNTSMRG24_TumorLesionSize_Task02_Axial", "KiPA22_TumorLesionSize_Task01_Axial",
        "KiTS23_TumorLesionSize_Task01_Axial", "MSD_TumorLesionSize_Task03_Axial",
        "MSD_TumorLesionSize_Task05_Axial", "MSD_TumorLesionSize_Task06_Axial",
    ],
    "AD": [
        "Ceph-Biometrics-400_BiometricsFromLandmarks_Distance_Task01_Sagittal",
        "Ceph-Biometrics-400_BiometricsFromLandmarks_Angle_Task01_Sagittal",
        "FeTA24_BiometricsFromLandmarks_Task01_Sagittal", "FeTA24_BiometricsFromLandmarks_Task01_Coronal",
        "FeTA24_BiometricsFromLandmarks_Task01_Axial",
    ],
    "detect-planeOOD": [
        "CrossMoDA_BoxCoordinate_Task01_Sagittal", "CrossMoDA_BoxCoordinate_Task01_Coronal",
        "ISLES24_BoxCoordinate_Task01_Sagittal", "ISLES24_BoxCoordinate_Task01_Coronal",
        "FeTA24_BoxCoordinate_Task01_Sagittal", "FeTA24_BoxCoordinate_Task01_Coronal",
        "AMOS22_BoxCoordinate_Task01_Sagittal", "AMOS22_BoxCoordinate_Task01_Coronal",
        "AbdomenAtlas1.0Mini_BoxCoordinate_Task01_Sagittal", "AbdomenAtlas1.0Mini_BoxCoordinate_Task01_Coronal",
        "AbdomenCT-1K_BoxCoordinate_Task01_Sagittal", "AbdomenCT-1K_BoxCoordinate_Task01_Coronal",
        "autoPET-III_BoxCoordinate_Task01_Sagittal", "autoPET-III_BoxCoordinate_Task01_Coronal",
        "BCV15_BoxCoordinate_Task01_Sagittal", "BCV15_BoxCoordinate_Task01_Coronal",
        "BraTS24_BoxCoordinate_Task01_Sagittal", "BraTS24_BoxCoordinate_Task01_Coronal",
        "BraTS24_BoxCoordinate_Task10_Sagittal", "BraTS24_BoxCoordinate_Task10_Coronal",
        "FLARE22_BoxCoordinate_Task01_Sagittal", "FLARE22_BoxCoordinate_Task01_Coronal",
        "HNTSMRG24_BoxCoordinate_Task01_Sagittal", "HNTSMRG24_BoxCoordinate_Task01_Coronal",
        "KiPA22_BoxCoordinate_Task01_Sagittal", "KiPA22_BoxCoordinate_Task01_Coronal",
        "KiTS23_BoxCoordinate_Task01_Sagittal", "KiTS23_BoxCoordinate_Task01_Coronal",
        "OAIZIB-CM_BoxCoordinate_Task01_Sagittal", "OAIZIB-CM_BoxCoordinate_Task01_Coronal",
        "SKM-TEA_BoxCoordinate_Task01_Sagittal", "SKM-TEA_BoxCoordinate_Task01_Coronal",
        "TopCoW24_BoxCoordinate_Task01_Sagittal", "TopCoW24_BoxCoordinate_Task01_Coronal",
        "MSD_BoxCoordinate_Task01_Sagittal", "MSD_BoxCoordinate_Task01_Coronal",
        "MSD_BoxCoordinate_Task05_Sagittal", "MSD_BoxCoordinate_Task05_Coronal",
        "MSD_BoxCoordinate_Task07_Sagittal", "MSD_BoxCoordinate_Task07_Coronal",
        "MSD_BoxCoordinate_Task09_Sagittal", "MSD_BoxCoordinate_Task09_Coronal",
        "MSD_BoxCoordinate_Task10_Sagittal", "MSD_BoxCoordinate_Task10_Coronal",
        "MSD_BoxCoordinate_Task11_Sagittal", "MSD_BoxCoordinate_Task11_Coronal",
        "MSD_BoxCoordinate_Task14_Sagittal", "MSD_BoxCoordinate_Task14_Coronal",
    ],
    "TL-planeOOD": [
        "autoPET-III_TumorLesionSize_Task01_Sagittal", "autoPET-III_TumorLesionSize_Task01_Coronal",
        "BraTS24_TumorLesionSize_Task04_Sagittal", "BraTS24_TumorLesionSize_Task04_Coronal",
        "BraTS24_TumorLesionSize_Task05_Sagittal", "BraTS24_TumorLesionSize_Task05_Coronal",
        "BraTS24_TumorLesionSize_Task10_Sagittal", "BraTS24_TumorLesionSize_Task10_Coronal",
        "HNTSMRG24_TumorLesionSize_Task02_Sagittal", "HNTSMRG24_TumorLesionSize_Task02_Coronal",
        "KiPA22_TumorLesionSize_Task01_Sagittal", "KiPA22_TumorLesionSize_Task01_Coronal",
        "KiTS23_TumorLesionSize_Task01_Sagittal", "KiTS23_TumorLesionSize_Task01_Coronal",
        "MSD_TumorLesionSize_Task03_Sagittal", "MSD_TumorLesionSize_Task03_Coronal",
        "MSD_TumorLesionSize_Task05_Sagittal", "MSD_TumorLesionSize_Task05_Coronal",
        "MSD_TumorLesionSize_Task06_Sagittal", "MSD_TumorLesionSize_Task06_Coronal",
    ],
}
# fmt: on


def test_the_built_in_lists_are_the_five_upstream_lists():
    assert list(PAPER_LISTS) == list(UPSTREAM_LISTS)


@pytest.mark.parametrize("name", list(UPSTREAM_LISTS))
def test_each_paper_list_names_upstreams_configs_in_upstreams_order(name):
    names = UPSTREAM_LISTS[name]
    assert len(names) == {"detect": 28, "TL": 10, "AD": 5, "detect-planeOOD": 48, "TL-planeOOD": 20}[name]
    # upstream's rule (tasks_to_configs), applied to its names, against the configs the built-in list reads
    assert [t.config for t in PAPER_LISTS[name]] == [f"{n}_Test".replace("BoxCoordinate", "BoxSize") for n in names]
    assert [parse_task_name(n) for n in names] == list(PAPER_LISTS[name])


@pytest.mark.parametrize("name", list(UPSTREAM_LISTS))
def test_the_upstream_file_itself_reads_as_the_built_in_list(name, tmp_path):
    path = tmp_path / f"tasks_MedVision-{name}.json"
    path.write_text(json.dumps({task: 1 for task in UPSTREAM_LISTS[name]}, indent=4))
    assert read_task_list(path) == PAPER_LISTS[name]
