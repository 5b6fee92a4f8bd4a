"""m017: where a village is (optional latitude/longitude on units), for the photo flags (issue 21)."""

from sqlite_utils import Database

from server.migrations.registry import migrations


@migrations()
def m017_unit_places(db: Database) -> None:
    """`units.latitude`, `units.longitude`: a village's place in decimal degrees (WGS-84, as a
    phone's GPS gives it), both or neither, loaded from the reference file's optional 纬度/经度
    columns (server/reference.py). A photo or session far from its village is flagged by it
    (server/photo_flags.py); a village without them is judged by what is already placed in it."""
    db.execute("ALTER TABLE units ADD COLUMN latitude REAL")
    db.execute("ALTER TABLE units ADD COLUMN longitude REAL")
