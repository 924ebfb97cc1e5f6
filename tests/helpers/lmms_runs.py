"""lmms-eval runs made in-process, written to disk as ``lmms-eval --output_path DIR --log_samples`` writes them."""

from __future__ import annotations

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
