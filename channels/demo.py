"""Demo channels (idempotent): the API/web channel, a WhatsApp channel pointing at a local
Graph API base URL with its message templates (one approved, one pending), one sample
conversation with the demo lead Ana, and the store's monthly token budget."""

from __future__ import annotations

from django.utils import timezone

from channels import services
from channels.models import (
    Channel,
    ChannelKind,
    Conversation,
    Direction,
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
]


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
    budget = services.store_budget()
    if not budget.monthly_tokens:
        services.set_monthly_tokens(DEMO_MONTHLY_TOKENS)
    return [c for c in (web, whatsapp) if c is not None]
