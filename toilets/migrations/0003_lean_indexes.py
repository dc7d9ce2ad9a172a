"""Fewer writes per household and toilet (issue 12: the ledger import's server time).

The village's own index is dropped where another index leads with it (households: the list
index; toilets: village, kind, status), the history rows keep no index by village or
household (they are read by id and date), and their user is not checked by the database.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.schema import lean_columns


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0002_training_and_upper_roles"),
        ("toilets", "0002_toilet_cutoff_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="historicalhousehold",
                    name="history_user",
                    field=models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalhousehold",
                    name="village",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="regions.region",
                        verbose_name="行政村",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaltoilet",
                    name="history_user",
                    field=models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaltoilet",
                    name="household",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="toilets.household",
                        verbose_name="农户",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaltoilet",
                    name="village",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="regions.region",
                        verbose_name="行政村",
                    ),
                ),
                migrations.AlterField(
                    model_name="household",
                    name="village",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="households",
                        to="regions.region",
                        verbose_name="行政村",
                    ),
                ),
                migrations.AlterField(
                    model_name="toilet",
                    name="village",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="toilets",
                        to="regions.region",
                        verbose_name="行政村",
                    ),
                ),
            ],
            database_operations=[
                lean_columns(
                    indexes=[
                        ("toilets_historicalhousehold", "village_id"),
                        ("toilets_historicaltoilet", "household_id"),
                        ("toilets_historicaltoilet", "village_id"),
                        ("toilets_household", "village_id"),
                        ("toilets_toilet", "village_id"),
                    ],
                    foreign_keys=[
                        ("toilets_historicalhousehold", "history_user_id"),
                        ("toilets_historicaltoilet", "history_user_id"),
                    ],
                )
            ],
        ),
    ]
