"""An lmms-eval model whose answers are scripted from the doc, for exact end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lmms_eval.api.model import lmms


class ScriptedModel(lmms):
    """Answers every request with ``script(doc, prompt)``; records what it was shown.

    Like lmms-eval's own wrappers it calls ``doc_to_visual`` per request and reads the doc from
    ``self.task_dict[task][split][doc_id]``.
    """

    def __init__(self, script: Callable[[Mapping, str], str]) -> None:
        super().__init__()
        self.script = script
        self.seen: list[dict] = []

    def generate_until(self, requests) -> list[str]:
        return [self.answer(*request.args) for request in requests]

    def answer(self, prompt, _gen_kwargs, doc_to_visual, doc_id, task, split) -> str:
        doc = self.task_dict[task][split][doc_id]
        images = doc_to_visual(doc)
        self.seen.append({"task": task, "doc": doc, "prompt": prompt, "image_sizes": [image.size for image in images]})
        return self.script(doc, prompt)

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError


class ScriptedChatModel(ScriptedModel):
    """The chat-path twin of :class:`ScriptedModel`: lmms-eval hands it ``doc_to_messages`` per request.

    ``is_simple = False`` makes the evaluator build the tasks as chat tasks; like lmms-eval's chat
    wrappers it calls ``doc_to_messages(doc)`` and sends the turns' content. It records each
    request's content types (``["image", "text"]``).
    """

    is_simple = False

    def answer(self, _context, doc_to_messages, _gen_kwargs, doc_id, task, split) -> str:
        doc = self.task_dict[task][split][doc_id]
        contents = [part for message in doc_to_messages(doc) for part in message["content"]]
        text = "".join(part["text"] for part in contents if part["type"] == "text")
        self.seen.append({"task": task, "doc": doc, "types": [part["type"] for part in contents], "prompt": text})
        return self.script(doc, text)


def perfect_answer(doc: Mapping, prompt: str) -> str:
    """The doc's target, in the CoT answer contract (also parsable for plain prompts)."""
    return "<think>measuring</think><answer>" + ", ".join(repr(float(v)) for v in doc["target"]) + "</answer>"
