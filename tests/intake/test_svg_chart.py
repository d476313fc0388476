"""The SVG line chart (intake.svg_chart) and the outcome chart built on it: well-formed XML, named
and described for assistive technology, every text escaped, one point per measurement, a point at
its date on an axis with evenly spaced ticks, a lone point as a value without a line, labelled
threshold bands, and the baseline labelled as such."""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET

import pytest

from intake.outcomes import RoundScores, outcome_series
from intake.svg_chart import (
    BASELINE_LINE,
    LEFT,
    PLOT_BOTTOM,
    PLOT_RIGHT,
    REMISSION,
    REMISSION_LINE,
    RESPONSE,
    RESPONSE_LINE,
    TOP,
    Band,
    ChartPoint,
    ReferenceLine,
    XScale,
    YScale,
    bands,
    date_ticks,
    legend_key,
    legend_rows,
    line_chart,
    polyline_points,
    reference_lines,
    series,
    spread,
    tick_marks,
)
from intake.templatetags.outcome_charts import series_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "</title><script>alert('x')</script> & \"quoted\" <b>"


def chart(points=(), **kwargs) -> str:
    options = {
        "chart_id": "phq9",
        "title": "PHQ-9",
        "description": "Scores over time.",
        "points": points,
        "y_min": 0,
        "y_max": 27,
        "y_ticks": (0, 5, 10, 15, 20, 27),
    }
    options.update(kwargs)
    return line_chart(**options)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def points_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class", "").split()[:1] == ["point"]]


