"""m028: how far a county's staff reviews have gone up its link."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m028_review_cursor(db: Database) -> None:
    """The county's server_seq of the last review change its province has answered for
    (server/upstream/reviews_up.py), beside m022's merge cursor."""
    db.execute('ALTER TABLE "upstream_link" ADD COLUMN "review_cursor" INTEGER NOT NULL DEFAULT 0')
