"""m017: where a village is (optional latitude/longitude on units), and each stored picture's
perceptual hash, for the photo flags (issue 21)."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m017_unit_places(db: Database) -> None:
    """Units' places and media's perceptual hashes.

    `units.latitude`, `units.longitude`: a village's place in decimal degrees (WGS-84, as a
    phone's GPS gives it), both or neither, loaded from the reference file's optional 纬度/经度
    columns (server/reference/load.py). A photo or session far from its village is flagged by it
    (server/quality/photo_flags.py); a village without them is judged by what is already placed in it."""
    db.execute("ALTER TABLE units ADD COLUMN latitude REAL")
    db.execute("ALTER TABLE units ADD COLUMN longitude REAL")
    # `media.phash`: the picture's pHash (16 hex digits), computed once when its bytes are
    # complete (server/quality/photo_hashes.py), so a reused picture is found without opening files.
    db.execute("ALTER TABLE media ADD COLUMN phash TEXT")
    # An envoy's photos by the time they were taken: their verified service days
    # (server/figures/performance.py) without reading every photo.
    db.execute("CREATE INDEX idx_photos_envoy_taken ON photos (envoy_id, taken_at)")