D0 = dt.date(2027, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def some_points(count: int, every: int = 1) -> list[ChartPoint]:
    return [
        ChartPoint(
            day=day(n * every),
            label=f"Jan {n + 1}",
            value=(n * 7) % 28,
            title=f"Jan {n + 1}: {(n * 7) % 28}",
        )
        for n in range(count)
    ]


def x_ticks(root: ET.Element) -> list[float]:
    return [float(e.get("x1")) for e in root.iter(f"{SVG}line") if e.get("class") == "x-tick"]


def cx(point: ET.Element) -> float:
    shape = point.find(f"{SVG}circle")
    if shape is None:
        shape = point.find(f"{SVG}rect")
        return float(shape.get("x")) + 5
    return float(shape.get("cx"))


def test_the_chart_is_well_formed_named_and_described():
    root = parse(chart(some_points(3)))

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id = root.get("aria-labelledby")
    desc_id = root.get("aria-describedby")
    [title] = [e for e in root if e.tag == f"{SVG}title"]
    [desc] = [e for e in root if e.tag == f"{SVG}desc"]
    assert (title.get("id"), title.text) == (title_id, "PHQ-9")
    assert (desc.get("id"), desc.text) == (desc_id, "Scores over time.")
    assert root.get("viewBox").startswith("0 0 ")


@pytest.mark.parametrize("count", [0, 1, 2, 50])
def test_one_point_per_measurement(count):
    root = parse(chart(some_points(count)))

    assert len(points_of(root)) == count
    assert len(list(root.iter(f"{SVG}polyline"))) == (1 if count > 1 else 0)


def test_a_chart_with_no_points_says_so_and_one_point_sits_in_the_middle():
    empty = parse(chart((), empty_text="No scores yet"))
    assert "No scores yet" in [t.text for t in empty.iter(f"{SVG}text")]

    [point] = points_of(parse(chart(some_points(1))))
    [circle] = point.iter(f"{SVG}circle")
    assert float(circle.get("cx")) == (LEFT + PLOT_RIGHT) / 2


def test_a_single_measurement_is_its_value_with_no_line():
    [one] = some_points(1)
    root = parse(chart([ChartPoint(one.day, one.label, 14, "14", note="Baseline 14")]))

    assert list(root.iter(f"{SVG}polyline")) == []
    [point] = points_of(root)
    assert [t.text for t in point.iter(f"{SVG}text")] == ["Baseline 14"]
    assert point.get("data-value") == "14"
    assert len(x_ticks(root)) == 1  # its own date


def test_the_table_describes_the_chart_too():
    root = parse(chart(some_points(2), described_by="outcome-phq9-table"))
    assert root.get("aria-describedby") == "phq9-desc outcome-phq9-table"


def test_all_text_is_escaped():
    svg = chart(
        [ChartPoint(day=D0, label=HOSTILE, value=3, title=HOSTILE, note=HOSTILE)],
        chart_id='x" onload="alert(1)',
        threshold_bands=[Band(0, 4, HOSTILE)],
        described_by=HOSTILE,
        tick_label=lambda _day: HOSTILE,
        title=HOSTILE,
        description=HOSTILE,
        lines=[ReferenceLine(5, HOSTILE, BASELINE_LINE)],
        legend=[("point", HOSTILE)],
        x_label=HOSTILE,
        y_label=HOSTILE,
    )

    root = parse(svg)  # still well-formed
    assert "<script" not in svg
    assert "onload" not in root.attrib
    assert root.get("id") == "x--onload--alert-1-"
    assert [e.text for e in root if e.tag == f"{SVG}title"] == [HOSTILE]
    [point] = points_of(root)
    assert point.get("data-label") == HOSTILE
    assert point.find(f"{SVG}title").text == HOSTILE


def test_no_inline_style_and_no_script():
    svg = chart(
        some_points(5),
        lines=[ReferenceLine(20, "Baseline 20", BASELINE_LINE)],
        legend=[("point", "Score"), (BASELINE_LINE, "Baseline"), (RESPONSE, "Response")],
    )
    assert "style=" not in svg
    assert "<script" not in svg.lower()
    assert "javascript:" not in svg.lower()


def test_reference_lines_are_dashed_and_labelled():
    root = parse(
        chart(
            some_points(2),
            lines=[
                ReferenceLine(20, "Baseline 20", BASELINE_LINE),
                ReferenceLine(10, "Response: 10 or less", RESPONSE_LINE),
                ReferenceLine(5, "Remission: below 5", REMISSION_LINE),
            ],
        )
    )

    lines = {
        e.get("class"): e for e in root.iter(f"{SVG}line") if e.get("class", "").startswith("line-")
    }
    assert set(lines) == {"line-baseline", "line-response-line", "line-remission-line"}
    assert all(line.get("stroke-dasharray") for line in lines.values())
    assert len({line.get("stroke-dasharray") for line in lines.values()}) == 3
    # y grows downwards: baseline 20 above response 10 above remission 5.
    ys = [float(lines[k].get("y1")) for k in ("line-baseline", "line-response-line")]
    assert ys[0] < ys[1] < float(lines["line-remission-line"].get("y1"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Baseline 20", "Response: 10 or less", "Remission: below 5"} <= set(texts)


def test_response_and_remission_points_are_marked_by_shape():
    root = parse(
        chart(
            [
                ChartPoint(day(0), "Jan 1", 20, "baseline"),
                ChartPoint(day(2), "Jan 3", 9, "response", (RESPONSE,)),
                ChartPoint(day(4), "Jan 5", 4, "both", (RESPONSE, REMISSION)),
            ]
        )
    )

    plain, response, both = points_of(root)
    assert plain.find(f"{SVG}circle[@class='marker-response']") is None
    assert response.find(f"{SVG}circle[@class='marker-response']") is not None
    assert response.find(f"{SVG}rect[@class='marker-remission']") is None
    assert both.find(f"{SVG}rect[@class='marker-remission']") is not None
    assert "point-response" in both.get("class") and "point-remission" in both.get("class")


def test_values_outside_the_range_are_drawn_at_the_edge():
    low, high = points_of(
        parse(chart([ChartPoint(day(0), "a", -5, "a"), ChartPoint(day(1), "b", 99, "b")]))
    )
    assert float(low.find(f"{SVG}circle").get("cy")) == 206  # the x axis
    assert float(high.find(f"{SVG}circle").get("cy")) == 14  # the top


@pytest.mark.parametrize(("count", "every"), [(2, 1), (2, 40), (5, 3), (50, 1), (30, 9), (200, 7)])
def test_date_ticks_are_few_evenly_spaced_and_cover_every_point(count, every):
    root = parse(chart(some_points(count, every)))

    ticks = x_ticks(root)
    assert 2 <= len(ticks) <= 8
    gaps = {round(b - a, 1) for a, b in itertools.pairwise(ticks)}
    assert max(gaps) - min(gaps) <= 0.2  # equal, up to the one-decimal rounding
    xs = [cx(p) for p in points_of(root)]
    assert ticks[0] <= min(xs) and max(xs) <= ticks[-1]


def test_points_sit_at_their_dates_not_one_step_per_measurement():
    points = [ChartPoint(day(d), str(d), 10, str(d)) for d in (0, 1, 2, 28)]
    xs = [cx(p) for p in points_of(parse(chart(points)))]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.1)
    assert xs[3] - xs[2] == pytest.approx(26 * (xs[1] - xs[0]), abs=0.5)


def test_the_line_joins_points_in_date_order_whatever_order_they_come_in():
    points = some_points(3)
    ordered = parse(chart(points)).find(f".//{SVG}polyline").get("points")
    assert parse(chart(points[::-1])).find(f".//{SVG}polyline").get("points") == ordered


def test_threshold_bands_are_shaded_and_labelled():
    root = parse(
        chart(some_points(2), threshold_bands=[Band(0, 4, "Minimal 0-4"), Band(5, 9, "Mild 5-9")])
    )
    rects = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "band"]
    assert len(rects) == 2
    labels = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "band-label"]
    assert labels == ["Mild 5-9", "Minimal 0-4"]  # top first
    mild, minimal = rects
    assert float(mild.get("y")) + float(mild.get("height")) == pytest.approx(
        float(minimal.get("y")), abs=0.1
    )  # touching at 4.5, no gap, no overlap


