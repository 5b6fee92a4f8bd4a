"""The body of a push: each outbox change as JSON text, gzip'd in one pass (with its first half
for little more), byte for byte what gzip.compress would frame."""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any

from field_client import phones
from shared import protocol as p

# An outbox change read by column name: a sqlite3.Row from the store, or a plain dict.
Entry = Any
# zlib levels: the smallest body for a slow link (see field_client/sync.py for the choice).
SLOW_LINK_LEVEL = 9


def encode(
    entries: Sequence[Entry], level: int = SLOW_LINK_LEVEL, refused: tuple[str, ...] = ()
) -> bytes:
    return gzip_halves(changes_text(entries, refused), 0, level)[0]


def changes_text(entries: Sequence[Entry], refused: tuple[str, ...] = ()) -> list[str]:
    """Each entry as the JSON text of one change.

    `refused`: later-added check-in fields the server does not take (phones.py), left out.
    The stored fields text is spliced in, not parsed and dumped again: the store wrote it with
    the same compact, ensure_ascii=False json, so the round trip only gave the same text back,
    and it was a third of the client's time in a big push.
    """
    changes = []
    for entry in entries:
        kind = entry["kind"]
        seq, stamp = entry["seq"], _quote(entry["stamp"][:19])
        change = f'{{"q":{seq:d},"k":{_quote(kind)},"h":{stamp}'
        # A check-in's id follows from its session and farmer; no need to send it.
        if kind != p.ATTENDANCE or not names_checkin(entry):
            change += ',"i":' + _quote(entry["id"])
        if entry["base"]:
            change += ',"b":' + _quote(entry["base"])
        fields = entry["fields"]
        if refused and kind == p.ATTENDANCE:
            # A server that does not know a later-added field would refuse the change for it.
            fields = phones.without_phone(fields, refused)
        changes.append(change + ',"f":' + fields + "}")
    return changes


def names_checkin(entry: Entry) -> bool:
    if entry["is_create"]:
        # The schema requires both on every created check-in: no need to parse.
        return True
    values = json.loads(entry["fields"])
    return "session_id" in values and "farmer_id" in values


def gzip_halves(
    changes: list[str], half: int, level: int = SLOW_LINK_LEVEL
) -> tuple[bytes, bytes | None]:
    """The gzip'd body of all the changes and, unless half is 0, of changes[:half] for little more.

    Deflate's output does not depend on how its input is fed, so the first half's stream is
    the whole's up to that point, finished off on a copy of the compressor.
    """
    head = ('{"changes":[' + ",".join(changes[:half])).encode()
    rest = ("," if 0 < half < len(changes) else "") + ",".join(changes[half:]) + "]}"
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(head)
    crc = zlib.crc32(head)
    first = None
    if half:
        part = compressor.copy()
        first = gzip_frame(
            deflated + part.compress(b"]}") + part.flush(),
            zlib.crc32(b"]}", crc),
            len(head) + 2,
            level,
        )
    tail = rest.encode()
    whole = gzip_frame(
        deflated + compressor.compress(tail) + compressor.flush(),
        zlib.crc32(tail, crc),
        len(head) + len(tail),
        level,
    )
    return whole, first


def gzip_frame(deflated: bytes, crc: int, size: int, level: int = SLOW_LINK_LEVEL) -> bytes:
    # Framed as gzip.compress frames it, so a body is byte for byte what it used to be.
    flags = 2 if level == 9 else 4 if level == 1 else 0
    header = struct.pack("<BBBBLBB", 0x1F, 0x8B, 8, 0, int(time.time()), flags, 255)
    return header + deflated + struct.pack("<LL", crc, size & 0xFFFFFFFF)


# Exactly json.dumps(text, ensure_ascii=False) for a str, without that call's overhead.
_quote = encode_basestring
