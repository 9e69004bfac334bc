from django.db import migrations


def create_heads(apps, schema_editor):
    ChainHead = apps.get_model("core", "ChainHead")
    for chain in ("audit", "access"):
        ChainHead.objects.get_or_create(chain=chain)


class Migration(migrations.Migration):
    """Create the head row of each log chain up front, so that concurrent first appends
    lock an existing row instead of racing to insert it."""

    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create_heads, migrations.RunPython.noop)]