def test_an_empty_range_is_a_programming_error():
    with pytest.raises(ValueError):
        chart(y_min=5, y_max=5)


# --- The outcome chart ----------------------------------------------------------------------------


def test_the_outcome_chart_draws_the_series_and_its_thresholds():
    start = dt.datetime(2027, 1, 4, 18, tzinfo=dt.UTC)
    rounds = [
        RoundScores("screening", start, start.date(), {"phq9": {"total": 20}}),
        RoundScores(
            "check_in",
            start + dt.timedelta(days=3),
            (start + dt.timedelta(days=3)).date(),
            {"phq9": {"total": 4}},
        ),
    ]
    phq9 = outcome_series(rounds)[0]

    root = parse(series_svg(phq9))

    assert [p.get("data-value") for p in points_of(root)] == ["20", "4"]
    assert [p.get("data-label") for p in points_of(root)] == [
        "Mon, Jan 4, 2027",
        "Thu, Jan 7, 2027",
    ]
    baseline, _later = points_of(root)
    assert [t.text for t in baseline.iter(f"{SVG}text")] == ["Baseline 20"]
    assert baseline.get("class") == "point"
    assert "point-response" in points_of(root)[1].get("class")
    assert "point-remission" in points_of(root)[1].get("class")
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Baseline 20", "Response: 10 or less", "Remission: below 5"} <= texts
    bands = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "band-label"]
    assert bands == [
        "Severe 20\N{EN DASH}27",
        "Moderately severe 15\N{EN DASH}19",
        "Moderate 10\N{EN DASH}14",
        "Mild 5\N{EN DASH}9",
        "None-minimal 0\N{EN DASH}4",
    ]
    assert root.get("aria-describedby") == "outcome-phq9-desc outcome-phq9-table"
    desc = root.find(f"{SVG}desc").text
    assert "2 scores from Mon, Jan 4, 2027 to Thu, Jan 7, 2027" in desc
    assert "Baseline 20." in desc
    assert root.get("id") == "outcome-phq9"


def test_an_outcome_chart_of_one_low_score_is_a_baseline_not_a_remission():
    at = dt.datetime(2027, 1, 4, 18, tzinfo=dt.UTC)
    phq9 = outcome_series([RoundScores("screening", at, at.date(), {"phq9": {"total": 3}})])[0]

    svg = series_svg(phq9)
    root = parse(svg)

    [point] = points_of(root)
    assert point.get("class") == "point"  # no response or remission marker
    assert [t.text for t in point.iter(f"{SVG}text")] == ["Baseline 3"]
    assert list(root.iter(f"{SVG}polyline")) == []
    assert "Remission" not in svg and "remission" not in svg  # no threshold lines or legend yet
    assert "Baseline 3." in root.find(f"{SVG}desc").text


def test_an_outcome_chart_of_many_scores_keeps_few_even_ticks():
    start = dt.datetime(2027, 1, 4, 18, tzinfo=dt.UTC)
    rounds = [
        RoundScores(
            "check_in" if n else "screening",
            start + dt.timedelta(days=n * n),
            (start + dt.timedelta(days=n * n)).date(),
            {"phq9": {"total": 20 - n}},
        )
        for n in range(15)
    ]
    root = parse(series_svg(outcome_series(rounds)[0]))

    assert len(points_of(root)) == 15
    ticks = x_ticks(root)
    assert 2 <= len(ticks) <= 8
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) - min(gaps) <= 0.2
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-tick-label"]
    assert labels[0] == "Jan 4"  # a Monday, weekly or longer steps start there
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "point-note"]
    assert notes == ["Baseline 20"]  # only the first measurement is labelled


def test_an_outcome_chart_without_scores_renders():
    root = parse(series_svg(outcome_series([])[2]))
    assert points_of(root) == []
    assert "no scores yet" in root.find(f"{SVG}desc").text


# --- The pure pieces ---------------------------------------------------------------------------


def test_the_y_scale_puts_the_range_between_the_plots_bottom_and_top_and_clamps():
    scale = YScale(0, 20)
    assert scale(0) == PLOT_BOTTOM
    assert scale(20) == TOP
    assert scale(10) == (PLOT_BOTTOM + TOP) / 2
    assert scale(-5) == PLOT_BOTTOM
    assert scale(99) == TOP
    assert scale.contains(20) and not scale.contains(20.5)


