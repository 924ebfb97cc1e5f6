"""What a manifest asks ``medvision-tasks prepare`` to build: frozen, picklable spec types.

:mod:`medvision_tasks.builder.manifest` parses a YAML manifest into these; the case step and the
importer read them. Defaults are the public MedVision builder's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from medvision_tasks.families import get_family
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


PAPER_PLAN_VERSION = "1.0.0"
"""The public annotations the paper's tables were computed on."""


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
        plans: the public data's root (holding ``Datasets/<dataset>/benchmark_plan_*``): names a
            doc lacks and the entry does not give come from its task in the plans; None: not looked up.
        plan_version: the plans' version (``benchmark_plan_<kind>_v<version>.json.gz``).
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
    plans: str | None = None
    plan_version: str = PAPER_PLAN_VERSION


PAPER_DOCS_PER_TASK = 1000
"""The paper ran every upstream task with ``--limit 1000``: its first 1000 docs in builder order."""
PAPER_MIN_AD_TARGET = 0.1
"""The paper's A/D numbers leave out docs whose target is below this (degrees or mm): an MRE near 0/0."""


@dataclass(frozen=True, order=True)
class UpstreamTask:
    """One public MedVision task config: a dataset's task, one family, one plane, its test split.

    Attributes:
        dataset: the dataset folder name (``KiTS23``; dataset names hold no ``_``).
        family: "detection", "tl" or "ad".
        task_id: the two-digit task number (``"01"``): the plan's ``tasks[int(task_id) - 1]``.
        plane: "axial", "coronal" or "sagittal".
        metric_type: for the A/D configs that keep one kind of measurement (Ceph-Biometrics-400),
            "distance" or "angle"; None for a config that yields both (FeTA24) and other families.
    """

    dataset: str
    family: str
    task_id: str
    plane: str
    metric_type: str | None = None

    @property
    def config(self) -> str:
        """``{dataset}_{BoxSize|TumorLesionSize|BiometricsFromLandmarks[_Distance|_Angle]}_Task{NN}_{Plane}_Test``."""
        token = get_family(self.family).public_task_type.replace("-", "")
        metric = f"_{self.metric_type.capitalize()}" if self.metric_type else ""
        return f"{self.dataset}_{token}{metric}_Task{self.task_id}_{self.plane.capitalize()}_Test"

    @property
    def task_type(self) -> str:
        """The public ``taskType`` of its docs (``Biometrics-From-Landmarks-Distance`` for a distance-only config)."""
        public = get_family(self.family).public_task_type
        return f"{public}-{self.metric_type.capitalize()}" if self.metric_type else public

    @property
    def slice_dim(self) -> int:
        """0 sagittal, 1 coronal, 2 axial."""
        return SLICE_DIM_OF_PLANE[self.plane]

    @property
    def task_index(self) -> int:
        """1-based position of its task in the plan's ``tasks`` list."""
        return int(self.task_id)


@dataclass(frozen=True)
class PublicRequest:
    """Docs to build from the public MedVision data as downloaded (``Datasets/<dataset>/`` with its plans).

    Attributes:
        root: the folder holding ``Datasets/`` (the public loader's ``MedVision_DATA_DIR``).
        tasks: the upstream task configs, in the order their docs are written.
        plan_version: the annotation version of the plans (the paper: 1.0.0).
        cap: keep the first ``cap`` docs of each task, in builder order (None: all).
        tl_exclusions: folders (holding ``<dataset>/<file>``) or files where the T/L multi-cluster
            exclusion lists are looked for, after ``<root>/Datasets/<dataset>/``.
        use_tl_exclusions: drop the T/L docs the exclusion lists name (1.0.0 plans only).
        min_ad_target: drop A/D docs whose target is below this (None: keep all).
        check_volumes: per task, check this many docs (evenly spaced) against their volumes.
        volumes: "keep" (docs name the downloaded files), "link" or "copy" into the output.
    """

    root: str
    tasks: tuple[UpstreamTask, ...]
    plan_version: str = PAPER_PLAN_VERSION
    cap: int | None = PAPER_DOCS_PER_TASK
    tl_exclusions: tuple[str, ...] = ()
    use_tl_exclusions: bool = True
    min_ad_target: float | None = PAPER_MIN_AD_TARGET
    check_volumes: int = 0
    volumes: str = "keep"


@dataclass(frozen=True)
class PublicPlanSpec:
    """The tasks of one public plan file to build: the unit a worker reads, caches and reports.

    Attributes:
        dataset: the dataset folder name.
        kind: "detection" or "biometry" (the plan file's kind).
        dataset_dir: absolute path of ``Datasets/<dataset>``; the plan's file paths are relative to it.
        plan_file: absolute path of the plan file to read.
        plan_version: the version asked for (the file may be the 1.0.0 fallback of a 1.1.x request).
        tasks: the configs of this plan to build, in request order.
        cap, use_tl_exclusions, min_ad_target, check_volumes: as in :class:`PublicRequest`.
        tl_exclusion_file: the exclusion list found for the dataset, or None.
    """

    dataset: str
    kind: str
    dataset_dir: str
    plan_file: str
    plan_version: str
    tasks: tuple[UpstreamTask, ...]
    cap: int | None = PAPER_DOCS_PER_TASK
    use_tl_exclusions: bool = True
    min_ad_target: float | None = PAPER_MIN_AD_TARGET
    check_volumes: int = 0
    tl_exclusion_file: str | None = None

    @property
    def name(self) -> str:
        """``public <dataset> <plan file name>`` as used in messages and the cache."""
        return f"public {self.dataset} {Path(self.plan_file).name}"

    def input_paths(self) -> list[str]:
        """The files whose change changes its docs (the plan and the exclusion list; the cache key)."""
        return [self.plan_file, *([self.tl_exclusion_file] if self.tl_exclusion_file else [])]

    def to_json(self) -> dict:
        """The spec as plain JSON data (for the cache key)."""
        return asdict(self)


@dataclass
class Manifest:
    """A parsed manifest."""

    path: Path
    base_dir: Path
    seed: int = DEFAULT_SEED
    train_fraction: float = DEFAULT_TRAIN_FRACTION
    cases: list[CaseSpec] = field(default_factory=list)
    imports: list[ImportSpec] = field(default_factory=list)
    public: list[PublicRequest] = field(default_factory=list)
