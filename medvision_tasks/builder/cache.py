"""The per-case cache of ``medvision-tasks prepare``: re-runs rebuild only the cases that changed.

Every finished unit's :class:`CaseResult` (a manifest case or a public plan file; a failed one
too, for the merge of a sharded build) is stored under ``DIR/.cases/``, keyed by a hash of its
manifest entry, :data:`BUILDER_VERSION` and its input files' sizes and modification times. A
re-run may reuse a result whose key matches and whose written files all exist (which ones it
reuses: :mod:`.driver`), and forgets (deleting the files only they wrote) units no longer in the
manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from medvision_tasks.builder.layout import CACHE_DIR, slug
from medvision_tasks.builder.results import CaseResult
from medvision_tasks.builder.spec import CaseSpec

# Bump when the docs a case produces would change for the same inputs: invalidates the cache.
BUILDER_VERSION = "2"


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


def load_cached(out_dir: Path, case: CaseSpec, key: str) -> CaseResult | None:
    """The cached result of a case, failed or not, if its key matches and every file it wrote is still there."""
    path = _cache_file(out_dir, case.name)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        result = CaseResult.from_json(entry["result"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if entry.get("key") != key or result.case != case.name:
        return None
    if not all((out_dir / f).is_file() for f in result.files):
        return None
    return result


def store_cached(out_dir: Path, case: CaseSpec, key: str, result: CaseResult) -> None:
    """Remember a built case under its key."""
    path = _cache_file(out_dir, case.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({"key": key, "result": result.to_json()}), encoding="utf-8")
    os.replace(partial, path)


def prune_cache(out_dir: Path, current: set[str], kept_files: set[str]) -> None:
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
