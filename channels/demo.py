"""Demo channels (idempotent): the API/web channel, a WhatsApp channel pointing at a local
Graph API base URL with its message templates (one approved, one pending, one Meta
rejects), one sample conversation with the demo lead Ana, a new customer's message and a
template review arriving as Meta's webhook delivers them (through the store's inbox), and
the store's monthly token budget."""

from __future__ import annotations

from django.utils import timezone

from channels import services
from channels.models import (
    Channel,
    ChannelKind,
    Conversation,
    Direction,
    InboundEvent,
    Message,
    MessageStatus,
    MessageTemplate,
)

DEMO_PHONE_NUMBER_ID = "100000000000001"
# Nothing listens here by default: replies are recorded and fail visibly in the admin
# instead of reaching Meta. Point it at a fake Graph API (or the real one) to send.
DEMO_GRAPH_BASE_URL = "http://127.0.0.1:8089"
DEMO_BUSINESS_ACCOUNT_ID = "100000000000002"
DEMO_MONTHLY_TOKENS = 2_000_000
# As the Graph API's message_templates would report them (sync needs the real Meta).
DEMO_TEMPLATES = [
    {"name": "pedido_pronto", "language": "pt_BR", "category": "UTILITY", "status": "APPROVED",
     "components": [{"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} está pronto para retirada na loja!"}]},
    {"name": "black_friday", "language": "pt_BR", "category": "MARKETING", "status": "PENDING",
     "components": [{"type": "BODY", "text": "Black Friday: sapatilhas de ponta com até 30% off, só hoje!"}]},
    {"name": "cupom_volta", "language": "pt_BR", "category": "MARKETING", "status": "PENDING",
     "components": [{"type": "BODY", "text": "Sentimos sua falta! Use o cupom VOLTA10 e ganhe 10% off."}]},
]
DEMO_NEW_CUSTOMER = ("5519977776666", "Bruno Lima", "Boa tarde! Qual o prazo de entrega para Campinas?")


def _meta_deliveries() -> list[tuple[str, dict]]:
    """What Meta's webhook would post for the demo number: a new customer's message, and
    its review of the ``cupom_volta`` template (rejected)."""
    contact, name, text = DEMO_NEW_CUSTOMER
    when = int(timezone.now().timestamp())
    message = {"object": "whatsapp_business_account", "entry": [{"id": DEMO_BUSINESS_ACCOUNT_ID, "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "5511999990000", "phone_number_id": DEMO_PHONE_NUMBER_ID},
                  "contacts": [{"profile": {"name": name}, "wa_id": contact}],
                  "messages": [{"from": contact, "id": "wamid.DEMO-3", "timestamp": str(when), "type": "text",
                                "text": {"body": text}}]},
    }]}]}
    review = {"object": "whatsapp_business_account", "entry": [{"id": DEMO_BUSINESS_ACCOUNT_ID, "time": when, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": "REJECTED", "message_template_id": 100000000000003, "message_template_name": "cupom_volta",
                  "message_template_language": "pt_BR", "reason": "INCORRECT_CATEGORY"},
    }]}]}
    return [("whatsapp", message), ("whatsapp_business", review)]


def populate() -> list[Channel]:
    from leads.services import find_lead
    from tenants.errors import ProviderAccountTaken

    web = Channel.objects.filter(kind=ChannelKind.API).first() or services.create_channel(
        kind=ChannelKind.API, name="Web chat"
    )
    whatsapp = Channel.objects.filter(kind=ChannelKind.WHATSAPP).first()
    if whatsapp is None:
        try:
            whatsapp = services.create_channel(
                kind=ChannelKind.WHATSAPP,
                name="WhatsApp (demo)",
                config={
                    "phone_number_id": DEMO_PHONE_NUMBER_ID,
                    "access_token": "demo-token",
                    "graph_base_url": DEMO_GRAPH_BASE_URL,
                    "graph_version": "v24.0",
                    "business_account_id": DEMO_BUSINESS_ACCOUNT_ID,
                },
            )
        except ProviderAccountTaken:
            whatsapp = None  # another store on this machine already uses the demo number
    channel = whatsapp or web
    conversation, created = Conversation.objects.get_or_create(
        channel=channel,
        contact_id="5511988887777",
        defaults={"contact_name": "Ana Souza", "lead": find_lead("whatsapp", "5511988887777")},
    )
    if created:
        now = timezone.now()
        Message.objects.create(
            conversation=conversation, channel=channel, direction=Direction.IN,
            text="Oi! Vocês têm collant manga longa tamanho P?", provider_message_id="wamid.DEMO-1",
            status=MessageStatus.RECEIVED, created_at=now - timezone.timedelta(minutes=3),
        )
        Message.objects.create(
            conversation=conversation, channel=channel, direction=Direction.OUT, author="agent",
            text="Oi, Ana! Temos sim: o Collant Manga Longa em suplex, tamanho P, por R$ 99,90. "
                 "Quer que eu separe um para você?",
            provider_message_id="wamid.DEMO-2", status=MessageStatus.READ,
            created_at=now - timezone.timedelta(minutes=2), sent_at=now - timezone.timedelta(minutes=2),
            delivered_at=now - timezone.timedelta(minutes=2), read_at=now - timezone.timedelta(minutes=1),
        )
    if whatsapp is not None:
        for template in DEMO_TEMPLATES:
            MessageTemplate.objects.get_or_create(
                channel=whatsapp, name=template["name"], language=template["language"],
                defaults={k: template[k] for k in ("category", "status", "components")},
            )
        if not InboundEvent.objects.exists():
            # Through the inbox, as the webhook stores them, processed as the worker does;
            # Bruno's message then waits out its burst and the agent answers it.
            for provider, payload in _meta_deliveries():
                services.accept_delivery(whatsapp.pk, provider, payload)
            services.drain_inbox()
    budget = services.store_budget()
    if not budget.monthly_tokens:
        services.set_monthly_tokens(DEMO_MONTHLY_TOKENS)
    return [c for c in (web, whatsapp) if c is not None]
