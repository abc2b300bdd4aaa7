"""The whole status document's JSON, encoded once per published document, and sent from
that encoding without copying it.

Why: at 10,000 agents the document is about 17 MB of JSON, and encoding it costs hundreds
of milliseconds of the GIL. Status documents are immutable and replaced whole
(`web.contracts.StatusSource`), so a document's identity says whether the encoding at hand
is still its own: every request for the same document shares one encoding.

The encoding is kept in parts of about 512 KiB (the items of the document's top-level
lists are encoded one by one, then joined), as the text `json.dumps` returns: with
`ensure_ascii` (Flask's default) it is ASCII, one byte a character, so it is sent slice by
slice with no second copy as bytes. Encoded whole, the encoder's chunks and their 17 MB
join were alive together, the scheduler's peak resident set while it answered; in parts,
other threads also get the GIL between items.

An answer is a read-only file over the parts, which the WSGI server sends as it is (PEP
3333 `wsgi.file_wrapper`; waitress 3.0.2 `task.py` hands its `ReadOnlyFileBasedBuffer` to
the channel whole). An iterable body would be copied into waitress's output buffer, which
moves to a temporary file past 1 MB (`buffers.py` `OverflowableBuffer`): 17 MB written
and read back per answer.
"""

from __future__ import annotations

import bisect
import io
import itertools
import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from web.contracts import Document

# Parts above glibc's mmap threshold (fixed at 128 KiB by framework/memory.py) are mapped
# on their own and unmapped when freed; many small ones would scatter over the heap.
PART_CHARS = 512 * 1024


class EncodedDocument:
    """The latest document's JSON, so a request can add live fields (health) to it without
    encoding the document again, or copying it: an answer is the encoding up to its
    closing brace, then the added field."""

    def __init__(self, dumps: Callable[[Any], str]) -> None:
        self._dumps = dumps
        self._lock = threading.Lock()
        self._document: Document | None = None
        self._parts: list[str | bytes] = ["{", "}"]

    def _encoding(self, document: Document) -> list[str | bytes]:
        with self._lock:  # one encoding; concurrent requests for it wait and share it
            if document is not self._document:
                # The previous document and its encoding go before the next is made.
                self._document, self._parts = None, ["{", "}"]
                parts = [part if part.isascii() else part.encode()
                         for part in self._text_parts(document)]
                self._document, self._parts = document, parts
            return self._parts

    def _text_parts(self, document: Document) -> list[str]:
        """`dumps(document)` in parts, ending with "}": list items encoded one by one and
        joined into parts of about PART_CHARS, with the separators `dumps` itself puts
        between items and after keys."""
        if not isinstance(document, dict):
            raise TypeError("a status document must be a JSON object")
        item_separator, key_separator = self._dumps([0, 0])[2:-2], self._dumps({"": 0})[3:-2]
        parts = ["{"]
        for index, (key, value) in enumerate(document.items()):
            parts.append((item_separator if index else "") + self._dumps(key) + key_separator)
            if isinstance(value, list) and value:
                parts.append("[")
                items: list[str] = []
                size = 0
                for at, item in enumerate(value, 1):
                    items.append(self._dumps(item))
                    size += len(items[-1])
                    if size >= PART_CHARS or at == len(value):
                        parts.append(item_separator.join(items))
                        parts.append(item_separator if at < len(value) else "]")
                        items, size = [], 0
            else:
                parts.append(self._dumps(value))
        parts.append("}")
        return parts

    def with_field(self, document: Document, name: str, value: Any) -> PartsReader:
        """The document's JSON with `name` set to `value` (appended last), as a file;
        `name` must not be a key of the document."""
        parts = self._encoding(document)
        separator = "" if len(parts) == 2 else ","
        added = f"{separator}{json.dumps(name)}:{self._dumps(value)}}}".encode()
        return PartsReader([*parts[:-1], added])


class PartsReader(io.RawIOBase):
    """A read-only, seekable file over parts (bytes, or ASCII text) read in a row; a read
    copies only what it returns."""

    def __init__(self, parts: Sequence[str | bytes]) -> None:
        super().__init__()
        self._parts = parts
        self._ends = list(itertools.accumulate(len(part) for part in parts))
        self._size = self._ends[-1] if self._ends else 0
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
        """Up to `size` bytes (all that is left when negative), from one part at most: a
        short read, as a raw file may answer, so a server asking for its socket buffer's
        size (waitress: SO_SNDBUF, about 4 MB on loopback) copies one part at a time."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(len(self)), b""))
        index = bisect.bisect_right(self._ends, self._position)
        if size == 0 or index == len(self._parts):
            return b""
        part, start = self._parts[index], self._ends[index] - len(self._parts[index])
        chunk = part[self._position - start:self._position - start + size]
        self._position += len(chunk)
        return chunk.encode("ascii") if isinstance(chunk, str) else chunk

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
