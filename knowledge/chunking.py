"""Token-aware chunking with overlap.

Sections are split at sentence boundaries into chunks of at most ``max_tokens`` tokens of
the embedder's own tokenizer (when it exposes one; otherwise a word-based estimate), and
consecutive chunks of a section share about ``overlap`` tokens so a fact cut at a border
is still whole in one of them. Chunks never span two sections.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from knowledge.parsing import Section

TokenCounter = Callable[[str], int]

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
_WORD_PIECES = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class ChunkDraft:
    text: str
    token_count: int
    metadata: dict = field(default_factory=dict)
    context: str = ""


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (subword models split ~1.3 pieces per word)."""
    return int(len(_WORD_PIECES.findall(text)) * 1.3 + 0.5)


def token_counter_for(embedder: object) -> TokenCounter:
    """The embedder's tokenizer as a counter of content tokens (prefix/specials removed)."""
    count = getattr(embedder, "count_tokens", None)
    if count is None:
        return estimate_tokens
    baseline = count("")
    return lambda text: max(0, count(text) - baseline)


def chunk_sections(
    sections: list[Section], *, max_tokens: int, overlap: int, count_tokens: TokenCounter
) -> list[ChunkDraft]:
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    overlap = max(0, min(overlap, max_tokens // 2))
    drafts: list[ChunkDraft] = []
    for section in sections:
        for text, tokens in _split(section.text, max_tokens, overlap, count_tokens):
            drafts.append(
                ChunkDraft(text=text, token_count=tokens, metadata=dict(section.metadata),
                           context=section.context)
            )
    return drafts


def _units(text: str, max_tokens: int, count_tokens: TokenCounter) -> list[tuple[str, int]]:
    """Sentences with their token counts; a sentence longer than a chunk is cut by words."""
    units: list[tuple[str, int]] = []
    sentences = [
        ("\n" if j == 0 and units_line else " ") + s.strip()
        for units_line, line in enumerate(text.splitlines())
        for j, s in enumerate(_SENTENCE.split(line))
        if s.strip()
    ]
    for sentence in sentences:
        # A leading "\n" or " " says how the sentence joins the previous one.
        sep, sentence = sentence[0], sentence[1:]
        tokens = count_tokens(sentence)
        if tokens <= max_tokens:
            units.append((sep + sentence, tokens))
            continue
        words = sentence.split()
        # Cut proportionally, then verify each piece with the real counter.
        per_piece = max(1, int(len(words) * max_tokens / tokens * 0.9))
        start = 0
        while start < len(words):
            end = min(len(words), start + per_piece)
            piece = " ".join(words[start:end])
            piece_tokens = count_tokens(piece)
            while piece_tokens > max_tokens and end - start > 1:
                end = start + max(1, (end - start) * 3 // 4)
                piece = " ".join(words[start:end])
                piece_tokens = count_tokens(piece)
            units.append((sep + piece, piece_tokens))
            sep = " "
            start = end
    return units


def _split(
    text: str, max_tokens: int, overlap: int, count_tokens: TokenCounter
) -> list[tuple[str, int]]:
    units = _units(text, max_tokens, count_tokens)
    chunks: list[tuple[str, int]] = []
    current: list[tuple[str, int]] = []
    size = 0
    for unit in units:
        if current and size + unit[1] > max_tokens:
            chunks.append(_join(current))
            # Carry the tail of the previous chunk (whole sentences) as the overlap.
            carried: list[tuple[str, int]] = []
            carried_size = 0
            for prev in reversed(current):
                if carried_size + prev[1] > overlap or carried_size + prev[1] + unit[1] > max_tokens:
                    break
                carried.insert(0, prev)
                carried_size += prev[1]
            current, size = carried, carried_size
        current.append(unit)
        size += unit[1]
    if current:
        chunks.append(_join(current))
    return chunks


def _join(units: list[tuple[str, int]]) -> tuple[str, int]:
    return "".join(u[0] for u in units)[1:], sum(u[1] for u in units)
