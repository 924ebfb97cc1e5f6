"""Reading lmms-eval output folders: results JSON and per-doc samples of MedVision tasks.

lmms-eval 0.7.3 with ``--output_path DIR --log_samples`` writes, per model, a folder
``DIR/<model name>/`` (or ``DIR`` itself when the model has no ``pretrained=``-like argument)
holding, per run, ``<date>_results.json`` and for every task ``<date>_samples_<task>.jsonl``
(``loggers/evaluation_tracker.py``). The results JSON has ``results[task]["<metric>,<filter>"]``,
``config.model``, ``config.model_args`` and ``lmms_eval_version``; each samples line has
``doc_id``, ``filtered_resps`` and what ``process_results`` returned: the per-doc record
(:class:`medvision_tasks.record.DocRecord`) once, under :data:`~medvision_tasks.record.RECORD_KEY`
(runs made before that layout carry it under every metric key instead; both are read), read
back here with ``DocRecord.from_dict``. Fields other helpers add to the record (``protocol``,
``upstream_task``, ``versions``) are read from the JSON when present.

What tells runs apart for a reader (:class:`Run`): the ``--model`` wrapper, the checkpoint
(``pretrained=`` and the like, a local path shortened to its last folder), and model arguments
that differ between runs of one checkpoint and wrapper (device placement and batch size never
count).

A run folder may be the ``--output_path``, a model folder inside it, or any folder above them:
every ``*_results.json`` below it is read.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from medvision_tasks.families import ALL_METRICS, TASK_PREFIX
from medvision_tasks.record import RECORD_KEY, DocRecord
from medvision_tasks.variants import VARIANTS, variant_of_task

RESULTS_SUFFIX = "_results.json"
CHECKPOINT_ARGUMENTS = ("pretrained", "model", "model_name", "model_path", "model_id", "checkpoint", "model_version")
"""Model arguments naming the checkpoint, first match wins."""
PLACEMENT_ARGUMENTS = frozenset(
    {"device", "device_map", "batch_size", "max_batch_size", "parallelize", "tensor_parallel_size", "num_processes"}
)
"""Model arguments that place the model on hardware without changing what it answers."""
UNKNOWN_PROTOCOL = ""
"""Protocol of records that do not name one (written before records carried ``protocol``)."""


class ReportInputError(ValueError):
    """Input the report cannot use; the message names the folder, file, line or field."""


@dataclass
class TaskRun:
    """One MedVision task of one lmms-eval run.

    Attributes:
        task: task name, e.g. ``medvision_detect_cot_coronal``.
        family: "detection", "tl" or "ad" (from the records).
        variant: the task variant (:mod:`medvision_tasks.variants`: ``plain``, ``cot``,
            ``coords``, ``no_visual``, ``cot_no_visual``), from the task name.
        reported: lmms-eval's aggregated value per metric name (e.g. ``"iou"``), as in the
            results JSON (percent, or mm/degrees for ``mae``).
        records: the per-doc records, in file order.
        samples_path: the samples JSONL they came from.
        protocol: the scoring protocol its records name (``published``, ``original``, ...),
            several joined by ``+``, or "" when they name none.
        upstream_tasks: the upstream task config names its records name, sorted.
        versions: package -> the versions its records name (the packages that change scores).
        record_per_metric: True for a samples file of the older layout (the record under every
            metric key).
    """

    task: str
    family: str
    variant: str
    reported: dict[str, float]
    records: list[DocRecord]
    samples_path: Path
    protocol: str = UNKNOWN_PROTOCOL
    upstream_tasks: tuple[str, ...] = ()
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    record_per_metric: bool = False

    @property
    def cot(self) -> bool:
        """Whether its prompt is the chain-of-thought one."""
        return VARIANTS[self.variant].cot


@dataclass
class Run:
    """One lmms-eval results file and the MedVision tasks it holds.

    Attributes:
        model: the model name lmms-eval derived from the model arguments, else the ``--model``
            name (as lmms-eval names the output folder).
        model_id: the ``--model`` name (``config.model``): the wrapper.
        model_args: the ``--model_args`` string.
        date: the run's date id (file name prefix).
        results_path: the results JSON.
        tasks: MedVision tasks by name.
        checkpoint: the checkpoint it ran (:func:`checkpoint_of`), else the wrapper name.
        variant: model arguments that tell it apart from other runs of the same checkpoint and
            wrapper (``seed=1``), set by :func:`read_runs`; "" when none do.
        lmms_eval_version: the version lmms-eval wrote in the results file, "" when absent.
    """

    model: str
    model_id: str
    model_args: str
    date: str
    results_path: Path
    tasks: dict[str, TaskRun] = field(default_factory=dict)
    checkpoint: str = ""
    variant: str = ""
    lmms_eval_version: str = ""

    @property
    def package_versions(self) -> dict[str, str]:
        """Package -> version(s) of this run: lmms-eval's from the results file, the others from its records.

        Several versions of one package in one run (its tasks were scored apart) are joined by ``/``.
        """
        found: dict[str, set[str]] = {}
        if self.lmms_eval_version:
            found["lmms_eval"] = {self.lmms_eval_version}
        for task in self.tasks.values():
            for package, versions in task.versions.items():
                found.setdefault(package.replace("-", "_"), set()).update(versions)
        return {package: " / ".join(sorted(versions)) for package, versions in sorted(found.items())}

    @property
    def protocols(self) -> str:
        """The scoring protocols its records name, comma separated; "" when none do."""
        return ", ".join(sorted({t.protocol for t in self.tasks.values() if t.protocol}))

    @property
    def label(self) -> str:
        """``checkpoint (wrapper) [variant]``: the run as a reader tells it apart."""
        name = self.checkpoint if self.checkpoint == self.model_id else f"{self.checkpoint} ({self.model_id})"
        return f"{name} [{self.variant}]" if self.variant else name


def _load_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path}: not valid JSON ({error})") from error
    except UnicodeDecodeError as error:
        raise ReportInputError(f"{path}: not UTF-8 (byte at offset {error.start})") from error
    except OSError as error:
        raise ReportInputError(f"{path}: cannot be read ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ReportInputError(f"{path}: not an lmms-eval results file (no 'results' object)")
    return data


def _reported_metrics(values: Mapping[str, Any], where: str) -> dict[str, float]:
    """Metric -> value of one task entry; the ``none`` filter wins over others.

    A key without a filter suffix (``"mae"``, as other tools write it) is read as the ``none``
    filter's. An infinite value (lmms-eval writes ``Infinity`` for an overflowed mean) is an error
    naming ``where``: no table may show it.
    """
    reported: dict[str, float] = {}
    for key, value in values.items():
        if "_stderr" in key:
            continue
        metric, filter_key = key.rsplit(",", 1) if "," in key else (key, "none")
        if metric not in ALL_METRICS:
            continue
        if metric in reported and filter_key != "none":
            continue
        if value is None or isinstance(value, str):
            # lmms-eval writes "N/A" for a metric it could not compute.
            reported[metric] = float("nan")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value):
            raise ReportInputError(f"{where}: metric {key!r} is {value!r}, not a finite number")
        else:
            reported[metric] = float(value)
    return reported


def _model_display_name(data: Mapping) -> tuple[str, str, str]:
    config = data.get("config") or {}
    model_id = str(config.get("model") or "unknown-model")
    model_args = config.get("model_args") or ""
    if isinstance(model_args, Mapping):
        model_args = ",".join(f"{k}={v}" for k, v in model_args.items())
    name = str(data.get("model_name") or "") or model_id
    return name, model_id, str(model_args)


def parse_model_args(model_args: str) -> dict[str, str]:
    """``"a=1,b=x"`` -> ``{"a": "1", "b": "x"}`` (a bare word maps to "")."""
    pairs = {}
    for part in model_args.split(","):
        key, _, value = part.partition("=")
        if key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def checkpoint_of(model_args: Mapping[str, str], wrapper: str) -> str:
    """The checkpoint a run names: a hub id as given (``Qwen/Qwen2.5-VL-7B-Instruct``), a local
    path shortened to its last part (``/tmp/x/tiny-qwen`` -> ``tiny-qwen``); the wrapper name
    when no argument names one (:data:`CHECKPOINT_ARGUMENTS`)."""
    for key in CHECKPOINT_ARGUMENTS:
        value = model_args.get(key, "")
        if value:
            is_path = value.startswith(("/", ".", "~")) or value.count("/") > 1 or "\\" in value
            return Path(value.rstrip("/\\")).name if is_path else value
    return wrapper


# lmms-eval 0.7.3 exits 0 after a failed evaluation: the report is where a script learns of it.
NO_RESULTS_HINT = (
    "no results were written. If lmms-eval ran with this --output_path and --log_samples, it failed: "
    "look for 'MedVision error:' or the traceback in its output"
)


def find_results_files(run_dir: Path) -> list[Path]:
    """Every lmms-eval results JSON at or below ``run_dir`` (a file is taken as is).

    Raises:
        ReportInputError: the path does not exist or holds no results file.
    """
    if not run_dir.exists():
        raise ReportInputError(f"{run_dir}: no such file or folder; {NO_RESULTS_HINT}")
    if run_dir.is_file():
        if not run_dir.name.endswith(RESULTS_SUFFIX):
            raise ReportInputError(f"{run_dir}: not an lmms-eval results file (*{RESULTS_SUFFIX})")
        return [run_dir]
    found = sorted(p for p in run_dir.rglob(f"*{RESULTS_SUFFIX}") if p.is_file())
    if not found:
        raise ReportInputError(
            f"{run_dir}: no lmms-eval results (*{RESULTS_SUFFIX}) in this folder or below it; {NO_RESULTS_HINT}"
        )
    return found


def _samples_path(results_path: Path, task: str) -> Path:
    date_id = results_path.name[: -len(RESULTS_SUFFIX)]
    return results_path.with_name(f"{date_id}_samples_{task}.jsonl")


def _is_group(data: Mapping, task: str) -> bool:
    subtasks = (data.get("group_subtasks") or {}).get(task)
    return bool(subtasks)


def _record_of_line(line_data: Any, where: str) -> tuple[DocRecord, Mapping, bool]:
    """The line's record, its JSON, and whether it uses the older layout (a copy per metric key)."""
    if not isinstance(line_data, dict):
        raise ReportInputError(f"{where}: a samples line must be a JSON object")
    record = line_data.get(RECORD_KEY)
    per_metric = False
    if not isinstance(record, dict):
        per_metric = True
        record = next((line_data[m] for m in ALL_METRICS if isinstance(line_data.get(m), dict)), None)
    if record is None:
        raise ReportInputError(
            f"{where}: no per-doc record under {RECORD_KEY!r} or any metric key ({', '.join(ALL_METRICS)}); "
            "was it written by the MedVision tasks of this package?"
        )
    try:
        return DocRecord.from_dict(record, where), record, per_metric
    except ValueError as error:
        raise ReportInputError(str(error)) from None


