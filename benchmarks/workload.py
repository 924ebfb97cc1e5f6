"""A benchmark-sized MedVision data directory: CT-like volumes and docs shaped like the paper's.

Volumes are 512x512xZ int16 CT-like scans (air at -1000 HU with scanner noise, a body of soft
tissue with noise, lungs, a spine, the outside of the field of view at -1024), written with gzip
level 6 as public datasets are, which gives real CT's gzip ratio (about 2.5-3x). Docs follow the
paper's shape: many labels per volume, each on a run of consecutive slices, mostly axial, the
families in the paper's proportions (23K detection, 4.6K T/L, 1.3K A/D of 29K). Everything is
seeded: the same arguments write the same files.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

ORGANS = (
    "liver", "spleen", "left kidney", "right kidney", "pancreas", "stomach", "gallbladder", "aorta",
    "inferior vena cava", "left adrenal gland", "right adrenal gland", "esophagus", "duodenum", "colon",
    "small bowel", "urinary bladder", "left lung upper lobe", "left lung lower lobe", "right lung upper lobe",
    "right lung middle lobe", "right lung lower lobe", "heart", "trachea", "sacrum", "vertebra L1", "vertebra L2",
    "vertebra L3", "vertebra T12", "left femur", "right femur", "portal vein", "left iliac artery",
)  # fmt: skip
LESIONS = ("liver tumor", "kidney tumor", "lung nodule", "pancreas lesion")
FAMILY_SHARE = {"detection": 23_000 / 29_000, "tl": 4_600 / 29_000, "ad": 1_400 / 29_000}
OFF_AXIAL_SHARE = 0.1  # docs on coronal and sagittal slices (plane OOD tasks, A/D)
PIXEL_MM = 0.78
SLICE_MM = 1.5


@dataclass(frozen=True)
class Workload:
    """What :func:`build` wrote: the data directory and its size."""

    root: Path
    volumes: list[str]
    shapes: list[tuple[int, int, int]]
    docs: dict[str, int]
    raw_bytes: int
    gzip_bytes: int


def ct_volume(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """A CT-like int16 volume (HU) of ``shape``; structures drift smoothly along axis 2."""
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    fov = rows**2 + cols**2 <= 1.0
    volume = np.empty(shape, dtype=np.int16, order="F")
    for k in range(shape[2]):
        t = k / shape[2]
        body = (rows / (0.72 + 0.05 * np.sin(6 * t))) ** 2 + (cols / (0.55 + 0.04 * np.cos(5 * t))) ** 2 <= 1
        lungs = ((np.abs(rows) - 0.3) / 0.22) ** 2 + (cols / (0.3 * (1 - t) + 0.05)) ** 2 <= 1
        spine = (rows / 0.08) ** 2 + ((cols + 0.35) / 0.08) ** 2 <= 1
        plane = np.full(shape[:2], -1000.0, dtype=np.float32)
        plane[body] = 40.0
        plane[body & lungs] = -850.0
        plane[spine] = 700.0
        noise = rng.standard_normal(shape[:2], dtype=np.float32)
        plane += np.where(body, 14.0, 6.0) * noise
        plane[~fov] = -1024.0
        volume[:, :, k] = np.rint(plane)
    return volume


def _save_gzip6(volume: np.ndarray, path: Path) -> None:
    image = nib.Nifti1Image(volume, np.diag([PIXEL_MM, PIXEL_MM, SLICE_MM, 1.0]))
    image.header.set_xyzt_units("mm")
    raw = path.with_suffix("")  # .nii
    nib.save(image, str(raw))
    with open(raw, "rb") as source, gzip.open(path, "wb", compresslevel=6) as target:
        while chunk := source.read(1 << 24):
            target.write(chunk)
    raw.unlink()


def _slice_fields(image_file: str, shape: tuple[int, int, int], dim: int, idx: int) -> dict:
    sizes = [n for axis, n in enumerate(shape) if axis != dim]
    spacing = [s for axis, s in enumerate((PIXEL_MM, PIXEL_MM, SLICE_MM)) if axis != dim]
    return {
        "image_file": image_file,
        "slice_dim": dim,
        "slice_idx": idx,
        "image_size_2d": sizes,
        "pixel_size": spacing,
        "image_size_3d": list(shape),
        "voxel_size": [PIXEL_MM, PIXEL_MM, SLICE_MM],
    }


def _doc(family: str, case: int, label: int, name: str, fields: dict, rng: np.random.Generator) -> dict:
    height, width = fields["image_size_2d"]
    plane = ("sagittal", "coronal", "axial")[fields["slice_dim"]]
    doc = {
        "dataset_name": f"SynthCT{case % 4}",
        "taskID": "01",
        **fields,
        "label": label,
        "label_name": name,
        "image_description": f"an abdominal CT scan, {plane} slice",
        "modality": "CT",
        "subject_id": f"case{case:03d}",
    }
    if family == "detection":
        r0, c0 = int(rng.integers(0, height // 2)), int(rng.integers(0, width // 2))
        r1, c1 = r0 + int(rng.integers(5, height // 2)), c0 + int(rng.integers(5, width // 2))
        doc["taskType"] = "BoxCoordinate"
        doc["bounding_boxes"] = [{"min_coords": [r0, c0], "max_coords": [r1, c1]}]
    elif family == "tl":
        major = float(rng.uniform(8, 60))
        doc["taskType"] = "TumorLesionSize"
        doc["biometric_profile"] = {
            "metric_type": "distance",
            "metric_value_major_axis": major,
            "metric_value_minor_axis": major * float(rng.uniform(0.4, 1.0)),
            "metric_unit": "mm",
        }
    else:
        doc["taskType"] = "BiometricsFromLandmarks"
        doc["biometric_profile"] = {
            "metric_type": "distance",
            "metric_key": f"D-{label}",
            "metric_value": float(rng.uniform(10, 120)),
            "metric_unit": "mm",
        }
        doc["measurement_name"] = f"distance {label}"
        doc["landmark_names"] = [f"landmark {label}a", f"landmark {label}b"]
    return doc


def _volume_docs(case: int, image_file: str, shape: tuple[int, int, int], count: int, seed: int) -> dict:
    """``count`` docs on one volume: labels on runs of slices, families in the paper's shares."""
    rng = np.random.default_rng(seed)
    docs: dict[str, list[dict]] = {family: [] for family in FAMILY_SHARE}
    families = rng.choice(list(FAMILY_SHARE), size=count, p=list(FAMILY_SHARE.values()))
    spans = {}
    asked: set[tuple[str, int, int, int]] = set()
    for family in families:
        names = ORGANS if family != "tl" else LESIONS
        label = int(rng.integers(len(names)))
        dim = 2 if rng.random() >= OFF_AXIAL_SHARE else int(rng.integers(2))
        if (family, label, dim) not in spans:  # each label lies on a run of consecutive slices
            length = max(4, int(shape[dim] * rng.uniform(0.08, 0.35)))
            start = int(rng.integers(0, shape[dim] - length))
            spans[(family, label, dim)] = (start, start + length)
        start, stop = spans[(family, label, dim)]
        idx = int(rng.integers(start, stop))
        if (family, label, dim, idx) in asked:  # one question per slice and label, or the loader refuses the repeat
            free = [i for i in range(start, stop) if (family, label, dim, i) not in asked]
            free = free or [i for i in range(shape[dim]) if (family, label, dim, i) not in asked]
            idx = free[int(rng.integers(len(free)))]
        asked.add((family, label, dim, idx))
        fields = _slice_fields(image_file, shape, dim, idx)
        docs[family].append(_doc(family, case, label + 1, names[label], fields, rng))
    return docs


