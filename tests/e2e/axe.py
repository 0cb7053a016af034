"""axe-core in the browser tests: load the pinned copy from node_modules into the page a
Selenium driver shows, run the WCAG 2.0 and 2.1 A and AA rules, and fail with a list a
person can act on."""

import os
from functools import cache
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

# Each violation cut down to what a report needs: the rule, how bad, where, and its help page.
_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then((results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }))))
  .catch((error) => done({error: String(error)}));
"""


@cache
def axe_source() -> str:
    """Return axe.min.js; without it, skip (fail where a browser is required, as in CI)."""
    if not AXE_JS.exists():
        reason = f"{AXE_JS} is missing: run `npm ci --ignore-scripts` (make test does)"
        if os.environ.get("MYSETLIST_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(driver, tags=WCAG_AA) -> list[dict]:
    """Return axe-core's violations of `tags` on the page the driver shows now."""
    driver.set_script_timeout(60)
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    found = driver.execute_async_script(_RUN, list(tags))
    if isinstance(found, dict) and "error" in found:
        raise RuntimeError(f"axe-core failed on {driver.current_url}: {found['error']}")
    return found


def violations_report(violations: list[dict], *, where: str) -> str:
    """Return violations as lines: rule, impact, what it asks, then each element's selector."""
    lines = [f"{where}: {len(violations)} accessibility rule(s) broken (axe-core, WCAG 2.1 AA)"]
    for violation in violations:
        lines.append(f"- {violation['id']} [{violation['impact']}]: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    at {node['target']}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(driver, *, where: str | None = None) -> None:
    """Fail, with a readable list, if the page the driver shows breaks a WCAG 2.1 A/AA rule."""
    violations = axe_violations(driver)
    assert not violations, violations_report(violations, where=where or driver.current_url)
