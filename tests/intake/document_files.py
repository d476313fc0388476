"""Small real files made in the test, for the upload checks (intake.documents)."""

from __future__ import annotations

import io

import pillow_heif
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# A Windows executable's first bytes ("MZ", then the DOS stub's usual start).
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512


def pdf_bytes(*, javascript: bool = False, password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    if javascript:
        writer.add_open_action(JavaScript("app.alert('hello');"))
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_launch_action() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_attachment() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_attachment("run.bat", b"echo hello")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def picture(size: tuple[int, int] = (40, 30), color: str = "teal") -> Image.Image:
    return Image.new("RGB", size, color)


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF holds a location (the clinic's city) and "rotate 90°" orientation."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (38.0, 34.0, 50.0), 3: "W", 4: (121.0, 25.0, 0.0)}
    out = io.BytesIO()
    picture().save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    picture(size).save(out, "PNG")
    return out.getvalue()


def heic_bytes() -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(picture()).save(out, quality=80)
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    """As a browser sends it: the name and type the sender's device claims (both ignored)."""
    return SimpleUploadedFile(name, data, content_type=content_type)


_counter = iter(range(1, 1_000_000))


def stored_document(patient, kind: str = "photo_id", *, source: str = "staff", **kwargs):
    """A document stored through the real service (each one's bytes differ, so none is taken
    for a double submit of another)."""
    from intake.documents import CleanDocument, document_store

    data = pdf_bytes() + f"%{next(_counter)}\n".encode()
    clean = CleanDocument(
        data=data, content_type="application/pdf", extension=".pdf", original_name="scan.pdf"
    )
    return document_store(clean=clean, kind=kind, source=source, patient_id=patient.pk, **kwargs)