def build(root: Path, volumes: int, docs: int, depth_range: tuple[int, int] = (120, 400), seed: int = 0) -> Workload:
    """Write (or reuse, when already complete) a data directory of ``volumes`` volumes and ``docs`` docs.

    Args:
        root: the data directory (``detection.jsonl``, ``tl.jsonl``, ``ad.jsonl``, ``volumes/``).
        volumes: number of 512x512xZ volumes, Z spread evenly over ``depth_range``.
        docs: total docs, spread evenly over the volumes.
        depth_range: smallest and largest Z (slices).
        seed: seed of every random draw.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "volumes").mkdir(exist_ok=True)
    depths = np.linspace(depth_range[0], depth_range[1], volumes).round().astype(int)
    names, shapes = [], []
    per_family: dict[str, list[dict]] = {family: [] for family in FAMILY_SHARE}
    raw_bytes = gzip_bytes = 0
    for case, depth in enumerate(depths):
        shape = (512, 512, int(depth))
        image_file = f"volumes/case{case:03d}_ct.nii.gz"
        path = root / image_file
        if not path.is_file():
            _save_gzip6(ct_volume(shape, seed * 1000 + case), path)
        names.append(image_file)
        shapes.append(shape)
        raw_bytes += int(np.prod(shape)) * 2
        gzip_bytes += path.stat().st_size
        share = docs // volumes + (1 if case < docs % volumes else 0)
        for family, made in _volume_docs(case, image_file, shape, share, seed * 1000 + case).items():
            per_family[family].extend(made)
    for family, made in per_family.items():
        with open(root / f"{family}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(doc) + "\n" for doc in made)
    return Workload(root, names, shapes, {f: len(d) for f, d in per_family.items()}, raw_bytes, gzip_bytes)


def write_runs(out: Path, runs: int = 3, seed: int = 0) -> list[Path]:
    """lmms-eval output folders (``--log_samples``) of ``runs`` models on every doc of the data directory.

    ``MEDVISION_DATA_DIR`` must name the data directory. Answers are random numbers near each
    target, prompted and scored by the package's own hooks (``doc_to_text``, ``process_results``),
    each samples line holding what ``process_results`` returned, as lmms-eval writes it.
    """
    from medvision_tasks import metrics, utils
    from medvision_tasks.documents import load_documents
    from medvision_tasks.families import FAMILIES
    from medvision_tasks.record import RECORD_KEY, DocRecord
    from medvision_tasks.variants import PLAIN, task_name

    rng = np.random.default_rng(seed)
    folders = []
    for run in range(runs):
        folder = out / f"model{run}"
        folder.mkdir(parents=True, exist_ok=True)
        date = f"20261129_00000{run}"
        results = {"results": {}, "config": {"model": f"bench_model_{run}", "model_args": ""}}
        for family in FAMILIES.values():
            for plane in family.task_planes:
                task = task_name(family, PLAIN, plane)
                records = []
                with open(folder / f"{date}_samples_{task}.jsonl", "w", encoding="utf-8") as handle:
                    for doc_id, doc in enumerate(load_documents(family.name, plane)):
                        noisy = [v * float(rng.uniform(0.7, 1.3)) for v in doc["target"]]
                        if family.name == "detection":
                            noisy = sorted(noisy[0::2]) + sorted(noisy[1::2])
                            noisy = [noisy[0], noisy[2], noisy[1], noisy[3]]
                        answer = ", ".join(f"{v:.3f}" for v in noisy) if rng.random() > 0.05 else "no idea"
                        answer = f"<answer>{answer}</answer>"  # the published protocol reads the tag
                        utils.medvision_doc_to_text(doc, {"image_policy": "native"})  # notes what the prompt stated
                        values = utils.medvision_process_results(doc, [answer])
                        records.append(DocRecord.from_dict(values[RECORD_KEY]))
                        line = {"doc_id": doc_id, "target": "", "filtered_resps": [answer], **values}
                        handle.write(json.dumps(line) + "\n")
                results["results"][task] = {
                    f"{metric},none": metrics.aggregate(records, metric) for metric in family.metrics
                }
        (folder / f"{date}_results.json").write_text(json.dumps(results), encoding="utf-8")
        folders.append(folder)
    return folders
