"""m022: rows a county took from its province down the link, of every kind in one table."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m022_province_rows(db: Database) -> None:
    """`province_rows` names each row (kind, id) the province owns on this county: its targets
    for the county (until now `province_targets`, whose rows move here) and its catalogue
    (technologies, varieties, leaflet titles). One table, so the rule "read-only here" has one
    home (server/store/province_rows.py)."""
    db.execute(
        'CREATE TABLE "province_rows" ("kind" TEXT NOT NULL, "id" TEXT NOT NULL, '
        'PRIMARY KEY ("kind", "id"))'
    )
    db.execute(
        'INSERT INTO "province_rows" ("kind", "id") '
        'SELECT \'target\', "target_id" FROM "province_targets"'
    )
    db.execute('DROP TABLE "province_targets"')
