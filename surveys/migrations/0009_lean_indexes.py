"""Fewer writes per inspection (issue 12: the ledger import's server time).

Indexes dropped where another index leads with the same column (inspection.round, .surveyor)
or nothing reads by it (the history rows' round, surveyor, verified_by); no database
foreign-key check of the history rows' user, nor of the inspection's copy of its toilet's
village (the trigger of 0006 takes it from the toilet, whose village is checked).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.schema import lean_columns


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0002_training_and_upper_roles"),
        ("surveys", "0007_spotcheck_campaigns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="historicalinspection",
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
                    model_name="historicalinspection",
                    name="round",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="surveys.surveyround",
                        verbose_name="轮次",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalinspection",
                    name="surveyor",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="摸排人",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalinspection",
                    name="verified_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="核查人",
                    ),
                ),
                migrations.AlterField(
                    model_name="inspection",
                    name="round",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inspections",
                        to="surveys.surveyround",
                        verbose_name="轮次",
                    ),
                ),
                migrations.AlterField(
                    model_name="inspection",
                    name="surveyor",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inspections",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="摸排人",
                    ),
                ),
                migrations.AlterField(
                    model_name="inspection",
                    name="village",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.region",
                        verbose_name="行政村",
                    ),
                ),
            ],
            database_operations=[
                lean_columns(
                    indexes=[
                        ("surveys_historicalinspection", "round_id"),
                        ("surveys_historicalinspection", "surveyor_id"),
                        ("surveys_historicalinspection", "verified_by_id"),
                        ("surveys_inspection", "round_id"),
                        ("surveys_inspection", "surveyor_id"),
                    ],
                    foreign_keys=[
                        ("surveys_historicalinspection", "history_user_id"),
                        ("surveys_inspection", "village_id"),
                    ],
                )
            ],
        ),
    ]
