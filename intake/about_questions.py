"""The "About these questions" page: where the questionnaire's validated instruments come from
and the credit each one asks for (their attribution and source, kept with the items in
intake.instruments). Linked once from each questionnaire page that uses one, instead of a
citation under every item. Public: it says nothing about any patient.

In Spanish each instrument is shown as the questionnaire shows it (intake.instruments.shown): the
published Spanish version names its source; one with no published Spanish text on file is listed
as shown in English. In English the Spanish versions' sources are named too."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from intake.instruments import shown, source_es, validated_instruments


@require_http_methods(["GET", "HEAD"])
def about_questions(request: HttpRequest) -> HttpResponse:
    rows = [
        {"instrument": shown(entry), "source_es": source_es(entry.id)}
        for entry in validated_instruments()
    ]
    return render(request, "intake/about_questions.html", {"rows": rows})
