"""Upstream MedVision task names and the paper's task lists, as :class:`~.spec.UpstreamTask` specs.

Names come in the spellings the public code uses, and all name one config of the public dataset:

- configs: ``KiTS23_BoxSize_Task01_Axial_Test``, ``Ceph-Biometrics-400_BiometricsFromLandmarks_Distance_Task01_Sagittal_Test``;
- lmms-eval task names of the public repository's task lists: ``KiTS23_BoxCoordinate_Task01_Axial``,
  ``KiTS23_TumorLesionSize_Task01_Axial-CoT`` (a ``-CoT`` task reads the same docs);
- ``BiometricsFromLandmarks-Distance`` (hyphen) is read like ``BiometricsFromLandmarks_Distance``.

The paper's lists (``tasks_list/tasks_MedVision-<name>.json`` upstream) are built in, by name:
``detect``, ``TL``, ``AD``, ``detect-planeOOD``, ``TL-planeOOD``, each also with ``-CoT``
(same docs, the CoT prompt is chosen at evaluation). A list file (a JSON object whose keys are
task names, in order; its counts are not read, as upstream) is read by :func:`read_task_list`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from medvision_tasks.builder.spec import UpstreamTask
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILIES, TUMOR_LESION
from medvision_tasks.planes import PLANES

_FAMILY_OF_TOKEN = {
    spelling.replace("-", ""): family.name for family in FAMILIES.values() for spelling in family.task_types
}
_NAME = re.compile(
    r"^(?P<dataset>[^_\s]+)_(?P<token>[A-Za-z]+?)(?:[_-](?P<metric>Distance|Angle))?"
    r"_Task(?P<task>\d{1,2})_(?P<plane>Axial|Coronal|Sagittal)(?:_Test)?(?:-CoT)?$"
)
COT_SUFFIX = "-CoT"

# The paper's lists, each task as (dataset, task number), in the order of the upstream files.
# fmt: off
_DETECT_AXIAL = (
    ("CrossMoDA", 1), ("ISLES24", 1), ("FeTA24", 1), ("AMOS22", 1), ("AbdomenAtlas1.0Mini", 1),
    ("AbdomenCT-1K", 1), ("autoPET-III", 1), ("BCV15", 1), ("BraTS24", 1), ("BraTS24", 6), ("BraTS24", 10),
    ("CAMUS", 1), ("FLARE22", 1), ("HNTSMRG24", 1), ("KiPA22", 1), ("KiTS23", 1), ("MSD", 1), ("MSD", 5),
    ("MSD", 6), ("MSD", 7), ("MSD", 9), ("MSD", 10), ("MSD", 11), ("MSD", 12), ("MSD", 14), ("OAIZIB-CM", 1),
    ("SKM-TEA", 1), ("TopCoW24", 1),
)
# 24 of the 28 (not BraTS24 Task06, CAMUS, MSD Task06 and Task12), in the plane-OOD file's order.
_DETECT_PLANE_OOD = (
    ("CrossMoDA", 1), ("ISLES24", 1), ("FeTA24", 1), ("AMOS22", 1), ("AbdomenAtlas1.0Mini", 1),
    ("AbdomenCT-1K", 1), ("autoPET-III", 1), ("BCV15", 1), ("BraTS24", 1), ("BraTS24", 10), ("FLARE22", 1),
    ("HNTSMRG24", 1), ("KiPA22", 1), ("KiTS23", 1), ("OAIZIB-CM", 1), ("SKM-TEA", 1), ("TopCoW24", 1),
    ("MSD", 1), ("MSD", 5), ("MSD", 7), ("MSD", 9), ("MSD", 10), ("MSD", 11), ("MSD", 14),
)
_TL = (
    ("autoPET-III", 1), ("BraTS24", 4), ("BraTS24", 5), ("BraTS24", 10), ("HNTSMRG24", 2), ("KiPA22", 1),
    ("KiTS23", 1), ("MSD", 3), ("MSD", 5), ("MSD", 6),
)
_AD = (
    UpstreamTask("Ceph-Biometrics-400", ANGLE_DISTANCE, "01", "sagittal", "distance"),
    UpstreamTask("Ceph-Biometrics-400", ANGLE_DISTANCE, "01", "sagittal", "angle"),
    UpstreamTask("FeTA24", ANGLE_DISTANCE, "01", "sagittal"),
    UpstreamTask("FeTA24", ANGLE_DISTANCE, "01", "coronal"),
    UpstreamTask("FeTA24", ANGLE_DISTANCE, "01", "axial"),
)
# fmt: on
_OOD_PLANES = ("sagittal", "coronal")


def _tasks(family: str, entries: Iterable[tuple[str, int]], planes: Iterable[str]) -> tuple[UpstreamTask, ...]:
    return tuple(
        UpstreamTask(dataset, family, f"{number:02d}", plane) for dataset, number in entries for plane in planes
    )


PAPER_LISTS: dict[str, tuple[UpstreamTask, ...]] = {
    "detect": _tasks(DETECTION, _DETECT_AXIAL, ("axial",)),
    "TL": _tasks(TUMOR_LESION, _TL, ("axial",)),
    "AD": _AD,
    "detect-planeOOD": _tasks(DETECTION, _DETECT_PLANE_OOD, _OOD_PLANES),
    "TL-planeOOD": _tasks(TUMOR_LESION, _TL, _OOD_PLANES),
}
"""The paper's task lists by name (``-CoT`` variants: :func:`paper_list`)."""
PAPER_SET = ("detect", "TL", "AD")
"""The lists of the paper's main tables (Tables 2-4)."""


