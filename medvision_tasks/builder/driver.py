"""``prepare()``: a manifest in, a MedVision data directory out (docs per split, volumes, summary).

Cases are built in parallel worker processes (``workers``), each holding one case's image and
one mask at a time, so memory stays bounded by a few volumes; finished cases are cached
(:mod:`.cache`). Imported docs (:mod:`.importer`) join the built ones, the subjects are split
(:mod:`.split`) and everything is written (:mod:`.output`). Bad input in a case or an import is
a message naming it; the other cases still finish.

A unit of work is a manifest case or a public plan file (``prepare --public``). Beyond one
machine: ``shard=(i, n)`` builds only the units ``i, i + n, i + 2n, ...`` (manifest cases first,
then plan files; cluster array jobs, each on its own machine, all writing into one shared
``out_dir``) and stores them in the case cache, writing nothing else; a last run with
``merge=True`` then builds nothing, takes every unit from the cache and writes the data directory.
Every unit runs the same function either way (:func:`~.case.build_case` or
:func:`~.public_plan.build_public_plan`).

Outputs are complete or absent (:mod:`.atomic`): partial files an interrupted run left are removed
when the next run starts, and a worker ends (removing its partial files) when the process that
started it is gone.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.atomic import remove_in_flight, remove_stale_partials
from medvision_tasks.builder.cache import BUILDER_VERSION, case_cache_key, load_cached, prune_cache, store_cached
from medvision_tasks.builder.case import build_case
from medvision_tasks.builder.importer import IMPORTED, Importer, PlacementError
from medvision_tasks.builder.layout import CACHE_DIR, SPLITS
from medvision_tasks.builder.manifest import ManifestError, load_manifest
from medvision_tasks.builder.output import summary, write_docs, write_summary
from medvision_tasks.builder.public_plan import build_public_plan, plan_specs
from medvision_tasks.builder.results import CaseResult, skip_rows
from medvision_tasks.builder.spec import IMPORT_SPLIT_BY_SUBJECT, CaseSpec, Manifest, PublicPlanSpec
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
        summary: the content written to ``summary.json`` (empty for a shard run).
        cases_missing: units (cases, plan files) a merge run found in no shard's cache (left out).
    """

    out_dir: Path
    doc_counts: dict[str, dict[str, int]]
    cases_built: int = 0
    cases_reused: int = 0
    cases_failed: int = 0
    errors: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    cases_missing: int = 0


Unit = CaseSpec | PublicPlanSpec
"""A unit of work: one manifest case, or one public plan file with its requested tasks."""


def _builder(unit: Unit) -> Callable[[Unit, Path], CaseResult]:
    return build_public_plan if isinstance(unit, PublicPlanSpec) else build_case  # type: ignore[return-value]


PARENT_CHECK_SECONDS = 0.5
"""How often a worker checks that the process that started it still runs (seconds)."""


