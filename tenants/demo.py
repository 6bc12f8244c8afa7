"""What the demo store holds. Each capability adds its part here, idempotently, so the
run command always shows the whole product working. Runs inside the demo store's schema.
"""

from __future__ import annotations

from tenants.models import Tenant


def populate(tenant: Tenant) -> None:
    """Fill the demo store (idempotent: safe to run on every start)."""
    from catalog import demo as catalog_demo

    catalog_demo.populate()

    # Leads and orders (after the catalog's demo: orders need its products).
    from leads import demo as leads_demo
    from orders import demo as orders_demo

    leads_demo.populate()
    orders_demo.populate()

    from knowledge import demo as knowledge_demo

    knowledge_demo.populate()

    # Agents (last: the default Sales agent reads the catalog and knowledge above).
    from agents import demo as agents_demo

    agents_demo.populate()

    # Channels: the web channel, a WhatsApp channel on a local base URL, a sample conversation.
    from channels import demo as channels_demo

    channels_demo.populate()

    # The audit log: the owner's changes and the agent handing a web-chat customer over.
    from audit import demo as audit_demo

    audit_demo.populate(tenant)

    # The dashboard's rollups (last: they read the messages and usage above).
    from analytics import demo as analytics_demo

    analytics_demo.populate()
