"""Every review page and action against every persona, on the server: the queue and the chart for
clinicians and admins (admins read-only), acknowledgements and decisions for clinicians only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from intake.models import ClearanceDecision, CrisisAlert, DecisionKind, Flag, FlagAcknowledgement
from propel.models import AuditEvent
from tests.intake.review_data import (
    HARD_STOP,
    QUEUE,
    URGENT,
    alert_url,
    chart_url,
    decide_url,
    hidden_inputs,
    sent,
)

pytestmark = pytest.mark.django_db

PERSONAS = ["front_desk", "clinician_user", "admin_user", "no_role_user"]
# GET pages: who gets 200 (everyone else verified gets 403).
READERS = {"clinician_user", "admin_user"}
# POST actions: who may act (everyone else verified gets 403 and nothing is stored).
DECIDERS = {"clinician_user"}


@pytest.fixture
def case(patient):
    """A patient with an urgent answer and a hard stop: a flag, an open alert, a round."""
    submission = sent(patient, **URGENT, **HARD_STOP)
    flag = Flag.objects.filter(submission=submission).first()
    alert = CrisisAlert.objects.get(submission=submission)
    return {"patient": patient, "submission": submission, "flag": flag, "alert": alert}


def pages(case) -> dict[str, str]:
    return {"queue": QUEUE, "chart": chart_url(case["patient"])}


def actions(case) -> dict[str, tuple[str, dict]]:
    patient, flag, alert = case["patient"], case["flag"], case["alert"]
    return {
        "flag": (
            reverse(
                "intake:chart_flag_acknowledge",
                kwargs={"patient_id": patient.pk, "flag_id": flag.pk},
            ),
            {f"flag-{flag.pk}-note": "Seen."},
        ),
        "alert": (alert_url(patient, alert), {f"alert-{alert.pk}-outcome": "Phoned; safe."}),
        "decide": (
            decide_url(patient),
            {
                "kind": DecisionKind.DECLINED,
                "reason": "Not suitable.",
                "submission_id": str(case["submission"].pk),
                "after": "0",
            },
        ),
    }


def nothing_stored(case) -> bool:
    case["alert"].refresh_from_db()
    return (
        not FlagAcknowledgement.objects.exists()
        and not ClearanceDecision.objects.exists()
        and case["alert"].acknowledged_at is None
    )


# --- Anonymous and half-signed-in visitors ----------------------------------------------------


@pytest.mark.parametrize("page", ["queue", "chart"])
def test_anonymous_visitors_are_sent_to_sign_in(page, case):
    response = Client().get(pages(case)[page])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("propel:login"))


@pytest.mark.parametrize("action", ["flag", "alert", "decide"])
def test_anonymous_posts_are_sent_to_sign_in_and_store_nothing(action, case):
    url, data = actions(case)[action]
    response = Client().post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("propel:login"))
    assert nothing_stored(case)


@pytest.mark.parametrize("page", ["queue", "chart"])
def test_signed_in_without_the_second_factor_is_sent_to_it(page, case, clinician_user):
    client = Client()
    client.force_login(clinician_user)
    response = client.get(pages(case)[page])
    assert response.status_code == 302
    assert response["Location"] == reverse("propel:second_factor")


@pytest.mark.parametrize("action", ["flag", "alert", "decide"])
def test_posts_without_the_second_factor_store_nothing(action, case, clinician_user):
    client = Client()
    client.force_login(clinician_user)
    url, data = actions(case)[action]
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("propel:second_factor")
    assert nothing_stored(case)


# --- Each role ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", ["queue", "chart"])
def test_each_role_reads_exactly_what_it_may(page, persona, case, client_for, request):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(pages(case)[page])
    if persona in READERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert case["patient"].last_name not in response.content.decode()
        assert not AuditEvent.objects.filter(action="chart.viewed").exists()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ["flag", "alert", "decide"])
def test_only_clinicians_acknowledge_and_decide(action, persona, case, client_for, request):
    user = request.getfixturevalue(persona)
    url, data = actions(case)[action]

    response = client_for(user).post(url, data)

    if persona in DECIDERS:
        assert response.status_code == 302
        assert response["Location"].startswith(chart_url(case["patient"]))
    else:
        assert response.status_code == 403
        assert nothing_stored(case)


@pytest.mark.parametrize("action", ["flag", "alert", "decide"])
def test_actions_only_accept_post(action, case, clinician_user, client_for):
    url, _data = actions(case)[action]
    assert client_for(clinician_user).get(url).status_code == 405


def test_an_admin_reads_the_chart_without_any_form(case, admin_user, client_for):
    page = client_for(admin_user).get(chart_url(case["patient"])).content.decode()

    assert case["flag"].title.split(" — ")[0][:30] in page
    assert "Only clinicians record clearance decisions" in page
    assert "Record decision" not in page
    assert "/acknowledge/" not in page
    assert 'name="kind"' not in page


def test_a_clinician_sees_every_form(case, clinician_user, client_for):
    page = client_for(clinician_user).get(chart_url(case["patient"])).content.decode()

    assert "Record decision" in page
    assert f"/flags/{case['flag'].pk}/acknowledge/" in page
    assert f"/alerts/{case['alert'].pk}/acknowledge/" in page
    assert hidden_inputs(page) == {"submission_id": str(case["submission"].pk), "after": "0"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_review_link_is_in_the_navbar_only_for_those_who_may_read(persona, client_for, request):
    user = request.getfixturevalue(persona)
    page = client_for(user).get(reverse("propel:home")).content.decode()
    assert (f'href="{QUEUE}"' in page) == (persona in READERS)


def test_the_new_views_declare_their_capabilities():
    from intake import review_views
    from propel.roles import Capability

    assert review_views.queue.required_capability == Capability.HEALTH_RECORD
    assert review_views.chart.required_capability == Capability.HEALTH_RECORD
    for view in (
        review_views.flag_acknowledge_view,
        review_views.alert_acknowledge_view,
        review_views.decide_view,
    ):
        assert view.required_capability == Capability.CLEARANCE_DECIDE
