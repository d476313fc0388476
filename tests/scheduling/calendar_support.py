"""Reading the calendar files of a patient's email the way calendar apps do: each file parsed
with icalendar AND with vobject (a second, independent parser), and applied to a small model of
a calendar that follows Google Calendar's and Outlook's rules (RFC 5546): an entry is known by
its UID; a REQUEST adds it or, with a SEQUENCE at least the stored one, replaces it; a CANCEL
with a SEQUENCE at least the stored one removes it; anything older is ignored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import vobject
from icalendar import Calendar


@dataclass(frozen=True)
class Entry:
    uid: str
    sequence: int
    start: dt.datetime
    status: str
    organizer: str
    attendee: str


def _icalendar(content: bytes) -> tuple[str, list[Entry]]:
    calendar = Calendar.from_ical(content)
    entries = [
        Entry(
            uid=str(event["uid"]),
            sequence=int(event.decoded("sequence")),
            start=event.decoded("dtstart"),
            status=str(event.get("status", "")),
            organizer=str(event.get("organizer", "")).lower(),
            attendee=str(event.get("attendee", "")).lower(),
        )
        for event in calendar.walk("VEVENT")
    ]
    return str(calendar["method"]), entries


def _vobject(content: bytes) -> tuple[str, list[Entry]]:
    calendar = vobject.readOne(content.decode())
    entries = []
    for event in calendar.vevent_list:
        entries.append(
            Entry(
                uid=event.uid.value,
                sequence=int(event.sequence.value),
                start=event.dtstart.value,
                status=event.status.value if hasattr(event, "status") else "",
                organizer=event.organizer.value.lower() if hasattr(event, "organizer") else "",
                attendee=event.attendee.value.lower() if hasattr(event, "attendee") else "",
            )
        )
    return calendar.method.value, entries


def calendar_files(message) -> list[tuple[str, list[Entry]]]:
    """(METHOD, entries) of each calendar file attached to `message`, as both parsers read it
    (asserted equal); the attachment's content type names the same method."""
    files = []
    for _, content, mimetype in message.attachments:
        if not mimetype.startswith("text/calendar"):
            continue
        if isinstance(content, str):
            content = content.encode()
        first, second = _icalendar(content), _vobject(content)
        assert first == second, (first, second)
        assert mimetype == f"text/calendar; method={first[0]}"
        files.append(first)
    return files


@dataclass
class CalendarApp:
    """What the patient's calendar shows after importing files in order."""

    entries: dict[str, Entry] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    def receive(self, message) -> None:
        for method, events in calendar_files(message):
            for event in events:
                known = self.entries.get(event.uid)
                if known is not None and event.sequence < known.sequence:
                    continue  # an older version: ignored
                if method == "REQUEST":
                    self.entries[event.uid] = event
                    self.cancelled.discard(event.uid)
                elif method == "CANCEL":
                    self.entries[event.uid] = event
                    self.cancelled.add(event.uid)
                else:
                    raise AssertionError(f"a patient's email carries {method}")

    def showing(self) -> dict[str, dt.datetime]:
        return {uid: e.start for uid, e in self.entries.items() if uid not in self.cancelled}
