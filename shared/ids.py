"""Record ids: random UUIDs made on the device, and derived ids where two devices must agree."""

import hashlib
import uuid

# Fixed namespace so every device derives the same attendance id for the same pair.
ATTENDANCE_NAMESPACE = uuid.UUID("6f1d3c0e-7a44-5b8e-9a52-2c1f0e7d9b31")


def new_id() -> str:
    return str(uuid.uuid4())


_NAMESPACE_BYTES = ATTENDANCE_NAMESPACE.bytes


def attendance_id(session_id: str, farmer_id: str) -> str:
    """Two devices checking the same farmer into the same session make the same row.

    This is uuid5(ATTENDANCE_NAMESPACE, "session/farmer") spelled out, because the server
    derives one per check-in it receives and uuid.uuid5 is three times slower.
    """
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{session_id}/{farmer_id}".encode()).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