def _end_with_parent(parent: int) -> None:
    """Worker initializer: end this worker (removing its partial files) once ``parent`` is gone.

    A worker whose parent was killed would otherwise wait on its task queue forever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        remove_in_flight()
        os._exit(1)

    threading.Thread(target=watch, name="medvision-parent-watch", daemon=True).start()


def _run_cases(
    todo: list[tuple[int, Unit]], out_dir: Path, workers: int, progress: bool
) -> Iterable[tuple[int, CaseResult]]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="prepare", unit="unit", disable=not progress or not todo, file=sys.stderr)
    try:
        if workers <= 1 or len(todo) <= 1:
            for index, case in todo:
                bar.set_postfix_str(case.name, refresh=False)
                yield index, _builder(case)(case, out_dir)
                bar.update(1)
            return
        with ProcessPoolExecutor(
            max_workers=min(workers, len(todo)), initializer=_end_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(_builder(case), case, out_dir): (index, case) for index, case in todo}
            for future in as_completed(futures):
                index, case = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001  a worker died (e.g. out of memory): report the case
                    result = CaseResult.failed(case, (), f"worker failed ({type(error).__name__}: {error})")  # type: ignore[arg-type]
                yield index, result
                bar.update(1)
    finally:
        bar.close()


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` as ``(i, n)``, with ``0 <= i < n``.

    Raises:
        ValueError: anything else, quoting it.
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must be I/N with whole numbers, got {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"shard {text!r}: I must be 0..N-1")
    return index, count


def _reusable(unit: Unit, result: CaseResult, merge: bool) -> bool:
    """Whether a run takes a cached result instead of building the unit.

    The merge takes every result (it reports what each shard saw); any other run only a clean one:
    a failed unit is built again, and a public plan's errors may come from files outside its cache
    key (volumes, landmark files).
    """
    return merge or not (result.fatal or (isinstance(unit, PublicPlanSpec) and result.errors))


def _public_docs(
    manifest: Manifest, specs: list[PublicPlanSpec], results: list[CaseResult], importer: Importer
) -> dict[str, list[dict]]:
    """Every public doc by family, tasks in request order, volumes placed as each request asks.

    A volume that cannot be placed (:class:`~.importer.PlacementError`) is named in the importer's
    errors, and its docs keep the downloaded file's path.
    """
    order = {task.config: n for n, task in enumerate(t for request in manifest.public for t in request.tasks)}
    volumes = {task.config: request.volumes for request in manifest.public for task in request.tasks}
    docs: dict[str, list[dict]] = {family: [] for family in FAMILY_NAMES}
    for spec, result in zip(specs, results):
        for family in FAMILY_NAMES:
            for doc in result.docs[family]:
                mode = volumes[doc["upstream_task"]]
                if mode != "keep":
                    doc = dict(doc)
                    for name in ("image_file", "mask_file", "landmark_file"):
                        if name in doc:
                            relative = str(Path(doc[name]).relative_to(spec.dataset_dir))
                            try:
                                placed = importer.place(relative, spec.dataset, spec.dataset_dir, mode)
                            except (PlacementError, OSError) as error:
                                importer.errors.append(f"{spec.name}: {name} {doc[name]}: {error}")
                                placed = None
                            doc[name] = placed or doc[name]
                docs[family].append(doc)
    for family in FAMILY_NAMES:
        docs[family].sort(key=lambda doc: order[doc["upstream_task"]])  # stable: builder order within a task
    return docs


def prepare(
    manifest_path: str | Path | Manifest,
    out_dir: str | Path,
    *,
    workers: int = 1,
    seed: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    merge: bool = False,
) -> BuildReport:
    """Build a MedVision data directory from a manifest.

    Args:
        manifest_path: the YAML manifest (format: docs/data.md), or a manifest already parsed
            (``prepare --public`` builds one from its options).
        out_dir: output directory (created); its layout: :mod:`medvision_tasks.builder.layout`.
        workers: worker processes building cases in parallel (1: in this process).
        seed: split seed; None uses the manifest's ``seed``.
        use_cache: reuse and store per-case results under ``out_dir/.cases/``.
        progress: show a progress bar (and a line on reused cases) on stderr.
        shard: ``(i, n)``: build only the units (manifest cases, then public plan files) whose
            position is ``i`` modulo ``n`` into the case cache, and write nothing else (module
            docstring).
        merge: build nothing: write the data directory from the units the shards cached; a unit
            no shard cached is an error naming it.

    Returns:
        The :class:`BuildReport`; ``summary.json`` holds the same counts.

    Raises:
        ManifestError: the manifest is unusable (nothing is built).
        ValueError: ``shard`` or ``merge`` without the case cache, or both at once.
    """
    if (shard is not None or merge) and not use_cache:
        raise ValueError("--shard and --merge work through the case cache: drop --no-cache")
    if shard is not None and merge:
        raise ValueError("a run is either one shard or the merge, not both")
    manifest = manifest_path if isinstance(manifest_path, Manifest) else load_manifest(manifest_path)
    seed = manifest.seed if seed is None else int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stale = remove_stale_partials(out)
    if stale and progress:
        messages.info(f"prepare: removed {len(stale)} partial file(s) an interrupted run left in {out}")
    forced = forced_splits(manifest)
    requested: dict[str, int] = {}
    for number, request in enumerate(manifest.public, start=1):
        for task in request.tasks:
            if requested.setdefault(task.config, number) != number:
                # Built twice, its docs would be scored twice (and the two requests would share one cache entry).
                raise ManifestError(
                    f"public task {task.config} is asked for by public requests {requested[task.config]} and {number}: "
                    "ask for each task once"
                )
    specs = [spec for request in manifest.public for spec in plan_specs(request)]
    units: list[Unit] = [*manifest.cases, *specs]

    results: list[CaseResult | None] = [None] * len(units)
    keys: dict[int, str] = {}
    todo: list[tuple[int, Unit]] = []
    for index, unit in enumerate(units):
        if shard is not None and index % shard[1] != shard[0]:
            continue
        keys[index] = case_cache_key(unit)
        cached = load_cached(out, unit, keys[index]) if use_cache else None
        results[index] = cached if cached is not None and _reusable(unit, cached, merge) else None
        if results[index] is None:
            todo.append((index, unit))
    reused = len(keys) - len(todo)
    if reused and progress:
        messages.info(f"prepare: reusing {reused} cached result(s) from {out / CACHE_DIR}")
    missing = len(todo) if merge else 0
    if merge:
        for index, unit in todo:
            results[index] = CaseResult.failed(unit, (), f"no shard built it (not in {out / CACHE_DIR}); run its shard")  # type: ignore[arg-type]
        todo = []
    for index, result in _run_cases(todo, out, workers, progress):
        results[index] = result
        if use_cache:  # failed ones too: the merge reports them (_reusable)
            store_cached(out, units[index], keys[index], result)
    if shard is not None:
        built = [results[index] for index, _ in todo]
        return BuildReport(
            out_dir=out,
            doc_counts={},
            cases_built=len(todo),
            cases_reused=reused,
            cases_failed=sum(result.fatal for result in built if result is not None),
            errors=[message for result in built if result is not None for message in result.errors],
        )

    errors: list[str] = []
    rows: list[dict] = []
    items: list[tuple[str, str, dict]] = []  # (family, subject, doc) in manifest order
    kept_files: set[str] = set()
    failed = 0
    for unit, result in zip(units, results):
        assert result is not None
        errors.extend(result.errors)
        failed += result.fatal
        rows.extend({"case": result.case, **row} for row in skip_rows(result.skips))
        if isinstance(unit, PublicPlanSpec):
            continue  # test docs as they are: never re-split (below)
        case = unit
        kept_files.update(result.files)
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
    public = _public_docs(
        manifest, specs, [r for u, r in zip(units, results) if isinstance(u, PublicPlanSpec)], importer
    )
    for family in FAMILY_NAMES:
        docs["test"][family].extend(public[family])

    write_docs(out, docs)
    content = summary(manifest, BUILDER_VERSION, seed, splits, docs, rows, errors, len(units), failed)
    write_summary(out, content)
    if use_cache:
        prune_cache(out, {unit.name for unit in units}, kept_files | importer.files)
    return BuildReport(
        out_dir=out,
        cases_built=len(todo),
        cases_reused=reused,
        doc_counts={split: {f: len(v) for f, v in docs[split].items()} for split in docs},
        cases_failed=failed,
        cases_missing=missing,
        errors=errors,
        summary=content,
    )
