"""scripts/lighthouse.py judges a page on the median of its runs against the issue 19 targets."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lighthouse.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lighthouse_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(performance: float, seo: float = 1.0, *, lcp: str = "1.0 s") -> dict[str, object]:
    scores = {"performance": performance, "accessibility": 1.0, "best-practices": 1.0, "seo": seo}
    return {
        "categories": {name: {"score": value} for name, value in scores.items()},
        "audits": {
            "largest-contentful-paint": {"score": 1, "displayValue": lcp},
            "unused-css-rules": {"score": 0, "scoreDisplayMode": "metricSavings"},
            "is-on-https": {"score": 1, "scoreDisplayMode": "binary"},
        },
    }


def test_one_slow_run_of_three_does_not_miss_the_target() -> None:
    lines, missed = load().summarize("/", [report(0.99), report(0.80), report(0.98)])
    assert not missed
    assert "performance=0.98" in lines[0] and lines[0].endswith("met")


def test_two_slow_runs_of_three_miss_the_target() -> None:
    lines, missed = load().summarize("/book/", [report(0.96), report(1.0), report(0.95)])
    assert missed
    assert "performance=0.96" in lines[0] and "MISSED performance" in lines[0]


def test_any_category_below_one_misses() -> None:
    lines, missed = load().summarize("/link/", [report(1.0, seo=0.92)] * 3)
    assert missed and "MISSED seo" in lines[0]


def test_the_median_run_names_its_metrics_and_failing_audits() -> None:
    runs = [report(0.90, lcp="3.0 s"), report(0.97, lcp="2.0 s"), report(1.0, lcp="1.0 s")]
    lines, _ = load().summarize("/", runs)
    assert lines[1] == "    median run: largest-contentful-paint 2.0 s"
    assert lines[2] == "    below 0.9: unused-css-rules"
