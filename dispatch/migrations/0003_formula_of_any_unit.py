# A ranking formula belongs to any unit that ranks the units below it (a county, a city, the
# province): the field is renamed, the column and its values stay.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0002_work_problems"),
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="rankingformula", old_name="county", new_name="region"),
        migrations.AlterField(
            model_name="rankingformula",
            name="region",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ranking_formula",
                to="regions.region",
                verbose_name="单位",
            ),
        ),
    ]
