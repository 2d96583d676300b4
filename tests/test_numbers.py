"""yolo3.numbers: what a JSON number must be to be used."""

from __future__ import annotations

import pytest

from yolo3.numbers import finite_number, whole_number


@pytest.mark.parametrize("value, expected", [
    (0, True), (-3, True), (0.5, True), (1e308, True), (10**300, True),
    (10**400, False), (-(10**400), False), (float("nan"), False), (float("inf"), False),
    (True, False), (False, False), ("1", False), (None, False), ([1], False),
])
def test_finite_number(value, expected):
    assert finite_number(value) is expected


@pytest.mark.parametrize("value, expected", [
    (0, True), (-3, True), (10**400, True), (True, False), (1.0, False), ("1", False),
    (None, False),
])
def test_whole_number(value, expected):
    assert whole_number(value) is expected
