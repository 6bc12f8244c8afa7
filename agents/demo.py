"""The demo store's agents (idempotent): the default Sales agent on the offline responder,
a Support agent that retrieves knowledge up front, a Leads agent collecting a contact form,
the models catalog, an example of the store's own HTTP tool (off until pointed at a real
system), and one rated playground reply so the ratings show in the admin."""

from __future__ import annotations

from decimal import Decimal

from agents import services
from agents.models import Agent, AgentRun, HttpTool, KnowledgePolicy, ModelPrice, ProviderKind, ReplyRating
from agents.turns import ConversationMessage, TurnRequest

DEMO_AGENT_NAME = "Sales"
DEMO_SUPPORT_NAME = "Support (knowledge up front)"
DEMO_LEADS_NAME = "Leads"
DEMO_RATER = "staff:demo"

# The models the demo store's agents may use, with context size and list prices (USD per
# million tokens); token usage costs come from here.
DEMO_MODELS = (
    (ProviderKind.OPENAI, "gpt-4o-mini", 128_000, "0.15", "0.60"),
    (ProviderKind.OPENAI, "deepseek-chat", 64_000, "0.27", "1.10"),
    (ProviderKind.OLLAMA, "llama3.1", 128_000, "0", "0"),
)


def populate() -> Agent:
    """The demo's agents and their extras; returns the default Sales agent. Things staff
    changed or deleted after the first run are left as they are."""
    from knowledge.models import Collection

    agent = Agent.objects.filter(name=DEMO_AGENT_NAME).first()
    if agent is None:
        agent = services.create_agent_from_template(
            "sales", name=DEMO_AGENT_NAME, make_default=not Agent.objects.filter(is_default=True).exists()
        )
        # Explicitly all of the demo's collections, so staff see what it reads.
        agent.knowledge_collections.set(Collection.objects.all())
    if not Agent.objects.filter(name=DEMO_SUPPORT_NAME).exists():
        support = services.create_agent_from_template("support", name=DEMO_SUPPORT_NAME)
        services.update_agent(support.pk, knowledge_policy=KnowledgePolicy.UP_FRONT,
                              knowledge_collections=list(Collection.objects.values_list("pk", flat=True)))
    if not Agent.objects.filter(name=DEMO_LEADS_NAME).exists():
        services.create_agent_from_template("leads", name=DEMO_LEADS_NAME)
    if not ModelPrice.objects.exists():
        for provider, model, context, prompt, completion in DEMO_MODELS:
            services.add_model(provider, model, context_window=context, prompt_price_per_million=Decimal(prompt),
                               completion_price_per_million=Decimal(completion))
    HttpTool.objects.get_or_create(
        name="shipping_quote",
        defaults={
            "description": "Shipping price and days from the carrier, by the customer's CEP.",
            "kind": "http", "method": "GET", "url": "https://frete.example.com/quote", "writes": False,
            "is_active": False,
            "parameters": {"type": "object", "properties": {"cep": {"type": "string", "pattern": "^[0-9]{8}$"}},
                           "required": ["cep"], "additionalProperties": False},
        },
    )
    _rated_demo_reply(agent)
    return agent


def _rated_demo_reply(agent: Agent) -> None:
    """One playground reply of the Sales agent, rated good, so ratings show per agent."""
    if ReplyRating.objects.filter(rated_by=DEMO_RATER).exists():
        return
    question = "Qual é o prazo para trocar de tamanho?"
    run = AgentRun.objects.filter(agent=agent, channel="playground", question=question).first()
    if run is None:
        services.run_turn(
            TurnRequest(conversation_id=0, channel="playground", messages=(ConversationMessage("customer", question),),
                        agent_id=agent.pk),
            dry_run=True,
        )
        run = AgentRun.objects.filter(agent=agent, channel="playground").order_by("-pk").first()
    services.rate_reply(run.pk, "good", comment="Quoted the exchange policy with its source.", by=DEMO_RATER)
