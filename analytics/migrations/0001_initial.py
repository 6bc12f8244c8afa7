from decimal import Decimal

from django.db import migrations, models

# A row of a day that may already be rolled up (older than two days) marks its UTC day
# stale, in the writer's transaction. The row lock of ON CONFLICT DO UPDATE makes a refresh
# that consumes the mark wait for the writer's commit, so it recomputes with the change.
# Recent rows are never marked: their days are not rolled up yet (see analytics.services).
# Names are unqualified: a spare store schema is renamed when a store claims it.
MARK_FUNCTION = """
CREATE FUNCTION analytics_mark_stale_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.{column} < now() - interval '2 days' THEN
        INSERT INTO analytics_staleday (day) VALUES ((OLD.{column} AT TIME ZONE 'UTC')::date)
        ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.{column} < now() - interval '2 days' THEN
        INSERT INTO analytics_staleday (day) VALUES ((NEW.{column} AT TIME ZONE 'UTC')::date)
        ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_stale AFTER INSERT OR DELETE OR UPDATE OF {watched} ON {table}
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_stale_{name}();
"""
DROP_FUNCTION = "DROP TRIGGER IF EXISTS analytics_mark_stale ON {table}; DROP FUNCTION IF EXISTS analytics_mark_stale_{name}();"

WATCHED = [
    ("message", "channels_message", "created_at", "created_at, conversation_id, direction, status"),
    ("usage", "agents_tokenusage", "at", "at, agent_id, provider, model, prompt_tokens, completion_tokens, cost"),
]


def triggers():
    return [
        migrations.RunSQL(
            MARK_FUNCTION.format(name=name, table=table, column=column, watched=watched),
            DROP_FUNCTION.format(name=name, table=table),
        )
        for name, table, column, watched in WATCHED
    ]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("channels", "0003_event_webhooks"),
        ("agents", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConversationDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("conversation_id", models.BigIntegerField()),
                ("messages_in", models.PositiveIntegerField()),
                ("messages_out", models.PositiveIntegerField()),
                ("first_in", models.DateTimeField(null=True)),
                ("first_out", models.DateTimeField(null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("day", "conversation_id"), name="analytics_conversation_day")
                ],
            },
        ),
        migrations.CreateModel(
            name="UsageDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(db_index=True)),
                ("agent_id", models.BigIntegerField(null=True)),
                ("provider", models.CharField(max_length=40)),
                ("model", models.CharField(blank=True, max_length=120)),
                ("calls", models.PositiveIntegerField()),
                ("prompt_tokens", models.BigIntegerField()),
                ("completion_tokens", models.BigIntegerField()),
                ("cost", models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=16)),
            ],
        ),
        migrations.CreateModel(
            name="StaleDay",
            fields=[("day", models.DateField(primary_key=True, serialize=False))],
        ),
        migrations.CreateModel(
            name="RollupState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("zone", models.CharField(max_length=64)),
                ("rolled_through", models.DateField(null=True)),
            ],
        ),
        *triggers(),
    ]
