from django.db import migrations


def rename_handoff(apps, schema_editor):
    """The tool ``handoff`` is now ``human_handoff`` (the issue's name); models calling the old
    name are still answered through an alias."""
    Agent = apps.get_model("agents", "Agent")
    for agent in Agent.objects.all():
        if "handoff" in (agent.enabled_tools or []):
            agent.enabled_tools = ["human_handoff" if t == "handoff" else t for t in agent.enabled_tools]
            agent.save(update_fields=["enabled_tools"])


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_knowledge_policy")]

    operations = [migrations.RunPython(rename_handoff, migrations.RunPython.noop)]
