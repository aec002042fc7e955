"""Quantities written for people."""

from engine.units import format_duration


def test_durations_are_written_for_people():
    assert format_duration(3723.4) == "1:02:03" and format_duration(245) == "4:05" and format_duration(0) == "0:00"
    for unknown in (None, float("inf"), float("nan")):
        assert format_duration(unknown) == "?"
