"""Writing the data directory: docs files per split, ``summary.json``, JSON side files.

Every file is written to a partial name beside its destination and renamed into place
(:mod:`.atomic`), so a reader (or a re-run after a crash) never sees half a file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from medvision_tasks.builder.atomic import writing
from medvision_tasks.builder.layout import SPLITS, SUMMARY_FILE, TRAIN_DIR
from medvision_tasks.builder.spec import Manifest
from medvision_tasks.documents import docs_file
from medvision_tasks.families import FAMILY_NAMES
from medvision_tasks.planes import plane_of_slice_dim

DocsBySplit = Mapping[str, Mapping[str, list[dict]]]
"""split ("test", "train") -> family -> docs."""


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with writing(path) as partial, partial.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)


def write_json(payload: Mapping, path: Path, *, ascii_only: bool = True) -> None:
    """``payload`` as JSON indented by one space, with a final newline."""
    _write_lines(path, [json.dumps(payload, indent=1, ensure_ascii=ascii_only) + "\n"])


def write_jsonl(path: Path, docs: Iterable[Mapping]) -> None:
    """One JSON object per line (UTF-8, not escaped)."""
    _write_lines(path, (json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs))


def write_docs(out: Path, docs: DocsBySplit) -> None:
    """The test docs at ``out/<family>.jsonl``; the train docs under ``out/train/`` only when there are any."""
    train_dir = out / TRAIN_DIR
    has_train = any(docs["train"].values())
    for family in FAMILY_NAMES:
        write_jsonl(docs_file(out, family), docs["test"][family])
        train_file = docs_file(train_dir, family)
        if has_train:
            write_jsonl(train_file, docs["train"][family])
        else:
            train_file.unlink(missing_ok=True)
    if not has_train and train_dir.is_dir() and not any(train_dir.iterdir()):
        train_dir.rmdir()


def _count_docs(docs: list[dict]) -> dict:
    by_plane = Counter(plane_of_slice_dim(int(d["slice_dim"])) or "?" for d in docs)
    by_label = Counter(f"{d['dataset_name']}/{d.get('label_name')}" for d in docs)
    counts = {
        "total": len(docs),
        "by_plane": dict(sorted(by_plane.items())),
        "by_label": dict(sorted(by_label.items())),
    }
    by_task = Counter(d["upstream_task"] for d in docs if d.get("upstream_task"))
    if by_task:
        counts["by_upstream_task"] = dict(by_task)  # in the order the docs are written
    return counts


def summary(
    manifest: Manifest,
    builder_version: str,
    seed: int,
    splits: Mapping[str, str],
    docs: DocsBySplit,
    skip_rows: list[dict],
    errors: list[str],
    n_cases: int,
    n_failed: int,
) -> dict:
    """The content of ``summary.json``: subjects per split, doc counts, every skip, every error."""
    by_reason: Counter = Counter()
    by_family: dict[str, Counter] = {}
    for row in skip_rows:
        by_reason[row["reason"]] += row["count"]
        by_family.setdefault(row["family"], Counter())[row["reason"]] += row["count"]
    return {
        "manifest": manifest.path.name,
        "builder_version": builder_version,
        "seed": seed,
        "train_fraction": manifest.train_fraction,
        "subjects": {split: sorted(s for s, v in splits.items() if v == split) for split in reversed(SPLITS)},
        "cases": {"total": n_cases, "failed": n_failed},
        "docs": {
            split: {
                "total": sum(len(v) for v in docs[split].values()),
                "by_family": {family: _count_docs(docs[split][family]) for family in FAMILY_NAMES},
            }
            for split in SPLITS
        },
        "skips": {
            "total": sum(by_reason.values()),
            "by_reason": dict(sorted(by_reason.items())),
            "by_family": {f: dict(sorted(c.items())) for f, c in sorted(by_family.items())},
            "details": skip_rows,
        },
        "errors": errors,
    }


def write_summary(out: Path, content: Mapping) -> None:
    """``out/summary.json``."""
    write_json(content, out / SUMMARY_FILE, ascii_only=False)
