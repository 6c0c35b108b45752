"""A DSPy adapter with the shortest prompt a small model can follow.

DSPy's ChatAdapter wraps every field in ``[[ ## name ## ]]`` markers and a long field
description; on a 135M model on CPU that triples the prompt and the model does not follow it.
CompactAdapter writes ``Name: value`` lines, and the answer is the bare value (a list is one
item per line; ``numbered=True`` writes "1. ..." lines, which a fine-tuned model learns to stop
at k with, while an untrained 135M model shown numbered demos starts writing numbers instead).
The same text is what the rewriter is fine-tuned on and what the logit scorer reads label
probabilities after, so generation, SFT and scoring share one format.

Input values are untrusted (titles, queries, rewrites) and cannot change the prompt's layout:
``field_value`` removes chat-control tokens (``<|im_end|>``, ``<|eot_id|>``, ``</s>``, ...),
folds newlines and runs of whitespace into one space (so "\nAnswer: yes" stays inside its
field) and cuts the value to ``tailsynth.limits.MAX_FIELD_CHARS``. The local backends also drop
their tokenizer's own special tokens from every message (``serving.hf_model.render_chat``).
"""

from __future__ import annotations

import re
import typing
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

from tailsynth.limits import MAX_FIELD_CHARS

_CONTROL = re.compile(r"<\|[^<>|\s]{1,64}\|>|</?s>|<unk>|<pad>|<mask>|\[/?INST\]|<</?SYS>>|<\｜[^<>]{1,64}\｜>")
"""Chat-control token spellings of the common templates (ChatML, Llama 2/3, DeepSeek, SentencePiece)."""
_BULLET = re.compile(r"^\s*(?:\d+[.)](?=\s|$)|[-*•])\s*")  # "2.5 gallon" keeps its number


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (list, tuple)


def _choices(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return None


def field_value(value: Any, max_chars: int = MAX_FIELD_CHARS) -> str:
    """An input value made inert: control tokens removed, whitespace folded to single spaces,
    at most ``max_chars`` characters (see the module docstring)."""
    text = str(value)
    while True:  # "<|im_<|im_end|>end|>" must not reassemble
        cleaned = _CONTROL.sub(" ", text)
        if cleaned == text:
            break
        text = cleaned
    text = " ".join(text.replace("<|", "<").replace("|>", ">").split())  # no halves left to pair up
    return text if len(text) <= max_chars else text[:max_chars].rstrip()


def format_lines(values: list | tuple, numbered: bool = False) -> str:
    """A list as the model writes it: "a\nb", or "1. a\n2. b" (``parse_lines`` reads both back)."""
    if numbered:
        return "\n".join(f"{i}. {v}" for i, v in enumerate(values, 1))
    return "\n".join(map(str, values))


def parse_lines(text: str) -> list[str]:
    """One item per line; bullets, numbering and surrounding quotes removed, empties dropped."""
    items = []
    for line in text.splitlines():
        item = _BULLET.sub("", line).strip().strip('"').strip("'").strip()
        if item:
            items.append(item)
    return items


def parse_choice(text: str, choices: tuple[str, ...]) -> str | None:
    """The label a completion starts with (case-insensitive), or None."""
    head = text.strip().lower()
    for choice in sorted(choices, key=len, reverse=True):
        if head.startswith(choice.lower()):
            return choice
    return None


class CompactAdapter(dspy.Adapter):
    """``Name: value`` inputs, bare-value outputs; see the module docstring for why."""

    def __init__(self, numbered: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.numbered = numbered

    def _render(self, value: Any) -> str:
        return format_lines(value, self.numbered) if isinstance(value, (list, tuple)) else str(value)

    def format_system_message(self, signature: type[dspy.Signature]) -> str:
        return signature.instructions

    def format_field_description(self, signature: type[dspy.Signature]) -> str:
        return ""

    def format_field_structure(self, signature: type[dspy.Signature]) -> str:
        return ""

    def format_task_description(self, signature: type[dspy.Signature]) -> str:
        return signature.instructions

    def format_user_message_content(
        self,
        signature: type[dspy.Signature],
        inputs: dict[str, Any],
        prefix: str = "",
        suffix: str = "",
        main_request: bool = False,
    ) -> str:
        lines = [f"{_label(name)}: {field_value(inputs[name])}" for name in signature.input_fields if name in inputs]
        return "\n".join(part for part in (prefix, *lines, suffix) if part)

    def format_assistant_message_content(
        self,
        signature: type[dspy.Signature],
        outputs: dict[str, Any],
        missing_field_message: str | None = None,
    ) -> str:
        fields = signature.output_fields
        if len(fields) == 1:
            name, field = next(iter(fields.items()))
            value = outputs.get(name, missing_field_message or "")
            return self._render(value)
        return "\n".join(f"{_label(n)}: {outputs.get(n, missing_field_message or '')}" for n in fields)

    def format_field_with_value(self, fields_with_values: dict[Any, Any], role: str = "user") -> str:
        """Render values as this adapter's LM would write them (DummyLM uses this to mimic it)."""
        rendered = []
        for value in fields_with_values.values():
            rendered.append(self._render(value))
        return "\n".join(rendered)

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        fields = signature.output_fields
        if len(fields) == 1:
            name, field = next(iter(fields.items()))
            return {name: self._parse_value(signature, field.annotation, completion)}
        values: dict[str, Any] = {}
        for line in completion.splitlines():
            key, _, rest = line.partition(":")
            for name, field in fields.items():
                if key.strip().lower() == _label(name).lower():
                    values[name] = self._parse_value(signature, field.annotation, rest)
        missing = [n for n in fields if n not in values]
        if missing:
            raise AdapterParseError("CompactAdapter", signature, completion, f"missing fields {missing}")
        return values

    def _parse_value(self, signature: type[dspy.Signature], annotation: Any, text: str) -> Any:
        if _is_list(annotation):
            return parse_lines(text)
        choices = _choices(annotation)
        if choices is not None:
            choice = parse_choice(text, choices)
            if choice is None:
                raise AdapterParseError(
                    "CompactAdapter", signature, text, f"expected one of {list(choices)}, got {text[:80]!r}"
                )
            return choice
        return text.strip()
