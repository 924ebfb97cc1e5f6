"""One case, start to finish: the volume step, each family's docs, the landmark files, one result.

Runs inside a worker process of ``medvision-tasks prepare``. :func:`build_case` never raises for
bad input: whatever stops the case becomes a fatal :class:`CaseResult` naming it, and the files
the case would write are removed, so a failed case leaves nothing behind.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from medvision_tasks.builder import layout
from medvision_tasks.builder.angle_distance import angle_distance_docs, landmarks_file_content
from medvision_tasks.builder.detection import detection_docs
from medvision_tasks.builder.output import write_json
from medvision_tasks.builder.results import ALL_PLANES, SKIP_LABEL_ABSENT, CaseResult, FamilyDocs, Skip
from medvision_tasks.builder.spec import CaseSpec
from medvision_tasks.builder.tumor_lesion import ellipses_file_content, tumor_lesion_docs
from medvision_tasks.builder.volume_io import InputError
from medvision_tasks.builder.volume_step import CaseError, PreparedVolume, prepare_mask, prepare_volume
from medvision_tasks.families import ANGLE_DISTANCE, DETECTION, FAMILY_NAMES


class _Collected:
    """What a case has built so far; filled in order, so skips and errors keep their first-seen order."""

    def __init__(self, case: CaseSpec) -> None:
        self.case = case
        self.docs: dict[str, list[dict]] = {family: [] for family in FAMILY_NAMES}
        self.skips: Counter[Skip] = Counter()
        self.errors: list[str] = []
        self.files: list[str] = []

    def add(self, family: str, made: FamilyDocs) -> None:
        """Take one family builder's docs, skips and messages (each message names the case)."""
        self.docs[family].extend(made.docs)
        self.skips.update(made.skips)
        self.errors.extend(f"case {self.case.name}: {message}" for message in made.errors)

    def result(self) -> CaseResult:
        """What was built, as the case's result."""
        return CaseResult(
            case=self.case.name,
            dataset_name=self.case.dataset_name,
            subject_id=self.case.subject_id,
            docs={family: tuple(docs) for family, docs in self.docs.items()},
            skips=self.skips,
            errors=tuple(self.errors),
            fatal=False,
            files=tuple(self.files),
        )


def _label_absent_message(volume: PreparedVolume, mask_path: str, value: int, name: str, present: list[int]) -> str:
    steps = [step for step, done in (("cropping", volume.case.crop), ("resampling", volume.resampled_to)) if done]
    where = f" after {' and '.join(steps)}" if steps else ""
    return (
        f"label {value} ({name!r}) does not occur in mask {mask_path}{where} (values present: {sorted(present)[:20]})"
    )


def _mask_docs(volume: PreparedVolume, collected: _Collected) -> dict[str, dict]:
    """Detection and T/L docs of every label of every mask; returns the T/L ellipse endpoints."""
    endpoints: dict[str, dict] = {}
    for spec, mask_file in zip(volume.case.masks, layout.mask_files(volume.case)):
        mask = prepare_mask(volume, spec, mask_file)
        collected.files.append(mask_file)
        for label in spec.labels:
            if label.value not in mask.present:
                message = _label_absent_message(volume, spec.path, label.value, label.name, list(mask.present))
                collected.errors.append(f"case {volume.case.name}: {message}")
                for family in label.families:
                    collected.skips[Skip(family, label.name, ALL_PLANES, SKIP_LABEL_ABSENT)] += 1
                continue
            binary = mask.labels == label.value
            for family in label.families:
                builder = detection_docs if family == DETECTION else tumor_lesion_docs
                made = builder(volume, mask, label, binary)
                collected.add(family, made)
                endpoints.update(made.landmarks)
    return endpoints


def _build(case: CaseSpec, out_dir: Path, collected: _Collected) -> None:
    volume = prepare_volume(case, out_dir)
    collected.files.append(volume.image_file)
    endpoints = _mask_docs(volume, collected)
    if volume.landmarks is not None and case.measurements:
        made = angle_distance_docs(volume, volume.landmarks)
        collected.add(ANGLE_DISTANCE, made)
        path = layout.landmarks_file(case)
        write_json(landmarks_file_content(volume.image_file, dict(made.landmarks)), out_dir / path)
        collected.files.append(path)
    if endpoints:
        path = layout.ellipses_file(case)
        write_json(ellipses_file_content(volume.image_file, endpoints), out_dir / path)
        collected.files.append(path)


def case_files(case: CaseSpec) -> list[str]:
    """Every file a case may write, relative to the output directory."""
    return [layout.image_file(case), *layout.mask_files(case), layout.landmarks_file(case), layout.ellipses_file(case)]


def build_case(case: CaseSpec, out_dir: str | Path) -> CaseResult:
    """Build one case's docs and volumes under ``out_dir``; never raises for bad input.

    Args:
        case: the case spec from the manifest.
        out_dir: the output directory; volumes go to ``out_dir/volumes/``.

    Returns:
        The case's docs per family (without split), skips, messages (each naming the case) and
        files written; a fatal result, with no docs and no files, when the case could not be built.
    """
    out = Path(out_dir)
    collected = _Collected(case)
    try:
        _build(case, out, collected)
        return collected.result()
    except (InputError, CaseError) as error:
        message = str(error)
    except Exception as error:  # noqa: BLE001  an unforeseen failure must name the case, not end the run
        message = f"unexpected {type(error).__name__}: {error}"
    for relative in case_files(case):
        (out / relative).unlink(missing_ok=True)
    return CaseResult.failed(case, tuple(collected.errors), message)
