"""No upload is kept past the largest document the clinic accepts.

Django streams a multipart file to memory or a temporary file whatever its size (its
DATA_UPLOAD_MAX_MEMORY_SIZE leaves files out). This handler, first in FILE_UPLOAD_HANDLERS, lets
through the chunks up to settings.DOCUMENTS_MAX_UPLOAD_MB and the one that crosses it, then
swallows the rest: the file the form sees is just over the limit, so it answers "larger than
20 MB" with the form kept (intake.documents.document_check), and a 5 GB upload never lands on
the server's disk. The request body is still read to its end (HTTP needs that); a proxy's own
limit (docs/deployment.md) stops the very largest before they reach the app.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler


def upload_limit_bytes() -> int:
    return int(settings.DOCUMENTS_MAX_UPLOAD_MB) * 1024 * 1024


class UploadSizeLimitHandler(FileUploadHandler):
    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        # `start` is how much of this file came before this chunk.
        return None if start > upload_limit_bytes() else raw_data

    def file_complete(self, file_size: int) -> None:
        return None
