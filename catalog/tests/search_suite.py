"""The search quality suite: real customer queries and the product each must return
first, on the demo dance-wear catalog (a Portuguese store) and a small Spanish store.
Shared by the search tests (every query must pass) and ``benchmarks/catalog_search.py``
(hit@1/hit@5 and latency)."""

from __future__ import annotations

PORTUGUESE_QUERIES: list[tuple[str, str]] = [
    ("sapatilha de ponta 36", "SP-CLASS-36"),
    ("sapatilha de ponta", "SP-CLASS"),
    ("Sapatilha de ponta clássica tamanho 38", "SP-CLASS-38"),
    ("sapatilhas de ponta", "SP-CLASS"),  # plural, stemming
    ("sapatila de pnta", "SP-CLASS"),  # typos
    ("sapatilha meia ponta", "SMP-COURO"),
    ("zapatillas de punta", "SP-CLASS"),  # a Spanish-speaking customer, via synonyms
    ("colant manga longa", "COL-ML"),  # typo
    ("malha de manga longa", "COL-ML"),  # synonym
    ("meia calca", "MEIA-PE"),  # no hyphen, no cedilla
    ("can can com pé", "MEIA-PE"),  # multi-word synonym
    ("polainas", "POL-LA"),
    ("protetor de silicone pra ponta do pé", "PONT-SIL"),
    ("SP-PRO", "SP-PRO"),  # an exact SKU
    ("grishko", "SP-PRO"),
]

SPANISH_QUERIES: list[tuple[str, str]] = [
    ("zapatillas de punta", "ZP-CL"),
    ("zapatilla de punta talle 36", "ZP-CL"),
    ("zapatilas de punta", "ZP-CL"),  # typo
    ("zapatillas punta clasicas", "ZP-CL"),  # no accent
    ("media punta", "ZMP-CU"),
    ("mallas negras", "LEO-TI"),  # synonym
    ("malla", "LEO-TI"),  # typo of a synonym
    ("can can rosa", "MED-BA"),  # multi-word synonym
    ("faldas", "FAL-GA"),  # plural, Spanish stemming
]


def build_spanish_store() -> None:
    """The Spanish store's catalog, profile and synonyms, in the current schema."""
    from catalog.models import Synonym
    from catalog.selectors import get_store_profile
    from catalog.tests.factories import category, product

    profile = get_store_profile()
    profile.language, profile.currency = "es", "ARS"
    profile.save()
    zapatillas = category("Zapatillas")
    ropa = category("Ropa")
    product("ZP-CL", "Zapatillas de Punta Clásicas", price="95000", currency="ARS", category=zapatillas,
            description="Zapatillas de punta de raso rosa con caja dura.")
    product("ZMP-CU", "Media Punta de Cuero", price="32000", currency="ARS", category=zapatillas,
            description="Zapatillas de media punta de cuero con suela partida.")
    product("LEO-TI", "Leotardo de Tirantes Negro", price="28000", currency="ARS", category=ropa)
    product("MED-BA", "Medias de Ballet Rosadas", price="12000", currency="ARS", category=ropa, stock=0)
    product("FAL-GA", "Falda de Gasa", price="18000", currency="ARS", category=ropa)
    Synonym.objects.create(term="Mallas", equivalents=["leotardo"])
    Synonym.objects.create(term="can can", equivalents=["medias"])
