from django.db import migrations


class Migration(migrations.Migration):
    """pgvector lives once in the public schema; store tables find the type via search_path."""

    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
