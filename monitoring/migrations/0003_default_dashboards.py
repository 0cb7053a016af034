from django.db import migrations

from monitoring.dashboards.defaults import dashboards_install


def install(apps, schema_editor):
    dashboards_install(apps.get_model("monitoring", "Dashboard"), apps.get_model("monitoring", "Widget"))


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_dashboards")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
