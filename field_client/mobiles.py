"""Finding a farmer on this device by the number they give, other envoys' farmers held masked."""

from __future__ import annotations

import json
from typing import Any

from field_client.store import FieldStore
from shared import protocol as p
from shared.mobile import is_masked, mask_mobile, normalise_mobile, same_mobile


def mobile_key(store: FieldStore) -> bytes | None:
    """The key of the hashes beside other envoys' farmers' masked mobiles, once pulled."""
    key_hex = store.get("mobile_key")
    return bytes.fromhex(key_hex) if key_hex else None


def farmers_with_mobile(store: FieldStore, typed: str) -> list[dict[str, Any]]:
    """Live farmers whose number is the one typed: the envoy's own farmers by their number,
    other envoys' (held masked) by the mask and the keyed hash beside it. A masked number can
    match a farmer who merely shares its first three and last four digits and its hash (one in
    16); a caller shows the names to choose from."""
    number = normalise_mobile(typed)
    key = mobile_key(store)
    rows = store.db.execute(
        "SELECT data FROM records WHERE kind = ? AND deleted = 0 "
        "AND json_extract(data, '$.mobile') IN (?, ?) ORDER BY rowid",
        [p.FARMER, number, mask_mobile(number)],
    )
    found = [json.loads(row[0]) for row in rows]
    matches = [farmer for farmer in found if same_mobile(key, farmer, number)]
    # The envoy's own farmers, matched on the whole number, first.
    return sorted(matches, key=lambda farmer: is_masked(farmer.get("mobile")))
