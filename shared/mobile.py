"""Mainland mobile numbers: normalised on entry, masked on display."""

import re
import unicodedata

from shared.errors import InvalidMobile

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-–—()（）.·]")


def normalise_mobile(text: str) -> str:
    """Return the 11-digit number from what a person typed, or raise InvalidMobile.

    Accepts spaces, dashes, brackets, a +86 / 0086 prefix and full-width digits typed
    from a Chinese input method.
    """
    if not isinstance(text, str):
        raise InvalidMobile("手机号必须是文字 / mobile number must be text")
    cleaned = unicodedata.normalize("NFKC", text)
    cleaned = _SEPARATORS.sub("", cleaned)
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    elif cleaned.startswith("0086"):
        cleaned = cleaned[4:]
    elif cleaned.startswith("86") and len(cleaned) == 13:
        cleaned = cleaned[2:]
    if not _MOBILE.match(cleaned):
        raise InvalidMobile(
            f"“{text}”不是有效的大陆手机号（11位，以1开头） / "
            f"'{text}' is not a mainland mobile number (11 digits starting 13-19)"
        )
    return cleaned


def mask_mobile(mobile: str | None) -> str:
    """138****1234: enough for a person to recognise their own number, not to call it."""
    if not mobile:
        return ""
    if len(mobile) != 11:
        return "*" * len(mobile)
    return f"{mobile[:3]}****{mobile[7:]}"
