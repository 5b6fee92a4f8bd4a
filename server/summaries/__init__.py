"""Summaries kept on write: each figure of a year and unit or envoy read from a few summary rows
instead of counted over the raw records (tables in m015, meaning in docs/report.md).

- `rows`: what a county's records of a year add to the summaries, by the rules of
  server/counted.py (the one place those rules are written);
- `store`: adding to and taking from the tables, recomputing a marked county;
- `bulk`: a rebuild's writing: each county's own rows, then everything above counties summed;
- `keep`: the write paths' hooks (push, reviews, merges) that keep them right in the same
  transaction: deltas for new check-ins, a (year, county) marked to recompute for the rest;
- `read`: figures of a Scope from the summaries, the same as server/figures.py gives.
"""

from __future__ import annotations

import os

from flask import current_app, has_app_context

from server import settings


def enabled() -> bool:
    """Whether summaries are kept and read (setting SUMMARIES; a bench turns them off)."""
    if has_app_context():
        return bool(int(current_app.config.get("SUMMARIES", settings.default("SUMMARIES"))))
    raw = os.environ.get(settings.BY_NAME["SUMMARIES"].env)
    return bool(int(raw)) if raw is not None else bool(settings.default("SUMMARIES"))
