"""Validated instruments as data, loaded from intake/data/instruments.json (a verbatim copy of the
clinic's shared reference file). Item wording is displayed exactly as stored there; nothing here
rewords an item. Each instrument's attribution and source citation stay here, with the items, and
are shown to patients once, on the "About these questions" page (intake:about_questions), not
beside every item.

Spanish (issue 22): a validated instrument is shown in Spanish only in its published Spanish
version, transcribed word for word into intake/data/instruments_es.json beside the English, with
its source (`source_es`). `shown()` / `shown_item()` give the wording for the active language; an
instrument (or item) with no published Spanish text stays in English, and `english_only` tells the
page to say so in Spanish. Answers are stored and scored as option values, never as text, so the
language never changes a score. The clinic's own questions (validated false) go through gettext
like any other string."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, cast

from django.utils import translation
from django.utils.translation import gettext

DATA_FILE = Path(__file__).parent / "data" / "instruments.json"
SPANISH_FILE = Path(__file__).parent / "data" / "instruments_es.json"


@dataclass(frozen=True)
class Option:
    label: str
    value: int


@dataclass(frozen=True)
class Item:
    id: str
    number: int
    text: str
    scored: bool
    options: tuple[Option, ...]
    display_condition: str = ""
    cluster: str = ""
    anchors: tuple[tuple[int, str], ...] = ()
    # Set by shown_item(): the page is in Spanish but this item has no published Spanish text.
    english_only: bool = False


@dataclass(frozen=True)
class Instrument:
    id: str
    title: str
    stem: str
    instructions: str
    attribution: str
    citation: str
    validated: bool
    options: tuple[Option, ...]
    items: tuple[Item, ...]
    scoring: dict[str, Any]
    critical_item_rules: tuple[dict[str, Any], ...]
    # Set by shown(): "es" when the published Spanish text is shown, and the named source of it;
    # english_only when the page is in Spanish but this validated instrument is shown in English.
    language: str = "en"
    source_es: str = ""
    english_only: bool = False
    attribution_lang: str = "en"  # the GAD-7's credit has no published Spanish text

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def _options(raw: list[dict[str, Any]]) -> tuple[Option, ...]:
    return tuple(Option(label=o["label"], value=int(o["value"])) for o in raw)


def _attribution(raw: dict[str, Any]) -> str:
    licence = raw.get("licence", {})
    if licence.get("attribution_text"):
        return cast(str, licence["attribution_text"])
    if licence.get("status") == "public_domain":
        return "National Center for PTSD, US Department of Veterans Affairs (public domain)."
    return cast(str, raw.get("source_citation", ""))


def _instrument(raw: dict[str, Any]) -> Instrument:
    options = _options(raw["response_options"])
    items = tuple(
        Item(
            id=item["id"],
            number=int(item["number"]),
            text=item["text"],
            scored=bool(item.get("scored", False)),
            options=_options(item["response_options"]) if "response_options" in item else options,
            display_condition=item.get("display_condition", ""),
            cluster=item.get("cluster", ""),
            anchors=tuple(sorted((int(k), v) for k, v in item.get("anchors", {}).items())),
        )
        for item in raw["items"]
    )
    return Instrument(
        id=raw["id"],
        title=raw["title"],
        stem=raw.get("stem", ""),
        instructions=raw.get("instructions", ""),
        attribution=_attribution(raw),
        citation=raw.get("source_citation", ""),
        validated=bool(raw.get("validated", False)),
        options=options,
        items=items,
        scoring=raw.get("scoring", {}),
        critical_item_rules=tuple(raw.get("critical_item_rules", ())),
    )


@cache
def instruments() -> dict[str, Instrument]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return {entry["id"]: _instrument(entry) for entry in raw["instruments"]}


@cache
def crisis_resources() -> dict[str, str]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        resources: dict[str, str] = json.load(handle)["conventions"]["crisis_resources_us"]
    return resources


def validated_instruments() -> list[Instrument]:
    """The validated instruments, in the file's order: the ones the about page credits."""
    return [entry for entry in instruments().values() if entry.validated]


def instrument(instrument_id: str) -> Instrument:
    return instruments()[instrument_id]


