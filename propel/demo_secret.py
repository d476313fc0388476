"""The demo's SECRET_KEY: random, made on first start and kept in the var folder.

A key written in the source is public, and anyone who knows it can sign a patient link; so demo
mode never uses one. The first start writes a random key to VAR_DIR/secret_key (mode 600) and every
later start (web, worker and beat alike) reads it back. Production sets SECRET_KEY instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

SECRET_FILE_NAME = "secret_key"  # noqa: S105 - a file name


def demo_secret_key(var_dir: Path) -> str:
    """The key stored under `var_dir`, made first if there is none."""
    path = var_dir / SECRET_FILE_NAME
    if not path.exists():
        _write_once(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


def _write_once(path: Path, key: str) -> None:
    """Write the key whole to a private file, then link it into place: two processes starting
    together never read a half-written key, and the first one's key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
        # Another process may have written its key first: then that one is used.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
