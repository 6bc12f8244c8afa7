from __future__ import annotations

from channels import demo, services
from channels.models import Channel, Conversation, InboundEvent, Message, MessageTemplate
from leads import demo as leads_demo
from tenants import services as tenant_services


def test_the_demo_channels_and_conversation_are_created_once(store):
    leads_demo.populate()

    first = demo.populate()
    again = demo.populate()

    assert [c.pk for c in first] == [c.pk for c in again]
    assert sorted(Channel.objects.values_list("kind", flat=True)) == ["api", "whatsapp"]
    conversation = Conversation.objects.get(contact_id="5511988887777")
    assert conversation.lead.name == "Ana Souza"
    assert Message.objects.filter(conversation=conversation).count() == 2
    route = tenant_services.route_for_provider_account("whatsapp", demo.DEMO_PHONE_NUMBER_ID)
    assert route.tenant.pk == store.pk
    # Meta's deliveries came through the inbox, each processed once.
    assert sorted(InboundEvent.objects.values_list("provider", "processed")) == [
        ("whatsapp", True), ("whatsapp_business", True)]
    bruno = Conversation.objects.get(contact_id="5519977776666")
    assert (bruno.contact_name, bruno.lead.name) == ("Bruno Lima", "Bruno Lima")
    assert bruno.messages.get().text == "Boa tarde! Qual o prazo de entrega para Campinas?"
    assert sorted(MessageTemplate.objects.values_list("name", "status", "status_reason")) == [
        ("black_friday", "PENDING", ""), ("cupom_volta", "REJECTED", "INCORRECT_CATEGORY"),
        ("pedido_pronto", "APPROVED", "")]
    assert services.budget_state().monthly_tokens == demo.DEMO_MONTHLY_TOKENS


def test_the_demo_store_can_send_its_approved_template_to_ana(store):
    leads_demo.populate()
    whatsapp = next(c for c in demo.populate() if c.kind == "whatsapp")

    message = services.send_to_contact(whatsapp.pk, "5511988887777", template=services.TemplateCall(
        "pedido_pronto", "pt_BR", [{"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                                                   {"type": "text", "text": "#1042"}]}]))

    assert message.text == "Olá Ana, seu pedido #1042 está pronto para retirada na loja!"
