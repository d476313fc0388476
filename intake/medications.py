"""What a patient's typed medicine list means: generic names, the classes the screening rules
care about (intake.policy), and morphine milligram equivalents per day.

Pure functions over the stored answer format (intake.questions): a list of
{"name": str, "dose": decimal string, "unit": "mg" | "mcg_per_hour" | "other",
"times_per_day": int}. Nothing here raises on odd input; an entry that cannot be read is skipped
(for classes) or gives None (for MME).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

from intake import policy

ONE_DECIMAL = Decimal("0.1")
# Typos are matched to known names only this closely, and only for words this long, so that a
# short unrelated word never becomes a drug. A near match never gets an MME (see daily_mme).
FUZZY_CUTOFF = 0.8
FUZZY_MIN_LENGTH = 5
FUZZY_MAX_LENGTH_CHANGE = 2
# Longest name in the index, in words ("tylenol with codeine").
_MAX_NAME_WORDS = 3
# Words that are never medicine names, so never fuzzy-matched.
_NOT_NAMES = frozenset(
    (
        *("tablet", "tablets", "capsule", "capsules", "patch", "patches", "injection", "solution"),
        *("liquid", "spray", "cream", "daily", "night", "morning", "evening", "needed", "before"),
        *("after", "extended", "release", "delayed", "dose", "doses", "units"),
    )
)


@dataclass(frozen=True)
class Drug:
    """A typed name, read. `generic` joins the ingredients found ("naltrexone/bupropion").

    `exact` is False when the name only resembled a known one (a typo, probably): the classes are
    still reported, marked as possible, but no MME is computed from it.
    """

    generic: str
    ingredients: tuple[str, ...]
    classes: frozenset[str]
    exact: bool = True
    combination: bool = False


def normalise(name: object) -> str:
    """Lower case, letters and digits only, single spaces; "OxyContin10mg" -> "oxycontin 10mg"."""
    if not isinstance(name, str):
        return ""
    text = name.casefold()[:200]
    text = re.sub(r"(?<=[a-z])(?=\d)", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@cache
def _index() -> dict[str, tuple[str, ...]]:
    """Normalised name (generic, brand or other name) -> the generic names it stands for."""
    index: dict[str, list[str]] = {}
    for table in policy.MEDICATION_CLASSES.values():
        for generic, brands in table.items():
            for name in (generic, *brands):
                generics = index.setdefault(normalise(name), [])
                if generic not in generics:
                    generics.append(generic)
    return {name: tuple(generics) for name, generics in index.items()}


@cache
def _classes_of(generic: str) -> frozenset[str]:
    return frozenset(
        class_id for class_id, table in policy.MEDICATION_CLASSES.items() if generic in table
    )


@cache
def _combination_names() -> frozenset[str]:
    return frozenset(normalise(name) for name in policy.COMBINATION_PRODUCTS)


def _drug(ingredients: list[str], *, exact: bool, combination: bool) -> Drug:
    classes = frozenset().union(*(_classes_of(generic) for generic in ingredients))
    return Drug(
        generic="/".join(ingredients),
        ingredients=tuple(ingredients),
        classes=classes,
        exact=exact,
        combination=combination,
    )


def identify(name: object) -> Drug | None:
    """Read a typed medicine name: "oxycodone 10mg", "Oxycodone ER", "OxyContin",
    "hydrocodone/acetaminophen" all give oxycodone or hydrocodone. Every known name in the text
    counts (a combination product, or two medicines typed on one line). None when nothing known
    is found, exactly or as a close typo."""
    words = normalise(name).split()
    if not words:
        return None
    index = _index()
    ingredients: list[str] = []
    combination = any(word in policy.COMBINATION_MARKERS for word in words)
    position = 0
    while position < len(words):
        for length in range(min(_MAX_NAME_WORDS, len(words) - position), 0, -1):
            phrase = " ".join(words[position : position + length])
            if phrase in index:
                ingredients.extend(g for g in index[phrase] if g not in ingredients)
                combination = combination or phrase in _combination_names()
                position += length
                break
        else:
            position += 1
    if ingredients:
        return _drug(ingredients, exact=True, combination=combination)
    single_words = [known for known in index if " " not in known]
    for word in words:
        if len(word) < FUZZY_MIN_LENGTH or word in _NOT_NAMES or not word.isalpha():
            continue
        # A typo keeps the first letter and about the length; without that, azithromycin would
        # "resemble" clarithromycin and oxcarbazepine carbamazepine.
        candidates = [
            known
            for known in single_words
            if known[0] == word[0] and abs(len(known) - len(word)) <= FUZZY_MAX_LENGTH_CHANGE
        ]
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=FUZZY_CUTOFF)
        if close:
            return _drug(list(index[close[0]]), exact=False, combination=combination)
    return None


def entries(value: object) -> list[Any]:
    """The medication list from an answer, or [] when it is not a list. Positions are kept, so an
    index into the result is an index into the stored answer ("medications[2]")."""
    return list(value) if isinstance(value, list | tuple) else []


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    text = str(value).strip()
    if not text or len(text) > 20:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return number


def _times(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 1 <= value <= 100:
        return value
    return None


def _round(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def daily_mme(entry: object) -> Decimal | None:
    """Morphine milligram equivalents per day for one entry (reference §7.2, CDC factors).

    Oral opioids need unit "mg": dose x times per day x factor. Fentanyl needs "mcg_per_hour" (a
    patch): rate x 2.4, not multiplied by times per day. None when the entry is not an opioid with
    a factor, names more than one opioid, was only a near match, has unit "other" or a unit that
    does not fit, or has no usable dose or frequency. Rounded half-up to one decimal.
    """
    if not isinstance(entry, Mapping):
        return None
    drug = identify(entry.get("name"))
    if drug is None or not drug.exact:
        return None
    opioids = [g for g in drug.ingredients if "opioid" in _classes_of(g)]
    if len(opioids) != 1 or opioids[0] not in policy.MME_FACTORS:
        return None
    factor, unit = policy.MME_FACTORS[opioids[0]]
    dose = _decimal(entry.get("dose"))
    if dose is None or entry.get("unit") != unit:
        return None
    if unit == "mcg_per_hour":
        times = 1  # a patch's rate is already per hour, all day
    else:
        times = _times(entry.get("times_per_day"))
        if times is None:
            return None
    try:
        return _round(dose * times * factor)
    except InvalidOperation:  # a dose too large to round: nonsense, not a number to act on
        return None


def total_mme(items: object) -> Decimal:
    """The sum of every entry's daily_mme that could be computed (0.0 when none). The sum is of the
    rounded per-entry values, so the figures a clinician sees add up."""
    total = sum(
        (mme for mme in (daily_mme(entry) for entry in entries(items)) if mme is not None),
        Decimal("0"),
    )
    return _round(total)


def classes_in(items: object) -> dict[str, list[int]]:
    """Class id (intake.policy.MEDICATION_CLASSES) -> positions of the entries in it."""
    found: dict[str, list[int]] = {}
    for position, entry in enumerate(entries(items)):
        drug = identify(entry.get("name")) if isinstance(entry, Mapping) else None
        for class_id in sorted(drug.classes if drug else ()):
            found.setdefault(class_id, []).append(position)
    return found


def opioids_without_mme(items: object) -> list[int]:
    """Positions of opioid entries whose MME could not be computed: the total is partial."""
    listed = entries(items)
    return [
        position
        for position in classes_in(listed).get("opioid", [])
        if daily_mme(listed[position]) is None
    ]
