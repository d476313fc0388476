"""Validated instruments as data, loaded from intake/data/instruments.json (a verbatim copy of the
clinic's shared reference file). Item wording is displayed exactly as stored there; nothing here
rewords an item. Each instrument's attribution and source citation stay here, with the items, and
are shown to patients once, on the "About these questions" page (intake:about_questions), not
beside every item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

DATA_FILE = Path(__file__).parent / "data" / "instruments.json"


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
