"""The SVG line chart (intake.svg_chart) and the outcome chart built on it: well-formed XML, named
and described for assistive technology, every text escaped, one point per measurement."""

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
    ChartPoint,
    ReferenceLine,
    YScale,
    labelled,
    legend_key,
    legend_rows,
    line_chart,
    polyline_points,
    reference_lines,
    series,
    spread,
    tick_marks,
    x_positions,
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


def some_points(count: int) -> list[ChartPoint]:
    return [
        ChartPoint(label=f"Jan {n + 1}", value=(n * 7) % 28, title=f"Jan {n + 1}: {(n * 7) % 28}")
        for n in range(count)
    ]


def test_the_chart_is_well_formed_named_and_described():
    root = parse(chart(some_points(3)))

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
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
    assert 200 < float(circle.get("cx")) < 340


def test_all_text_is_escaped():
    svg = chart(
        [ChartPoint(label=HOSTILE, value=3, title=HOSTILE)],
        chart_id='x" onload="alert(1)',
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
                ChartPoint("Jan 1", 20, "baseline"),
                ChartPoint("Jan 3", 9, "response", (RESPONSE,)),
                ChartPoint("Jan 5", 4, "both", (RESPONSE, REMISSION)),
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
    low, high = points_of(parse(chart([ChartPoint("a", -5, "a"), ChartPoint("b", 99, "b")])))
    assert float(low.find(f"{SVG}circle").get("cy")) == 206  # the x axis
    assert float(high.find(f"{SVG}circle").get("cy")) == 14  # the top


def test_many_points_get_a_readable_number_of_date_labels_first_and_last_included():
    root = parse(chart(some_points(50)))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("Jan")]
    assert len(labels) <= 9
    assert labels[0] == "Jan 1" and labels[-1] == "Jan 50"


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
    assert [p.get("data-label") for p in points_of(root)] == ["Jan 4", "Jan 7"]
    assert "point-response" in points_of(root)[1].get("class")
    assert "point-remission" in points_of(root)[1].get("class")
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Baseline 20", "Response: 10 or less", "Remission: below 5"} <= texts
    desc = root.find(f"{SVG}desc").text
    assert "2 scores from Jan 4, 2027 to Jan 7, 2027" in desc
    assert "Baseline 20." in desc
    assert root.get("id") == "outcome-phq9"


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


def test_x_positions_are_evenly_spaced_and_a_single_point_is_centred():
    assert x_positions(0) == []
    assert x_positions(1) == [(LEFT + PLOT_RIGHT) / 2]
    xs = x_positions(5)
    steps = {round(b - a, 6) for a, b in itertools.pairwise(xs)}
    assert len(steps) == 1
    assert LEFT < xs[0] < xs[-1] < PLOT_RIGHT


@pytest.mark.parametrize(
    ("count", "most", "expected"),
    [
        (3, 8, [0, 1, 2]),
        (10, 5, [0, 2, 4, 6, 8, 9]),
        (9, 4, [0, 3, 6, 8]),
        (7, 3, [0, 3, 6]),
        (1, 1, [0]),
    ],
)
def test_labelled_points_include_the_first_and_the_last(count, most, expected):
    assert labelled(count, most) == expected


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
    (text,) = series([], [], YScale(0, 10), empty_text="No scores <yet>")
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
