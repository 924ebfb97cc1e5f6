"""How the package speaks to its user: one prefix for every message it prints or logs.

``MedVision error: <message>`` for errors (the command stops, or a case or doc is dropped and
the exit status says so); ``MedVision: <message>`` for everything else (progress, warnings,
summaries). Messages go to stderr unless they are the command's output.
"""

from __future__ import annotations

import sys
from typing import TextIO

ERROR_PREFIX = "MedVision error:"
INFO_PREFIX = "MedVision:"


def error(message: str) -> None:
    """Print ``MedVision error: <message>`` on stderr."""
    print(f"{ERROR_PREFIX} {message}", file=sys.stderr)


def info(message: str, stream: TextIO | None = None) -> None:
    """Print ``MedVision: <message>`` on ``stream`` (default stderr)."""
    print(f"{INFO_PREFIX} {message}", file=stream or sys.stderr)
