"""The StackFAQ fixture (public Stack Exchange FAQ threads with paraphrased queries)."""

from __future__ import annotations

import csv
import json
from functools import cache

from conftest import shared_fixture

FIXTURE = shared_fixture("knowledge", "stackfaq")


@cache
def threads() -> list[dict]:
    with open(FIXTURE / "corpus.jsonl") as fh:
        return [json.loads(line) for line in fh]


@cache
def queries() -> dict[str, str]:
    with open(FIXTURE / "queries.jsonl") as fh:
        return {q["_id"]: q["text"] for q in map(json.loads, fh)}


@cache
def qrels() -> dict[str, str]:
    """query id -> the id of the thread that answers it."""
    with open(FIXTURE / "qrels.tsv") as fh:
        return {row["query-id"]: row["corpus-id"] for row in csv.DictReader(fh, delimiter="\t")}
