"""Counties reporting up (issue 23): a county's server forwards its records to its province.

On the province: `codes` issues a county its one-time code and enrols its link (a device of a
new kind), `accept` lets that link act for its county's envoys and no other. On the county:
`forward` enrols with the province and pushes what changed since its cursor through the same
idempotent /api/v1/sync/push the field devices use (docs/sync.md, "Counties reporting up").
"""
