"""Curated answers: staff-approved question → answer pairs answered without the LLM.

The agent asks ``answer_from_curated(question)`` before its turn loop; a match above the
store's ``curated_threshold`` is the reply, verbatim, and the use is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pgvector.django import CosineDistance

from knowledge.embedders import get_embedder
from knowledge.errors import KnowledgeError
from knowledge.models import (
    CuratedAnswer,
    CuratedAnswerUse,
    KnowledgeSettings,
)

logger = logging.getLogger(__name__)


class CuratedAnswerNotFound(KnowledgeError):
    code = "curated_answer_not_found"


@dataclass(frozen=True)
class CuratedMatch:
    curated_answer_id: int
    question: str
    answer: str
    similarity: float


def _embed_question(question: str) -> tuple[list[float], str]:
    embedder = get_embedder()
    # Stored questions are compared with incoming questions: both embedded as queries.
    return embedder.embed_query(question), embedder.name


def save_curated_answer(
    question: str, answer: str, *, approved: bool = True, source: str = "staff",
    curated_answer_id: int | None = None,
) -> CuratedAnswer:
    """Create (or update, with ``curated_answer_id``) a curated answer, embedding its question.

    Conversations that ended well are added with ``approved=False, source="suggested"``
    and only answer customers once staff approve them.
    """
    vector, embedder = _embed_question(question)
    fields = {
        "question": question.strip(), "answer": answer.strip(), "is_approved": approved,
        "source": source, "embedding": vector, "embedder": embedder,
    }
    if curated_answer_id is None:
        return CuratedAnswer.objects.create(**fields)
    updated = CuratedAnswer.objects.filter(pk=curated_answer_id).update(**fields)
    if not updated:
        raise CuratedAnswerNotFound(f"No curated answer {curated_answer_id}.", field="curated_answer")
    return CuratedAnswer.objects.get(pk=curated_answer_id)


def approve_curated_answers(ids: list[int]) -> int:
    return CuratedAnswer.objects.filter(pk__in=ids).update(is_approved=True)


def answer_from_curated(question: str) -> CuratedMatch | None:
    """The approved curated answer for ``question`` if one is at least the store's
    ``curated_threshold`` similar, else None. A match is logged (``CuratedAnswerUse``,
    ``times_used``)."""
    if not question.strip():
        return None
    threshold = (
        KnowledgeSettings.objects.filter(pk=1).values_list("curated_threshold", flat=True).first()
        or KnowledgeSettings._meta.get_field("curated_threshold").default
    )
    vector, embedder = _embed_question(question)
    # Vectors of another embedder (another space, maybe another width) are not comparable;
    # a completed embedder switch re-embeds every curated question.
    best = (
        CuratedAnswer.objects.filter(is_approved=True, embedding__isnull=False, embedder=embedder)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .first()
    )
    if best is None or 1.0 - best.distance < threshold:
        return None
    similarity = round(1.0 - best.distance, 6)
    with transaction.atomic():
        CuratedAnswerUse.objects.create(curated_answer=best, question=question, similarity=similarity)
        CuratedAnswer.objects.filter(pk=best.pk).update(
            times_used=F("times_used") + 1, last_used_at=timezone.now()
        )
    logger.info(
        "knowledge.curated_answer.used",
        extra={"curated_answer_id": best.pk, "similarity": similarity},
    )
    return CuratedMatch(best.pk, best.question, best.answer, similarity)
