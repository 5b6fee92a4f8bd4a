"""Mainland mobile numbers: normalised on entry, masked on display and on other envoys' devices."""

import hmac
import re

from shared.errors import InvalidMobile
from shared.typed_digits import number_text

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-–—()（）.·]")


def normalise_mobile(text: str) -> str:
    """Return the 11-digit number from what a person typed, or raise InvalidMobile.

    Accepts spaces, dashes, brackets, a +86 / 0086 prefix and full-width digits typed
    from a Chinese input method.
    """
    if not isinstance(text, str):
        raise InvalidMobile("手机号必须是文字 / mobile number must be text")
    cleaned = _SEPARATORS.sub("", number_text(text))
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


def is_masked(mobile: str | None) -> bool:
    """True for a number as another envoy's device holds it (138****1234)."""
    return bool(mobile) and "*" in str(mobile)


# How much of the keyed hash a device gets beside a masked number. The mask already shows 7 of
# the 11 digits, leaving 10,000 numbers it can stand for; the hash only has to tell apart the
# rare farmers of one roster whose masks are alike, so it is kept short: with the key (which
# every device holds) 4 bits still leave about 625 numbers per farmer, where a full hash would
# give the number back after 10,000 tries. See docs/sync.md, "Personal data on devices".
MOBILE_HASH_BITS = 4


def mobile_hash(key: bytes, farmer_id: str, mobile: str) -> str:
    """A short keyed hash of a farmer's number, salted with the farmer's id: what a device can
    check a typed number against without holding the number (one hex digit)."""
    digest = hmac.digest(key, f"{farmer_id}:{mobile}".encode(), "sha256")
    return format(digest[0] >> (8 - MOBILE_HASH_BITS), "x")


def same_mobile(key: bytes | None, farmer: dict[str, object], typed: str) -> bool:
    """Whether a farmer as this device holds them has the number typed (already normalised):
    their own number, or a masked one whose mask and hash fit it."""
    held = farmer.get("mobile")
    if not isinstance(held, str) or not held:
        return False
    if not is_masked(held):
        return held == typed
    if held != mask_mobile(typed) or key is None:
        return False
    return farmer.get("mobile_hash") == mobile_hash(key, str(farmer.get("id")), typed)
