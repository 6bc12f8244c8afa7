from django.db import migrations

# The dashboard filters these columns by range; without an index each range reads the
# whole table (a year of leads, orders and conversations for a 30-day dashboard). They are
# created here, next to the queries that need them, rather than in the owning apps' models.
# Unqualified names: a spare store schema is renamed when a store claims it.
INDEXES = [
    ("analytics_lead_created_at", "leads_lead (created_at)"),
    ("analytics_order_paid_at", "orders_order (paid_at) WHERE paid_at IS NOT NULL"),
    ("analytics_conversation_handoff_at", "channels_conversation (handoff_at) WHERE handoff_at IS NOT NULL"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("leads", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} ON {target}", f"DROP INDEX IF EXISTS {name}")
        for name, target in INDEXES
    ]
