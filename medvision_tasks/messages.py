"""How the package speaks to its user: one prefix for every message it prints or logs.

``MedVision error: <message>`` for errors (the command stops, or a case or doc is dropped and
the exit status says so); ``MedVision: <message>`` for everything else (progress, warnings,
summaries). Messages go to stderr unless they are the command's output.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import TextIO, TypeVar

_Entry = TypeVar("_Entry")

ERROR_PREFIX = "MedVision error:"
INFO_PREFIX = "MedVision:"


def look_up(table: Mapping[str, _Entry], name: object, what: str) -> _Entry:
    """The entry of ``table`` called ``name``.

    Raises:
        ValueError: ``name`` is not a key of ``table``; the message names ``what`` was asked for
            and lists the known names.
    """
    try:
        return table[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {name!r}; expected one of {tuple(table)}") from None


def error(message: str) -> None:
    """Print ``MedVision error: <message>`` on stderr."""
    print(f"{ERROR_PREFIX} {message}", file=sys.stderr)


_said_once: set[str] = set()
_said_once_lock = threading.Lock()


def error_once(message: str) -> None:
    """Print ``MedVision error: <message>`` on stderr the first time this message is raised.

    lmms-eval retries a failing dataset load five times, wraps the error in tenacity's
    ``RetryError`` and logs a long traceback whose last line does not say what went wrong; this
    line, printed where the error is raised, is what the user reads first.
    """
    with _said_once_lock:
        if message in _said_once:
            return
        _said_once.add(message)
    print(f"{ERROR_PREFIX} {message}", file=sys.stderr, flush=True)


def info(message: str, stream: TextIO | None = None) -> None:
    """Print ``MedVision: <message>`` on ``stream`` (default stderr)."""
    print(f"{INFO_PREFIX} {message}", file=stream or sys.stderr)
