"""``medvision-tasks prepare MANIFEST --out DIR``: build MedVision docs from your own data.

The manifest (YAML, format in README, "Bring your own data" and :mod:`medvision_tasks.manifest`) names cases:
an image volume (NIfTI, NRRD or a DICOM series), label masks and/or a landmark file, label
names, modality, image description, planes, and the distances/angles to measure. It may also
import docs already in the public MedVision field layout, adding the names they lack.

Output (what ``MEDVISION_DATA_DIR`` points the ``medvision_*`` tasks at)::

    DIR/detection.jsonl, DIR/tl.jsonl, DIR/ad.jsonl      test split, one doc per line
    DIR/train/{detection,tl,ad}.jsonl                    train split (when any subject is in it)
    DIR/volumes/                                         RAS+ NIfTI images, masks, landmark JSON
    DIR/summary.json                                     doc counts, every skip with its reason
    DIR/.cases/                                          per-case cache (re-runs reuse cases)

Cases are built in parallel worker processes (``--workers``), each holding one case's image and
one mask at a time, so memory stays bounded by a few volumes. A case's result is cached under
``DIR/.cases/`` keyed by a hash of its spec and its input files' sizes and modification times;
a re-run rebuilds only cases whose key changed. The train/test split is by subject: subjects
without a forced split are sorted, shuffled with ``random.Random(seed)`` and the first
``round(train_fraction * n)`` go to train, so it is identical across runs and worker counts.

Bad input (missing file, image/mask grid mismatch, label absent from the mask, landmark outside
the volume, degenerate or non-orthogonal affine, ...) is reported as a message naming the case;
the other cases still finish. Exit status: 0 clean, 1 some case reported an error, 2 the
manifest or arguments are unusable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from medvision_tasks.case_builder import build_case, slug
from medvision_tasks.families import ANGLE_DISTANCE, FAMILIES, family_of_task_type
from medvision_tasks.manifest import CaseSpec, ImportSpec, Manifest, ManifestError, load_manifest
from medvision_tasks.planes import PLANE_OF_SLICE_DIM

# Bump when the docs a case produces would change for the same inputs: invalidates the cache.
BUILDER_VERSION = "1"
CACHE_DIR = ".cases"
TRAIN_DIR = "train"
SUMMARY_FILE = "summary.json"
IMPORTED_VOLUMES_DIR = "volumes/imported"


@dataclass
class BuildReport:
    """What one ``prepare`` run did.

    Attributes:
        out_dir: the output directory.
        doc_counts: split -> family -> number of docs written.
        cases_built: cases computed in this run.
        cases_reused: cases taken from the cache.
        cases_failed: cases that produced nothing (fatal error).
        errors: every message, each naming its case (or import file).
        summary: the content written to ``summary.json``.
    """

    out_dir: Path
    doc_counts: dict[str, dict[str, int]]
    cases_built: int = 0
    cases_reused: int = 0
    cases_failed: int = 0
    errors: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Split
# --------------------------------------------------------------------------------------------


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


def _forced_splits(manifest: Manifest) -> dict[str, str]:
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


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def _stat_signature(path: str) -> list:
    target = Path(path)
    if target.is_dir():
        return [
            path,
            [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(target.iterdir()) if p.is_file()],
        ]
    try:
        stat = target.stat()
    except OSError:
        return [path, None]
    return [path, stat.st_size, stat.st_mtime_ns]


def case_cache_key(case: CaseSpec) -> str:
    """Hash of the case spec, the builder version and its input files' sizes and mtimes."""
    payload = {
        "builder": BUILDER_VERSION,
        "case": case.to_json(),
        "inputs": [_stat_signature(p) for p in case.input_paths()],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _cache_file(out_dir: Path, case_name: str) -> Path:
    digest = hashlib.sha1(case_name.encode("utf-8")).hexdigest()[:12]
    return out_dir / CACHE_DIR / f"{slug(case_name)}-{digest}.json"


def _load_cached(out_dir: Path, case: CaseSpec, key: str) -> dict | None:
    path = _cache_file(out_dir, case.name)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    result = entry.get("result") or {}
    if entry.get("key") != key or result.get("case") != case.name:
        return None
    if not all((out_dir / f).is_file() for f in result.get("files", [])):
        return None
    return result


def _store_cached(out_dir: Path, case: CaseSpec, key: str, result: dict) -> None:
    path = _cache_file(out_dir, case.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    partial.write_text(json.dumps({"key": key, "result": result}), encoding="utf-8")
    os.replace(partial, path)


def _prune_cache(out_dir: Path, current: set[str], kept_files: set[str]) -> None:
    """Forget cases no longer in the manifest, deleting the files only they had written."""
    cache = out_dir / CACHE_DIR
    if not cache.is_dir():
        return
    for path in cache.glob("*.json"):
        try:
            result = json.loads(path.read_text(encoding="utf-8")).get("result") or {}
        except (OSError, json.JSONDecodeError):
            path.unlink(missing_ok=True)
            continue
        if result.get("case") in current:
            continue
        for relative in result.get("files", []):
            if relative not in kept_files:
                (out_dir / relative).unlink(missing_ok=True)
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Imports of public-layout docs
# --------------------------------------------------------------------------------------------


def _read_doc_file(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        content = json.loads(text)
        rows = content if isinstance(content, list) else content.get("docs", [])
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not all(isinstance(row, dict) for row in rows):
        raise ValueError("every doc must be a JSON object")
    return rows


def _subject_of(doc: Mapping, pattern: str | None) -> str:
    if doc.get("subject_id"):
        return str(doc["subject_id"])
    name = Path(str(doc["image_file"])).name
    if pattern:
        match = re.search(pattern, name)
        if match:
            return match.group(1)
    return re.sub(r"(\.nii\.gz|\.nii|\.nrrd)$", "", name)


class _Importer:
    """Brings public-layout docs into the output, with names, volumes and subjects."""

    REQUIRED = ("dataset_name", "taskType", "image_file", "slice_dim", "slice_idx", "image_size_2d", "pixel_size")

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.skips: Counter = Counter()
        self.errors: list[str] = []
        self.files: set[str] = set()
        self._placed: dict[str, str] = {}

    def _place(self, spec: ImportSpec, dataset: str, value: str) -> str | None:
        source = Path(value)
        if not source.is_absolute():
            source = Path(spec.image_root) / source
        if not source.exists():
            return None
        if spec.volumes == "keep":
            return str(source.resolve())
        key = str(source.resolve())
        if key in self._placed:
            return self._placed[key]
        relative_value = Path(value) if not Path(value).is_absolute() else Path(source.name)
        parts = [p for p in relative_value.parts if p not in ("..", ".")]
        target = self.out_dir / IMPORTED_VOLUMES_DIR / slug(dataset) / Path(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if spec.volumes == "copy":
            if not (target.is_file() and target.stat().st_size == source.stat().st_size):
                shutil.copy2(source, target)
        else:
            if target.is_symlink() or target.exists():
                if target.is_symlink() and os.readlink(target) == key:
                    pass
                else:
                    target.unlink()
                    target.symlink_to(key)
            else:
                target.symlink_to(key)
        relative = target.relative_to(self.out_dir).as_posix()
        self._placed[key] = relative
        self.files.add(relative)
        return relative

    def run(self, spec: ImportSpec) -> list[tuple[str, str, dict]]:
        """(family, subject, doc) for every importable doc of one import entry."""
        labels = dict(spec.labels)
        measurements = {key: (name, landmarks) for key, name, landmarks in spec.measurements}
        imported = []
        for doc_path in spec.docs:
            try:
                rows = _read_doc_file(Path(doc_path))
            except (OSError, ValueError) as error:
                self.errors.append(f"import {doc_path}: cannot read docs ({error})")
                continue
            for line, row in enumerate(rows, start=1):
                where = f"import {doc_path} doc #{line}"
                if spec.dataset_name and row.get("dataset_name") != spec.dataset_name:
                    continue
                if spec.task_id and str(row.get("taskID")) != spec.task_id:
                    continue
                item = self._one(spec, row, where, labels, measurements)
                if item is not None:
                    imported.append(item)
        return imported

    def _skip(self, family: str, reason: str) -> None:
        self.skips[(family, "imported", "all", reason)] += 1

    def _one(self, spec: ImportSpec, row: dict, where: str, labels: dict, measurements: dict) -> tuple | None:
        doc = dict(row)
        found = family_of_task_type(doc.get("taskType"))
        if found is None:
            self._skip("unknown", f"unknown taskType {doc.get('taskType')!r}")
            return None
        family = found.name
        missing = [f for f in self.REQUIRED + found.target_fields if doc.get(f) is None]
        if missing:
            self._skip(family, f"missing field {missing[0]}")
            return None
        if family == ANGLE_DISTANCE:
            key = str(doc["biometric_profile"].get("metric_key"))
            name, landmark_names = measurements.get(key, (None, None))
            doc["measurement_name"] = doc.get("measurement_name") or name
            doc["landmark_names"] = doc.get("landmark_names") or (
                [list(x) if isinstance(x, tuple) else x for x in landmark_names] if landmark_names else None
            )
            if not doc["measurement_name"] or not doc["landmark_names"]:
                self._skip(family, "no measurement name for metric_key")
                self.errors.append(f"{where}: no name/landmarks for metric_key {key!r} (add it under measurements)")
                return None
            doc["label_name"] = doc.get("label_name") or doc["measurement_name"]
        else:
            label = int(doc["label"])
            doc["label_name"] = doc.get("label_name") or labels.get(label)
            if not doc["label_name"]:
                self._skip(family, "no label name for label")
                self.errors.append(f"{where}: no name for label {label} (add it under labels)")
                return None
        doc["modality"] = doc.get("modality") or spec.modality
        description = doc.get("image_description") or spec.image_description
        doc["image_description"] = description.replace(
            "{plane}", PLANE_OF_SLICE_DIM.get(int(doc["slice_dim"]), "")
        ).replace("{modality}", doc["modality"])
        for field_name in ("image_file", "mask_file", "landmark_file"):
            if not doc.get(field_name):
                continue
            placed = self._place(spec, str(doc["dataset_name"]), str(doc[field_name]))
            if placed is None:
                if field_name == "image_file":
                    self._skip(family, "volume not found")
                    self.errors.append(f"{where}: image_file {doc[field_name]!r} not found under {spec.image_root}")
                    return None
                continue  # masks and landmark files are not needed for evaluation
            doc[field_name] = placed
        subject = _subject_of(row, spec.subject_id_pattern)
        doc["subject_id"] = subject
        return family, subject, doc


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, docs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    os.replace(partial, path)


def _count_docs(docs: list[dict], family: str) -> dict:
    by_plane = Counter(PLANE_OF_SLICE_DIM.get(int(d["slice_dim"]), "?") for d in docs)
    by_label = Counter(f"{d['dataset_name']}/{d.get('label_name')}" for d in docs)
    return {
        "total": len(docs),
        "by_plane": dict(sorted(by_plane.items())),
        "by_label": dict(sorted(by_label.items())),
    }


def _summary(
    manifest: Manifest,
    seed: int,
    splits: dict[str, str],
    docs: dict[str, dict[str, list[dict]]],
    skip_rows: list[dict],
    errors: list[str],
    n_cases: int,
    n_failed: int,
) -> dict:
    by_reason: Counter = Counter()
    by_family: dict[str, Counter] = {}
    for row in skip_rows:
        by_reason[row["reason"]] += row["count"]
        by_family.setdefault(row["family"], Counter())[row["reason"]] += row["count"]
    return {
        "manifest": manifest.path.name,
        "builder_version": BUILDER_VERSION,
        "seed": seed,
        "train_fraction": manifest.train_fraction,
        "subjects": {split: sorted(s for s, v in splits.items() if v == split) for split in ("train", "test")},
        "cases": {"total": n_cases, "failed": n_failed},
        "docs": {
            split: {
                "total": sum(len(v) for v in docs[split].values()),
                "by_family": {family: _count_docs(docs[split][family], family) for family in FAMILIES},
            }
            for split in ("test", "train")
        },
        "skips": {
            "total": sum(by_reason.values()),
            "by_reason": dict(sorted(by_reason.items())),
            "by_family": {f: dict(sorted(c.items())) for f, c in sorted(by_family.items())},
            "details": skip_rows,
        },
        "errors": errors,
    }


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _failed_result(case: CaseSpec, message: str) -> dict:
    return {
        "case": case.name,
        "dataset_name": case.dataset_name,
        "subject_id": case.subject_id,
        "docs": {family: [] for family in FAMILIES},
        "skips": [],
        "errors": [f"case {case.name}: {message}"],
        "fatal": True,
        "files": [],
    }


def _run_cases(
    todo: list[tuple[int, CaseSpec]], out_dir: Path, workers: int, progress: bool
) -> Iterable[tuple[int, dict]]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="prepare", unit="case", disable=not progress or not todo, file=sys.stderr)
    try:
        if workers <= 1 or len(todo) <= 1:
            for index, case in todo:
                bar.set_postfix_str(case.name, refresh=False)
                yield index, build_case(case, out_dir)
                bar.update(1)
            return
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = {pool.submit(build_case, case, out_dir): (index, case) for index, case in todo}
            for future in as_completed(futures):
                index, case = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001  a worker died (e.g. out of memory): report the case
                    result = _failed_result(case, f"worker failed ({type(error).__name__}: {error})")
                yield index, result
                bar.update(1)
    finally:
        bar.close()


def prepare(
    manifest_path: str | Path,
    out_dir: str | Path,
    *,
    workers: int = 1,
    seed: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
) -> BuildReport:
    """Build a MedVision data directory from a manifest.

    Args:
        manifest_path: the YAML manifest.
        out_dir: output directory (created); see the module docstring for its layout.
        workers: worker processes building cases in parallel (1: in this process).
        seed: split seed; None uses the manifest's ``seed``.
        use_cache: reuse and store per-case results under ``out_dir/.cases/``.
        progress: show a progress bar on stderr.

    Returns:
        The :class:`BuildReport`; ``summary.json`` holds the same counts.

    Raises:
        ManifestError: the manifest is unusable (nothing is built).
    """
    manifest = load_manifest(manifest_path)
    seed = manifest.seed if seed is None else int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    forced = _forced_splits(manifest)

    results: list[dict | None] = [None] * len(manifest.cases)
    keys: list[str] = []
    todo: list[tuple[int, CaseSpec]] = []
    reused = 0
    for index, case in enumerate(manifest.cases):
        key = case_cache_key(case)
        keys.append(key)
        cached = _load_cached(out, case, key) if use_cache else None
        if cached is not None:
            results[index] = cached
            reused += 1
        else:
            todo.append((index, case))
    if reused and progress:
        print(f"prepare: reusing {reused} cached case(s) from {out / CACHE_DIR}", file=sys.stderr)
    for index, result in _run_cases(todo, out, workers, progress):
        results[index] = result
        if use_cache and not result["fatal"]:
            _store_cached(out, manifest.cases[index], keys[index], result)

    errors: list[str] = []
    skip_rows: list[dict] = []
    items: list[tuple[str, str, dict]] = []  # (family, subject, doc) in manifest order
    kept_files: set[str] = set()
    failed = 0
    for case, result in zip(manifest.cases, results):
        assert result is not None
        errors.extend(result["errors"])
        failed += bool(result["fatal"])
        kept_files.update(result["files"])
        for row in result["skips"]:
            skip_rows.append({"case": result["case"], **row})
        for family in FAMILIES:
            items.extend((family, case.subject_id, doc) for doc in result["docs"][family])

    importer = _Importer(out)
    for spec in manifest.imports:
        imported = importer.run(spec)
        if spec.split is not None:
            for _, subject, _ in imported:
                previous = forced.setdefault(subject, spec.split)
                if previous != spec.split:
                    errors.append(
                        f"import {spec.docs[0]}: subject {subject!r} is forced into both splits; kept {previous}"
                    )
        items.extend(imported)
    errors.extend(importer.errors)
    for (family, item, plane, reason), count in importer.skips.items():
        skip_rows.append(
            {"case": "imported", "family": family, "item": item, "plane": plane, "reason": reason, "count": count}
        )

    # Every subject the manifest names takes part, whether or not its cases produced docs, so
    # a failing case cannot reshuffle the others.
    subjects = [case.subject_id for case in manifest.cases] + [subject for _, subject, _ in items]
    splits = assign_splits(subjects, forced, seed, manifest.train_fraction)
    docs: dict[str, dict[str, list[dict]]] = {split: {f: [] for f in FAMILIES} for split in ("test", "train")}
    for family, subject, doc in items:
        docs[splits[subject]][family].append(doc)

    for family in FAMILIES:
        _write_jsonl(out / f"{family}.jsonl", docs["test"][family])
        train_file = out / TRAIN_DIR / f"{family}.jsonl"
        if any(docs["train"].values()):
            _write_jsonl(train_file, docs["train"][family])
        else:
            train_file.unlink(missing_ok=True)
    if not any(docs["train"].values()) and (out / TRAIN_DIR).is_dir() and not any((out / TRAIN_DIR).iterdir()):
        (out / TRAIN_DIR).rmdir()

    summary = _summary(manifest, seed, splits, docs, skip_rows, errors, len(manifest.cases), failed)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if use_cache:
        _prune_cache(out, {c.name for c in manifest.cases}, kept_files | importer.files)

    for message in errors:
        print(f"prepare: {message}", file=sys.stderr)
    return BuildReport(
        out_dir=out,
        doc_counts={split: {f: len(v) for f, v in docs[split].items()} for split in docs},
        cases_built=len(todo),
        cases_reused=reused,
        cases_failed=failed,
        errors=errors,
        summary=summary,
    )


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``prepare MANIFEST --out DIR [--workers N] [--seed S] [--no-cache]``.

    Returns:
        0 when every case built cleanly, 1 when some case or import reported an error (the
        others are still written), 2 when the manifest or arguments are unusable.
    """
    parser = argparse.ArgumentParser(
        prog="medvision-tasks prepare",
        description="Build MedVision docs (detection, tumor/lesion size, angle/distance) from "
        "volumes, masks and landmarks named in a YAML manifest (format: README section 'Bring your own data').",
    )
    parser.add_argument("manifest", type=Path, help="the YAML manifest")
    parser.add_argument("--out", type=Path, required=True, help="output directory (for MEDVISION_DATA_DIR)")
    parser.add_argument("--workers", type=int, default=_default_workers(), help="parallel worker processes")
    parser.add_argument("--seed", type=int, default=None, help="split seed (default: the manifest's seed)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every case; write no .cases/ cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        report = prepare(
            args.manifest,
            args.out,
            workers=args.workers,
            seed=args.seed,
            use_cache=not args.no_cache,
            progress=not args.quiet,
        )
    except ManifestError as error:
        print(f"prepare: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(
        f"{split} " + " ".join(f"{f}={n}" for f, n in report.doc_counts[split].items()) for split in ("test", "train")
    )
    skipped = report.summary["skips"]["total"]
    print(
        f"prepare: {report.out_dir}: {counts}; {skipped} skipped (see {SUMMARY_FILE}); "
        f"cases built {report.cases_built}, reused {report.cases_reused}, failed {report.cases_failed}",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
