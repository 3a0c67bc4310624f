"""The metric layer takes over its bookkeeping models from the dashboard app.

The tables already exist (created by dashboard 0001 under their dashboard_* names); this
migration only moves the models' state.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("dashboard", "0003_closed_event_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ViewRefresh',
                    fields=[
                        ('view_name', models.CharField(max_length=63, primary_key=True, serialize=False)),
                        ('refreshed_at', models.DateTimeField()),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                    ],
                    options={'db_table': 'dashboard_viewrefresh'},
                ),
                migrations.CreateModel(
                    name='DirtyDay',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('view_name', models.CharField(max_length=63)),
                        ('day', models.DateField()),
                        ('marked_at', models.DateTimeField(auto_now_add=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.organization')),
                    ],
                    options={
                        'db_table': 'dashboard_dirtyday',
                        'indexes': [models.Index(fields=['organization', 'view_name', 'day'], name='dirtyday_org_view_day')],
                    },
                ),
                migrations.CreateModel(
                    name='UserStatisticsDaily',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField()),
                        ('revenue_cents', models.BigIntegerField(default=0)),
                        ('orders', models.IntegerField(default=0)),
                        ('quotes_won', models.IntegerField(default=0)),
                        ('quotes_lost', models.IntegerField(default=0)),
                        ('activities', models.IntegerField(default=0)),
                        ('jobs_completed', models.IntegerField(default=0)),
                        ('kwh_installed', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                        ('labor_hours', models.DecimalField(decimal_places=2, default=0, max_digits=8)),
                        ('computed_at', models.DateTimeField(auto_now=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.organization')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='daily_statistics', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'dashboard_userstatisticsdaily',
                        'indexes': [models.Index(fields=['organization', 'date'], name='userstats_org_date')],
                        'constraints': [models.UniqueConstraint(fields=('user', 'date'), name='userstats_user_date_unique')],
                    },
                ),
            ],
        ),
    ]
