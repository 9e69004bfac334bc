"""The pure scoring rules (gridlink/assessment/scoring.py, docs/scoring.md), each checked
against numbers worked out by hand."""

from __future__ import annotations

import pytest

from gridlink.assessment.scoring import (
    GradeLines,
    ItemRule,
    change,
    composite,
    deduction_points,
    grade_of,
    item_points,
    ranks,
    red_and_black,
)

# SPEC §4: on-time closing ≥ 70% earns 50 points, −1 per point below.
ON_TIME = ItemRule(points=50, target=70, rule="threshold", points_per_pp=1)
# Closing ≥ 90% earns 20 points (all or nothing).
CLOSING = ItemRule(points=20, target=90, rule="threshold")
SATISFACTION = ItemRule(points=30, target=100, rule="linear")


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (ON_TIME, 70.0, 50.0),  # exactly on target
        (ON_TIME, 95.5, 50.0),  # above: never more than full
        (ON_TIME, 66.5, 46.5),  # 3.5 points short → 50 − 3.5
        (ON_TIME, 12.0, 0.0),  # 58 short → floored at 0
        (CLOSING, 90.0, 20.0),
        (CLOSING, 89.99, 0.0),  # all or nothing
        (SATISFACTION, 85.0, 25.5),  # 30 × 0.85
        (SATISFACTION, 100.0, 30.0),
        (ItemRule(35, 80, "linear"), 100.0, 35.0),  # capped at full
        (ItemRule(35, 80, "linear"), 60.0, 26.25),  # 35 × 60/80
        (ON_TIME, None, None),  # nothing to judge
    ],
)
def test_item_points(rule, value, expected):
    assert item_points(rule, value) == expected


def test_lower_is_better_threshold_and_linear():
    # Mean handling hours ≤ 8 h earns 10 points, −2 per hour over.
    hours = ItemRule(10, 8, "threshold", points_per_pp=2, higher_is_better=False)
    assert item_points(hours, 7.5) == 10.0
    assert item_points(hours, 9.25) == 7.5  # 1.25 h over → 10 − 2.5
    assert item_points(hours, 20) == 0.0
    # Rework rate, linear: 10 × target / value above the target.
    rework = ItemRule(10, 5, "linear", higher_is_better=False)
    assert item_points(rework, 4) == 10.0
    assert item_points(rework, 8) == 6.25  # 10 × 5/8
    assert item_points(ItemRule(10, 0, "linear"), 0) == 10.0  # a target of 0 is always met


def test_deductions():
    assert deduction_points(7, 0.2) == 1.4  # seven reworks at 0.2
    assert deduction_points(3, 0.5) == 1.5
    assert deduction_points(30, 0.5, max_points=10) == 10.0
    assert deduction_points(0, 1) == 0.0


def test_composite_worked_example():
    # A street: on-time closing 66.5% → 46.5; closing 92% → 20; satisfaction 85% → 25.5.
    # 92 points − 7 reworks × 0.2 − 1 thrice-failed × 0.5 = 90.1; + 1 bonus = 91.1.
    items = [(46.5, 50.0), (20.0, 20.0), (25.5, 30.0)]
    assert composite(items, total_points=100, deductions=1.9, bonuses=1) == 91.1


def test_composite_rescales_when_an_item_has_no_data():
    # No rated cases: satisfaction is left out; 66.5 of the 70 judged points → 95 of 100.
    assert composite([(46.5, 50.0), (20.0, 20.0), (None, 30.0)], total_points=100) == 95.0
    assert composite([(None, 50.0), (None, 50.0)], total_points=100) is None


def test_composite_out_of_another_total_and_clamped():
    # Hotline three rates on a 10-point scheme: 8.2 of 10 → 82.
    assert composite([(2.5, 3.0), (2.8, 3.5), (2.9, 3.5)], total_points=10) == 82.0
    assert composite([(10.0, 100.0)], total_points=100, deductions=25) == 0.0
    assert composite([(100.0, 100.0)], total_points=100, bonuses=5) == 100.0


@pytest.mark.parametrize(
    ("score", "grade", "colour"),
    [
        (90.0, "优秀", "green"),
        (89.99, "良好", "blue"),
        (80.0, "良好", "blue"),
        (60.0, "合格", "yellow"),
        (59.99, "不合格", "red"),
        (None, "无数据", "grey"),
    ],
)
def test_grades_default_lines(score, grade, colour):
    assert grade_of(score) == (grade, colour)


def test_grades_other_lines():
    assert grade_of(85, GradeLines(excellent=85, good=75, passing=50)) == ("优秀", "green")


def test_ranks_share_ties_and_skip_no_data():
    assert ranks([70.0, 90.0, 70.0, None, 50.0]) == [2, 1, 2, None, 4]


def test_change_and_lists():
    assert change(91.1, 88.35) == 2.75
    assert change(91.1, None) is None
    rows = [("甲", 1, "优秀"), ("乙", 2, "优秀"), ("丙", 3, "良好"), ("丁", 4, "优秀"),
            ("戊", 5, "合格"), ("己", 6, "不合格"), ("庚", None, "无数据")]  # fmt: skip
    red, black = red_and_black(rows, red_size=3)
    assert red == ["甲", "乙", "丙", "丁"]  # the top three and every 优秀
    assert black == ["己"]
    # A 不合格 in the top three is never on the red list.
    assert red_and_black([("甲", 1, "不合格")])[0] == []
