"""What a manifest asks ``medvision-tasks prepare`` to build: frozen, picklable spec types.

:mod:`medvision_tasks.builder.manifest` parses a YAML manifest into these; the case step and the
importer read them. Defaults are the public MedVision builder's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from medvision_tasks.ground_truth import DEFAULT_MIN_BOX_SIDE_PX, DEFAULT_MIN_LESION_PIXELS
from medvision_tasks.planes import PLANES, SLICE_DIM_OF_PLANE

DEFAULT_PLANES = tuple(SLICE_DIM_OF_PLANE[plane] for plane in PLANES)
"""Slice dims of every plane, in plane order: axial (2), coronal (1), sagittal (0)."""
DEFAULT_TRAIN_FRACTION = 0.7
DEFAULT_SEED = 0
DEFAULT_LANDMARK_TOLERANCE_MM = 2.0
DEFAULT_TASK_ID = "01"
IMPORT_SPLIT_BY_SUBJECT = "subject"
"""An import's ``split:`` that re-splits its docs by subject (seeded), like built cases."""


@dataclass(frozen=True)
class LabelSpec:
    """One label value of a mask and what to build from it.

    Attributes:
        value: the integer voxel value in the mask.
        name: the name the prompts use (e.g. "liver tumor").
        families: "detection" and/or "tl".
    """

    value: int
    name: str
    families: tuple[str, ...]


@dataclass(frozen=True)
class MaskSpec:
    """A label mask on the image's voxel grid.

    Attributes:
        path: absolute path of the mask file (or DICOM folder).
        labels: the labels to build docs from.
        task_id: the docs' ``taskID``.
    """

    path: str
    labels: tuple[LabelSpec, ...]
    task_id: str


@dataclass(frozen=True)
class LandmarkFileSpec:
    """A landmark file and how to read it (see :func:`medvision_tasks.builder.landmark_io.read_landmarks`)."""

    path: str
    space: str | None = None
    coordinate_system: str | None = None
    name_column: str | None = None


@dataclass(frozen=True)
class MeasurementSpec:
    """A distance or angle measured from landmarks (angle/distance family).

    Attributes:
        name: the measurement's name in the prompt (e.g. "AC-PC distance").
        key: the doc's ``biometric_profile.metric_key``.
        kind: "distance" (landmarks p1, p2) or "angle" (lines l1p1-l1p2 and l2p1-l2p2).
        landmarks: landmark names as in the file: 2 for a distance, 4 for an angle.
        planes: slice dims to measure in (0 sagittal, 1 coronal, 2 axial).
        task_id: the docs' ``taskID``.
    """

    name: str
    key: str
    kind: str
    landmarks: tuple[str, ...]
    planes: tuple[int, ...]
    task_id: str


