"""The shape every app's domain error shares (after pretix's OrderError): a code, parameters, and
a table of messages written to be shown to the person who triggered it."""

from __future__ import annotations

from typing import Any, ClassVar

from propel.formatting import end_sentence


class DomainError(Exception):
    messages: ClassVar[dict[str, Any]] = {}
    # Parameters a message may use when the caller gives none, per code.
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = {**self.defaults.get(code, {}), **params}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return end_sentence(str(self.messages[self.code]).format(**self.params))
