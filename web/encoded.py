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
    """The latest document's JSON object without its closing brace, so a request can add
    live fields (health) without encoding the document again."""

    def __init__(self, dumps: Callable[[Any], str]) -> None:
        self._dumps = dumps
        self._lock = threading.Lock()
        self._document: Document | None = None
        self._open = b"{"

    def _opened(self, document: Document) -> bytes:
        with self._lock:  # one encoding; concurrent requests for it wait and share it
            if document is not self._document:
                encoded = self._dumps(document).encode()
                if not encoded.endswith(b"}"):
                    raise TypeError("a status document must be a JSON object")
                self._open, self._document = encoded[:-1], document
            return self._open

    def with_field(self, document: Document, name: str, value: Any) -> bytes:
        """The document's JSON with `name` set to `value` (appended last); `name` must not
        be a key of the document."""
        opened = self._opened(document)
        separator = b"" if opened.rstrip() == b"{" else b","
        return b"".join((opened, separator, json.dumps(name).encode(), b":",
                         self._dumps(value).encode(), b"}"))
