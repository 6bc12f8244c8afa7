from django.db import migrations, models


def pending_turns_were_dispatched(apps, schema_editor):
    # Turns created before the scheduler had their task enqueued at creation.
    ConversationTurn = apps.get_model("channels", "ConversationTurn")
    ConversationTurn.objects.filter(dispatched_at__isnull=True).update(dispatched_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("channels", "0004_message_templates"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversationturn",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(pending_turns_were_dispatched, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="conversationturn",
            index=models.Index(fields=["status", "dispatched_at"], name="turn_status_dispatched"),
        ),
        migrations.CreateModel(
            name="TokenBudget",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("monthly_tokens", models.PositiveBigIntegerField(
                    default=0, help_text="Prompt + completion tokens per calendar month (UTC). 0: no budget.")),
                ("exceeded_month", models.DateField(blank=True, null=True)),
                ("exceeded_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"verbose_name": "token budget"},
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.CharField(choices=[
                ("message.received", "message.received"), ("message.sent", "message.sent"),
                ("message.failed", "message.failed"), ("conversation.handoff", "conversation.handoff"),
                ("lead.created", "lead.created"), ("order.created", "order.created"), ("order.paid", "order.paid"),
                ("order.status_changed", "order.status_changed"), ("stock.changed", "stock.changed"),
                ("budget.exceeded", "budget.exceeded"),
            ], max_length=40),
        ),
    ]
