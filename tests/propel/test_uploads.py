"""propel.uploads: an upload past DOCUMENTS_MAX_UPLOAD_MB is cut short as it arrives, so the
form can say "too large" and the server never keeps the rest."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from propel.uploads import UploadSizeLimitHandler

MB = 1024 * 1024


def test_chunks_past_the_limit_are_swallowed(settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    handler = UploadSizeLimitHandler()
    assert handler.receive_data_chunk(b"x" * 10, 0) == b"x" * 10
    assert handler.receive_data_chunk(b"x" * 10, MB) == b"x" * 10  # the one that crosses
    assert handler.receive_data_chunk(b"x" * 10, MB + 1) is None
    assert handler.file_complete(MB + 10) is None


def test_a_large_upload_reaches_the_view_just_over_the_limit(settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    request = RequestFactory().post(
        "/", {"file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (5 * MB))}
    )
    upload = request.FILES["file"]
    assert MB < upload.size <= MB + 256 * 1024


def test_a_file_under_the_limit_arrives_whole(settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    data = b"%PDF-" + b"0" * (MB // 2)
    request = RequestFactory().post("/", {"file": SimpleUploadedFile("small.pdf", data)})
    assert request.FILES["file"].read() == data
