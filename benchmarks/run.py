"""The MedVision benchmark at full size, measured side by side in one run (docs/performance.md).

    python benchmarks/run.py [--workdir DIR] [--quick] [--out docs/benchmark-results.md]

Builds (once, then reuses) a realistic workload in ``--workdir`` (:mod:`benchmarks.workload`) and
measures, each in a fresh process:

- data cost per doc (slice + image a model is shown, ``doc_to_visual``) in lmms-eval's request
  order (the stock simple wrappers sort by prompt length, longest first): the naive per-doc
  decode, the landed in-memory store, the package cold (empty cache) and warm, with zlib and
  ISA-L; and the physical limits: inflating the same volumes, reading a slice from an
  uncompressed memory map, rendering alone;
- peak memory against the number of docs;
- task load time (``get_task_dict``) against a trivial task over the same docs;
- ``prepare`` cases per second against reading their inputs;
- ``report`` on three runs of the full size, with and without the bootstrap.

Ratios are what the results claim: the machine is shared and its absolute times are noisy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import workload

NATIVE = {"image_policy": "native"}
RESIZED = {"image_policy": "qwen2_5_vl"}


# --- helpers ----------------------------------------------------------------------------------


def _in_child(function, *args):
    """Run ``function(*args)`` in a fresh process (spawned: nothing inherited but the environment)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _peak_mb() -> float:
    """This process's peak resident memory (MB) since it started.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across exec, so a spawned child would
    report its parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _summary(times_s: list[float], cpu_s: float, count: int, peak_mb: float, base_mb: float, **extra) -> dict:
    ms = np.asarray(times_s) * 1e3
    return {
        "docs": count,
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "cpu_ms": 1e3 * cpu_s / count,
        "peak_mb": peak_mb,
        "base_mb": base_mb,
        **extra,
    }


def _setup_env(data_root: str, cache_root: str | None) -> None:
    os.environ["MEDVISION_DATA_DIR"] = data_root
    os.environ["MEDVISION_CACHE_DIR"] = cache_root or "off"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _requests_in_order(limit: int | None = None) -> list[tuple]:
    """Every doc of the data directory (all families, planes), registered, in the simple wrappers' order.

    Returns ``(dataset, row, image_path, slice_dim, slice_idx)`` per doc: the docs stay in their
    Arrow datasets, as in lmms-eval, which fetches a doc's row when it asks for its image.
    """
    import datasets

    from medvision_tasks import utils
    from medvision_tasks.families import FAMILIES

    requests = []
    for family in FAMILIES.values():
        for plane in family.task_planes:
            hook = getattr(utils, utils.process_docs_hook(family.name, plane))
            loaded = hook(datasets.Dataset.from_list([{}]))
            columns = [loaded.data.column(name).to_pylist() for name in ("image_path", "slice_dim", "slice_idx")]
            requests.extend((loaded, row, *where) for row, where in enumerate(zip(*columns)))
    if limit is not None:
        requests = requests[:: max(1, len(requests) // limit)][:limit]
    # lmms_eval/models/simple/*: Collator sorted by (-token length, prompt); characters stand for tokens.
    prompts = [utils.medvision_doc_to_text(loaded[row], NATIVE) for loaded, row, *_ in requests]
    order = sorted(range(len(requests)), key=lambda i: (-len(prompts[i]), prompts[i]))
    return [requests[i] for i in order]


# --- data cost per doc: every variant in its own process --------------------------------------


class LandedStore:
    """The landed store's design: every announced slice of a volume kept in memory, decoded by nibabel.

    With basic indexing (the landed ``np.take`` copied the whole volume per slice; far slower still).
    """

    def __init__(self, wanted: dict[str, set]) -> None:
        self.wanted = wanted
        self.slices: dict[str, dict] = {}
        self.decode_count = 0

    def get(self, path: str, dim: int, idx: int) -> np.ndarray:
        if path not in self.slices:
            import nibabel as nib

            volume = np.asanyarray(nib.load(path).dataobj)
            self.decode_count += 1
            kept = {}
            for d, i in self.wanted[path]:
                index = [slice(None)] * 3
                index[d] = i
                kept[(d, i)] = np.ascontiguousarray(volume[tuple(index)])
            self.slices[path] = kept
        return self.slices[path][(dim, idx)]


def measure_data(variant: str, data_root: str, cache_root: str | None, limit: int | None, policy: dict) -> dict:
    """Data cost per doc of one variant, in request order (run in a fresh process)."""
    _setup_env(data_root, cache_root)
    import zlib

    import nibabel as nib

    from medvision_tasks import utils, volumes
    from medvision_tasks.protocols import resolve_protocol
    from medvision_tasks.rendering import normalization_for, render_slice
    from medvision_tasks.spacing import resolve_policy

    protocol = resolve_protocol()
    if variant.endswith("zlib"):
        volumes._inflate_module = zlib
    if variant == "upstream_render":  # the hook renders with upstream's steps as written (a temporary per step)
        utils.render_slice = lambda plane, size, *, protocol, normalization: _upstream_image(
            plane, size, protocol, normalization
        )
    requests = _requests_in_order(limit)
    switches = sum(a[2] != b[2] for a, b in itertools.pairwise(requests))
    base_mb = _peak_mb()
    if variant == "landed":
        wanted: dict[str, set] = {}
        for _, _, path, dim, idx in requests:
            wanted.setdefault(path, set()).add((dim, idx))
        utils.SLICES = LandedStore(wanted)  # the hooks read the module's store at each call
    times = []
    cpu0 = _cpu_s()
    for loaded, row, *_ in requests:
        doc = loaded[row]  # lmms-eval's own work, not timed
        start = time.perf_counter()
        if variant == "naive":  # decode the volume for every doc, as a loader without a store does
            volume = np.asanyarray(nib.load(doc["image_path"]).dataobj)
            plane = np.take(volume, doc["slice_idx"], axis=doc["slice_dim"])
            size = resolve_policy(policy).input_size(tuple(doc["image_size_2d"]))
            render_slice(plane, size, protocol=protocol, normalization=normalization_for(doc, protocol))
        else:
            utils.medvision_doc_to_visual(doc, policy)
        times.append(time.perf_counter() - start)
    cpu = _cpu_s() - cpu0
    decodes = len(requests) if variant == "naive" else utils.SLICES.decode_count
    return _summary(times, cpu, len(requests), _peak_mb(), base_mb, switches=switches, decodes=decodes)


def measure_limits(data_root: str, raw_dir: str, limit: int | None) -> dict:
    """Physical limits of the same docs: inflating every volume once, the load-time header check, memory-mapped slice reads, rendering."""
    _setup_env(data_root, None)
    import zlib

    from medvision_tasks import volumes
    from medvision_tasks.protocols import resolve_protocol
    from medvision_tasks.rendering import normalization_for, render_slice

    protocol = resolve_protocol()
    requests = _requests_in_order(limit)
    paths = sorted({path for _, _, path, _, _ in requests})
    out = {}
    for name, module in (("zlib", zlib), ("isal", None)):
        if module is None:
            try:
                from isal import isal_zlib as module
            except ImportError:
                continue
        volumes._inflate_module = module
        start = time.perf_counter()
        raw = 0
        for path in paths:
            raw += volumes.read_volume(path).stored.nbytes
        elapsed = time.perf_counter() - start
        out[f"inflate_{name}_ms_per_doc"] = 1e3 * elapsed / len(requests)
        out[f"inflate_{name}_mb_s"] = raw / elapsed / 1e6
    # The header check every volume gets when a task loads (what it costs against a full decode).
    volumes._inspected.clear()
    start = time.perf_counter()
    for path in paths:
        volumes.inspect_volume(path)
    out["header_check_ms_per_volume"] = 1e3 * (time.perf_counter() - start) / len(paths)
    # Uncompressed copies of the volumes, memory-mapped once each: a slice once no inflate is left.
    mapped = {path: volumes.read_volume(Path(raw_dir) / Path(path).name.replace(".nii.gz", ".nii")) for path in paths}
    times_read, times_render = [], []
    rules: dict[str, int] = {}
    for loaded, row, path, dim, idx in requests:
        doc = loaded[row]
        normalization = normalization_for(doc, protocol)
        rules[normalization.rule] = rules.get(normalization.rule, 0) + 1
        start = time.perf_counter()
        plane = mapped[path].slice(dim, idx)
        middle = time.perf_counter()
        render_slice(plane, None, protocol=protocol, normalization=normalization)
        times_read.append(middle - start)
        times_render.append(time.perf_counter() - middle)
    out["mmap_read_ms"] = 1e3 * float(np.mean(times_read))
    out["mmap_read_p99_ms"] = 1e3 * float(np.percentile(times_read, 99))
    out["render_ms"] = 1e3 * float(np.mean(times_render))
    out["docs"] = len(requests)
    out["volumes"] = len(paths)
    out["rules"] = rules
    return out


def _upstream_image(plane: np.ndarray, size, protocol, normalization):
    from PIL import Image

    from tests.helpers.upstream_rendering import upstream_pixels

    return Image.fromarray(upstream_pixels(plane, size, protocol, normalization)).convert("RGB")


def _package_image(plane: np.ndarray, size, protocol, normalization):
    from medvision_tasks.rendering import render_slice

    return render_slice(plane, size, protocol=protocol, normalization=normalization)


def _lookup_table_image(plane: np.ndarray, size, protocol, normalization):
    """The alternative measured beside the package: a fixed-bound rule applied once to each value of an
    integer slice's range, indexed with the slice (min-max sees the same minimum and maximum; native size)."""
    from PIL import Image

    first, last = int(plane.min()), int(plane.max())
    table = normalization.apply(np.arange(first, last + 1, dtype=np.int64).astype(np.float32), overwrite=True)
    return Image.fromarray(table[np.subtract(plane, first, dtype=np.intp)]).convert("RGB")


