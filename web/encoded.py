"""The whole status document's JSON, encoded once per published document.

Why: at 10,000 agents the document is about 12 MB of JSON, and encoding it costs hundreds
of milliseconds of the GIL. Status documents are immutable and replaced whole
(`web.contracts.StatusSource`), so a document's identity says whether the encoding at hand
is still its own: every request for the same document shares one encoding.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from web.contracts import Document


class EncodedDocument:
    """The latest document's JSON, so a request can add live fields (health) to it without
    encoding the document again, or copying it: an answer is the encoding up to its
    closing brace, then the added field."""

    def __init__(self, dumps: Callable[[Any], str]) -> None:
        self._dumps = dumps
        self._lock = threading.Lock()
        self._document: Document | None = None
        self._encoded = b"{}"

    def _encoding(self, document: Document) -> bytes:
        with self._lock:  # one encoding; concurrent requests for it wait and share it
            if document is not self._document:
                encoded = self._dumps(document).encode()
                if not encoded.endswith(b"}"):
                    raise TypeError("a status document must be a JSON object")
                self._encoded, self._document = encoded, document
            return self._encoded

    def with_field(self, document: Document, name: str, value: Any
                   ) -> tuple[list[bytes | memoryview], int]:
        """The parts of the document's JSON with `name` set to `value` (appended last),
        and their length; `name` must not be a key of the document."""
        encoded = self._encoding(document)
        opened = memoryview(encoded)[:-1]
        separator = b"" if encoded == b"{}" else b","
        added = b"".join((separator, json.dumps(name).encode(), b":",
                          self._dumps(value).encode(), b"}"))
        return [opened, added], len(opened) + len(added)
