"""The offline responder: retrieval and rules, no generative model.

The default when a store has configured no LLM and the last link of every fallback chain.
It speaks the same protocol as a model, so it goes through the same loop and the same
tools: its first round calls ``search_knowledge`` and ``search_products`` on the
customer's words; its second round answers from what they returned — the best passage,
quoted with its source; the products with price and stock; a fact of the store's profile
— and otherwise asks for a person (``handoff``). It says what it is in every answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agents.providers.base import ChatMessage, ChatRequest, ChatResponse, ToolCall

CALL_PREFIX = "offline-"
PASSAGE_MAX_CHARS = 700
PRODUCT_SCORE_WITH_INTENT = 0.25
PRODUCT_SCORE_WITHOUT_INTENT = 0.5
WORD_OVERLAP_MIN = 0.34


def fold(text: str) -> str:
    """Lowercase without accents ("Devolução" -> "devolucao")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


STOPWORDS = set(
    ["a", "o", "as", "os", "um", "uma", "uns", "umas", "de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "por", "para", "pra", "com", "sem", "que", "qual", "quais", "e", "ou", "se", "me", "te", "voce", "voces", "vcs", "eu", "ele", "ela", "eles", "elas", "isso", "isto", "esse", "essa", "este", "esta", "tem", "ter", "sao", "ser", "como", "quando", "onde", "porque", "sobre", "mais", "muito", "muita", "pode", "posso", "gostaria", "queria", "quero", "saber", "olá", "ola", "oi", "bom", "dia", "boa", "tarde", "noite", "obrigado", "obrigada", "favor", "por", "vocês", "el", "la", "los", "las", "un", "una", "unos", "unas", "del", "al", "y", "o", "en", "con", "sin", "para", "por", "que", "cual", "cuales", "como", "cuando", "donde", "es", "son", "ser", "tiene", "tienen", "tengo", "quiero", "puedo", "saber", "hola", "gracias", "usted", "ustedes", "vos", "sobre", "mas", "muy", "the", "an", "of", "to", "in", "on", "at", "for", "with", "without", "and", "or", "is", "are", "be", "do", "does", "have", "has", "i", "you", "we", "they", "it", "this", "that", "what", "which", "how", "when", "where", "can", "could", "would", "like", "want", "know", "hello", "hi", "thanks", "please", "about", "your"]
)

PRODUCT_INTENT = set(
    ["preco", "precos", "valor", "valores", "custa", "custam", "quanto", "estoque", "disponivel", "disponiveis", "vende", "vendem", "comprar", "compra", "quero", "tamanho", "tamanhos", "numero", "cor", "cores", "produto", "produtos", "tem", "temos", "precio", "precios", "cuesta", "cuestan", "cuanto", "stock", "disponible", "venden", "comprar", "talle", "talla", "tallas", "color", "tienen", "hay", "price", "prices", "cost", "costs", "stock", "available", "buy", "sell", "size", "sizes", "colour", "color", "product", "products"]
)

PROFILE_TOPICS: list[tuple[str, set[str]]] = [
    ("returns_policy", set(["troca", "trocas", "trocar", "devolucao", "devolver", "devolucion", "devoluciones", "cambio", "cambios", "return", "returns", "refund", "exchange", "reembolso"])),
    ("shipping_policy", set(["frete", "entrega", "entregas", "envio", "envios", "enviam", "enviar", "correios", "sedex", "shipping", "delivery", "deliver", "ship", "despacho"])),
    ("payment_policy", set(["pagamento", "pagar", "pix", "cartao", "boleto", "parcela", "parcelas", "parcelar", "payment", "pay", "pago", "pagos", "tarjeta", "cuotas", "credito"])),
    ("opening_hours", set(["horario", "horarios", "abre", "abrem", "fecha", "fecham", "funcionamento", "hours", "open", "opening", "atencion"])),
    ("address", set(["endereco", "localizacao", "address", "direccion", "ubicacion", "located"])),
    ("contact_phone", set(["telefone", "contato", "ligar", "phone", "contact", "telefono", "llamar"])),
]

TEXTS: dict[str, dict[str, str]] = {
    "pt": {
        "passage": 'Encontrei isto em "{source}":\n\n"{text}"',
        "profile": "Segundo as informações da loja — {label}: {text}",
        "products": "Encontrei estes produtos no catálogo:",
        "in_stock_n": "em estoque ({n} un.)",
        "in_stock": "disponível",
        "sold_out": "esgotado",
        "footer": "\n\n(Sou o assistente automático da loja: respondo com as informações cadastradas, "
        "sem inteligência artificial generativa. Se preferir, peça e chamo uma pessoa da equipe.)",
        "handoff": "Sou o assistente automático da loja e não encontrei uma resposta segura para isso. "
        "Vou passar a conversa para uma pessoa da equipe, que te responde em breve.",
        "handoff_asked": "Claro! Vou passar a conversa para uma pessoa da equipe, que te responde em breve.",
        "returns_policy": "trocas e devoluções",
        "shipping_policy": "envio",
        "payment_policy": "pagamento",
        "opening_hours": "horário de atendimento",
        "address": "endereço",
        "contact_phone": "contato",
        "reason": "o assistente automático não encontrou resposta",
        "sorry": "Desculpe, não consegui concluir isso agora. Pode reformular a pergunta?",
    },
    "es": {
        "passage": 'Encontré esto en "{source}":\n\n"{text}"',
        "profile": "Según la información de la tienda — {label}: {text}",
        "products": "Encontré estos productos en el catálogo:",
        "in_stock_n": "en stock ({n} u.)",
        "in_stock": "disponible",
        "sold_out": "agotado",
        "footer": "\n\n(Soy el asistente automático de la tienda: respondo con la información cargada, "
        "sin inteligencia artificial generativa. Si preferís, pedilo y te paso con una persona del equipo.)",
        "handoff": "Soy el asistente automático de la tienda y no encontré una respuesta segura para eso. "
        "Te paso con una persona del equipo, que te responde en breve.",
        "handoff_asked": "¡Claro! Te paso con una persona del equipo, que te responde en breve.",
        "returns_policy": "cambios y devoluciones",
        "shipping_policy": "envíos",
        "payment_policy": "pagos",
        "opening_hours": "horario de atención",
        "address": "dirección",
        "contact_phone": "contacto",
        "reason": "el asistente automático no encontró respuesta",
        "sorry": "Perdón, no pude resolver eso ahora. ¿Podés reformular la pregunta?",
    },
    "en": {
        "passage": 'I found this in "{source}":\n\n"{text}"',
        "profile": "From the store's information — {label}: {text}",
        "products": "I found these products in the catalog:",
        "in_stock_n": "in stock ({n} left)",
        "in_stock": "available",
        "sold_out": "sold out",
        "footer": "\n\n(I am the store's automatic assistant: I answer from the store's own information, "
        "with no generative AI. If you prefer, just ask and I will bring in a person from the team.)",
        "handoff": "I am the store's automatic assistant and could not find a reliable answer to that. "
        "I am passing the conversation to a person from the team, who will answer shortly.",
        "handoff_asked": "Of course! I am passing the conversation to a person from the team, who will answer shortly.",
        "returns_policy": "returns and exchanges",
        "shipping_policy": "shipping",
        "payment_policy": "payment",
        "opening_hours": "opening hours",
        "address": "address",
        "contact_phone": "contact",
        "reason": "the automatic assistant found no answer",
        "sorry": "Sorry, I could not finish that just now. Could you rephrase your question?",
    },
}


def phrase(language: str, key: str) -> str:
    return TEXTS.get(language, TEXTS["en"])[key]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if len(w) >= 3 and w not in STOPWORDS]


