from django.core.management.base import BaseCommand, CommandError

from mysetlist.core.exceptions import ApplicationError
from predictions import services


class Command(BaseCommand):
    help = (
        "Fit the churn model on the fans' daily activity (fitted as of 60 days ago, evaluated "
        "by AUC as of 30 days ago, whose next 30 days are known), store it, and score every "
        "fan active in the last 90 days: engagement 0-100 and churn risk, shown in admin."
    )

    def handle(self, *args, **options):
        try:
            model = services.engagement_refresh()
        except ApplicationError as error:
            raise CommandError(error.message) from error
        auc = f"{model.auc:.3f}" if model.auc is not None else "n/a (one outcome only)"
        self.stdout.write(
            f"Churn model fitted as of {model.fitted_as_of} on {model.fitted_users} fans; "
            f"AUC {auc} as of {model.evaluated_as_of} on {model.evaluated_users} fans "
            f"({model.churn_rate:.0%} churned within {model.horizon_days} days)."
        )
        weights = sorted(model.weights.items(), key=lambda item: -abs(item[1]))
        self.stdout.write(
            "Weights (+ raises the risk): "
            + ", ".join(f"{name} {weight:+.2f}" for name, weight in weights)
        )