@dataclass(frozen=True)
class CaseSpec:
    """Everything needed to build one case's docs; picklable and hashable as JSON.

    Attributes:
        dataset_name: the docs' ``dataset_name``.
        case_id: unique within the dataset; names the output files.
        subject_id: the unit of the train/test split.
        image: absolute path of the image volume (file, or DICOM folder).
        masks: label masks to build detection and T/L docs from.
        landmarks: the landmark file for angle/distance docs, or None.
        landmark_names: display names for landmark names used in the file (pairs).
        measurements: distances and angles to measure.
        planes: slice dims for detection and T/L docs.
        modality: e.g. "MRI", "CT".
        image_description: prompt text; ``{plane}`` and ``{modality}`` are filled in per doc.
        split: "train" / "test" to force the subject's split, else None (seeded shuffle).
        slice_step: consider only every ``slice_step``-th slice index (``idx % step == 0``).
        max_slices_per_label_plane: keep at most this many passing slices per label (or
            measurement) and plane, evenly spaced; None keeps all.
        crop: None, ``("box", ((i0, i1), (j0, j1), (k0, k1)))`` half-open RAS+ voxel ranges
            (None for an open end), or ``("margin_mm", (mx, my, mz))`` around the labels and
            landmarks used. Ranges and margins refer to the native RAS+ grid (before resampling).
        resample_mm: target voxel size (mm) along RAS+ voxel axes 0, 1, 2 (Left->Right,
            Posterior->Anterior, Inferior->Superior), or None to keep the native grid. The
            (cropped) image is resampled with linear interpolation and every mask with nearest
            neighbour onto one new grid (:func:`.volume_step.resampled_grid`).
        image_dtype: numpy dtype name for the written image, or None to keep the input's.
        landmark_tolerance_mm: largest distance (mm) a landmark may lie from the slice plane.
        min_box_side_px: smallest detection box side in pixels (the benchmark's 10).
        min_lesion_pixels: smallest T/L component in pixels (the benchmark's 200).
    """

    dataset_name: str
    case_id: str
    subject_id: str
    image: str
    masks: tuple[MaskSpec, ...] = ()
    landmarks: LandmarkFileSpec | None = None
    landmark_names: tuple[tuple[str, str], ...] = ()
    measurements: tuple[MeasurementSpec, ...] = ()
    planes: tuple[int, ...] = DEFAULT_PLANES
    modality: str = ""
    image_description: str = ""
    split: str | None = None
    slice_step: int = 1
    max_slices_per_label_plane: int | None = None
    crop: tuple | None = None
    resample_mm: tuple[float, float, float] | None = None
    image_dtype: str | None = None
    landmark_tolerance_mm: float = DEFAULT_LANDMARK_TOLERANCE_MM
    min_box_side_px: int = DEFAULT_MIN_BOX_SIDE_PX
    min_lesion_pixels: int = DEFAULT_MIN_LESION_PIXELS

    @property
    def name(self) -> str:
        """``dataset/case`` as used in every message."""
        return f"{self.dataset_name}/{self.case_id}"

    def input_paths(self) -> list[str]:
        """Every input file or folder the case reads."""
        paths = [self.image, *(mask.path for mask in self.masks)]
        if self.landmarks is not None:
            paths.append(self.landmarks.path)
        return paths

    def to_json(self) -> dict:
        """The spec as plain JSON data (for the cache key)."""
        return asdict(self)


@dataclass(frozen=True)
class ImportSpec:
    """Docs in the public MedVision layout to bring in, with the names they lack.

    Attributes:
        docs: absolute paths of ``.jsonl`` / ``.json`` files.
        image_root: folder the docs' ``image_file`` / ``mask_file`` / ``landmark_file`` are
            relative to.
        volumes: "link" (symlink into the output), "copy", or "keep" (reference in place).
        split: "test" (the default: docs exported from the public test split stay test docs),
            "train", or "subject" to re-split them by subject with the manifest's seed.
        dataset_name: only docs of this dataset (None: all).
        task_id: only docs of this taskID (None: all).
        labels: label value -> name, for detection and T/L docs.
        measurements: metric_key -> (name, landmark names) for angle/distance docs.
        modality: filled in where a doc has none.
        image_description: filled in where a doc has none.
        subject_id_pattern: regex with one group applied to the image file name; the group is
            the subject id (default: the file name without ``.nii.gz``).
    """

    docs: tuple[str, ...]
    image_root: str
    volumes: str = "link"
    split: str = "test"
    dataset_name: str | None = None
    task_id: str | None = None
    labels: tuple[tuple[int, str], ...] = ()
    measurements: tuple[tuple[str, str, tuple], ...] = ()
    modality: str = ""
    image_description: str = ""
    subject_id_pattern: str | None = None


@dataclass
class Manifest:
    """A parsed manifest."""

    path: Path
    base_dir: Path
    seed: int = DEFAULT_SEED
    train_fraction: float = DEFAULT_TRAIN_FRACTION
    cases: list[CaseSpec] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
