from django.db.models import Prefetch, QuerySet

from monitoring.dashboards.models import Dashboard, Widget
from mysetlist.core.exceptions import NotFoundError


def dashboard_list() -> QuerySet[Dashboard]:
    return Dashboard.objects.all()


def dashboard_get(*, slug: str) -> Dashboard:
    """Return the dashboard with its widgets in order; NotFoundError when there is none."""
    found = (
        Dashboard.objects.prefetch_related(Prefetch("widgets", queryset=Widget.objects.all()))
        .filter(slug=slug)
        .first()
    )
    if found is None:
        raise NotFoundError(f"There is no dashboard {slug!r}.")
    return found
