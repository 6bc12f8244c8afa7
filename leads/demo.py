"""Demo leads (idempotent: identities decide whether a lead already exists)."""

from __future__ import annotations

from leads import services
from leads.models import EventKind, IdentityKind, Lead, Stage

DEMO_LEADS = [
    # (identity kind, value, name, email, stage, tags)
    (
        IdentityKind.WHATSAPP,
        "5511988887777",
        "Ana Souza",
        "ana.souza@example.com",
        Stage.CUSTOMER,
        ["ballet", "vip"],
    ),
    (IdentityKind.WHATSAPP, "5521977776666", "Bruno Lima", "", Stage.ENGAGED, ["jazz"]),
    (
        IdentityKind.CHATWOOT,
        "contact-1042",
        "Carla Méndez",
        "carla@example.com",
        Stage.QUALIFIED,
        [],
    ),
    (IdentityKind.EMAIL, "diego@example.com", "Diego Rocha", "", Stage.NEW, []),
]


def populate() -> list[Lead]:
    leads = []
    for kind, value, name, email, stage, tags in DEMO_LEADS:
        lead = services.ensure_lead(kind, value, name=name, email=email or None)
        if not lead.events.exists():
            services.record_event(
                lead.pk,
                EventKind.MESSAGE,
                {"direction": "in", "text": f"Olá, sou {name.split()[0]}!"},
            )
            services.set_tags(lead.pk, tags)
            services.change_stage(lead.pk, stage, by="demo")
            services.refresh_profile(lead.pk)
        leads.append(lead)
    return leads
