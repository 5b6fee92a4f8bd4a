"""On a province: which envoys are a county's: the id the province gives them, and their townships."""

from __future__ import annotations

from sqlite_utils import Database

from server.reference.ids import catalogue_id
from server.reference.lookups import UnknownEnvoy, envoy_by_id
from server.store.county_links import in_county
from shared import protocol as p
from shared.errors import TianjianError


class NamesOtherCountysEnvoy(TianjianError):
    """A county's link sent a record crediting an envoy who is not of its county."""

    status = 403

    def __init__(self, county_code: str, field: str, envoy_id: str) -> None:
        super().__init__(
            f"{field}：特派员 {envoy_id} 不是县 {county_code} 的特派员，本县的记录不能记在其名下 / "
            f"{field}: envoy {envoy_id} is not an envoy of county {county_code}: this county's "
            "records cannot credit them",
            {field: ["不是本县的特派员 / not an envoy of this county"]},
        )


def envoy_id_up(county_code: str, name: str) -> str:
    """An envoy's id on the province: from their county and name, so two counties' envoys of
    the same name (two 张三) stay two envoys there. The county sends its envoys and records
    under these ids (server/upstream/forward.py); the province takes no other."""
    return catalogue_id(p.ENVOY, f"{county_code}/{name}")


def serves_only(county_code: str, townships: list[str]) -> bool:
    """Whether an envoy with these townships serves this county and no other."""
    return bool(townships) and all(
        in_county(code.ljust(12, "0"), county_code) for code in townships
    )


def is_county_envoy(db: Database, county_code: str, envoy_id: str) -> bool:
    """Whether the province knows this id as an envoy of this county: under the id it gives
    their name there (never a name-only id, the province's own envoy), serving only there."""
    try:
        envoy = envoy_by_id(db, envoy_id)
    except UnknownEnvoy:
        return False
    return envoy["id"] == envoy_id_up(county_code, envoy["name"]) and serves_only(
        county_code, envoy["township_codes"]
    )
