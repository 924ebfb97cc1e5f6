"""Task variants: how a question is asked and whether the image is shown, one table for every task.

Each MedVision task is a family (:mod:`medvision_tasks.families`) asked in one variant on one
plane. The variants, one row each in :data:`VARIANTS`:

=================== ============ ===== ========================== ============================
variant             prompt       image families, planes            what it tells
=================== ============ ===== ========================== ============================
``plain``           plain        shown all, every plane           the benchmark's question
``cot``             CoT          shown all, every plane           the same, reasoning in steps
``coords``          coordinates  shown T/L, A/D, every plane      seeing without arithmetic: the
                                                                  model gives the points, the
                                                                  plugin measures them
``no_visual``       plain        none  all, in-distribution plane what size priors alone score
``cot_no_visual``   CoT          none  all, in-distribution plane the same, CoT prompt
=================== ============ ===== ========================== ============================

A task is named ``medvision_<family stem><variant suffix>[_<plane>]`` (:func:`task_name`):
``medvision_tl_cot``, ``medvision_tl_coords_coronal``, ``medvision_ad_no_visual``. The no-image
controls follow lmms-eval's convention for tasks with the visual withheld (upstream's merged
``<task>_no_visual`` variants: ``doc_to_visual`` returns nothing); chat models get
``doc_to_messages`` without the image too. The coordinate-only variants exist for the families
whose answer is computed from points (T/L, A/D); detection answers are points already.

The YAML generator (``yaml_tasks/_generate_configs.py``), the hooks (:mod:`medvision_tasks.utils`)
and the report read this table; nothing keeps its own list of variants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from medvision_tasks.families import ANGLE_DISTANCE, FAMILIES, FAMILY_NAMES, TASK_PREFIX, TUMOR_LESION, Family
from medvision_tasks.messages import look_up
from medvision_tasks.planes import IN_DISTRIBUTION_PLANE

PLAIN_PROMPT = "plain"
"""The benchmark's plain prompt (:mod:`medvision_tasks.prompts`)."""
COT_PROMPT = "cot"
"""The chain-of-thought prompt MedVision-V0 was trained on."""
COORDINATES_PROMPT = "coordinates"
"""The question's points only, in relative coordinates; the plugin measures them (:mod:`medvision_tasks.steps`)."""


@dataclass(frozen=True)
class Variant:
    """One way of asking a family's question.

    Attributes:
        name: its id in task names (the suffix after the family stem), hooks, records and the report.
        title: the human name, in task aliases and report rows.
        prompt: :data:`PLAIN_PROMPT`, :data:`COT_PROMPT` or :data:`COORDINATES_PROMPT`.
        shows_image: the model is shown the slice (else the image is withheld: a control).
        families: the families it has tasks for.
        every_plane: one task per plane the family has (else the in-distribution plane's only).
        tag: an lmms-eval tag naming all its tasks (``--tasks medvision_no_visual``), or None.
    """

    name: str
    title: str
    prompt: str
    shows_image: bool
    families: tuple[str, ...]
    every_plane: bool
    tag: str | None = None

    @property
    def suffix(self) -> str:
        """What the variant adds to a task name: ``""`` for ``plain``, else ``_<name>``."""
        return "" if self.name == PLAIN.name else f"_{self.name}"

    @property
    def cot(self) -> bool:
        """Whether the prompt is the chain-of-thought one."""
        return self.prompt == COT_PROMPT

    @property
    def is_full_task(self) -> bool:
        """The benchmark's own question with the image shown (plain or CoT): what the paper's tables hold."""
        return self.shows_image and self.prompt in (PLAIN_PROMPT, COT_PROMPT)

    def planes(self, family: Family) -> tuple[str | None, ...]:
        """The planes it has a task for in ``family`` (None: one task over every plane); empty if none."""
        if family.name not in self.families:
            return ()
        if self.every_plane or not family.asks.per_plane_tasks:
            return family.task_planes
        return (IN_DISTRIBUTION_PLANE,)


PLAIN = Variant("plain", "plain", PLAIN_PROMPT, True, FAMILY_NAMES, every_plane=True)
COT = Variant("cot", "CoT", COT_PROMPT, True, FAMILY_NAMES, every_plane=True)
COORDINATES = Variant(
    "coords",
    "coordinates only",
    COORDINATES_PROMPT,
    True,
    (TUMOR_LESION, ANGLE_DISTANCE),
    every_plane=True,
    tag=f"{TASK_PREFIX}_coords",
)
NO_VISUAL = Variant(
    "no_visual", "plain, no image", PLAIN_PROMPT, False, FAMILY_NAMES, every_plane=False, tag=f"{TASK_PREFIX}_no_visual"
)
COT_NO_VISUAL = Variant(
    "cot_no_visual", "CoT, no image", COT_PROMPT, False, FAMILY_NAMES, every_plane=False, tag=f"{TASK_PREFIX}_no_visual"
)

VARIANTS: Mapping[str, Variant] = MappingProxyType(
    {variant.name: variant for variant in (PLAIN, COT, COORDINATES, NO_VISUAL, COT_NO_VISUAL)}
)
"""Every variant by name, in the order tasks and report columns list them."""
VARIANT_NAMES = tuple(VARIANTS)

# Longest suffix first, so that "_cot_no_visual" is not read as "_no_visual".
_SUFFIXES = sorted((v for v in VARIANTS.values() if v.suffix), key=lambda v: -len(v.suffix))
_PLANE_SUFFIX = re.compile(r"_(axial|coronal|sagittal)$")


def get_variant(name: str) -> Variant:
    """The variant called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    return look_up(VARIANTS, name, "task variant")


def task_name(family: Family, variant: Variant, plane: str | None) -> str:
    """``medvision_<stem><variant suffix>[_<plane>]``; the in-distribution plane's task has no plane suffix."""
    name = f"{TASK_PREFIX}_{family.task_stem}{variant.suffix}"
    return name if plane in (None, IN_DISTRIBUTION_PLANE) else f"{name}_{plane}"


def variant_of_task(name: str) -> Variant:
    """The variant of a MedVision task name (``medvision_tl_cot_no_visual`` -> ``cot_no_visual``).

    A name without a known variant suffix after its family stem is ``plain``.
    """
    stem = _PLANE_SUFFIX.sub("", name)
    for family in FAMILIES.values():
        base = f"{TASK_PREFIX}_{family.task_stem}"
        if stem == base:
            return PLAIN
        if stem.startswith(base + "_"):
            for variant in _SUFFIXES:
                if stem == base + variant.suffix:
                    return variant
    return COT if re.search(r"_cot(_|$)", name) else PLAIN


def tasks() -> list[tuple[Family, Variant, str | None]]:
    """Every ``(family, variant, plane)`` that has a task, in the order the task folder lists them."""
    return [
        (family, variant, plane)
        for family in FAMILIES.values()
        for variant in VARIANTS.values()
        for plane in variant.planes(family)
    ]