def test_a_y_scale_needs_a_range():
    with pytest.raises(ValueError, match="y_max must be above y_min"):
        YScale(3, 3)


def test_the_x_scale_is_linear_in_days_and_a_single_day_is_centred():
    scale = XScale(day(0), day(10))
    xs = [scale(day(n)) for n in range(11)]
    assert len({round(b - a, 6) for a, b in itertools.pairwise(xs)}) == 1
    assert LEFT < xs[0] < xs[-1] < PLOT_RIGHT
    assert XScale(day(3), day(3))(day(3)) == (LEFT + PLOT_RIGHT) / 2


MONDAY = dt.date(2027, 1, 4)


@pytest.mark.parametrize(
    ("first", "last", "expected_step"),
    [
        (MONDAY, MONDAY + dt.timedelta(days=3), 1),
        (MONDAY, MONDAY + dt.timedelta(days=12), 2),
        (MONDAY, MONDAY + dt.timedelta(days=40), 7),
        (MONDAY, MONDAY + dt.timedelta(days=90), 14),
        (MONDAY, MONDAY + dt.timedelta(days=180), 28),
        (MONDAY, MONDAY + dt.timedelta(days=3 * 365), 182),
        (MONDAY, MONDAY + dt.timedelta(days=30 * 365), 364 * 5),
    ],
)
def test_date_ticks_pick_the_smallest_even_step_that_fits(first, last, expected_step):
    ticks = date_ticks(first, last, 8)
    assert {(b - a).days for a, b in itertools.pairwise(ticks)} == {expected_step}
    assert len(ticks) <= 8
    assert ticks[0] <= first and ticks[-1] >= last


def test_weekly_ticks_start_on_a_monday_and_one_date_is_its_own_tick():
    wednesday = dt.date(2027, 1, 6)
    ticks = date_ticks(wednesday, wednesday + dt.timedelta(days=40))
    assert ticks[0] == MONDAY
    assert all(tick.weekday() == 0 for tick in ticks)
    assert date_ticks(wednesday, wednesday) == [wednesday]
    assert date_ticks(wednesday + dt.timedelta(days=2), wednesday)[0] == wednesday


def test_dst_changes_do_not_bend_the_axis():
    # Dates, not instants: the spring-forward week is as wide as any other.
    ticks = date_ticks(dt.date(2027, 3, 1), dt.date(2027, 4, 5))
    assert {(b - a).days for a, b in itertools.pairwise(ticks)} == {7}


def test_bands_need_something_to_draw():
    assert bands([], YScale(0, 10)) == []


def test_spread_keeps_labels_apart_and_inside_the_bounds():
    assert spread([50, 52, 54], 10, 0, 200) == [50, 60, 70]
    assert spread([195, 198], 10, 0, 200) == [190, 200]
    assert spread([-20], 10, 0, 200) == [0]


def test_polyline_points_round_to_one_decimal():
    assert polyline_points([(1, 2.0), (3.25, 4.04)]) == "1,2 3.2,4"


def test_tick_marks_skip_ticks_outside_the_range_and_repeat_none():
    marks = tick_marks([5, 0, 5, 30], YScale(0, 27))
    labels = [m for m in marks if m.startswith("<text")]
    assert [ET.fromstring(m).text for m in labels] == ["0", "5"]  # noqa: S314 - our own output


def test_reference_lines_leave_out_unknown_kinds_and_nothing_is_drawn_without_lines():
    scale = YScale(0, 27)
    assert reference_lines([ReferenceLine(5, "odd", "unknown")], scale) == []
    drawn = reference_lines([ReferenceLine(5, "Baseline", BASELINE_LINE)], scale)
    assert drawn[0] == '<g class="chart-reference-lines">' and drawn[-1] == "</g>"
    assert sum(part.startswith("<line") for part in drawn) == 1


def test_a_series_without_points_is_its_empty_text():
    (text,) = series([], XScale(D0, D0), YScale(0, 10), empty_text="No scores <yet>")
    assert ET.fromstring(text).text == "No scores <yet>"  # noqa: S314 - our own output


def test_legend_rows_wrap_when_the_row_is_full():
    entries = [(BASELINE_LINE, "x" * 40)] * 4
    _, bottom = legend_rows(entries, 100)
    assert bottom > 100
    _, one_row = legend_rows(entries[:1], 100)
    assert one_row == 100


def test_a_legend_key_is_dashed_for_lines_and_shaped_for_markers():
    assert "stroke-dasharray" in legend_key(RESPONSE_LINE, 0, 20)
    assert "marker-response" in legend_key(RESPONSE, 0, 20)
    assert "marker-remission" in legend_key(REMISSION, 0, 20)
    assert legend_key("point", 0, 20).startswith("<circle")
