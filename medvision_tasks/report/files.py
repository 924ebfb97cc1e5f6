"""Report outputs are complete or absent: each is written beside its final name, then renamed over it.

A report killed midway (or failing on a later table) leaves earlier outputs whole and never a
half-written file under an output's name; ``os.replace`` is atomic within one folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends without error.

    The temporary name keeps the suffix (matplotlib and browsers choose the format by it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """``text`` as UTF-8 in ``path``, complete or not at all."""
    with replacing(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)