def word_overlap(question: str, passage: str) -> float:
    """Share of the question's content words found in the passage (same first 5 letters,
    so "trocas" meets "troca" and "devolução" meets "devolver")."""
    asked = set(content_words(question))
    if not asked:
        return 0.0
    stems = {w[:5] for w in words(passage)}
    return sum(1 for w in asked if w[:5] in stems) / len(asked)


def format_price(price: str | None, currency: str, language: str) -> str:
    try:
        value = Decimal(price or "0")
    except InvalidOperation:
        return f"{price} {currency}"
    if currency == "BRL":
        whole, cents = f"{value:,.2f}".split(".")
        return f"R$ {whole.replace(',', '.')},{cents}"
    return f"{currency} {value:.2f}"


def cite(source: str) -> str:
    """"Returns, Returns > Size exchange" (title, then its heading path) -> "Returns > Size exchange"."""
    return re.sub(r"^(.+?), \1 > ", r"\1 > ", source)


def latest_question(messages: tuple[ChatMessage, ...]) -> str:
    """The customer's last burst: the trailing run of user messages before this turn's work."""
    tail: list[str] = []
    for message in reversed(messages):
        if message.role == "user":
            tail.append(message.content or "")
        elif tail:
            break
    return "\n".join(reversed(tail)).strip()


