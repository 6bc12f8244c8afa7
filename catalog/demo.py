"""The demo store's catalog: a small Brazilian dance-wear shop (idempotent)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from catalog.embeddings import refresh_embeddings_on_commit
from catalog.files import attach_product_file
from catalog.models import CatalogConnection, Category, Product, Synonym
from catalog.selectors import get_store_profile

PROFILE = {
    "company_name": "Bailarina Dancewear",
    "address": "Rua Augusta, 1500 - Consolação, São Paulo - SP, 01304-001",
    "opening_hours": "Seg a sex 9h-19h, sáb 9h-14h (horário de Brasília)",
    "contact_phone": "+55 11 4002-8922",
    "contact_email": "contato@bailarina.example",
    "shipping_policy": (
        "Enviamos para todo o Brasil pelos Correios (PAC e SEDEX) em até 2 dias úteis após "
        "o pagamento. Frete grátis acima de R$ 299,00."
    ),
    "returns_policy": (
        "Troca de tamanho grátis em até 30 dias, com o produto sem uso e na embalagem. "
        "Sapatilhas de ponta costuradas ou usadas não podem ser trocadas."
    ),
    "payment_policy": "PIX (5% de desconto), cartão de crédito em até 6x sem juros ou boleto.",
    "language": "pt",
    "currency": "BRL",
}

CATEGORIES = [
    # (slug, name, parent slug)
    ("ballet", "Ballet", None),
    ("sapatilhas", "Sapatilhas", "ballet"),
    ("collants", "Collants", "ballet"),
    ("meias", "Meias", "ballet"),
    ("acessorios", "Acessórios", None),
]

# (sku, name, category, price, stock, description, attributes, variants[(suffix, stock)])
PRODUCTS = [
    ("SP-CLASS", "Sapatilha de Ponta Clássica", "sapatilhas", "289.90", 0,
     ("Sapatilha de ponta em cetim rosa, box firme e palmilha média. Para bailarinas de "
     "nível intermediário e avançado. Acompanha elástico e fita de cetim."),
     {"tamanho": ["34", "35", "36", "37", "38"], "cor": "rosa"},
     [("34", 3), ("35", 5), ("36", 4), ("37", 0), ("38", 2)]),
    ("SP-PRO", "Sapatilha de Ponta Profissional Grishko", "sapatilhas", "459.90", 0,
     ("Sapatilha de ponta profissional importada, feita à mão, box reforçado e palmilha "
     "dura para bailarinas avançadas."),
     {"tamanho": ["35", "36", "37"], "cor": "rosa"},
     [("35", 1), ("36", 2), ("37", 1)]),
    ("SMP-COURO", "Sapatilha de Meia Ponta em Couro", "sapatilhas", "89.90", 0,
     ("Sapatilha de meia ponta em couro macio com sola inteira, ideal para iniciantes e "
     "baby class."),
     {"tamanho": ["30", "32", "34", "36"], "cor": "rosa"},
     [("30", 6), ("32", 6), ("34", 4), ("36", 3)]),
    ("COL-ALCA", "Collant Alça Fina", "collants", "79.90", 0,
     "Collant de suplex com alças finas cruzadas nas costas. Tecido com proteção UV.",
     {"tamanho": ["P", "M", "G"], "cor": "preto"},
     [("P", 8), ("M", 10), ("G", 5)]),
    ("COL-ML", "Collant Manga Longa", "collants", "99.90", 7,
     "Collant de manga longa em suplex, decote canoa, para aulas e ensaios no inverno.",
     {"cor": "vinho"}, []),
    ("MEIA-PE", "Meia-calça Ballet com Pé", "meias", "39.90", 30,
     "Meia-calça fio 40 rosa ballet, com pé, resistente e confortável.",
     {"cor": "rosa ballet"}, []),
    ("MEIA-CONV", "Meia-calça Conversível", "meias", "49.90", 0,
     "Meia-calça com abertura na sola para usar com ou sem pé.",
     {"cor": "rosa ballet"}, []),
    ("SAIA-TULE", "Saia de Tule Romântica", "collants", "69.90", 12,
     "Saia de tule com três camadas e elástico na cintura.", {"cor": "branca"}, []),
    ("POL-LA", "Polaina de Lã", "acessorios", "59.90", 9,
     "Polaina de lã para aquecer as pernas antes da aula.", {"cor": "cinza"}, []),
    ("PONT-SIL", "Ponteira de Silicone", "acessorios", "34.90", 20,
     "Ponteira de gel de silicone que protege os dedos dentro da sapatilha de ponta.", {}, []),
]

# Customers' words (Portuguese slang and Spanish) -> the catalog's words.
SYNONYMS = {
    "malha": ["collant"],
    "body": ["collant"],
    "mallas": ["collant"],
    "malla": ["collant"],
    "leotardo": ["collant"],
    "leotardos": ["collant"],
    "zapatillas": ["sapatilha"],
    "zapatilla": ["sapatilha"],
    "punta": ["ponta"],
    "medias": ["meia-calça"],
    "can can": ["meia-calça"],
    "meia fina": ["meia-calça"],
    "pontinha": ["ponteira"],
}


def populate() -> None:
    """Add the demo catalog to the current store; safe to run again (by SKU and slug)."""
    profile = get_store_profile()
    for key, value in PROFILE.items():
        setattr(profile, key, value)
    profile.save()

    categories: dict[str, Category] = {}
    for slug, name, parent in CATEGORIES:
        categories[slug], _ = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "parent": categories.get(parent)}
        )

    for sku, name, category, price, stock, description, attributes, variants in PRODUCTS:
        # Stock is seeded once: on later runs it is the store's (orders take from it).
        parent_fields = {
            "name": name, "category": categories[category], "price": Decimal(price),
            "description": description, "attributes": attributes,
            "currency": profile.currency, "is_active": True,
        }
        parent, _ = Product.objects.update_or_create(
            sku=sku,
            defaults=parent_fields,
            create_defaults={**parent_fields, "stock_quantity": stock},
        )
        for suffix, variant_stock in variants:
            variant_attributes = {k: v for k, v in attributes.items() if not isinstance(v, list)}
            variant_attributes["tamanho"] = suffix
            variant_fields = {
                "name": f"{name} {suffix}", "parent": parent, "category": categories[category],
                "price": Decimal(price), "currency": profile.currency,
                "attributes": variant_attributes, "is_active": True,
            }
            Product.objects.update_or_create(
                sku=f"{sku}-{suffix}",
                defaults=variant_fields,
                create_defaults={**variant_fields, "stock_quantity": variant_stock},
            )

    for term, equivalents in SYNONYMS.items():
        Synonym.objects.update_or_create(term=term, defaults={"equivalents": equivalents})
    # A worker embeds them for the semantic leg of search (only what changed).
    refresh_embeddings_on_commit()

    attach_files()
    add_sync_connection()


FILES = Path(__file__).resolve().parent / "demo_files"
# (product SKU, file, title): real files, indexed into the knowledge base with the product.
PRODUCT_FILES = [
    ("SP-CLASS", "manual-sapatilha-de-ponta.pdf", "Manual e tamanhos"),
    ("COL-ALCA", "tabela-de-medidas-collant.md", "Tabela de medidas"),
]


def attach_files() -> None:
    """Attach the demo files (idempotent: the same bytes keep one attachment), indexed now."""
    for sku, filename, title in PRODUCT_FILES:
        product = Product.objects.get(sku=sku)
        attach_product_file(
            product.pk, filename=filename, data=(FILES / filename).read_bytes(), title=title, ingest="sync"
        )


def add_sync_connection() -> None:
    """A WooCommerce connection, configured but disabled: syncing needs a real shop and its
    keys (an offline demo has neither). Staff enter the shop's URL and keys, enable it, and
    use "Sync now" or wait for its schedule."""
    CatalogConnection.objects.get_or_create(
        name="Loja WooCommerce (exemplo)",
        defaults={
            "platform": "woocommerce",
            "base_url": "https://loja.example.com.br",
            "credential_name": "woocommerce-demo",
            "is_enabled": False,
            "sync_every_minutes": 60,
        },
    )
