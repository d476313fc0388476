"""The codes module names a source for every code (issue 23: never guess a code)."""

from __future__ import annotations

import re
from dataclasses import fields

from scheduling.fhir import codes

LOINC_FORMAT = re.compile(r"^\d{1,7}-\d$")


def _loinc_check_digit(number: str) -> str:
    """LOINC's mod-10 check digit (the Luhn variant LOINC publishes for its codes)."""
    digits = [int(d) for d in number]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            total += digit // 10 + digit % 10
        else:
            total += digit
    return str((10 - total % 10) % 10)


def every_code():
    return [value for value in vars(codes).values() if isinstance(value, codes.Code)]


def test_every_code_and_unit_names_its_source():
    found = every_code() + [v for v in vars(codes).values() if isinstance(v, codes.Unit)]
    assert found
    for item in found:
        assert item.source.startswith(("http://", "https://")), item


def test_loinc_codes_are_well_formed_and_listed():
    loinc = [code for code in every_code() if code.system == codes.LOINC]
    assert set(loinc) == set(codes.LOINC_CODES)
    for code in loinc:
        assert LOINC_FORMAT.match(code.code), code
        number, check = code.code.split("-")
        assert _loinc_check_digit(number) == check, code


def test_score_codes_are_loinc_totals():
    assert set(codes.SCORE_CODES) == {"phq9", "gad7"}
    assert all(code in codes.LOINC_CODES for code in codes.SCORE_CODES.values())


def test_code_fields():
    assert [f.name for f in fields(codes.Code)] == ["system", "code", "display", "source"]
