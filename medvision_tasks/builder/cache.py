"""The per-case cache of ``medvision-tasks prepare``: re-runs rebuild only the cases that changed.

Every finished unit's :class:`CaseResult` (a manifest case or a public plan file; a failed one
too, for the merge of a sharded build) is stored under ``DIR/.cases/``, keyed by a hash of its
manifest entry, :data:`BUILDER_VERSION` and its input files' sizes and modification times, with
the size, modification time and SHA-256 of every file it wrote. A re-run may reuse a result
whose key matches and whose written files are all still as written: the same size, and the same
modification time or else the same hash (so a truncated or rewritten output volume is built
again; which results it reuses: :mod:`.driver`), and forgets (deleting the files only they
wrote) units no longer in the manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from medvision_tasks import messages
from medvision_tasks.builder.atomic import writing
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def output_record(path: Path) -> list:
    """``[size in bytes, modification time in ns, SHA-256]`` of a file just written."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, _sha256(path)]


def _changed(path: Path, recorded: object) -> str | None:
    """Why a written file is no longer as recorded (None when it is)."""
    try:
        size, mtime_ns, digest = recorded  # type: ignore[misc]
        stat = path.stat()
    except FileNotFoundError:
        return "it is missing"
    except (OSError, TypeError, ValueError):
        return "its record is unreadable"
    if stat.st_size != size:
        return f"it holds {stat.st_size} bytes, {size} were written"
    if stat.st_mtime_ns != mtime_ns and _sha256(path) != digest:
        return "its content changed (SHA-256)"
    return None


def load_cached(out_dir: Path, case: CaseSpec, key: str) -> CaseResult | None:
    """The cached result of a case, failed or not, if its key matches and every file it wrote is still as written."""
    path = _cache_file(out_dir, case.name)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        result = CaseResult.from_json(entry["result"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if entry.get("key") != key or result.case != case.name:
        return None
    outputs = entry.get("outputs")
    if not isinstance(outputs, dict) or set(outputs) != set(result.files):
        return None  # written before outputs were recorded, or incomplete: built again
    for relative in result.files:
        reason = _changed(out_dir / relative, outputs[relative])
        if reason is not None:
            messages.info(
                f"prepare: {case.name}: {out_dir / relative} is not as it was written ({reason}); building it again"
            )
            return None
    return result


def store_cached(out_dir: Path, case: CaseSpec, key: str, result: CaseResult) -> None:
    """Remember a built case under its key, with the size, time and hash of every file it wrote."""
    outputs = {
        relative: output_record(out_dir / relative) for relative in result.files if (out_dir / relative).is_file()
    }
    with writing(_cache_file(out_dir, case.name)) as partial:
        partial.write_text(json.dumps({"key": key, "result": result.to_json(), "outputs": outputs}), encoding="utf-8")


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
