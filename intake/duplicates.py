"""Likely duplicates of a caller the front desk is about to register (intake.patient_registration):
the same date of birth and a similar name, or the same email, or the same mobile phone.

Names are compared after folding case and accents and dropping everything but letters
("José O'Neil" is "jose oneil"), in either order (first and last names given the wrong way round),
and counted similar when the folded full names are close (difflib's ratio, at least
NAME_SIMILARITY) or when one of the two names matches exactly and the other starts the same
(a nickname: "Bob"/"Robert" is not caught; "Kate"/"Katherine" is). Emails compare without case;
phones as stored (E.164, phonenumber_field normalises every format on the way in).

One query, however many patients: the candidates are the rows sharing the date of birth, the email
or the mobile, and the name test runs on those few in Python. No PostgreSQL extension is needed,
so `make run`'s SQLite finds the same duplicates.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from intake.models import Patient

NAME_SIMILARITY = 0.8
MAX_CANDIDATES = 50
SHOWN = 10
REASONS = {
    "name_dob": _("same date of birth, similar name"),
    "email": _("same email"),
    "phone": _("same mobile phone"),
}


def fold(text: str) -> str:
    """Lower case, accents removed, letters and single spaces only."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(
        c if c.isalpha() else " " if c.isspace() or c == "-" else ""
        for c in decomposed
        if not unicodedata.combining(c)
    )
    return " ".join(letters.split())


def _close(a: str, b: str) -> bool:
    return bool(a) and bool(b) and SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


def _part_match(a: str, b: str) -> bool:
    """Same name, or one a short form of the other (at least three letters in common)."""
    if a == b:
        return bool(a)
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short)


def names_similar(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Whether two people's names are likely the same person's, in either order."""
    fa, la, fb, lb = fold(first_a), fold(last_a), fold(first_b), fold(last_b)
    for first, last in ((fb, lb), (lb, fb)):
        if _close(f"{fa} {la}", f"{first} {last}"):
            return True
        if (la == last and _part_match(fa, first)) or (fa == first and _part_match(la, last)):
            return True
    return False


@dataclass(frozen=True)
class Duplicate:
    patient: Patient
    reasons: tuple[str, ...]  # keys of REASONS

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[reason]) for reason in self.reasons]


def likely_duplicates(
    *, first_name: str, last_name: str, date_of_birth: dt.date, email: str = "", mobile: str = ""
) -> list[Duplicate]:
    """Patients who are likely the caller, each with why; most reasons first, then by name."""
    condition = Q(date_of_birth=date_of_birth)
    if email.strip():
        condition |= Q(email__iexact=email.strip())
    if mobile:
        condition |= Q(mobile=mobile)
    found = []
    for patient in Patient.objects.filter(condition).order_by("pk")[:MAX_CANDIDATES]:
        reasons = []
        if patient.date_of_birth == date_of_birth and names_similar(
            first_name, last_name, patient.first_name, patient.last_name
        ):
            reasons.append("name_dob")
        if email.strip() and patient.email.casefold() == email.strip().casefold():
            reasons.append("email")
        if mobile and patient.mobile and str(patient.mobile) == str(mobile):
            reasons.append("phone")
        if reasons:
            found.append(Duplicate(patient=patient, reasons=tuple(reasons)))
    found.sort(key=lambda d: (-len(d.reasons), d.patient.last_name, d.patient.first_name))
    return found[:SHOWN]
