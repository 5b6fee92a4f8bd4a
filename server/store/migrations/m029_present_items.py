"""m029: summaries' own keys hold an item's months as presence, the keys above count counties."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations

# Literal here, as a migration carries them: months 1 to 12, sources (n) and those not under
# question (k).
_COLUMNS = [f"{side}{month}" for side in ("n", "k") for month in range(1, 13)]


@migrations()
def m029_present_items(db: Database) -> None:
    """`summary_item_months` rows of a county's own keys (county != ''), which counted each
    item's sources per month, now hold 1 where a month has one and 0 where not; the rows of the
    keys above counties (county = '': the whole server's '', a province's or city's code, an
    envoy's '@envoy') are summed again from them, so they count the counties holding the item
    in each month (server/summaries/presence.py says why). A month is present in a key's row
    exactly when it was before, so `summary_firsts` stays as it is. Summaries that are stale are
    rewritten whole by their next rebuild anyway."""
    present = ", ".join(f"{name} = CASE WHEN {name} > 0 THEN 1 ELSE 0 END" for name in _COLUMNS)
    db.execute(f"UPDATE summary_item_months SET {present} WHERE county != ''")
    db.execute("DELETE FROM summary_item_months WHERE county = ''")
    columns = ", ".join(_COLUMNS)
    sums = ", ".join(f"sum({name})" for name in _COLUMNS)
    head = f"INSERT INTO summary_item_months (year, scope_key, figure, item, {columns}, county)"
    # Counties' keys: six characters, not an envoy's key ('@' and an id).
    counties = "county != '' AND length(scope_key) = 6 AND scope_key NOT LIKE '@%'"
    for level in (2, 4):
        db.execute(
            f"{head} SELECT year, substr(scope_key, 1, {level}), figure, item, {sums}, '' "
            f"FROM summary_item_months WHERE {counties} "
            f"GROUP BY year, substr(scope_key, 1, {level}), figure, item"
        )
    db.execute(
        f"{head} SELECT year, '', figure, item, {sums}, '' FROM summary_item_months "
        f"WHERE {counties} GROUP BY year, figure, item"
    )
    # An envoy's key in a county is '@envoy/county': its last 7 characters '/' and the county.
    envoy = "substr(scope_key, 1, length(scope_key) - 7)"
    db.execute(
        f"{head} SELECT year, {envoy}, figure, item, {sums}, '' FROM summary_item_months "
        f"WHERE county != '' AND scope_key LIKE '@%' GROUP BY year, {envoy}, figure, item"
    )