# --- Spanish (published versions only) ---------------------------------------------------------


@dataclass(frozen=True)
class Spanish:
    """One instrument's published Spanish text, keyed like the English (item ids, option values)."""

    source: str
    title: str
    stem: str
    instructions: str
    attribution: str
    options: dict[int, str]
    items: dict[str, str]
    item_options: dict[str, dict[int, str]]


def _labels(raw: dict[str, str]) -> dict[int, str]:
    return {int(value): label for value, label in raw.items()}


@cache
def spanish() -> dict[str, Spanish]:
    """The instruments whose published Spanish version is on file, by instrument id."""
    with SPANISH_FILE.open(encoding="utf-8") as handle:
        raw = json.load(handle)["instruments"]
    return {
        instrument_id: Spanish(
            source=entry["source_es"],
            title=entry.get("title", ""),
            stem=entry.get("stem", ""),
            instructions=entry.get("instructions", ""),
            attribution=entry.get("attribution", ""),
            options=_labels(entry.get("response_options", {})),
            items=dict(entry.get("items", {})),
            item_options={key: _labels(v) for key, v in entry.get("item_options", {}).items()},
        )
        for instrument_id, entry in raw.items()
    }


@cache
def _owner() -> dict[str, str]:
    """Instrument id by item id (item ids are unique across instruments)."""
    return {item.id: entry.id for entry in instruments().values() for item in entry.items}


def in_spanish() -> bool:
    return (translation.get_language() or "").split("-")[0] == "es"


def _spanish_item(item: Item, es: Spanish) -> Item:
    text = es.items.get(item.id)
    labels = es.item_options.get(item.id, es.options)
    if text is None or any(option.value not in labels for option in item.options):
        # No published Spanish for this item (or its answers): it stays in English, never
        # translated here, and never half in one language and half in the other.
        return replace(item, english_only=True)
    options = tuple(replace(option, label=labels[option.value]) for option in item.options)
    return replace(item, text=text, options=options)


def _clinic_item(item: Item) -> Item:
    """A clinic-authored item (not validated): its wording goes through gettext."""
    return replace(
        item,
        text=gettext(item.text),
        options=tuple(replace(o, label=gettext(o.label)) for o in item.options),
    )


def shown_item(item: Item) -> Item:
    """The item as the active language shows it (labels and text only; ids and values unchanged)."""
    owner = instruments()[_owner()[item.id]]
    if not in_spanish():
        return item
    if not owner.validated:
        return _clinic_item(item)
    es = spanish().get(owner.id)
    return _spanish_item(item, es) if es is not None else replace(item, english_only=True)


def shown(entry: Instrument) -> Instrument:
    """The instrument as the active language shows it: the published Spanish text when the page is
    in Spanish and that text is on file, else the English (marked english_only for a validated
    instrument, so the page says why). The clinic's own instruments are translated by gettext."""
    if not in_spanish():
        return entry
    if not entry.validated:
        return replace(
            entry,
            stem=gettext(entry.stem) if entry.stem else "",
            instructions=gettext(entry.instructions) if entry.instructions else "",
            items=tuple(_clinic_item(item) for item in entry.items),
            language="es",
        )
    es = spanish().get(entry.id)
    if es is None:
        return replace(
            entry,
            items=tuple(replace(i, english_only=True) for i in entry.items),
            english_only=True,
        )
    items = tuple(_spanish_item(item, es) for item in entry.items)
    return replace(
        entry,
        title=es.title or entry.title,
        stem=es.stem or entry.stem,
        instructions=es.instructions or entry.instructions,
        attribution=es.attribution or entry.attribution,
        attribution_lang="es" if es.attribution else "en",
        options=tuple(
            Option(label=es.options.get(o.value, o.label), value=o.value) for o in entry.options
        ),
        items=items,
        language="es",
        source_es=es.source,
    )


def source_es(instrument_id: str) -> str:
    """The named source of an instrument's published Spanish text, "" without one."""
    es = spanish().get(instrument_id)
    return es.source if es is not None else ""


def english_only_instruments() -> list[Instrument]:
    """Validated instruments with no published Spanish text on file (shown in English)."""
    return [entry for entry in validated_instruments() if entry.id not in spanish()]
