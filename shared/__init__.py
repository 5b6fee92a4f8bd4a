"""What the server and the field client both import: record schemas, ids, clock, sync vocabulary."""
