"""The prompt ledger: what each prompt stated to the model, kept for the record of its answer.

A T/L or A/D prompt states the pixel size (and, but for the first release's prompts, the image
size) of the image *as the model sees it*, which depends on the image policy of the running
``--model`` (:mod:`medvision_tasks.spacing`), and its words, pixels and answer parsing depend on the
protocol (:mod:`medvision_tasks.protocols`). lmms-eval hands ``doc_to_text`` the model's kwargs but
``process_results`` only the doc and the answer, so the prompt hook writes what it stated into the
ledger and the scoring hook reads it back into the per-doc record
(:class:`medvision_tasks.record.DocRecord`). This package's model wrappers read it too, to check
that the model saw the size the task meant it to see, whether or not the prompt states it.

An answer whose prompt left no entry (a prompt built by other code or in another process) is
recorded as :data:`UNKNOWN`: ``image_policy`` ``"unknown"`` and no stated sizes, never a guess;
``medvision-tasks report`` names such models in a note.

Entries are keyed by family and ``doc_key``: one slice and label may be asked both as detection
and as T/L (same ``doc_key``) with different statements. Loading a task forgets the entries of
the docs it loads (:meth:`PromptLedger.forget`), so a second evaluation in one process never
reads what an earlier one stated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

UNKNOWN_POLICY = "unknown"
"""The ``image_policy`` of an answer whose prompt's statement is not known."""


@dataclass(frozen=True)
class Stated:
    """What one prompt told the model about its image.

    Attributes:
        image_size: ``(H, W)`` in pixels of the image the model sees (after its processor, when the
            image policy lets the processor resize it); None when unknown.
        pixel_size: ``(ph, pw)`` in mm the prompt stated; None when it stated none (detection
            asks for relative coordinates) or when unknown.
        image_policy: the image policy that sized the image, or :data:`UNKNOWN_POLICY`.
        protocol: the protocol the prompt was written under; None when unknown.
    """

    image_size: tuple[int, int] | None
    pixel_size: tuple[float, float] | None
    image_policy: str
    protocol: str | None = None


UNKNOWN = Stated(image_size=None, pixel_size=None, image_policy=UNKNOWN_POLICY)


class PromptLedger:
    """What each prompt stated, by family and ``doc_key``; safe to share between threads."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Stated] = {}
        self._lock = threading.Lock()

    def note(self, family: str, doc_key: str, stated: Stated) -> None:
        """Record what the prompt of one doc stated (the latest prompt of a doc wins)."""
        with self._lock:
            self._entries[(family, doc_key)] = stated

    def stated(self, family: str, doc_key: str) -> Stated:
        """What the prompt of one doc stated; :data:`UNKNOWN` when no prompt was noted."""
        with self._lock:
            return self._entries.get((family, doc_key), UNKNOWN)

    def forget(self, family: str, doc_keys: Iterable[str]) -> None:
        """Drop the entries of these docs (a task is loading them afresh)."""
        with self._lock:
            for doc_key in doc_keys:
                self._entries.pop((family, doc_key), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


LEDGER = PromptLedger()
"""The process's ledger, shared by the task hooks (:mod:`medvision_tasks.utils`) and the model wrappers."""
