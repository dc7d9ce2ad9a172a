"""One training record per person, course and day (a duplicate could come from two clerks
recording at once). Duplicates already stored are folded into the oldest first."""

from django.conf import settings
from django.db import migrations, models


def fold_duplicates(apps, schema_editor):
    TrainingRecord = apps.get_model("regions", "TrainingRecord")
    seen, extra = set(), []
    rows = TrainingRecord.objects.order_by("id").values_list(
        "id", "user_id", "trained_on", "course"
    )
    for pk, *key in rows:
        if tuple(key) in seen:
            extra.append(pk)
        seen.add(tuple(key))
    TrainingRecord.objects.filter(pk__in=extra).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0002_training_and_upper_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(fold_duplicates, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="trainingrecord",
            name="regions_training_user",
        ),
        migrations.AddConstraint(
            model_name="trainingrecord",
            constraint=models.UniqueConstraint(
                fields=("user", "trained_on", "course"), name="regions_training_once"
            ),
        ),
    ]
