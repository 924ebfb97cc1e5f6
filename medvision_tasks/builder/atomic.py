"""Files of ``prepare`` complete or absent: written under a partial name, then renamed into place.

A partial file is a hidden sibling of its destination named for the host and process writing it
(``.<name>.<host>-<pid>.partial[<suffix>]``). It is removed when the write fails or is
interrupted (an exception, SIGTERM, the parent's death in a worker: :func:`remove_in_flight`);
a process killed outright (SIGKILL) leaves it behind, and the next run removes it
(:func:`remove_stale_partials`) once the process that wrote it is gone. Shards on other machines
writing into the same folder keep theirs: only this host's dead processes' partials are removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
_PARTIAL = re.compile(r"^\..+\.(?:(?P<host>[A-Za-z0-9_]+)-)?(?P<pid>\d+)\.partial(?:\.nii\.gz|\.nii)?$")
_in_flight: set[Path] = set()
_in_flight_lock = threading.Lock()


def partial_path(path: Path, suffix: str = "") -> Path:
    """The partial name of ``path`` for this process (``suffix``: kept last, e.g. ``.nii.gz`` for nibabel)."""
    name = path.name[: -len(suffix)] if suffix and path.name.endswith(suffix) else path.name
    return path.with_name(f".{name}.{_HOST}-{os.getpid()}.partial{suffix}")


@contextlib.contextmanager
def writing(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield the partial path to write; rename it to ``path`` on success, remove it on any failure.

    Args:
        path: the destination (its folder is created).
        suffix: the ending the writer needs on the partial name (``.nii.gz``: nibabel compresses by name).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path, suffix)
    with _in_flight_lock:
        _in_flight.add(partial)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        with _in_flight_lock:
            _in_flight.discard(partial)


def remove_in_flight() -> None:
    """Remove this process's partial files now (before it exits without unwinding)."""
    with _in_flight_lock:
        for partial in _in_flight:
            partial.unlink(missing_ok=True)
        _in_flight.clear()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the partial files under ``folder`` left by processes of this host that no longer run.

    Returns:
        The files removed.
    """
    removed = []
    for directory, _, names in os.walk(folder):
        for name in names:
            match = _PARTIAL.match(name)
            if match is None or match["host"] not in (None, _HOST) or _alive(int(match["pid"])):
                continue
            path = Path(directory) / name
            path.unlink(missing_ok=True)
            removed.append(path)
    return sorted(removed)
