"""The versions of the packages that can change a MedVision score, recorded with every answer.

A score depends on more than the model: lmms-eval builds the requests, transformers and torch run
the model and its image processor, Pillow, numpy and scipy resize and normalise the slice, nibabel
decodes the volume. Two runs are comparable only if these match, so each per-doc record carries
them (:class:`medvision_tasks.record.DocRecord`) and ``medvision-tasks report`` shows them per run.
"""

from __future__ import annotations

import functools
from importlib import metadata

import medvision_tasks

SCORE_RELEVANT_PACKAGES = ("lmms_eval", "transformers", "torch", "Pillow", "numpy", "scipy", "nibabel")
"""Distribution names, besides medvision-tasks itself, whose version can move a score."""
NOT_INSTALLED = "not installed"


@functools.cache
def score_relevant_versions() -> dict[str, str]:
    """``{package: version}`` of medvision-tasks and :data:`SCORE_RELEVANT_PACKAGES` in this process.

    A package that is not installed reads :data:`NOT_INSTALLED` (torch, for the random baseline).
    """
    versions = {"medvision-tasks": medvision_tasks.__version__}
    for name in SCORE_RELEVANT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = NOT_INSTALLED
    return versions


def describe_versions(versions: dict[str, str]) -> str:
    """One line for a log: ``medvision-tasks 0.2.0, lmms_eval 0.7.3, ...``."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())
