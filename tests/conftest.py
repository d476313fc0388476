"""Shared fixtures: personas (as in healthchecks' alice/bob/charlie), and a guard that makes every
test marked `postgres` fail, never skip, when the database is not PostgreSQL. (`make test` checks
first that PostgreSQL and Redis answer; see scripts/preflight.py.) The tests run connected as the
app role, not the superuser that builds the test database: tests/app_role.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.app_role import django_db_modify_db_settings, django_db_setup  # noqa: F401
from tests.factories import PatientFactory, UserFactory
from tests.personas import verified_client

TESTS = Path(__file__).parent

# What `make test-fast` leaves out (`-m "not e2e and not race and not fault and not slow"`); `make
# test` runs everything, these included. Marked here, in one place, rather than file by file: a new
# file in one of these folders is marked without anyone remembering to. Markers: pyproject.toml.
MARKERS_BY_FOLDER = {
    "e2e": "e2e",
    "concurrency": "race",
    "faults": "fault",
    # Hypothesis drives every public form and the questionnaire with junk: ~30 s on its own.
    "hostile": "slow",
}
# Single tests that cost seconds each, by file name and function (not by folder, so they stay
# marked when a test file moves into a sub-package).
SLOW_TESTS = {
    # Walk every door of the visit lifecycle, per missing gate and per status: ~50 s together.
    ("test_lifecycle_doors.py", "test_no_door_takes_an_infusion_past_a_missing_gate"),
    (
        "test_lifecycle_doors.py",
        "test_the_service_agrees_with_the_table_for_every_action_party_and_date",
    ),
    # Each commits and truncates every table (transactional): ~13 s.
    ("test_availability_version.py", "test_a_committed_change_moves_the_version_once"),
    # Hypothesis, 300 and 200 examples through the whole rule set: ~15 s.
    ("test_eligibility.py", "test_evaluate_never_raises_and_every_flag_is_well_formed"),
    (
        "test_eligibility.py",
        "test_scores_are_json_and_the_same_whether_or_not_hidden_answers_are_dropped_first",
    ),
    # Hypothesis over every medicine and dose: ~1.5 s.
    (
        "test_medications.py",
        "test_daily_mme_never_raises_and_is_none_or_a_non_negative_one_decimal",
    ),
    # Each starts a fresh Python that sets Django up under other settings: ~1 s a start, 16 starts.
    ("test_settings.py", "test_production_refuses_to_start"),
    ("test_settings.py", "test_a_complete_production_configuration_starts"),
    ("test_settings.py", "test_demo_mode_starts_with_no_configuration_at_all"),
    ("test_settings.py", "test_demo_mode_serves_this_machine_only"),
    ("test_deploy_check.py", "test_check_deploy_passes_in_production_mode"),
    ("test_deploy_check.py", "test_check_deploy_fails_until_the_static_files_are_collected"),
    ("test_secret_keys.py", "test_two_fresh_demo_installations_start_with_different_private_keys"),
    ("test_secret_keys.py", "test_fallback_keys_are_read_from_the_environment"),
    (
        "test_documents_store.py",
        "test_production_settings_read_the_bucket_from_the_environment",
    ),
    # migrate, collectstatic and check --deploy in three Python starts: ~6 s.
    (
        "test_start_production.py",
        "test_the_production_start_collects_static_files_and_starts_gunicorn",
    ),
    # pg_dump, pg_restore into a new database and two `manage.py db_roles` starts: ~3-5 s each.
    ("test_backup_restore.py", "test_a_restored_backup_has_the_rows_and_the_append_only_triggers"),
    (
        "test_backup_restore.py",
        "test_db_roles_hands_a_restored_database_to_the_owner_and_is_idempotent",
    ),
    # Every staff role against every review action: 27 worlds, ~0.3 s each.
    ("test_review_permissions.py", "test_only_clinicians_acknowledge_and_decide"),
    # The same query count at 10 and 1,000 rows: each builds the large state first, 1-3 s.
    ("test_calendar_pages.py", "test_day_view_runs_the_same_queries_for_10_or_1000_appointments"),
    ("test_calendar_pages.py", "test_week_view_runs_the_same_queries_for_10_or_1000_appointments"),
    ("test_review_queue.py", "test_the_queue_costs_the_same_for_5_or_500_patients"),
    ("test_review_chart.py", "test_the_chart_costs_the_same_however_much_history"),
    ("test_clearance.py", "test_statuses_of_many_patients_take_a_fixed_number_of_queries"),
}
# Whole files whose every test builds a clinic's worth of rows or walks every door: the demo
# clinic through the real services (~1.5 s a test), the bench's scale data, and the permission
# matrix (every URL as every persona, one world per URL: ~13 s of the fast run on its own).
# Also the course pages (each test books a 4-8 session course through the page, ~0.4 s) and the
# public week's cache (transactional: each test commits and truncates every table).
SLOW_FILES = {
    "test_seed_demo.py",
    "test_scale_data.py",
    "test_permission_matrix.py",
    "test_course_pages.py",
    "test_slot_page_cache.py",
    # The demo's stories and banner (a whole seed per test) and the newcomer's `make run` (~40 s).
    "test_stories.py",
    "test_banner.py",
    "test_first_run.py",
}


# django.core.signing output, `payload:timestamp:signature`: the timestamp is the second of signing.
SIGNED_VALUE = re.compile(r"(?P<payload>[\w.-]*):[0-9A-Za-z]+:[\w-]{43}")


def pytest_configure(config: pytest.Config) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test client builds its own middleware, and WhiteNoise, serving from the source folders
    # outside production, would stat every static file (vendored and admin) for each one: a sixth
    # of the fast run. In autorefresh mode it looks a file up only when one is asked for, with the
    # same headers.
    settings.WHITENOISE_AUTOREFRESH = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        path = item.path.relative_to(TESTS)
        marker = MARKERS_BY_FOLDER.get(path.parts[0])
        if marker is not None:
            item.add_marker(marker)
        function = getattr(item, "originalname", item.name)
        if path.name in SLOW_FILES or (path.name, function) in SLOW_TESTS:
            item.add_marker("slow")


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A token signed at collection time gets an id without its timestamp and signature:
    pytest-xdist (`make test-fast`) refuses to run when its workers, collecting a second apart,
    disagree on the test ids."""
    if isinstance(val, str) and (match := SIGNED_VALUE.fullmatch(val)):
        return f"signed-{match['payload']}"
    return None