class TaskNameError(ValueError):
    """A task name, list name or list file that names no public task config."""


def parse_task_name(name: str) -> UpstreamTask:
    """The config a task or config name stands for.

    Raises:
        TaskNameError: a name in no known spelling (e.g. the ``_local_ds`` tasks of the upstream
            OOD lists, which read local data, not the public configs).
    """
    match = _NAME.match(name.strip())
    family = _FAMILY_OF_TOKEN.get(match["token"]) if match else None
    if match is None or family is None:
        raise TaskNameError(
            f"{name!r} is not a public MedVision task name: expected "
            "<Dataset>_<BoxSize|TumorLesionSize|BiometricsFromLandmarks[_Distance|_Angle]>_Task<NN>_<Plane>[_Test][-CoT]"
        )
    metric = match["metric"]
    if metric and family != ANGLE_DISTANCE:
        raise TaskNameError(f"{name!r}: only BiometricsFromLandmarks tasks take _Distance / _Angle")
    plane = match["plane"].lower()
    assert plane in PLANES
    return UpstreamTask(
        match["dataset"], family, f"{int(match['task']):02d}", plane, metric.lower() if metric else None
    )


def paper_list(name: str) -> tuple[UpstreamTask, ...] | None:
    """The built-in list called ``name`` (``TL``, ``TL-CoT``, ``tasks_MedVision-TL-CoT.json``, ...), or None."""
    stem = Path(name).name
    stem = re.sub(r"^(tasks_)?(MedVision-)?", "", stem)
    stem = re.sub(r"\.json$", "", stem)
    stem = stem.removesuffix(COT_SUFFIX)
    return PAPER_LISTS.get(stem)


def read_task_list(path: Path) -> tuple[UpstreamTask, ...]:
    """The tasks of an upstream task-list file: the keys of its JSON object, in order.

    Raises:
        TaskNameError: unreadable, not a JSON object, or a key that names no public config; the
            message names the file.
    """
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TaskNameError(f"{path}: cannot read the task list ({error})") from None
    if not isinstance(content, dict) or not content:
        raise TaskNameError(f"{path}: a task list is a JSON object of task names (its values are counts)")
    tasks = []
    for key in content:
        try:
            tasks.append(parse_task_name(key))
        except TaskNameError as error:
            raise TaskNameError(f"{path}: {error}") from None
    return tuple(tasks)


def resolve_tasks(items: Iterable[str]) -> tuple[UpstreamTask, ...]:
    """The tasks named by a mix of list names, list files and task names, in order, each once.

    Args:
        items: each a built-in list name (``detect``, ``TL-CoT``, ...), the path of an upstream
            task-list JSON file, or one task or config name.

    Raises:
        TaskNameError: an item that is none of these.
    """
    found: dict[UpstreamTask, None] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        built_in = paper_list(item)
        if built_in is not None and not Path(item).is_file():
            found.update(dict.fromkeys(built_in))
        elif item.lower().endswith(".json"):
            found.update(dict.fromkeys(read_task_list(Path(item))))
        else:
            try:
                found[parse_task_name(item)] = None
            except TaskNameError as error:
                lists = ", ".join(f"{name}[-CoT]" for name in PAPER_LISTS)
                raise TaskNameError(f"{error}; or a list: {lists}, or a task-list .json file") from None
    return tuple(found)
