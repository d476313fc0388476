"""propel.documents_store: the documents store is the file system by default and a private,
encrypted S3-compatible bucket when DOCUMENTS_S3_BUCKET is set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from propel.documents_store import FILE_SYSTEM, S3, documents_storage_config
from tests.propel.test_settings import production_env, run_python

ROOT = Path("/srv/propel/documents")


def test_without_a_bucket_documents_stay_on_the_file_system_without_a_url():
    config = documents_storage_config(root=ROOT, environ={})
    assert config == {
        "BACKEND": FILE_SYSTEM,
        "OPTIONS": {
            "location": str(ROOT),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def test_a_bucket_gives_a_private_encrypted_never_overwritten_s3_store():
    config = documents_storage_config(
        root=ROOT,
        environ={
            "DOCUMENTS_S3_BUCKET": "clinic-documents",
            "DOCUMENTS_S3_ENDPOINT_URL": "https://s3.eu-central-1.example.net",
            "DOCUMENTS_S3_REGION": "eu-central-1",
            "DOCUMENTS_S3_ACCESS_KEY_ID": "AKIAFAKE",
            "DOCUMENTS_S3_SECRET_ACCESS_KEY": "fake-secret",
            "DOCUMENTS_S3_PREFIX": "/propel/",
        },
    )
    assert config["BACKEND"] == S3
    assert config["OPTIONS"] == {
        "bucket_name": "clinic-documents",
        "location": "propel",
        "endpoint_url": "https://s3.eu-central-1.example.net",
        "region_name": "eu-central-1",
        "access_key": "AKIAFAKE",
        "secret_key": "fake-secret",
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": 60,
        "file_overwrite": False,
        "object_parameters": {"ServerSideEncryption": "AES256"},
    }


def test_kms_encryption_and_boto3s_own_credentials():
    config = documents_storage_config(
        root=ROOT,
        environ={
            "DOCUMENTS_S3_BUCKET": "clinic-documents",
            "DOCUMENTS_S3_ENCRYPTION": "aws:kms",
            "DOCUMENTS_S3_KMS_KEY_ID": "alias/propel",
        },
    )
    options = config["OPTIONS"]
    assert options["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/propel",
    }
    assert "access_key" not in options and "endpoint_url" not in options


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOCUMENTS_S3_ENCRYPTION", "none"),
        ("DOCUMENTS_S3_ENDPOINT_URL", "s3.example.net"),
        ("DOCUMENTS_S3_URL_SECONDS", "86400"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        documents_storage_config(
            root=ROOT, environ={"DOCUMENTS_S3_BUCKET": "clinic-documents", name: value}
        )


def test_production_settings_read_the_bucket_from_the_environment(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        "from django.core.files.storage import storages; "
        "s = storages['documents']; "
        "print(json.dumps([settings.STORAGES['documents'], type(s).__name__, s.bucket_name, "
        "s.default_acl, s.file_overwrite]))"
    )
    env = production_env(
        tmp_path,
        DOCUMENTS_S3_BUCKET="clinic-documents",
        DOCUMENTS_S3_REGION="us-west-1",
        DOCUMENTS_S3_ACCESS_KEY_ID="AKIAFAKE",
        DOCUMENTS_S3_SECRET_ACCESS_KEY="fake-secret",
    )
    result = run_python(["-c", script], env)
    assert result.returncode == 0, result.stderr
    config, backend, bucket, acl, overwrite = json.loads(result.stdout)
    assert config["BACKEND"] == S3 and config["OPTIONS"]["region_name"] == "us-west-1"
    assert (backend, bucket, acl, overwrite) == ("S3Storage", "clinic-documents", "private", False)
