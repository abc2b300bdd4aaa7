"""The whole status document's JSON, encoded once per published document, and sent from
that encoding without copying it.

Why: at 10,000 agents the document is about 17 MB of JSON, and encoding it costs hundreds
of milliseconds of the GIL. Status documents are immutable and replaced whole
(`web.contracts.StatusSource`), so a document's identity says whether the encoding at hand
is still its own: every request for the same document shares one encoding.

The encoding is kept as the text `json.dumps` returns: with `ensure_ascii` (Flask's
default) it is ASCII, one byte a character, so it is sent slice by slice without a second
17 MB copy as bytes. An answer is a read-only file over its parts, which the WSGI server
sends as it is (PEP 3333 `wsgi.file_wrapper`; waitress 3.0.2 `task.py` hands its
`ReadOnlyFileBasedBuffer` to the channel whole). An iterable body would be copied into
waitress's output buffer, which moves to a temporary file past 1 MB (`buffers.py`
`OverflowableBuffer`): 17 MB written and read back per answer.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Sequence
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
        self._encoded: str | bytes = "{}"

    def _encoding(self, document: Document) -> str | bytes:
        with self._lock:  # one encoding; concurrent requests for it wait and share it
            if document is not self._document:
                text = self._dumps(document)
                if not text.endswith("}"):
                    raise TypeError("a status document must be a JSON object")
                self._encoded = text if text.isascii() else text.encode()
                self._document = document
            return self._encoded

    def with_field(self, document: Document, name: str, value: Any) -> PartsReader:
        """The document's JSON with `name` set to `value` (appended last), as a file;
        `name` must not be a key of the document."""
        encoded = self._encoding(document)
        separator = "" if len(encoded) == 2 else ","
        added = f"{separator}{json.dumps(name)}:{self._dumps(value)}}}".encode()
        return PartsReader((encoded, added), len(encoded) - 1)


class PartsReader(io.RawIOBase):
    """A read-only, seekable file over parts (bytes, or ASCII text) read in a row, the
    first cut at `first_length`; a read copies only what it returns."""

    def __init__(self, parts: Sequence[str | bytes], first_length: int) -> None:
        super().__init__()
        self._parts = list(parts)
        self._lengths = [first_length, *(len(p) for p in parts[1:])]
        self._size = sum(self._lengths)
        self._position = 0

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size,
                                                               self._position + size)
        chunks, start = [], 0
        for part, length in zip(self._parts, self._lengths, strict=True):
            low, high = max(self._position - start, 0), min(end - start, length)
            if low < high:
                chunk = part[low:high]
                chunks.append(chunk.encode("ascii") if isinstance(chunk, str) else chunk)
            start += length
        self._position = max(self._position, end)
        return b"".join(chunks)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
