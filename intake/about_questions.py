"""The "About these questions" page: where the questionnaire's validated instruments come from
and the credit each one asks for (their attribution and source, kept with the items in
intake.instruments). Linked once from each questionnaire page that uses one, instead of a
citation under every item. Public: it says nothing about any patient."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from intake.instruments import validated_instruments


@require_http_methods(["GET", "HEAD"])
def about_questions(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/about_questions.html", {"instruments": validated_instruments()})
