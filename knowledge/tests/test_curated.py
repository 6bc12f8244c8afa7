from __future__ import annotations

from knowledge import curated, services
from knowledge.models import CuratedAnswer, CuratedAnswerUse

PIX = "Sim! Pagamentos por PIX têm 5% de desconto."


def test_an_approved_answer_matches_a_paraphrase_and_the_use_is_logged(store):
    saved = curated.save_curated_answer("Vocês dão desconto no PIX?", PIX)
    match = curated.answer_from_curated("voces dao desconto no pix?")
    assert match is not None
    assert (match.curated_answer_id, match.answer) == (saved.pk, PIX)
    assert match.similarity >= 0.92
    use = CuratedAnswerUse.objects.get()
    assert (use.curated_answer_id, use.question) == (saved.pk, "voces dao desconto no pix?")
    saved.refresh_from_db()
    assert saved.times_used == 1 and saved.last_used_at is not None


def test_an_unrelated_question_gets_no_curated_answer(store):
    curated.save_curated_answer("Vocês dão desconto no PIX?", PIX)
    assert curated.answer_from_curated("Qual o prazo de entrega para Manaus?") is None
    assert CuratedAnswerUse.objects.count() == 0


def test_a_suggested_answer_is_used_only_after_staff_approve_it(store):
    suggested = curated.save_curated_answer(
        "Vocês dão desconto no PIX?", PIX, approved=False, source="suggested"
    )
    assert curated.answer_from_curated("Vocês dão desconto no PIX?") is None
    assert curated.approve_curated_answers([suggested.pk]) == 1
    assert curated.answer_from_curated("Vocês dão desconto no PIX?").curated_answer_id == suggested.pk


def test_the_threshold_is_per_store(store):
    curated.save_curated_answer("Vocês dão desconto no PIX?", PIX)
    settings_row = services.store_settings()
    settings_row.curated_threshold = 0.999
    settings_row.save()
    assert curated.answer_from_curated("Tem algum desconto pagando com pix?") is None
    settings_row.curated_threshold = 0.5
    settings_row.save()
    assert curated.answer_from_curated("Tem algum desconto pagando com pix?") is not None
    assert CuratedAnswer.objects.get().times_used == 1