@dataclass(frozen=True)
class StoreFacts:
    language: str = "pt"
    facts: tuple[tuple[str, str], ...] = ()  # (profile field, text)


class OfflineResponder:
    name = "offline"
    model = "retrieval-rules"

    def __init__(self, *, store: StoreFacts, min_similarity: float = 0.86):
        self.store = store
        self.min_similarity = min_similarity

    def chat(self, request: ChatRequest) -> ChatResponse:
        language = self.store.language
        available = {t["function"]["name"] for t in request.tools}
        question = latest_question(request.messages)
        results = self._own_results(request.messages)

        if not results and question:
            calls = []
            if "search_knowledge" in available and len(question) >= 2:
                calls.append(ToolCall(f"{CALL_PREFIX}knowledge", "search_knowledge", json.dumps({"query": question, "top_k": 3}, ensure_ascii=False)))
            if "search_products" in available:
                calls.append(ToolCall(f"{CALL_PREFIX}products", "search_products", json.dumps({"query": question, "limit": 3}, ensure_ascii=False)))
            if calls:
                return self._response(None, tuple(calls), finish_reason="tool_calls")

        answer, sources = self._answer(question, results, language)
        if answer:
            return self._response(answer + phrase(language, "footer"), sources=sources)
        reason = phrase(language, "reason")
        if "human_handoff" in available and "human_handoff" not in results:
            call = ToolCall(f"{CALL_PREFIX}handoff", "human_handoff", json.dumps({"reason": reason, "summary": question[:500]}, ensure_ascii=False))
            return self._response(phrase(language, "handoff"), (call,), finish_reason="tool_calls")
        return self._response(phrase(language, "handoff"), handoff_reason=reason)

    def _response(self, content, calls=(), *, finish_reason="stop", handoff_reason="", sources=()) -> ChatResponse:
        return ChatResponse(
            content=content, tool_calls=calls, model=self.model, finish_reason=finish_reason,
            handoff_reason=handoff_reason, sources=tuple(sources),
        )

    @staticmethod
    def _own_results(messages: tuple[ChatMessage, ...]) -> dict[str, Any]:
        """What its own tool calls returned this turn, by tool name."""
        out: dict[str, Any] = {}
        for message in messages:
            if message.role == "tool" and message.tool_call_id.startswith(CALL_PREFIX):
                try:
                    out[message.name] = json.loads(message.content or "{}")
                except ValueError:
                    out[message.name] = {}
        return out

    def _answer(self, question: str, results: dict[str, Any], language: str) -> tuple[str, list[str]]:
        asked = set(words(question))
        products = (results.get("search_products") or {}).get("products") or []
        passages = (results.get("search_knowledge") or {}).get("passages") or []
        intent = bool(asked & PRODUCT_INTENT)
        threshold = PRODUCT_SCORE_WITH_INTENT if intent else PRODUCT_SCORE_WITHOUT_INTENT
        # Judged by how well the words matched: a fused rank score only orders the hits.
        good_products = [
            p for p in products if (p.get("text_score", p.get("score")) or 0) >= threshold
        ]

        passage = next(
            (
                p for p in passages
                if word_overlap(question, p["text"]) >= WORD_OVERLAP_MIN
                or (p.get("similarity") or 0) >= self.min_similarity
            ),
            None,
        )
        topic = next(
            ((field, text) for field, text in self.store.facts
             for f, keys in PROFILE_TOPICS if f == field and asked & keys and text),
            None,
        )
        if intent and good_products:
            return self._products(good_products, language), []
        if passage is not None:
            # Hard-wrapped lines read as one paragraph; paragraphs stay apart.
            text = "\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", passage["text"].strip()))
            if len(text) > PASSAGE_MAX_CHARS:
                text = text[: PASSAGE_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
            source = cite(passage["source"])
            return phrase(language, "passage").format(source=source, text=text), [source]
        if topic is not None:
            field, text = topic
            return phrase(language, "profile").format(label=phrase(language, field), text=text), []
        if good_products:
            return self._products(good_products, language), []
        return "", []

    @staticmethod
    def _products(products: list[dict], language: str) -> str:
        lines = [phrase(language, "products")]
        for p in products:
            if not p.get("in_stock"):
                stock = phrase(language, "sold_out")
            elif p.get("stock") is None:
                stock = phrase(language, "in_stock")
            else:
                stock = phrase(language, "in_stock_n").format(n=p["stock"])
            lines.append(f"• {p['name']} — {format_price(p.get('price'), p.get('currency', ''), language)} — {stock}")
        return "\n".join(lines)
