"""Hand-built lmms-eval output folders for the report tests, and checks of the builders.

The files follow lmms-eval 0.7.3 (``loggers/evaluation_tracker.py``): per model a folder with
``<date>_results.json`` (``results[task]["<metric>,none"]``, ``config.model``,
``config.model_args``) and ``<date>_samples_<task>.jsonl`` whose lines carry the per-doc record
(docs/ARCHITECTURE.md) once under ``medvision_record`` with a number per metric key, or, as runs
made before that layout did, under every metric key (``layout="per_metric"``).

Per-doc scores are chosen so that every table value is a short sum worked out by hand in the
comments (``EXPECTED_*``); nothing here calls the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

from medvision_tasks.metrics import doc_value
from medvision_tasks.record import RECORD_KEY
from tests.helpers.records import detection_record, measurement_record, typed

DETECTION_METRICS = ("recall", "precision", "f1", "iou", "sr", "iou>0.5")
MEASUREMENT_METRICS = ("mae", "mre", "sr", "mre<0.1")


def percents_of(sums: tuple[float, ...], n_docs: int) -> dict[str, float]:
    """``100 * sum / n_docs`` per detection metric, the sums given in DETECTION_METRICS order."""
    return {metric: 100 * total / n_docs for metric, total in zip(DETECTION_METRICS, sums)}


def write_run(
    root: Path,
    model: str,
    model_args: str,
    date: str,
    tasks: dict[str, tuple[list[dict], dict[str, float]]],
    folder: str | None = None,
    layout: str = "once",
) -> Path:
    """Write one run like lmms-eval: ``root/<folder>/<date>_results.json`` and samples files.

    Args:
        tasks: task name -> (records, {metric: value as lmms-eval would report it}).
        layout: ``once`` (the record under ``medvision_record``, a number per metric key) or
            ``per_metric`` (older runs: the record under every metric key).
    """
    run_dir = root / (folder if folder is not None else model)
    run_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for task, (records, reported) in tasks.items():
        entry = {"alias": task, "samples": len(records)}
        for metric, value in reported.items():
            entry[f"{metric},none"] = value
            entry[f"{metric}_stderr,none"] = "N/A"
        results[task] = entry
        metrics = DETECTION_METRICS if records[0]["family"] == "detection" else MEASUREMENT_METRICS
        with (run_dir / f"{date}_samples_{task}.jsonl").open("w", encoding="utf-8") as handle:
            for doc_id, record in enumerate(records):
                line = {
                    "doc_id": doc_id,
                    "target": "0.2, 0.2, 0.6, 0.6",
                    "filtered_resps": "<answer>x</answer>",
                    "doc_hash": "h",
                    "input": "prompt",
                }
                if layout == "per_metric":
                    line.update({metric: record for metric in metrics})
                else:
                    (typed_record,) = typed([record])
                    line.update({metric: doc_value(typed_record, metric) for metric in metrics})
                    line[RECORD_KEY] = record
                handle.write(json.dumps(line) + "\n")
    data = {
        "results": results,
        "group_subtasks": {task: [] for task in tasks},
        "configs": {task: {"task": task} for task in tasks},
        "config": {"model": model, "model_args": model_args, "batch_size": 1},
        "model_name": "",
        "date": date,
    }
    path = run_dir / f"{date}_results.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


# --- model "alpha": detection ----------------------------------------------------------------
# liver (AMOS22, 60 docs): 45 parsed with R .8, P .6, F1 .7, IoU .55; 15 failures.
#   R = 45*.8/60 = 60.0  P = 45*.6/60 = 45.0  F1 = 45*.7/60 = 52.5  IoU = 45*.55/60 = 41.25
#   SR = 45/60 = 75.0  IoU>0.5 = 45/60 = 75.0
# spleen (AMOS22, 90 docs): all parsed, R .5, P .5, F1 .5, IoU .3 -> 50, 50, 50, 30, 100, 0
# kidney (KiTS23, 40 docs): all parsed, perfect -> under 50 docs: left out of Table 2
# kidney tumor (KiTS23, 20 docs): parsed, R .4, P .2, F1 .25, IoU .15
# liver tumor (AMOS22, 10 docs): 5 parsed perfect (all 1.0), 5 failures
# Regions (upstream's label_map_regroup): Liver, Spleen, Kidney, Kidney Tumor/Lesion, Liver Tumor/Lesion, all "@ CT (A)".
def alpha_detection() -> list[dict]:
    records = []
    for i in range(60):
        records.append(
            detection_record(
                f"AMOS22/liver/{i}", "AMOS22", "liver", scores=(0.8, 0.6, 0.7, 0.55) if i < 45 else None, area=0.02
            )
        )
    for i in range(90):
        records.append(
            detection_record(f"AMOS22/spleen/{i}", "AMOS22", "spleen", scores=(0.5, 0.5, 0.5, 0.3), area=0.07, label=2)
        )
    for i in range(40):
        records.append(
            detection_record(f"KiTS23/kidney/{i}", "KiTS23", "kidney", scores=(1.0, 1.0, 1.0, 1.0), area=0.12)
        )
    for i in range(20):
        records.append(
            detection_record(
                f"KiTS23/tumor/{i}", "KiTS23", "kidney tumor", scores=(0.4, 0.2, 0.25, 0.15), area=0.01, label=2
            )
        )
    for i in range(10):
        records.append(
            detection_record(
                f"AMOS22/lesion/{i}",
                "AMOS22",
                "liver tumor",
                scores=(1.0, 1.0, 1.0, 1.0) if i < 5 else None,
                area=0.01,
                label=3,
            )
        )
    return records


# Table 2, alpha, anatomy = liver (60) and spleen (90), sample-weighted:
#   R (60*60 + 90*50)/150 = 54.0   P (60*45 + 90*50)/150 = 48.0   F1 (60*52.5 + 90*50)/150 = 51.0
#   IoU (60*41.25 + 90*30)/150 = 34.5   SR (60*75 + 90*100)/150 = 90.0   IoU>0.5 (60*75 + 0)/150 = 30.0
EXPECTED_ALPHA_ANATOMY = {"recall": 54.0, "precision": 48.0, "f1": 51.0, "iou": 34.5, "sr": 90.0, "iou>0.5": 30.0}
# Tumor/lesion: both regions are under 50 docs -> no region left, no number (the paper has no fallback).
# With --min-group-docs 0 both enter (30 docs), weighted by docs:
#   R (20*.4 + 5*1)/30 = 13/30   P (20*.2 + 5)/30 = 9/30   F1 (20*.25 + 5)/30 = 10/30
#   IoU (20*.15 + 5)/30 = 8/30   SR 25/30   IoU>0.5: 5/30 (only the perfect ones)
EXPECTED_ALPHA_TUMOR_ALL_REGIONS = percents_of((13, 9, 10, 8, 25, 5), 30)
# What lmms-eval reports for the whole task (all 220 docs pooled):
#   R: 45*.8 + 90*.5 + 40 + 20*.4 + 5 = 36 + 45 + 40 + 8 + 5 = 134 -> 134/220
#   P: 27 + 45 + 40 + 4 + 5 = 121   F1: 31.5 + 45 + 40 + 5 + 5 = 126.5   IoU: 24.75 + 27 + 40 + 3 + 5 = 99.75
#   SR: (45 + 90 + 40 + 20 + 5)/220 = 200/220   IoU>0.5 (IoU >= .5): 45 + 40 + 5 = 90 -> 90/220
ALPHA_DETECT_REPORTED = percents_of((134, 121, 126.5, 99.75, 200, 90), 220)


# --- model "beta": detection, anatomy only, better IoU ------------------------------------------
# liver 60 docs all parsed, R .9 P .9 F1 .9 IoU .8 ; spleen 90 docs all parsed R .2 P .4 F1 .3 IoU .1
#   anatomy R (60*90 + 90*20)/150 = 48.0  P (60*90+90*40)/150 = 60.0  F1 (60*90+90*30)/150 = 54.0
#   IoU (60*80 + 90*10)/150 = 38.0  SR 100.0  IoU>0.5 (60*100)/150 = 40.0
def beta_detection() -> list[dict]:
    records = []
    for i in range(60):
        records.append(detection_record(f"AMOS22/liver/{i}", "AMOS22", "liver", scores=(0.9, 0.9, 0.9, 0.8), area=0.02))
    for i in range(90):
        records.append(
            detection_record(f"AMOS22/spleen/{i}", "AMOS22", "spleen", scores=(0.2, 0.4, 0.3, 0.1), area=0.07, label=2)
        )
    return records


EXPECTED_BETA_ANATOMY = {"recall": 48.0, "precision": 60.0, "f1": 54.0, "iou": 38.0, "sr": 100.0, "iou>0.5": 40.0}
BETA_DETECT_REPORTED = dict(EXPECTED_BETA_ANATOMY)  # one subset: pooled = weighted


# --- alpha plane OOD: liver on coronal, 10 docs, 5 parsed with IoU .2 --------------------------
#   coronal: R 5*.3/10 = 15.0, P 5*.3/10 = 15.0, F1 5*.3/10 = 15.0, IoU 5*.2/10 = 10.0, SR 50.0, IoU>0.5 0.0
#   axial over the common label group (liver only): 60.0, 45.0, 52.5, 41.25, 75.0, 75.0
def alpha_detection_coronal() -> list[dict]:
    return [
        detection_record(
            f"AMOS22/liver/cor{i}",
            "AMOS22",
            "liver",
            plane="coronal",
            scores=(0.3, 0.3, 0.3, 0.2) if i < 5 else None,
            area=0.02,
        )
        for i in range(10)
    ]


ALPHA_CORONAL_REPORTED = {"recall": 15.0, "precision": 15.0, "f1": 15.0, "iou": 10.0, "sr": 50.0, "iou>0.5": 0.0}


# --- alpha T/L: 4 docs, errors (2 mm, .05), (4, .2), failure, (6, .08) --------------------------
#   MAE (2+4+6)/3 = 4.0   MRE (.05+.2+.08)/3*100 = 11.0   SR 75.0   MRE<0.1: 2 of 4 = 50.0
def alpha_tl() -> list[dict]:
    errors = [(2.0, 0.05), (4.0, 0.2), None, (6.0, 0.08)]
    return [
        measurement_record(f"KiTS23/tl/{i}", "KiTS23", "tl", "size", errors=e, label_name="kidney tumor")
        for i, e in enumerate(errors)
    ]


ALPHA_TL_REPORTED = {"mae": 4.0, "mre": 11.0, "sr": 75.0, "mre<0.1": 50.0}


# --- alpha A/D ----------------------------------------------------------------------------------
# Ceph distance: (1 mm, .02), (3, .06) -> MAE 2.0, MRE 4.0, SR 100, MRE<0.1 100
# Ceph angle: (10 deg, .5), failure -> MAE 10.0, MRE 50.0, SR 50, MRE<0.1 0
# FeTA24 distance: (5, .1) axial, (15, .3) coronal -> MAE 10.0, MRE 20.0, SR 100, MRE<0.1 0 (.1 is not < .1)
# Whole task (6 docs): MAE (1+3+10+5+15)/5 = 6.8, MRE (2+6+50+10+30)/5 = 19.6, SR 5/6, MRE<0.1 2/6
def alpha_ad() -> list[dict]:
    return [
        measurement_record("Ceph/d/0", "Ceph-Biometrics-400", "ad", "distance", errors=(1.0, 0.02)),
        measurement_record("Ceph/d/1", "Ceph-Biometrics-400", "ad", "distance", errors=(3.0, 0.06)),
        measurement_record("Ceph/a/0", "Ceph-Biometrics-400", "ad", "angle", errors=(10.0, 0.5), unit="degree"),
        measurement_record("Ceph/a/1", "Ceph-Biometrics-400", "ad", "angle", errors=None, unit="degree"),
        measurement_record("FeTA/d/0", "FeTA24", "ad", "distance", errors=(5.0, 0.1)),
        measurement_record("FeTA/d/1", "FeTA24", "ad", "distance", errors=(15.0, 0.3), plane="coronal"),
    ]


ALPHA_AD_REPORTED = {"mae": 6.8, "mre": 19.6, "sr": 100 * 5 / 6, "mre<0.1": 100 * 2 / 6}


def write_fixture_runs(root: Path, layout: str = "once") -> Path:
    """Two models in one output folder, like ``lmms-eval --output_path root`` twice."""
    write_run(
        root,
        "alpha",
        "seed=0",
        "2026-01-01T10-00-00.000000",
        {
            "medvision_detect": (alpha_detection(), ALPHA_DETECT_REPORTED),
            "medvision_detect_coronal": (alpha_detection_coronal(), ALPHA_CORONAL_REPORTED),
            "medvision_tl": (alpha_tl(), ALPHA_TL_REPORTED),
            "medvision_ad": (alpha_ad(), ALPHA_AD_REPORTED),
        },
        layout=layout,
    )
    write_run(
        root,
        "beta",
        "",
        "2026-01-02T10-00-00.000000",
        {"medvision_detect": (beta_detection(), BETA_DETECT_REPORTED)},
        layout=layout,
    )
    return root


def test_fixture_counts_match_the_hand_sums(tmp_path):
    """The fixture holds the doc counts the hand computations above assume."""
    records = alpha_detection()
    assert len(records) == 220
    assert sum(r["parsed"] for r in records) == 200
    assert sum(r["parsed"] and r["iou"] >= 0.5 for r in records) == 90
    root = write_fixture_runs(tmp_path)
    assert sorted(p.name for p in (root / "alpha").iterdir()) == [
        "2026-01-01T10-00-00.000000_results.json",
        "2026-01-01T10-00-00.000000_samples_medvision_ad.jsonl",
        "2026-01-01T10-00-00.000000_samples_medvision_detect.jsonl",
        "2026-01-01T10-00-00.000000_samples_medvision_detect_coronal.jsonl",
        "2026-01-01T10-00-00.000000_samples_medvision_tl.jsonl",
    ]


# Tables every report of the fixture runs holds (file stems and HTML anchors).
REPORT_TABLE_KEYS = (
    "table2_detection",
    "table3_tumor_lesion_size",
    "table4_angle_distance",
    "per_label_detection",
    "planes_detection",
    "box_size",
    "consistency",
)
