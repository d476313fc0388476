"""Where signed forms and uploaded documents are kept (settings.STORAGES["documents"]), read from
the environment: the file system under DOCUMENTS_ROOT by default (the demo, a single server), or,
when DOCUMENTS_S3_BUCKET is set, a private S3-compatible bucket through django-storages.

The bucket is never public: objects are written with a private ACL, encrypted at rest by the
store (server-side encryption), never overwritten (a name already taken gets a new one), and any
URL the backend could make would be signed and short-lived. The app never hands out such a URL:
intake.document_pages serves every file through an audited view (docs/deployment.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from propel.env import env_choice, env_int, env_str, env_url

FILE_SYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "storages.backends.s3.S3Storage"


def documents_storage_config(
    *, root: Path, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The STORAGES entry for the documents store (see the module's docstring).

    S3 variables: DOCUMENTS_S3_BUCKET (turns S3 on), DOCUMENTS_S3_ENDPOINT_URL (any
    S3-compatible service; AWS when unset), DOCUMENTS_S3_REGION, DOCUMENTS_S3_ACCESS_KEY_ID and
    DOCUMENTS_S3_SECRET_ACCESS_KEY (unset: boto3's own chain, e.g. an instance role),
    DOCUMENTS_S3_PREFIX (a folder inside the bucket), DOCUMENTS_S3_ENCRYPTION ("AES256", the
    default, or "aws:kms" with DOCUMENTS_S3_KMS_KEY_ID), DOCUMENTS_S3_URL_SECONDS (the life of a
    signed URL, should one ever be made: 60 by default).
    """
    bucket = env_str("DOCUMENTS_S3_BUCKET", "", environ)
    if not bucket:
        # Readable by the app's own user only (not the umask's group- and world-readable).
        on_disk: dict[str, Any] = {
            "location": str(root),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        }
        return {"BACKEND": FILE_SYSTEM, "OPTIONS": on_disk}
    encryption = env_choice("DOCUMENTS_S3_ENCRYPTION", "AES256", ("aes256", "aws:kms"), environ)
    object_parameters: dict[str, str] = {
        "ServerSideEncryption": "AES256" if encryption == "aes256" else "aws:kms"
    }
    kms_key = env_str("DOCUMENTS_S3_KMS_KEY_ID", "", environ)
    if encryption == "aws:kms" and kms_key:
        object_parameters["SSEKMSKeyId"] = kms_key
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": env_str("DOCUMENTS_S3_PREFIX", "", environ).strip("/"),
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": env_int(
            "DOCUMENTS_S3_URL_SECONDS", 60, environ, minimum=1, maximum=3600
        ),
        "file_overwrite": False,
        "object_parameters": object_parameters,
    }
    endpoint = env_str("DOCUMENTS_S3_ENDPOINT_URL", "", environ)
    if endpoint:
        options["endpoint_url"] = env_url(
            "DOCUMENTS_S3_ENDPOINT_URL", "", ("https", "http"), environ
        )
    region = env_str("DOCUMENTS_S3_REGION", "", environ)
    if region:
        options["region_name"] = region
    access_key = env_str("DOCUMENTS_S3_ACCESS_KEY_ID", "", environ)
    secret_key = env_str("DOCUMENTS_S3_SECRET_ACCESS_KEY", "", environ)
    if access_key or secret_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    return {"BACKEND": S3, "OPTIONS": options}
