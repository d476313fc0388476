"""Hostile uploads (intake.documents): any bytes behind a PDF, PNG, JPEG or HEIC signature, and
mutations of real files, are either accepted and cleaned or refused with a sentence for the
sender: never another exception (so never a 500), and the documents page stores nothing it
refused."""

from __future__ import annotations

import os

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from intake.documents import CleanDocument, DocumentRefused, document_check
from intake.link_sessions import ME
from intake.paperwork_models import PatientDocument
from tests.hostile import HOSTILE, assert_no_500, hostile_data
from tests.intake.document_files import heic_bytes, jpeg_with_gps, pdf_bytes, png_bytes, upload
from tests.patient_links import open_session

SIGNATURES = (
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    b"",
)
REAL_FILES = (pdf_bytes(), pdf_bytes(javascript=True), png_bytes(), jpeg_with_gps(), heic_bytes())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real file with a slice overwritten, cut short or with junk appended."""
    data = bytearray(draw(st.sampled_from(REAL_FILES)))
    start = draw(st.integers(min_value=0, max_value=len(data)))
    junk = draw(st.binary(max_size=64))
    how = draw(st.sampled_from(("overwrite", "truncate", "append")))
    if how == "overwrite":
        data[start : start + len(junk)] = junk
    elif how == "truncate":
        del data[start:]
    else:
        data += junk
    return bytes(data)


hostile_files = st.one_of(
    st.tuples(st.sampled_from(SIGNATURES), st.binary(max_size=2048)).map(lambda t: t[0] + t[1]),
    mutated(),
)


@HOSTILE
@given(data=hostile_files, name=st.text(max_size=300))
def test_document_check_accepts_or_refuses_but_never_breaks(data, name):
    # Django's multipart parser hands a view only a base name ("/" or ".." never reach it).
    name = os.path.basename(name)
    try:
        clean = document_check(upload(name if name not in ("", ".", "..") else "x", data))
    except DocumentRefused as refused:
        assert refused.message
    else:
        assert isinstance(clean, CleanDocument)
        assert clean.content_type in ("application/pdf", "image/jpeg", "image/png")
        assert len(clean.original_name) <= 150


@pytest.mark.django_db
@HOSTILE
@given(data=hostile_data(("kind",)), content=hostile_files)
def test_the_documents_page_takes_any_post(patient, data, content):
    client = Client()
    open_session(client, patient)
    before = PatientDocument.objects.count()
    response = client.post(
        reverse("intake:documents", args=[ME]), {**data, "file": upload("x.pdf", content)}
    )
    assert_no_500(response)
    if response.status_code != 302:
        assert PatientDocument.objects.count() == before
