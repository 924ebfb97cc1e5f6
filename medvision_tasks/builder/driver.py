"""``prepare()``: a manifest in, a MedVision data directory out (docs per split, volumes, summary).

Cases are built in parallel worker processes (``workers``), each holding one case's image and
one mask at a time, so memory stays bounded by a few volumes; finished cases are cached
(:mod:`.cache`). Imported docs (:mod:`.importer`) join the built ones, the subjects are split
(:mod:`.split`) and everything is written (:mod:`.output`). Bad input in a case or an import is
a message naming it; the other cases still finish.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.cache import BUILDER_VERSION, case_cache_key, load_cached, prune_cache, store_cached
from medvision_tasks.builder.case import build_case
from medvision_tasks.builder.importer import IMPORTED, Importer
from medvision_tasks.builder.layout import CACHE_DIR, SPLITS
from medvision_tasks.builder.manifest import load_manifest
from medvision_tasks.builder.output import summary, write_docs, write_summary
from medvision_tasks.builder.results import CaseResult, skip_rows
from medvision_tasks.builder.spec import IMPORT_SPLIT_BY_SUBJECT, CaseSpec
from medvision_tasks.builder.split import assign_splits, forced_splits
from medvision_tasks.families import FAMILY_NAMES


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


def _run_cases(
    todo: list[tuple[int, CaseSpec]], out_dir: Path, workers: int, progress: bool
) -> Iterable[tuple[int, CaseResult]]:
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
                    result = CaseResult.failed(case, (), f"worker failed ({type(error).__name__}: {error})")
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
        manifest_path: the YAML manifest (format: docs/data.md).
        out_dir: output directory (created); its layout: :mod:`medvision_tasks.builder.layout`.
        workers: worker processes building cases in parallel (1: in this process).
        seed: split seed; None uses the manifest's ``seed``.
        use_cache: reuse and store per-case results under ``out_dir/.cases/``.
        progress: show a progress bar (and a line on reused cases) on stderr.

    Returns:
        The :class:`BuildReport`; ``summary.json`` holds the same counts.

    Raises:
        ManifestError: the manifest is unusable (nothing is built).
    """
    manifest = load_manifest(manifest_path)
    seed = manifest.seed if seed is None else int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    forced = forced_splits(manifest)

    results: list[CaseResult | None] = [None] * len(manifest.cases)
    keys: list[str] = []
    todo: list[tuple[int, CaseSpec]] = []
    for index, case in enumerate(manifest.cases):
        key = case_cache_key(case)
        keys.append(key)
        results[index] = load_cached(out, case, key) if use_cache else None
        if results[index] is None:
            todo.append((index, case))
    reused = len(manifest.cases) - len(todo)
    if reused and progress:
        messages.info(f"prepare: reusing {reused} cached case(s) from {out / CACHE_DIR}")
    for index, result in _run_cases(todo, out, workers, progress):
        results[index] = result
        if use_cache and not result.fatal:
            store_cached(out, manifest.cases[index], keys[index], result)

    errors: list[str] = []
    rows: list[dict] = []
    items: list[tuple[str, str, dict]] = []  # (family, subject, doc) in manifest order
    kept_files: set[str] = set()
    failed = 0
    for case, result in zip(manifest.cases, results):
        assert result is not None
        errors.extend(result.errors)
        failed += result.fatal
        kept_files.update(result.files)
        rows.extend({"case": result.case, **row} for row in skip_rows(result.skips))
        for family in FAMILY_NAMES:
            items.extend((family, case.subject_id, doc) for doc in result.docs[family])

    importer = Importer(out)
    for spec in manifest.imports:
        imported = importer.run(spec)
        if spec.split != IMPORT_SPLIT_BY_SUBJECT:
            for _, subject, _ in imported:
                previous = forced.setdefault(subject, spec.split)
                if previous != spec.split:
                    errors.append(
                        f"import {spec.docs[0]}: subject {subject!r} is forced into both splits; kept {previous}"
                    )
        items.extend(imported)
    errors.extend(importer.errors)
    rows.extend({"case": IMPORTED, **row} for row in skip_rows(importer.skips))

    # Every subject the manifest names takes part, whether or not its cases produced docs, so
    # a failing case cannot reshuffle the others.
    subjects = [case.subject_id for case in manifest.cases] + [subject for _, subject, _ in items]
    splits = assign_splits(subjects, forced, seed, manifest.train_fraction)
    docs: dict[str, dict[str, list[dict]]] = {split: {f: [] for f in FAMILY_NAMES} for split in SPLITS}
    for family, subject, doc in items:
        docs[splits[subject]][family].append(doc)

    write_docs(out, docs)
    content = summary(manifest, BUILDER_VERSION, seed, splits, docs, rows, errors, len(manifest.cases), failed)
    write_summary(out, content)
    if use_cache:
        prune_cache(out, {c.name for c in manifest.cases}, kept_files | importer.files)
    return BuildReport(
        out_dir=out,
        doc_counts={split: {f: len(v) for f, v in docs[split].items()} for split in docs},
        cases_built=len(todo),
        cases_reused=reused,
        cases_failed=failed,
        errors=errors,
        summary=content,
    )
