from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from experiments import selectors, services
from experiments.models import Result
from experiments.results import selectors as results_selectors
from experiments.results import services as results_services
from experiments.verdict import verdict
from mysetlist.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Run experiments from a shell, through the same services as the admin and the API: "
        "list them, show one, start, stop, conclude, kill (or lift the kill switch), change "
        "the variants' weights (a running experiment needs --new-phase and --reason), and "
        "compute the results with their verdict."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("list", help="Every experiment with its status.")
        for name, text in (
            ("show", "An experiment's set-up, phases and exposures."),
            ("start", "Run a draft, or resume a stopped experiment."),
            ("stop", "Stop a running experiment: everyone sees the control."),
            ("kill", "The kill switch: everyone sees the control at once."),
            ("results", "Compute the results now and print the verdict."),
        ):
            action = actions.add_parser(name, help=text)
            action.add_argument("key")
            if name in ("start", "stop"):
                action.add_argument("--note", default="")
            if name == "kill":
                action.add_argument("--lift", action="store_true", help="Lift the kill switch.")
        conclude = actions.add_parser("conclude", help="Conclude for good, with a winner or not.")
        conclude.add_argument("key")
        conclude.add_argument("--winner", default="", help="The winning variant's key.")
        conclude.add_argument("--conclusion", default="")
        weights = actions.add_parser(
            "variants", help="Set the variants and weights, e.g. control=0.5 b=0.5."
        )
        weights.add_argument("key")
        weights.add_argument("split", nargs="+", metavar="VARIANT=WEIGHT")
        weights.add_argument("--new-phase", action="store_true")
        weights.add_argument("--reason", default="")

    def handle(self, *args, action, **options):
        try:
            if action == "list":
                return self._list()
            experiment = selectors.experiment_get(key=options["key"])
            getattr(self, f"_{action}")(experiment, options)
        except ApplicationError as error:
            raise CommandError(_error_text(error)) from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None

    def _list(self):
        for experiment in selectors.experiment_list().order_by("key"):
            killed = " (killed)" if experiment.killed_at else ""
            self.stdout.write(f"{experiment.key}\t{experiment.status}{killed}\t{experiment.name}")

    def _show(self, experiment, options):
        self.stdout.write(f"{experiment.key}: {experiment.name} ({experiment.status})")
        for variant in experiment.variants.all():
            self.stdout.write(f"  variant {variant.key}: weight {variant.weight}")
        for phase in experiment.phases.all():
            ended = phase.ended_at.isoformat() if phase.ended_at else "now"
            self.stdout.write(
                f"  phase {phase.number}: {phase.started_at.isoformat()} to {ended}, "
                f"{phase.exposed} exposed ({phase.reason})"
            )

    def _start(self, experiment, options):
        services.experiment_start(experiment=experiment, note=options["note"])
        self.stdout.write(f"{experiment.key} is running.")

    def _stop(self, experiment, options):
        services.experiment_stop(experiment=experiment, note=options["note"])
        self.stdout.write(f"{experiment.key} is stopped: everyone sees the control.")

    def _kill(self, experiment, options):
        services.experiment_kill(experiment=experiment, on=not options["lift"])
        state = "lifted" if options["lift"] else "on: everyone sees the control"
        self.stdout.write(f"The kill switch of {experiment.key} is {state}.")

    def _conclude(self, experiment, options):
        services.experiment_conclude(
            experiment=experiment, winner=options["winner"], conclusion=options["conclusion"]
        )
        self.stdout.write(f"{experiment.key} is concluded.")

    def _variants(self, experiment, options):
        services.experiment_update(
            experiment=experiment,
            variants=_split(options["split"]),
            new_phase=options["new_phase"],
            reason=options["reason"],
        )
        self.stdout.write(f"The variants of {experiment.key} are changed.")

    def _results(self, experiment, options):
        stored = results_services.results_refresh(experiment=experiment)
        if not stored:
            raise CommandError(f"{experiment.key} has no phase or metric: nothing to compute.")
        phase = results_selectors.phase_latest(experiment=experiment)
        results = results_selectors.results_latest(experiment=experiment, phase=phase)
        primary = next((r for r in results if r.role == Result.Role.PRIMARY), None)
        said = verdict(
            primary.body if primary else None,
            alpha=experiment.alpha,
            sequential=experiment.sequential,
            mde=experiment.minimum_detectable_effect,
            power=experiment.power,
        )
        self.stdout.write(f"Results computed for {len(stored)} metrics.\n{said.text}")


def _split(pairs: list[str]) -> list[services.VariantSpec]:
    """Parse VARIANT=WEIGHT words, in order (the first is the control)."""
    specs = []
    for pair in pairs:
        key, _, weight = pair.partition("=")
        try:
            specs.append(services.VariantSpec(key=key.strip(), weight=float(weight)))
        except ValueError:
            raise CommandError(f"{pair!r} is not VARIANT=WEIGHT (say control=0.5).") from None
    return specs


def _error_text(error: ApplicationError) -> str:
    fields = error.extra.get("fields") or {}
    details = "".join(f"\n  {name}: {text}" for name, text in fields.items())
    return f"{error.message}{details}"
