"""The allowed values config_schema.yaml declares for a key, and the check of a value against them.

A range is written as an interval: "[0, 1)" allows 0 and not 1, "inf" is no bound. A list key's
range applies to each element; ``length`` fixes how many there are and ``ordered`` that they do
not decrease (a [min, max] pair).
"""
import math
import re

_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s\])]+)\s*([\])])\s*$")


class Interval:
    """A closed, open or half-open interval of numbers, parsed from its written form."""

    def __init__(self, text):
        match = _INTERVAL.match(str(text))
        if not match:
            raise ValueError(f"range {text!r} is not an interval like \"[0, 1)\"")
        left, low, high, right = match.groups()
        self.text = f"{left}{low}, {high}{right}"
        self.low, self.high = float(low), float(high)
        self.low_closed, self.high_closed = left == "[", right == "]"

    def __contains__(self, value):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return False
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    def __str__(self):
        return self.text


def value_problem(value, entry):
    """What is wrong with ``value`` for a schema entry (its choices, range, length, order); None if nothing."""
    if "choices" in entry:
        return None if value in entry["choices"] else f"must be one of {entry['choices']}"
    if "range" not in entry:
        return None
    interval = Interval(entry["range"])
    if isinstance(value, list):
        if "length" in entry and len(value) != entry["length"]:
            return f"must be a list of {entry['length']} numbers, each in {interval}"
        if not all(element in interval for element in value):
            return f"must be numbers in {interval}"
        if entry.get("ordered") and any(a > b for a, b in zip(value, value[1:])):
            return f"must be in increasing order ([min, max]), each in {interval}"
        return None
    return None if value in interval else f"must be in {interval}"
