"""The villages a farmer picks from on the check-in page: the session's own first, then its
township's, then the rest of the county; a name the county has twice carries its township."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from field_client.store import FieldStore
from shared import protocol as p


@dataclass(frozen=True)
class VillageOption:
    code: str
    label: str


def township_of(unit: dict[str, Any]) -> str:
    """A village's township code: its parent, else its first 9 digits padded."""
    return str(unit.get("parent_code") or str(unit["code"])[:9].ljust(12, "0"))


def villages_for(store: FieldStore, session: dict[str, Any]) -> list[VillageOption]:
    """Every village of the device's county, the session's village first, then the other
    villages of its township (by code), then the rest (by township, then code)."""
    every = store.reference(p.UNIT)
    units = [u for u in every if u.get("level") in (None, "village")]
    unit_names = {u["code"]: str(u.get("name") or u["code"]) for u in every}
    counts = Counter(u.get("name") for u in units)
    own = str(session.get("unit_code") or "")
    township = next((township_of(u) for u in units if u["code"] == own), own[:9].ljust(12, "0"))

    def order(unit: dict[str, Any]) -> tuple[int, str, str]:
        if unit["code"] == own:
            return (0, "", "")
        here = township_of(unit)
        return (1 if here == township else 2, here, str(unit["code"]))

    options = []
    for unit in sorted(units, key=order):
        name = str(unit.get("name") or unit["code"])
        if counts[unit.get("name")] > 1:
            name += f"（{unit_names.get(township_of(unit)) or township_of(unit)[:9]}）"
        options.append(VillageOption(str(unit["code"]), name))
    return options
