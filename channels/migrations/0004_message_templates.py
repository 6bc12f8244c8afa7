import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("channels", "0003_event_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="template",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="MessageTemplate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=512)),
                ("language", models.CharField(max_length=20)),
                ("category", models.CharField(blank=True, max_length=30)),
                ("status", models.CharField(max_length=30)),
                ("components", models.JSONField(blank=True, default=list)),
                ("provider_template_id", models.CharField(blank=True, max_length=64)),
                ("synced_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("channel", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="templates", to="channels.channel")),
            ],
            options={"ordering": ["name", "language"]},
        ),
        migrations.AddConstraint(
            model_name="messagetemplate",
            constraint=models.UniqueConstraint(fields=("channel", "name", "language"),
                                               name="template_unique_per_channel"),
        ),
    ]
