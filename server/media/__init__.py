"""Photos' bytes: stored by SHA-256 in the media folder, uploaded in resumable chunks, served to
those allowed to see the record (the photo record itself syncs like any other, server/sync/)."""
