"""The demo store's audit log fills itself the way a real store's does: the owner's changes
through the services (as if made in the console) and the agent handing a customer over."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from audit.context import Actor, acting_as
from audit.models import ActorKind, AuditEntry

DEMO_CONTACT = "web-demo-handoff"
DEMO_KEY_NAME = "Storefront (demo)"
DEMO_TAG = "pointe-fitting"


def populate(tenant) -> int:
    """Idempotent: each step runs only while its trace is missing. Returns entries written."""
    before = AuditEntry.objects.count()
    owner = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    if owner is not None:
        with acting_as(Actor(ActorKind.USER, str(owner.pk), owner.get_username(), "admin")):
            _owner_changes(tenant)
    _agent_handoff()
    return AuditEntry.objects.count() - before


def _owner_changes(tenant) -> None:
    from leads.models import Lead
    from leads.services import set_tags
    from tenants.api_keys import create_api_key
    from tenants.models import ApiKey

    if not ApiKey.objects.filter(tenant=tenant, name=DEMO_KEY_NAME).exists():
        create_api_key(tenant, DEMO_KEY_NAME, ["app"])  # the secret is thrown away: a sample row
    lead = Lead.objects.order_by("pk").first()
    if lead is not None and DEMO_TAG not in (lead.tags or []):
        set_tags(lead.pk, [*(lead.tags or []), DEMO_TAG])


def _agent_handoff() -> None:
    """A web-chat customer asks for a person; the demo agent (offline responder) hands off."""
    from channels import services as channels
    from channels.inbound import InboundMessage
    from channels.models import Channel, ChannelKind, Conversation

    channel = Channel.objects.filter(kind=ChannelKind.API).order_by("pk").first()
    if channel is None or Conversation.objects.filter(channel=channel, contact_id=DEMO_CONTACT).exists():
        return
    message = channels.record_inbound(
        channel,
        InboundMessage(provider_message_id="web-demo-handoff-1", contact_id=DEMO_CONTACT,
                       contact_name="Carla Dias", text="Quero falar com um atendente, por favor."),
        start_turn=False,
    ).message
    turn = channels.close_burst(message.conversation_id, message.pk)
    if turn is not None:
        channels.run_turn(turn.pk)
