"""Township rectification plans (整改方案) and the rule that a long-term entry (重点难点) has a
planned year. An entry stored before the rule without one (the forms always asked for it; the
admin or a script may not have) gets its deadline's year, else the year after it was opened,
so that the constraint can be added; the plan page shows the year for the township to
correct."""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import ExtractYear


def give_long_term_entries_a_year(apps, schema_editor):
    LedgerEntry = apps.get_model("rectification", "LedgerEntry")
    missing = LedgerEntry.objects.filter(problem_class="hard", target_year__isnull=True)
    missing.filter(deadline__isnull=False).update(target_year=ExtractYear("deadline"))
    missing.filter(deadline__isnull=True).update(
        target_year=ExtractYear("created_at", tzinfo=datetime.timezone.utc) + 1
    )


class Migration(migrations.Migration):

    dependencies = [
        ('rectification', '0005_entries_from_public_reports'),
        ('regions', '0002_training_and_upper_roles'),
        ('surveys', '0006_inspection_village_from_toilet'),
        ('toilets', '0002_toilet_cutoff_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PlanLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, verbose_name='时间')),
                ('action', models.CharField(max_length=12, verbose_name='操作')),
                ('from_state', models.CharField(blank=True, choices=[('draft', '草稿'), ('submitted', '已报备'), ('accepted', '已备案'), ('returned', '已退回')], max_length=10, verbose_name='原状态')),
                ('to_state', models.CharField(choices=[('draft', '草稿'), ('submitted', '已报备'), ('accepted', '已备案'), ('returned', '已退回')], max_length=10, verbose_name='新状态')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='说明')),
                ('snapshot', models.JSONField(blank=True, default=dict, verbose_name='报备内容')),
            ],
            options={
                'verbose_name': '整改方案记录',
                'verbose_name_plural': '整改方案记录',
                'ordering': ['at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='RectificationPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('draft', '草稿'), ('submitted', '已报备'), ('accepted', '已备案'), ('returned', '已退回')], default='draft', max_length=10, verbose_name='状态')),
                ('focus', models.TextField(blank=True, verbose_name='整改重点')),
                ('tech_route', models.TextField(blank=True, verbose_name='技术路线')),
                ('organization', models.TextField(blank=True, verbose_name='力量组织')),
                ('funding', models.TextField(blank=True, verbose_name='经费保障')),
                ('timeline', models.TextField(blank=True, verbose_name='时限要求')),
                ('version', models.PositiveIntegerField(default=1, editable=False)),
                ('submissions', models.PositiveSmallIntegerField(default=0, verbose_name='报备次数')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('submitted_at', models.DateTimeField(blank=True, null=True, verbose_name='报备时间')),
                ('reviewed_at', models.DateTimeField(blank=True, null=True, verbose_name='审核时间')),
                ('return_reason', models.CharField(blank=True, max_length=300, verbose_name='退回原因')),
            ],
            options={
                'verbose_name': '整改方案',
                'verbose_name_plural': '整改方案',
                'ordering': ['township__code', '-survey_round__start_date', '-id'],
            },
        ),
        migrations.RunPython(give_long_term_entries_a_year, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('problem_class', 'hard'), _negated=True), ('target_year__isnull', False), _connector='OR'), name='rectification_ledgerentry_long_term_has_year'),
        ),
        migrations.AddField(
            model_name='planlog',
            name='actor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='created_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='制定人'),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='entries',
            field=models.ManyToManyField(blank=True, related_name='plans', to='rectification.ledgerentry', verbose_name='纳入的问题'),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人'),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='submitted_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='报备人'),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='survey_round',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='surveys.surveyround', verbose_name='轮次'),
        ),
        migrations.AddField(
            model_name='rectificationplan',
            name='township',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region', verbose_name='乡镇'),
        ),
        migrations.AddField(
            model_name='planlog',
            name='plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='log', to='rectification.rectificationplan'),
        ),
        migrations.AddConstraint(
            model_name='rectificationplan',
            constraint=models.UniqueConstraint(fields=('survey_round', 'township'), name='rectification_rectificationplan_one_per_round'),
        ),
        migrations.AddConstraint(
            model_name='rectificationplan',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['draft']), models.Q(('submitted_at__isnull', False), ('submitted_by__isnull', False)), _connector='OR'), name='rectification_rectificationplan_submitted_stamped'),
        ),
        migrations.AddConstraint(
            model_name='rectificationplan',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('state__in', ['accepted', 'returned']), _negated=True), models.Q(('reviewed_at__isnull', False), ('reviewed_by__isnull', False)), _connector='OR'), name='rectification_rectificationplan_reviewed_stamped'),
        ),
        migrations.AddConstraint(
            model_name='rectificationplan',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'returned'), _negated=True), models.Q(('return_reason', ''), _negated=True), _connector='OR'), name='rectification_rectificationplan_returned_has_reason'),
        ),
    ]
