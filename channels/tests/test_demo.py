from __future__ import annotations

from channels import demo
from channels.models import Channel, Conversation, Message
from leads import demo as leads_demo
from tenants import services as tenant_services


def test_the_demo_channels_and_conversation_are_created_once(store):
    leads_demo.populate()

    first = demo.populate()
    again = demo.populate()

    assert [c.pk for c in first] == [c.pk for c in again]
    assert sorted(Channel.objects.values_list("kind", flat=True)) == ["api", "whatsapp"]
    conversation = Conversation.objects.get()
    assert conversation.lead.name == "Ana Souza"
    assert Message.objects.filter(conversation=conversation).count() == 2
    route = tenant_services.route_for_provider_account("whatsapp", demo.DEMO_PHONE_NUMBER_ID)
    assert route.tenant.pk == store.pk
