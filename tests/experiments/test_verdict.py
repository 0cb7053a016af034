from experiments import stats
from experiments.verdict import guardrail_warnings, verdict


def body(control, variant, *, name="Votes", higher=True, role="primary", kind="conversion"):
    """A stored result's body of a binomial metric: (users, conversions) per arm."""
    analysis = stats.analyse(
        {
            "metric": "binomial",
            "variants": [
                {"name": "control", "users": control[0], "conversions": control[1]},
                {"name": "b", "users": variant[0], "conversions": variant[1]},
            ],
        }
    )
    return {
        "metric": {"key": "votes", "name": name, "kind": kind, "higher_is_better": higher},
        "role": role,
        "unsupported": None,
        "analysis": analysis,
        "arms": [
            {"key": "control", "users": control[0], "converted": control[1]},
            {"key": "b", "users": variant[0], "converted": variant[1]},
        ],
    }


def test_verdict_names_the_winner_with_its_fixed_horizon_figures():
    said = verdict(body((1000, 100), (1000, 150)), alpha=0.05, sequential=False)
    row = body((1000, 100), (1000, 150))["analysis"]["variants"]["b"]
    assert said.level == "win"
    assert said.text.startswith("B beats control on Votes: +50.0% (95% interval ")
    assert f"p = {row['p_value']:.3f}" in said.text or "p < 0.001" in said.text
    assert f"chance to beat control {row['chance_to_win']:.1%}" in said.text


def test_verdict_reads_the_sequential_figures_and_says_so():
    said = verdict(body((1000, 100), (1000, 150)), alpha=0.05, sequential=True)
    assert "sequential 95% interval" in said.text and "sequential p" in said.text


def test_verdict_honours_lower_is_better():
    said = verdict(body((1000, 100), (1000, 150), higher=False), alpha=0.05, sequential=False)
    assert said.level == "loss"
    assert said.text.startswith("B is worse than control on Votes: +50.0%")
    better = verdict(body((1000, 150), (1000, 100), higher=False), alpha=0.05, sequential=False)
    assert better.text.startswith("B beats control on Votes: -33.3%")
    assert better.level == "win" and "chance to beat control 100.0%" in better.text


def test_verdict_of_no_difference_says_how_many_more_users_are_needed():
    said = verdict(body((500, 50), (500, 52)), alpha=0.05, sequential=False, mde=0.1)
    needed = stats.sample_size_binomial(baseline_rate=0.1, relative_mde=0.1).per_variant
    assert said.level == "flat"
    assert said.text.startswith("No variant differs from control on Votes yet (b: +4.0%")
    assert f"about {needed - 500:,} more users per variant are needed" in said.text
    unplanned = verdict(body((500, 50), (500, 52)), alpha=0.05, sequential=False)
    assert "set the minimum detectable effect" in unplanned.text


def test_verdict_warns_of_a_sample_ratio_mismatch_first():
    said = verdict(body((1000, 100), (1300, 200)), alpha=0.05, sequential=False)
    assert said.level == "srm"
    assert said.text.startswith("Sample ratio mismatch (p < 0.001): the split is not the")


def test_verdict_says_not_enough_data_in_words():
    said = verdict(body((10, 1), (10, 2)), alpha=0.05, sequential=False)
    assert said.level == "not_enough"
    assert said.text == "Not enough data on Votes: b: Fewer than 50 users in this variant."
    assert verdict(None, alpha=0.05, sequential=True).text.startswith("Not enough data")
    unsupported = {"metric": {"name": "Per view"}, "unsupported": "Not analysed."}
    assert verdict(unsupported, alpha=0.05, sequential=True).level == "unsupported"


def test_guardrail_warnings_name_only_significantly_worse_guardrails():
    errors = body((1000, 100), (1000, 150), name="Errors", higher=False, role="guardrail")
    fine = body((1000, 100), (1000, 150), name="Shares", role="guardrail")
    primary = body((1000, 150), (1000, 100), name="Votes")
    warnings = guardrail_warnings([primary, errors, fine], alpha=0.05, sequential=False)
    assert len(warnings) == 1 and warnings[0].startswith("Guardrail Errors is worse in b: +50.0%")


NAMES = ["control", "b", "c", "d"]


def test_with_several_arms_the_verdict_reads_holm_adjusted_p_values():
    arms = [(2000, 200), (2000, 246), (2000, 205), (2000, 198)]  # b alone looks better
    analysis = stats.analyse(
        {
            "metric": "binomial",
            "variants": [
                {"name": name, "users": n, "conversions": c}
                for name, (n, c) in zip(NAMES, arms, strict=True)
            ],
        }
    )
    b = analysis["variants"]["b"]
    assert b["p_value"] < 0.05 < b["p_value_holm"]  # the case the correction decides
    three = {
        "metric": {"key": "votes", "name": "Votes", "kind": "conversion", "higher_is_better": True},
        "role": "primary",
        "analysis": analysis,
        "arms": [
            {"key": k, "users": n, "converted": c} for k, (n, c) in zip(NAMES, arms, strict=True)
        ],
    }

    said = verdict(three, alpha=0.05, sequential=False)

    assert said.level == "flat"
    assert "Holm-adjusted p = " in said.text
    assert verdict(three, alpha=0.15, sequential=False).level == "win"  # Holm p ~ 0.11
