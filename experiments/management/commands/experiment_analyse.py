import json as jsonlib
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from experiments.stats import AnalysisInputError, analyse


class Command(BaseCommand):
    help = (
        "Analyse an experiment's results brought from elsewhere: per-variant totals (users "
        "and conversions; or users, sum and sum of squares; or, for a ratio, users and the "
        "sums and sums of squares of numerator and denominator with the sum of their "
        "products) as JSON on standard input or in --input FILE. Prints every figure the "
        "results page shows, from the same code."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", type=Path, help="Read the body from this file.")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, input, json, **options):
        try:
            text = input.read_text() if input else sys.stdin.read()
        except OSError as error:
            raise CommandError(f"Cannot read {input}: {error.strerror}.") from None
        try:
            body = jsonlib.loads(text)
        except ValueError as error:
            raise CommandError(f"The input is not JSON: {error}.") from None
        try:
            result = analyse(body)
        except AnalysisInputError as error:
            lines = [f"  {field}: {message}" for field, message in error.errors.items()]
            raise CommandError("The input is not valid:\n" + "\n".join(lines)) from None
        if json:
            self.stdout.write(jsonlib.dumps(result, indent=2))
            return
        self.stdout.write(_text(result))


def _percent(value) -> str:
    return "-" if value is None else f"{value:+.2%}"


def _interval(pair) -> str:
    if not pair or None in pair:
        return "-"
    return f"[{pair[0]:+.2%}, {pair[1]:+.2%}]"


def _text(result: dict) -> str:
    srm_p = "-" if result["srm_p"] is None else f"{result['srm_p']:.4g}"
    lines = [f"Sample ratio mismatch p = {srm_p}"]
    if result.get("srm_warning"):
        lines[0] += "  WARNING: the split is not what was configured; trust nothing below."
    reasons = {item["variant"]: item["reason"] for item in result["not_enough_data"]}
    for name, figures in result["variants"].items():
        if name in reasons:
            lines.append(f"{name}: not enough data ({reasons[name]})")
            continue
        lines.append(
            f"{name}: uplift {_percent(figures['relative_uplift'])} "
            f"{_interval(figures['ci95'])}, p = {figures['p_value']:.4g}, "
            f"chance to beat control {figures['chance_to_win']:.1%}"
        )
    return "\n".join(lines)