@pytest.fixture(autouse=True)
def _postgres_for_marked_tests(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        assert connection.vendor == "postgresql", (
            "this test needs PostgreSQL: set DATABASE_URL=postgres://... (make test does)"
        )


@pytest.fixture(autouse=True)
def _no_seeded_requirements(request: pytest.FixtureRequest) -> None:
    """The clinic's default requirements (intake migration 0010) would hold every check-in of a
    consultation and every start of an infusion for paperwork: a test database test starts with
    none (the first transactional test's flush would wipe them anyway, so no test may rely on
    them). Tests of the paperwork gate make their own (tests/intake/requirement_factories.py)."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    if not (transactional or marker or "db" in names):
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    from intake.paperwork_models import Requirement

    Requirement.objects.all().delete()


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    """Rate-limit counters live in the shared cache (Redis under `make test`): a key prefix of the
    test's own keeps tests, and parallel runs on the same Redis, from counting each other's hits,
    without flushing anyone's data."""
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture(autouse=True, scope="session")
def _documents_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory):
    """Signed forms and uploads go to a folder of this test session, never var/documents.
    override_settings sends setting_changed, which resets Django's cached stores and
    intake.paperwork_models' lazy documents store."""
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("documents")
    stores = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                **settings.STORAGES["documents"].get("OPTIONS", {}),
                "location": str(folder),
                "base_url": None,
            },
        },
    }
    with override_settings(STORAGES=stores):
        yield folder


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


@pytest.fixture
def front_desk(db):
    return UserFactory(username="frontdesk", front_desk=True)


@pytest.fixture
def clinician_user(db):
    return UserFactory(username="clinician", clinician=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", admin=True)


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="norole")


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def other_patient(db):
    return PatientFactory()


@pytest.fixture
def personas(front_desk, clinician_user, admin_user, no_role_user) -> dict:
    """Every staff persona by the name its role goes by."""
    return {
        "front desk": front_desk,
        "clinician": clinician_user,
        "admin": admin_user,
        "no role": no_role_user,
    }


@pytest.fixture
def client_for() -> Callable:
    return verified_client


@pytest.fixture
def client_as(request, client) -> Callable[[str | None], Client]:
    """A verified client for the persona fixture named ("front_desk", "no_role_user", ...), or
    the anonymous `client` for None."""

    def as_persona(persona: str | None) -> Client:
        return verified_client(request.getfixturevalue(persona)) if persona else client

    return as_persona


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A test that renders in Spanish (translation.activate, a request through LocaleMiddleware in
    the test's thread) leaves the thread in Spanish: the next test starts in the default
    language."""
    yield
    from django.utils import translation

    translation.deactivate()