def measure_rendering(raw_dir: str, per_volume: int) -> dict:
    """Rendering alone, per rule and size: upstream's steps as written, the package, a lookup table (bytes compared).

    Slices of the workload's volumes (uncompressed copies), axial ones evenly spaced and as many
    coronal ones, rendered by :func:`tests.helpers.upstream_rendering.upstream_pixels` plus the
    grey-to-RGB step, by :func:`medvision_tasks.rendering.render_slice`, and (native size, fixed
    bounds) through a lookup table of the slice's value range; each way over every slice in turn,
    the best of three passes.
    """
    from medvision_tasks import volumes
    from medvision_tasks.protocols import PROTOCOLS
    from medvision_tasks.rendering import MINMAX_NORMALIZATION, PERCENTILE_NORMALIZATION, Normalization

    slices = []
    for path in sorted(Path(raw_dir).glob("*.nii"))[:4]:
        volume = volumes.read_volume(path)
        for dim in (2, 1):
            count = volume.shape[dim]
            slices += [volume.slice(dim, k * count // per_volume) for k in range(per_volume)]
    rows = {}
    for label, normalization, protocol in (
        ("min-max (original)", MINMAX_NORMALIZATION, PROTOCOLS["original"]),
        ("CT window, soft tissue (published)", Normalization("ct_window", (400, 40)), PROTOCOLS["published"]),
        ("percentiles 0.5/99.5 (published)", PERCENTILE_NORMALIZATION, PROTOCOLS["published"]),
    ):
        for size in (None, (504, 504)):
            ways = {"upstream": _upstream_image, "package": _package_image}
            if size is None and normalization.rule != "percentile":
                ways["table"] = _lookup_table_image
            for plane in slices:
                if len({way(plane, size, protocol, normalization).tobytes() for way in ways.values()}) != 1:
                    raise AssertionError(f"{label}, size {size}: the ways' images differ")
            best = {name: float("inf") for name in ways}
            for _ in range(3):  # each way over every slice in turn; the best of three passes
                for name, way in ways.items():
                    start = time.perf_counter()
                    for plane in slices:
                        way(plane, size, protocol, normalization)
                    best[name] = min(best[name], (time.perf_counter() - start) / len(slices))
            rows[f"{label}, {'native' if size is None else '504x504'}"] = {name: 1e3 * t for name, t in best.items()}
    return {"slices": len(slices), "rows": rows}


def memory_only(variant: str, data_root: str, cache_root: str | None) -> dict:
    """Peak memory of serving every doc of a data directory (run in a fresh process)."""
    result = measure_data(variant, data_root, cache_root, None, NATIVE)
    return {key: result[key] for key in ("docs", "peak_mb", "base_mb", "mean_ms", "cpu_ms")}


# --- task load --------------------------------------------------------------------------------

TRIVIAL_YAML = """task: bench_trivial
dataset_path: json
dataset_kwargs:
  data_files: {files}
test_split: train
output_type: generate_until
doc_to_visual: !function utils.no_visual
doc_to_text: !function utils.text
doc_to_target: dataset_name
metric_list:
- metric: exact_match
"""

TRIVIAL_UTILS = """def no_visual(doc):
    return []


def text(doc):
    return doc["dataset_name"]
"""


def measure_task_load(
    tasks: str, include_path: str, data_root: str, cache_root: str | None, hf_cache: str | None = None
) -> dict:
    """Seconds ``get_task_dict`` takes (imports excluded) in a fresh process; ``hf_cache``: HF datasets' cache folder."""
    _setup_env(data_root, cache_root)
    if hf_cache is not None:
        os.environ["HF_DATASETS_CACHE"] = hf_cache
    import logging

    logging.disable(logging.WARNING)
    from lmms_eval.tasks import TaskManager, get_task_dict

    manager = TaskManager(include_path=include_path)
    start = time.perf_counter()
    loaded = get_task_dict(tasks.split(","), manager)
    elapsed = time.perf_counter() - start

    def count(node) -> int:
        if isinstance(node, dict):
            return sum(count(value) for value in node.values())
        return len(node.eval_docs)

    return {"seconds": elapsed, "docs": count(loaded)}


# --- prepare ------------------------------------------------------------------------------------


def _prepare_inputs(folder: Path, cases: int, depth: int) -> Path:
    """Manifest of ``cases`` CT cases (512x512x``depth``) with an 8-label mask, every plane."""
    import nibabel as nib
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in range(cases):
        image, mask = folder / f"ct{case}.nii.gz", folder / f"mask{case}.nii.gz"
        if not mask.is_file():
            volume = workload.ct_volume((512, 512, depth), 100 + case)
            affine = np.diag([workload.PIXEL_MM, workload.PIXEL_MM, workload.SLICE_MM, 1.0])
            nib.save(nib.Nifti1Image(volume, affine), str(image))
            x, y, z = np.meshgrid(*(np.arange(n) for n in volume.shape), indexing="ij", sparse=True)
            labels = np.zeros(volume.shape, dtype=np.uint8)
            for label in range(1, 9):
                centre = (100 + 40 * label, 150 + 20 * label, depth * label // 10)
                labels[((x - centre[0]) / 30) ** 2 + ((y - centre[1]) / 25) ** 2 + ((z - centre[2]) / 12) ** 2 <= 1] = (
                    label
                )
            nib.save(nib.Nifti1Image(labels, affine), str(mask))
        entries.append({"id": f"c{case}", "subject_id": f"s{case}", "image": str(image), "mask": str(mask)})
    manifest = {
        "datasets": [
            {
                "name": "CT",
                "modality": "CT",
                "image_description": "an abdominal CT scan, {plane} slice",
                "labels": {label: workload.ORGANS[label] for label in range(1, 9)},
                "planes": ["axial", "coronal", "sagittal"],
                "cases": entries,
            }
        ]
    }
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return path


def measure_prepare(manifest: str, out: str, workers: int) -> dict:
    """Seconds of a ``prepare`` run without cache, and of reading its inputs (run in a fresh process)."""
    from medvision_tasks import volumes
    from medvision_tasks.builder import prepare

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    report = prepare(manifest, out, workers=workers, use_cache=False, progress=False)
    elapsed = time.perf_counter() - start
    inputs = sorted(str(p) for p in Path(manifest).parent.glob("*.nii.gz"))
    start = time.perf_counter()
    for path in inputs:
        volumes.read_volume(path)
    reading = time.perf_counter() - start
    docs = sum(n for split in report.doc_counts.values() for n in split.values())
    cases = report.cases_built
    return {"seconds": elapsed, "cases": cases, "docs": docs, "read_inputs_s": reading, "workers": workers}


# --- report ---------------------------------------------------------------------------------------


def measure_report(runs: str, out: str, bootstrap: int) -> dict:
    """Wall and CPU seconds and peak memory of ``medvision-tasks report`` (run in a fresh process)."""
    from medvision_tasks.report.cli import main

    cpu0 = _cpu_s()
    start = time.perf_counter()
    status = main([runs, "--out", out, "--quiet", "--bootstrap", str(bootstrap)])
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"report exited {status}")
    return {"seconds": elapsed, "cpu_s": _cpu_s() - cpu0, "peak_mb": _peak_mb(), "bootstrap": bootstrap}


# --- the run ------------------------------------------------------------------------------------


def _table_head(say, columns: list[str], left_first: bool) -> None:
    """A Markdown table's header: the first column left-aligned (names) or right (numbers), the rest right."""
    say("| " + " | ".join(columns) + " |")
    say("|" + ("---|" if left_first else "---:|") + "---:|" * (len(columns) - 1))


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import nibabel

    try:
        import isal

        inflater = f"isal {isal.__version__}"
    except ImportError:
        inflater = "no isal"
    cores = len(os.sched_getaffinity(0))
    return (
        f"{cpu}, {cores} cores, {memory:.0f} GiB; Python {platform.python_version()}, numpy {np.__version__}, "
        f"nibabel {nibabel.__version__}, {inflater}; load average at start {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/medvision-bench"))
    parser.add_argument("--quick", action="store_true", help="a small workload, to check the script")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--naive-docs", type=int, default=12, help="docs the naive per-doc decode is timed on")
    args = parser.parse_args()
    size = (
        {"volumes": 4, "docs": 800, "big_docs": 3000, "depths": (60, 90), "cases": 2, "depth": 60}
        if args.quick
        else {"volumes": 24, "docs": 5800, "big_docs": 29000, "depths": (120, 400), "cases": 4, "depth": 160}
    )
    work = args.workdir / ("quick" if args.quick else "full")
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"Machine: {machine()}.")
    started = time.perf_counter()
    data = workload.build(work / "data", size["volumes"], size["docs"], size["depths"])
    big = work / "data_big"
    big.mkdir(parents=True, exist_ok=True)
    if not (big / "volumes").exists():
        (big / "volumes").symlink_to(data.root / "volumes")
    big_load = workload.build(big, size["volumes"], size["big_docs"], size["depths"])
    say(
        f"Workload: {len(data.volumes)} CT-like int16 volumes of 512x512x{size['depths'][0]}-{size['depths'][1]} "
        f"({data.raw_bytes / 2**30:.2f} GiB raw, gzip ratio {data.raw_bytes / data.gzip_bytes:.2f}); "
        f"{sum(data.docs.values()):,} docs ({data.docs}) and a second set of {sum(big_load.docs.values()):,} on the "
        f"same volumes."
    )
    raw_dir = work / "raw"
    if not raw_dir.is_dir():
        import nibabel as nib

        raw_dir.mkdir()
        for name in data.volumes:
            image = nib.load(str(data.root / name))
            nib.save(image, str(raw_dir / Path(name).name.replace(".nii.gz", ".nii")))

    # Data cost per doc ------------------------------------------------------------------------
    root = str(data.root)
    caches = work / "caches"
    shutil.rmtree(caches, ignore_errors=True)
    rows = {}
    rows["naive per-doc decode (nibabel)"] = _in_child(measure_data, "naive", root, None, args.naive_docs, NATIVE)
    rows["landed store design: all slices in memory"] = _in_child(measure_data, "landed", root, None, None, NATIVE)
    rows["package, cold, zlib inflate"] = _in_child(measure_data, "zlib", root, str(caches / "zlib"), None, NATIVE)
    rows["package, cold"] = _in_child(measure_data, "package", root, str(caches / "pkg"), None, NATIVE)
    rows["package, warm (cache of the cold run)"] = _in_child(
        measure_data, "package", root, str(caches / "pkg"), None, NATIVE
    )
    rows["package, warm, rendered by upstream's steps as written"] = _in_child(
        measure_data, "upstream_render", root, str(caches / "pkg"), None, NATIVE
    )
    rows["package, warm, resized to 504x504 (qwen2_5_vl)"] = _in_child(
        measure_data, "package", root, str(caches / "pkg"), None, RESIZED
    )
    rows["package, warm, resized, rendered by upstream's steps"] = _in_child(
        measure_data, "upstream_render", root, str(caches / "pkg"), None, RESIZED
    )
    limits = _in_child(measure_limits, root, str(raw_dir), None)
    naive = rows["naive per-doc decode (nibabel)"]["mean_ms"]
    naive_cpu = rows["naive per-doc decode (nibabel)"]["cpu_ms"]
    other = rows["package, cold"]
    say()
    say(
        f"## Data cost per doc (slice + RGB image), {other['docs']:,} docs in request order "
        f"({other['switches']:,} switches between volumes; native size unless noted)"
    )
    say()
    _table_head(
        say,
        ["path", "mean ms", "p99 ms", "CPU ms", "x faster than naive (wall, CPU)", "peak MB", "volumes decoded"],
        left_first=True,
    )
    for name, row in rows.items():
        docs = f" ({row['docs']} docs)" if row["docs"] != other["docs"] else ""
        say(
            f"| {name}{docs} | {row['mean_ms']:.2f} | {row['p99_ms']:.2f} | {row['cpu_ms']:.2f} | "
            f"{naive / row['mean_ms']:.0f}, {naive_cpu / row['cpu_ms']:.0f} | {row['peak_mb']:.0f} | {row['decodes']} |"
        )
    say()
    rules = ", ".join(f"{rule} {count:,}" for rule, count in sorted(limits["rules"].items()))
    say(f"The docs' normalisation rules under the `published` protocol: {rules}.")
    say()
    say(f"Physical limits on the same docs ({limits['volumes']} volumes):")
    say()
    _table_head(say, ["limit", "ms per doc"], left_first=True)
    for name in ("zlib", "isal"):
        if f"inflate_{name}_ms_per_doc" in limits:
            say(
                f"| inflate every volume once, {name} ({limits[f'inflate_{name}_mb_s']:.0f} MB/s of voxels) | "
                f"{limits[f'inflate_{name}_ms_per_doc']:.2f} |"
            )
    say(
        f"| load-time header check of a volume (once per volume: {limits['header_check_ms_per_volume']:.2f} ms per "
        f"volume) | {limits['header_check_ms_per_volume'] * limits['volumes'] / limits['docs']:.3f} |"
    )
    say(
        f"| slice read from an uncompressed memory map (p99 {limits['mmap_read_p99_ms']:.2f}) | {limits['mmap_read_ms']:.2f} |"
    )
    say(f"| rendering alone (each doc's rule, native size, RGB) | {limits['render_ms']:.2f} |")

    # Rendering per rule -------------------------------------------------------------------------
    rendering = _in_child(measure_rendering, str(raw_dir), 25)
    say()
    say(
        f"## Rendering alone per rule ({rendering['slices']} axial and coronal slices of the workload; "
        "images byte for byte equal)"
    )
    say()
    _table_head(
        say,
        ["rule, size", "upstream's steps ms", "package ms", "x faster", "lookup table ms (alternative)"],
        left_first=True,
    )
    for name, row in rendering["rows"].items():
        table = f"{row['table']:.2f}" if "table" in row else "-"
        say(
            f"| {name} | {row['upstream']:.2f} | {row['package']:.2f} | {row['upstream'] / row['package']:.1f} | "
            f"{table} |"
        )

    # Peak memory against the number of docs ----------------------------------------------------
    say()
    say("## Peak memory against the number of docs (cold, every doc served once)")
    say()
    _table_head(
        say, ["docs", "package peak MB", "landed store design peak MB", "process before serving MB"], left_first=False
    )
    for data_root, label in ((root, "small"), (str(big_load.root), "big")):
        package = _in_child(memory_only, "package", data_root, str(caches / f"mem-{label}"))
        landed = _in_child(memory_only, "landed", data_root, None)
        say(f"| {package['docs']:,} | {package['peak_mb']:.0f} | {landed['peak_mb']:.0f} | {package['base_mb']:.0f} |")

    # Task load -----------------------------------------------------------------------------------
    say()
    big_docs = sum(big_load.docs.values())
    say(f"## Task load (`get_task_dict`; the data directory holds {big_docs:,} docs)")
    say()
    trivial = work / "trivial"
    trivial.mkdir(exist_ok=True)
    files = [str(big_load.root / "detection.jsonl")]  # one schema per file: the loader needs one
    (trivial / "bench_trivial.yaml").write_text(TRIVIAL_YAML.format(files=json.dumps(files)), encoding="utf-8")
    (trivial / "utils.py").write_text(TRIVIAL_UTILS, encoding="utf-8")
    from medvision_tasks.cli import task_folder

    ours = str(task_folder())
    loads = {}
    hf_cache = work / "hf-datasets-cache"
    shutil.rmtree(hf_cache, ignore_errors=True)
    loads["trivial task, same docs, first load (HF datasets builds its Arrow cache)"] = _in_child(
        measure_task_load, "bench_trivial", str(trivial), str(big_load.root), None, str(hf_cache)
    )
    loads["trivial task, same docs (HF datasets' Arrow cache warm)"] = _in_child(
        measure_task_load, "bench_trivial", str(trivial), str(big_load.root), None, str(hf_cache)
    )
    docs_cache = caches / "load"
    detection = "medvision_detect,medvision_detect_coronal,medvision_detect_sagittal"
    for cache in ("no docs cache", "docs cache of an earlier run"):
        loads[f"detection tasks, 3 planes (same docs), {cache}"] = _in_child(
            measure_task_load, detection, ours, str(big_load.root), str(docs_cache / "detection")
        )
    for cache in ("no docs cache", "docs cache of an earlier run"):
        loads[f"medvision group (6 tasks, plain and CoT), {cache}"] = _in_child(
            measure_task_load, "medvision", ours, str(big_load.root), str(docs_cache / "group")
        )
    baseline = loads["trivial task, same docs (HF datasets' Arrow cache warm)"]["seconds"]
    _table_head(say, ["load", "docs", "seconds", "beyond the trivial task, warm"], left_first=True)
    for name, row in loads.items():
        say(f"| {name} | {row['docs']:,} | {row['seconds']:.2f} | {row['seconds'] - baseline:+.2f} |")

    # prepare ---------------------------------------------------------------------------------------
    say()
    manifest = _prepare_inputs(work / "prepare", size["cases"], size["depth"])
    say(f"## `prepare`: {size['cases']} CT cases of 512x512x{size['depth']}, 8 labels, every plane")
    say()
    _table_head(
        say, ["workers", "cases/s", "s per case", "docs", "reading the inputs alone, s per case"], left_first=False
    )
    for workers in (1, 2):
        row = _in_child(measure_prepare, str(manifest), str(work / "prepare_out"), workers)
        say(
            f"| {workers} | {row['cases'] / row['seconds']:.2f} | {row['seconds'] / row['cases']:.2f} | {row['docs']:,} | "
            f"{row['read_inputs_s'] / row['cases']:.2f} |"
        )

    # report ------------------------------------------------------------------------------------------
    say()
    runs = work / "runs"
    if not runs.exists():
        _in_child(_write_runs, str(big_load.root), str(runs))
    say(f"## `report` on three runs of {big_docs:,} docs each")
    say()
    _table_head(say, ["bootstrap resamples", "wall s", "CPU s", "peak MB"], left_first=False)
    for bootstrap in (1000, 0):
        row = _in_child(measure_report, str(runs), str(work / "report_out"), bootstrap)
        say(f"| {bootstrap} | {row['seconds']:.1f} | {row['cpu_s']:.1f} | {row['peak_mb']:.0f} |")
    say()
    say(f"Benchmark wall time {time.perf_counter() - started:.0f} s.")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_runs(data_root: str, out: str) -> None:
    _setup_env(data_root, None)
    workload.write_runs(Path(out), runs=3)


if __name__ == "__main__":
    main()
