"""The stacked bar chart's geometry (drawn as inline SVG)."""

from __future__ import annotations

import pytest

from consent.charts import Column, nice_step, stacked_bars


@pytest.mark.parametrize(
    ("maximum", "step"), [(1, 1), (4, 1), (5, 2), (8, 2), (9, 5), (20, 5), (21, 10), (399, 100)]
)
def test_nice_step_splits_into_at_most_four_ticks(maximum: int, step: int) -> None:
    assert nice_step(maximum) == step


def test_bars_stack_from_the_baseline_in_proportion() -> None:
    chart = stacked_bars(
        [
            Column("Jan", "2025", (("a", "A", 2), ("b", "B", 1))),
            Column("Feb", "", (("a", "A", 0), ("b", "B", 4))),
        ],
        width=200,
        height=144,
    )

    # Plot from y=24 to the baseline at 100 (76 px); 4 is the highest total, so 19 px each.
    assert chart.baseline == 100
    assert [t.value for t in chart.ticks] == [0, 1, 2, 3, 4]
    assert [t.y for t in chart.ticks] == [100.0, 81.0, 62.0, 43.0, 24.0]
    jan, feb = chart.bars
    assert [(s.y, s.height) for s in jan.segments] == [(62.0, 38.0), (43.0, 19.0)]
    assert (jan.total, jan.top, feb.total, feb.top) == (3, 43.0, 4, 24.0)
    assert [(s.y, s.height) for s in feb.segments] == [(100.0, 0.0), (24.0, 76.0)]
    assert jan.x < feb.x
    assert jan.x + jan.width < feb.x


def test_an_empty_chart_has_one_tick_above_zero() -> None:
    chart = stacked_bars([Column("Jan", "2025", (("a", "A", 0),))])

    assert [t.value for t in chart.ticks] == [0, 1]
    assert chart.bars[0].total == 0
