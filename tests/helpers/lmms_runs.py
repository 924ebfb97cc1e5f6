"""lmms-eval runs made in-process, written to disk as ``lmms-eval --output_path DIR --log_samples`` writes them."""

from __future__ import annotations

import os
from pathlib import Path

from lmms_eval import evaluator
from lmms_eval.loggers import EvaluationTracker
from lmms_eval.tasks import TaskManager


def run_lmms_eval(
    model, model_args: str, out: Path, date: str, task_manager: TaskManager, tasks: list[str], limit: int | None = None
) -> Path:
    """Evaluate ``model`` on ``tasks`` and save results and samples under ``out`` (the calls of lmms-eval's CLI)."""
    tracker = EvaluationTracker(output_path=str(out))
    results = evaluator.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=tasks,
        task_manager=task_manager,
        bootstrap_iters=0,
        log_samples=True,
        evaluation_tracker=tracker,
        datetime_str=date,
        limit=limit,
    )
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples, datetime_str=date)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return out


def plugin_cli_env(plugin: str, **extra: str) -> dict[str, str]:
    """Environment for a real ``lmms-eval`` subprocess with a test plugin: offline, no MedVision switch but ``extra``.

    The test's slice cache folder (``MEDVISION_CACHE_DIR``, set by ``tests/conftest.py``) is kept.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MEDVISION_", "LMMS_EVAL_PLUGINS"))}
    if "MEDVISION_CACHE_DIR" in os.environ:
        env["MEDVISION_CACHE_DIR"] = os.environ["MEDVISION_CACHE_DIR"]
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        LMMS_EVAL_PLUGINS=plugin,
        **extra,
    )
    return env
