"""Issue 17: the message catalogue and each reminder plan are documented in docs/messages.md,
generated from the code (scheduling.reminders.catalogue): every ReminderKind has an entry, every
template it lists exists, every template in templates/reminders/ is listed, and the file is what
the code generates now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import get_template

from scheduling.models import ReminderChannel, ReminderKind
from scheduling.reminder_plan import CONSULTATION, TREATMENT, ReminderTimes
from scheduling.reminders.catalogue import (
    BATCH_TEMPLATES,
    CATALOGUE,
    SHARED_TEMPLATES,
    document,
    entry_for,
    sample_plan,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "messages.md"


def test_every_kind_of_message_has_exactly_one_catalogue_entry():
    missing = [kind for kind in ReminderKind.values if entry_for(kind) is None]
    assert not missing, f"add a catalogue entry (scheduling/reminders/catalogue.py) for {missing}"
    assert len({entry.kind for entry in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.kind.value)
def test_every_template_the_catalogue_lists_exists(entry):
    assert entry.templates and entry.channels
    for name in (*entry.templates, *SHARED_TEMPLATES):
        get_template(name)  # raises TemplateDoesNotExist
    if ReminderChannel.SMS in entry.channels:
        assert any(name.endswith("_sms.txt") for name in entry.templates)


def test_every_message_template_is_listed_in_the_catalogue():
    listed = (
        {name for entry in CATALOGUE for name in entry.templates}
        | set(SHARED_TEMPLATES)
        | set(BATCH_TEMPLATES)
    )
    on_disk = {f"reminders/{path.name}" for path in (ROOT / "templates" / "reminders").iterdir()}
    assert on_disk - listed == set(), "list these templates in scheduling/reminders/catalogue.py"


def test_the_document_is_generated_from_the_code():
    assert DOC.read_text(encoding="utf-8") == document(), (
        "docs/messages.md is out of date: run `manage.py messages_doc`"
    )


def test_the_command_writes_the_document(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    (tmp_path / "docs").mkdir()
    call_command("messages_doc", stdout=open(tmp_path / "out", "w"))  # noqa: SIM115
    assert (tmp_path / "docs" / "messages.md").read_text(encoding="utf-8") == document()


def test_the_hours_come_from_the_configured_times():
    times = ReminderTimes(
        consultation_before=dt.timedelta(hours=36), infusion_soon_before=dt.timedelta(hours=3)
    )
    text = document(times)
    assert "36 h before a consultation" in text and "3 h before a treatment visit" in text
    assert ("consultation_24h", "email", "36 h before the start") in sample_plan(
        CONSULTATION, times
    )


def test_the_plans_are_the_planners_answer_for_each_kind_of_visit():
    times = ReminderTimes()
    treatment = sample_plan(TREATMENT, times)
    assert [kind for kind, channel, _ in treatment if channel == "email"] == [
        "confirmation",
        "paperwork_72h",
        "infusion_prep_48h",
        "check_in_link",
        "infusion_2h",
        "follow_up_next_day",
    ]
    assert ("follow_up_next_day", "sms", "24 h after the end") in treatment
    assert "| Visit in two hours (`infusion_2h`) | text message | 2 h before the start |" in (
        document(times)
    )
