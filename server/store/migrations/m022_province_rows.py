"""m022: rows a county took from its province down the link; photos and merges that went up."""

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
    # On the county: each picture whose bytes the province holds whole ('whole'), or refused
    # ('refused', with its reason), so a timer run sends only the rest
    # (server/upstream/photos_up.py).
    db.execute(
        'CREATE TABLE "upstream_photos" ("sha256" TEXT PRIMARY KEY, "state" TEXT NOT NULL, '
        '"note" TEXT, "at" TEXT NOT NULL)'
    )
    # On the county: the server_seq of its staff's farmer merges sent up and answered
    # (server/upstream/merges_up.py).
    db.execute('ALTER TABLE "upstream_link" ADD COLUMN "merge_cursor" INTEGER NOT NULL DEFAULT 0')
