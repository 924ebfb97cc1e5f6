"""The train/test split of ``medvision-tasks prepare``: by subject, seeded, independent of the run.

Subjects with a forced split (a case's or an import's ``split:``) keep it; the others (every
subject the manifest names, whether or not its cases produced docs) are sorted, shuffled with
``random.Random(seed)``, and the first ``round(train_fraction * n)`` go to train. A subject never
lands in both splits, and the split does not depend on worker count, cache or failures.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping

from medvision_tasks.builder.manifest import ManifestError
from medvision_tasks.builder.spec import Manifest


def assign_splits(
    subjects: Iterable[str], forced: Mapping[str, str], seed: int, train_fraction: float
) -> dict[str, str]:
    """Subject-level train/test split: seeded shuffle, the first ``train_fraction`` to train.

    Args:
        subjects: subject ids (repeats allowed; order does not matter).
        forced: subject -> "train"/"test" for subjects whose split the manifest fixes.
        seed: seed of ``random.Random`` shuffling the sorted free subjects.
        train_fraction: share of free subjects sent to train, rounded half up.

    Returns:
        subject -> "train" or "test", for every subject.
    """
    unique = sorted(set(subjects) | set(forced))
    free = [s for s in unique if s not in forced]
    random.Random(seed).shuffle(free)
    n_train = math.floor(train_fraction * len(free) + 0.5)
    splits = {s: ("train" if i < n_train else "test") for i, s in enumerate(free)}
    splits.update(forced)
    return splits


def forced_splits(manifest: Manifest) -> dict[str, str]:
    """Subject -> split fixed by case ``split:`` keys; a subject forced both ways is an error."""
    forced: dict[str, str] = {}
    for case in manifest.cases:
        if case.split is None:
            continue
        previous = forced.setdefault(case.subject_id, case.split)
        if previous != case.split:
            raise ManifestError(
                f"{manifest.path}: subject {case.subject_id!r} is forced into both train and test "
                f"(case {case.name} says {case.split})"
            )
    return forced
