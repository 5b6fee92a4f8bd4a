"""Record ids: random UUIDs made on the device, and derived ids where two devices must agree."""

import uuid

# Fixed namespace so every device derives the same attendance id for the same pair.
ATTENDANCE_NAMESPACE = uuid.UUID("6f1d3c0e-7a44-5b8e-9a52-2c1f0e7d9b31")


def new_id() -> str:
    return str(uuid.uuid4())


def attendance_id(session_id: str, farmer_id: str) -> str:
    """Two devices checking the same farmer into the same session make the same row."""
    return str(uuid.uuid5(ATTENDANCE_NAMESPACE, f"{session_id}/{farmer_id}"))


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
