"""What a query rules out, read from its words: the negation filter of the synthesis program.

Dense retrieval and small cross-encoders read "drywall anchors that aren't nylon" much as they
read "nylon drywall anchors": the rewrites keep the negated word, the retriever finds nylon
anchors, and a MiniLM cross-encoder scores them 0.97. A product whose own text states what the
query excludes cannot be what the query asks for, so this rule rejects it before any model
scores it (``BusinessStage``, ``decided_by = "negation"``).

The rule reads English negation of a property only: ``non-X``, ``not X`` / ``isn't X`` /
``aren't X`` (not after an auxiliary: "will not stop running" describes a symptom),
``without X`` / ``with no X``, ``X-free``, ``other than X`` / ``except X``. A product "states"
X when X (or X + "s") occurs in its text as whole words and is not itself negated there
("non-dimmable", "no light", "fragrance-free" do not state "dimmable", "light", "fragrance").
Words are compared after lower-casing, with every run of other characters read as one space,
so "oil-based" and "oil based" are one phrase. Synonyms are caught only as the caller lists
them (``synonyms``: groups of phrases stating one property, ``SynthesisConfig.negation_synonyms``,
"not cordless" → "battery-powered"), or as the catalog's attributes imply them
(``programs.implications``: "not plant-based" → the products whose attributes say "natural");
any other paraphrase stays the models' job.

On the demo world's negative queries the words and the default synonyms reject 77 % of the wrong
products of the query's own product type and no relevant one (dev: 18,473 of 24,130 wrong, 0 of
31,438 relevant; 70 % without the synonyms), 92 % with the catalog's implications too
(``benchmarks/negation_rule.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["Synonyms", "excluded_terms", "normalize", "states", "states_normalized", "violates", "with_synonyms"]

_WORD = r"[^\s,.;:!?()]+"
_PATTERNS = tuple(re.compile(p) for p in (
    r"\bnon[- ]([a-z0-9%]+(?:-[a-z0-9%]+)*)",
    rf"(?<!will )(?<!would )(?<!does )(?<!do )(?<!did )(?<!can )(?<!could )(?<!should )"
    rf"\b(?:not|isn't|isnt|aren't|arent)\s+({_WORD}(?:\s{_WORD}){{0,3}})",
    rf"\b(?:without|with no)\s+({_WORD}(?:\s{_WORD}){{0,3}})",
    r"\b([a-z0-9]+)-free\b",
    rf"\b(?:other than|except|besides)\s+({_WORD}(?:\s{_WORD}){{0,3}})",
))
_FILLER = frozenset(
    "a an any the that this is are be made of from for in on at with to please kind type one ones stuff thing things "
    "added harsh".split())
"""Words that end a captured phrase, or are dropped before it ("not made of wood please" → "wood")."""
_MAX_TERM_WORDS = 3
_NEGATORS = frozenset({"non", "no", "not", "without", "nothing"})
_MAX_QUERY_CHARS = 2000


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces, padded with one space each side."""
    return " " + re.sub(r"[^a-z0-9%]+", " ", text.lower()).strip() + " "


def excluded_terms(query: str) -> tuple[str, ...]:
    """The phrases ``query`` rules out, normalized, in order of appearance, without repeats.

    >>> excluded_terms("best wood stain that isn't oil-based")
    ('oil based',)
    """
    text = query.lower()[:_MAX_QUERY_CHARS]
    found: list[str] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            words = normalize(match.group(1)).split()
            while words and words[0] in _FILLER:
                words.pop(0)
            cut = next((i for i, w in enumerate(words) if w in _FILLER), len(words))
            words = words[:min(cut, _MAX_TERM_WORDS)]
            if words and not set(words) & _NEGATORS:
                found.append(" ".join(words))
    return tuple(dict.fromkeys(found))


def states(product_text: str, term: str) -> bool:
    """Whether the product's text states ``term`` (a normalized phrase), not negated there."""
    return states_normalized(normalize(product_text), term)


def states_normalized(text: str, term: str) -> bool:
    """``states`` over an already ``normalize``d text."""
    for form in (term, term + "s"):
        needle, start = f" {form} ", 0
        while (i := text.find(needle, start)) >= 0:
            start = i + 1
            before, after = text[:i].split()[-1:], text[i + len(needle):].split()[:1]
            if not (before and before[0] in _NEGATORS) and not (after and after[0] == "free"):
                return True
    return False


class Synonyms:
    """Groups of phrases that state one property, normalized once (a ``BusinessStage`` holds one
    for every query it judges); ``expand(terms)`` is ``with_synonyms`` with them."""

    def __init__(self, groups: Sequence[Sequence[str]] = ()):
        self.groups = tuple(tuple(normalize(t).strip() for t in g) for g in groups)

    def expand(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for term in (normalize(t).strip() for t in terms):
            for t in next((g for g in self.groups if term in g), (term,)):
                if t not in out:
                    out.append(t)
        return tuple(out)


def with_synonyms(terms: tuple[str, ...], synonyms: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """``terms`` and, for a term that is one of a synonym group's phrases, every phrase of that group
    (normalized, in order, without repeats).

    >>> with_synonyms(("cordless",), [["cordless", "battery-powered"]])
    ('cordless', 'battery powered')
    """
    return Synonyms(synonyms).expand(terms)


def violates(terms: tuple[str, ...], product_text: str) -> bool:
    """Whether the product states any of a query's ``excluded_terms`` (``with_synonyms`` first to
    catch the listed synonyms)."""
    text = normalize(product_text)
    return any(states_normalized(text, t) for t in terms)
