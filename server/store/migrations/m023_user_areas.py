"""m023: a bureau user's level (province, city or county) and area (a unit code)."""

from sqlite_utils import Database

from server.store.migrations.registry import migrations


@migrations()
def m023_user_areas(db: Database) -> None:
    """`users.level` and `users.area`: the province, city or county a bureau user sees, by its
    12-digit unit code (server/accounts/areas.py, server/api/scope.py); both NULL for a user who
    sees the whole server, as every user did before."""
    db.execute('ALTER TABLE "users" ADD COLUMN "level" TEXT')
    db.execute('ALTER TABLE "users" ADD COLUMN "area" TEXT')
