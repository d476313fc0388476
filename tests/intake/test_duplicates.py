"""Issue 20 item 1: likely duplicates of a caller (intake.duplicates), shown before saving: the same
date of birth and a similar name (case, accents, first and last names swapped, a short form), the
same email (any case) or the same mobile (any format, stored E.164)."""

from __future__ import annotations

import datetime as dt

import pytest
from phonenumber_field.phonenumber import PhoneNumber

from intake.duplicates import fold, likely_duplicates, names_similar
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BORN = dt.date(1981, 4, 12)


def found(**caller) -> list[tuple[int, tuple[str, ...]]]:
    values = {"first_name": "Nobody", "last_name": "Here", "date_of_birth": dt.date(1950, 1, 1)}
    values |= caller
    return [(d.patient.pk, d.reasons) for d in likely_duplicates(**values)]


def test_fold_drops_case_accents_and_punctuation():
    assert fold("  JOSÉ  O'Néil-Ávila ") == "jose oneil avila"


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("José", "Núñez"),  # as on file
        ("jose", "nunez"),  # no accents, lower case
        ("JOSE", "NUNEZ"),  # capitals
        ("Núñez", "José"),  # first and last names swapped
        ("Jose", "Nunes"),  # a letter misheard on the phone
        ("Joseph", "Nunez"),  # a longer form of the first name
    ],
)
def test_same_birth_date_and_a_similar_name_is_a_likely_duplicate(first, last):
    patient = PatientFactory(first_name="José", last_name="Núñez", date_of_birth=BORN)
    assert found(first_name=first, last_name=last, date_of_birth=BORN) == [
        (patient.pk, ("name_dob",))
    ]


def test_a_similar_name_born_another_day_or_another_name_the_same_day_is_not():
    PatientFactory(first_name="José", last_name="Núñez", date_of_birth=BORN)
    assert found(first_name="José", last_name="Núñez", date_of_birth=BORN.replace(day=13)) == []
    assert found(first_name="Maria", last_name="Gonzalez", date_of_birth=BORN) == []


def test_same_email_whatever_the_case():
    patient = PatientFactory(email="Sam.Sample@Example.TEST")
    assert found(email=" sam.sample@example.test ") == [(patient.pk, ("email",))]


@pytest.mark.parametrize(
    "typed", ["(916) 555-0142", "916-555-0142", "+1 916 555 0142", "9165550142"]
)
def test_same_mobile_in_any_format(typed):
    patient = PatientFactory(mobile="+19165550142")
    mobile = str(PhoneNumber.from_string(typed, region="US"))
    assert found(mobile=mobile) == [(patient.pk, ("phone",))]


def test_several_reasons_come_first():
    by_email = PatientFactory(email="one@example.test", mobile="+19165550199")
    by_all = PatientFactory(
        first_name="Ana",
        last_name="Lopez",
        date_of_birth=BORN,
        email="ana@example.test",
        mobile="+19165550142",
    )
    result = found(
        first_name="Ana",
        last_name="López",
        date_of_birth=BORN,
        email="ONE@example.test",
        mobile="+19165550142",
    )
    assert result == [(by_all.pk, ("name_dob", "phone")), (by_email.pk, ("email",))]


def test_names_similar_is_not_fooled_by_a_shared_first_name_alone():
    assert not names_similar("Ana", "Lopez", "Ana", "Smith")
    assert not names_similar("Al", "Lopez", "Alberto", "Perez")
