import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import DailyUserStats
from mysetlist.users.models import User
from predictions.models import ChurnModel, FanEngagement
from tests.predictions.test_engagement import synthetic_fans

pytestmark = pytest.mark.django_db


def store(rows, today):
    shift = timezone.localdate() - today
    users = User.objects.bulk_create(
        [User(username=f"fan-{n}", email=f"fan-{n}@example.com") for n in range(300)]
    )
    ids = [u.pk for u in users]
    DailyUserStats.objects.bulk_create(
        [
            DailyUserStats(
                day=r.day + shift, person=f"u:{ids[r.user_id]}", events=r.events,
                pageviews=r.pageviews, votes=r.votes,
            )
            for r in rows
        ]
        + [DailyUserStats(day=timezone.localdate(), person="a:browser", events=5, pageviews=5,
                          votes=0)]
    )  # fmt: skip
    return ids


def test_fit_engagement_prints_the_auc_and_scores_active_fans(capsys):
    ids = store(synthetic_fans(), datetime.date(2026, 6, 1))
    call_command("fit_engagement")
    model = ChurnModel.objects.get()
    out = capsys.readouterr().out
    assert f"AUC {model.auc:.3f}" in out and model.auc > 0.8
    assert model.evaluated_as_of == timezone.localdate() - datetime.timedelta(days=30)
    scored = FanEngagement.objects.all()
    assert 0 < scored.count() <= 300
    assert set(scored.values_list("user_id", flat=True)) <= set(ids)
    assert all(0 <= f.churn_risk <= 1 and 0 < f.engagement <= 100 for f in scored)
    # A second run replaces the scores, never duplicates them.
    call_command("fit_engagement")
    assert FanEngagement.objects.count() == scored.count()
    assert ChurnModel.objects.count() == 2


def test_fit_engagement_without_activity_is_a_clear_error():
    with pytest.raises(CommandError, match="Cannot fit the churn model: too few fans"):
        call_command("fit_engagement")