@dataclass
class _Extras:
    """Record fields the report reads from the JSON when present, collected over a samples file."""

    protocols: set[str] = field(default_factory=set)
    upstream_tasks: set[str] = field(default_factory=set)
    versions: dict[str, set[str]] = field(default_factory=dict)
    per_metric: bool = False

    def add(self, record: Mapping, per_metric: bool) -> None:
        if record.get("protocol"):
            self.protocols.add(str(record["protocol"]))
        if record.get("upstream_task"):
            self.upstream_tasks.add(str(record["upstream_task"]))
        versions = record.get("versions")
        if isinstance(versions, Mapping):
            for package, version in versions.items():
                self.versions.setdefault(str(package), set()).add(str(version))
        self.per_metric |= per_metric


class _NonFinite(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a samples line (JSON has no such numbers; Python writes them)."""


def _refuse_constant(name: str) -> float:
    raise _NonFinite(name)


def _read_samples(path: Path, task: str, progress: tqdm) -> tuple[list[DocRecord], _Extras]:
    records = []
    extras = _Extras()
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            progress.update(len(raw))
            if not raw.strip():
                continue
            where = f"{path}:{line_number}"
            try:
                line_data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
            except UnicodeDecodeError as error:
                raise ReportInputError(
                    f"{where}: not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                ) from None
            except json.JSONDecodeError as error:
                raise ReportInputError(f"{where}: not valid JSON ({error})") from error
            except _NonFinite as error:
                raise ReportInputError(f"{where}: holds {error}, not a number a record may hold") from None
            record, data, per_metric = _record_of_line(line_data, where)
            records.append(record)
            extras.add(data, per_metric)
    if not records:
        raise ReportInputError(f"{path}: samples file of task {task} holds no docs")
    return records, extras


def _task_family(records: Sequence[DocRecord], path: Path) -> str:
    families = sorted({record.family for record in records})
    if len(families) != 1:
        raise ReportInputError(f"{path}: records of one task must share one family, found {families}")
    return families[0]


def read_runs(run_dirs: Iterable[str | Path], *, progress: bool | None = None) -> list[Run]:
    """Read every MedVision task of every lmms-eval run under the given folders.

    Args:
        run_dirs: output folders (``--output_path``), model folders or results files.
        progress: show a progress bar over the samples bytes (None: only on a terminal).

    Returns:
        One :class:`Run` per results file that holds at least one MedVision task, ordered by
        folder then file name, each with its checkpoint and variant (module docstring).

    Raises:
        ReportInputError: a folder holds no results, or no MedVision task at all; a MedVision
            task has no samples file (``--log_samples`` was not given); a samples line is not
            JSON or lacks the per-doc record or one of its fields.
    """
    pending: list[tuple[Path, dict, list[tuple[str, Path, dict[str, float]]]]] = []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        tasks_seen: list[str] = []
        medvision_found = False
        for results_path in find_results_files(run_dir):
            data = _load_json(results_path)
            tasks = []
            for task, values in data["results"].items():
                tasks_seen.append(task)
                if not task.startswith(TASK_PREFIX) or _is_group(data, task) or not isinstance(values, Mapping):
                    continue
                reported = _reported_metrics(values, f"{results_path}: task {task}")
                if not reported:
                    continue
                samples = _samples_path(results_path, task)
                if not samples.is_file():
                    raise ReportInputError(
                        f"{results_path}: task {task} has no samples file {samples.name} beside it; "
                        "rerun lmms-eval with --log_samples (the report needs the per-doc records)"
                    )
                tasks.append((task, samples, reported))
            if tasks:
                medvision_found = True
                pending.append((results_path, data, tasks))
        if not medvision_found:
            shown = ", ".join(sorted(set(tasks_seen))[:10]) or "none"
            raise ReportInputError(
                f"{run_dir}: holds lmms-eval results but no MedVision task output (tasks found: {shown}); "
                f"expected tasks named {TASK_PREFIX}_* run with --log_samples"
            )

    total_bytes = sum(samples.stat().st_size for _, _, tasks in pending for _, samples, _ in tasks)
    runs: list[Run] = []
    # tqdm's disable=None shows the bar only on a terminal.
    disable = None if progress is None else not progress
    with tqdm(
        total=total_bytes, unit="B", unit_scale=True, desc="reading samples", disable=disable, file=sys.stderr
    ) as bar:
        for results_path, data, tasks in pending:
            name, model_id, model_args = _model_display_name(data)
            date = results_path.name[: -len(RESULTS_SUFFIX)]
            run = Run(
                model=name,
                model_id=model_id,
                model_args=model_args,
                date=date,
                results_path=results_path,
                checkpoint=checkpoint_of(parse_model_args(model_args), model_id),
                lmms_eval_version=str(data.get("lmms_eval_version") or ""),
            )
            for task, samples, reported in tasks:
                records, extras = _read_samples(samples, task, bar)
                run.tasks[task] = TaskRun(
                    task=task,
                    family=_task_family(records, samples),
                    variant=variant_of_task(task).name,
                    reported=reported,
                    records=records,
                    samples_path=samples,
                    protocol="+".join(sorted(extras.protocols)),
                    upstream_tasks=tuple(sorted(extras.upstream_tasks)),
                    versions={k: tuple(sorted(v)) for k, v in sorted(extras.versions.items())},
                    record_per_metric=extras.per_metric,
                )
            runs.append(run)
    _set_variants(runs)
    return runs


def _set_variants(runs: list[Run]) -> None:
    """Name the model arguments that tell apart runs of one checkpoint and wrapper.

    Arguments that name the checkpoint or place the model on hardware (:data:`PLACEMENT_ARGUMENTS`)
    never count; of the others, those not shared by every run of the same checkpoint and
    wrapper become the run's :attr:`Run.variant` (``seed=1``).
    """
    by_model: dict[tuple[str, str], list[tuple[Run, dict[str, str]]]] = {}
    for run in runs:
        args = {
            k: v
            for k, v in parse_model_args(run.model_args).items()
            if k not in PLACEMENT_ARGUMENTS and k not in CHECKPOINT_ARGUMENTS
        }
        by_model.setdefault((run.checkpoint, run.model_id), []).append((run, args))
    for members in by_model.values():
        shared = set.intersection(*(set(args.items()) for _, args in members))
        for run, args in members:
            run.variant = ",".join(f"{k}={v}" for k, v in args.items() if (k, v) not in shared)
