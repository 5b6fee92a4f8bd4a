"""The bulk path for brand-new check-ins, nearly all of a big push."""

from __future__ import annotations

from server.store.records import fetch_states
from server.sync.batch import QUICK_STAMPS, QUICK_STAMPS_WITH_PHONE, Batch
from server.sync.county_scope import forwarded_sessions
from server.sync.errors import CheckinsCollided
from server.sync.prepare import Prepared
from shared import protocol as p
from shared.clock import stamp_iso


def store_checkins(batch: Batch, checkins: list[Prepared]) -> list[Prepared]:
    """Store brand-new, well-formed check-ins whose session and farmer are known, in bulk;
    return the rest for the general path.

    Such check-ins are nearly all of a big push. The general path would store exactly these
    rows (a test holds the two to that) but takes several times as long; anything else — a
    check-in already known, a stamp from the future, a missing session — takes the general
    path, which also explains any refusal.
    """
    if not checkins:
        return []
    # Sessions this envoy may check farmers into; check-ins into others take the general
    # path, which refuses them and says why.
    batch.note_session_envoys(batch.checkin_sessions - batch.states.get(p.SESSION, {}).keys())
    me = batch.device.envoy_id
    forwarded = forwarded_sessions(batch, batch.checkin_sessions)
    townships = {
        session_id: batch.session_township(session_id)
        for session_id in batch.checkin_sessions
        if batch.exists(p.SESSION, session_id)
        and me in batch.session_envoys(session_id)
        and session_id not in forwarded
    }
    aliases = batch.states.get(p.FARMER_ALIAS, {})
    known_farmers = {
        farmer_id
        for farmer_id in batch.checkin_farmers
        if farmer_id in aliases or batch.exists(p.FARMER, farmer_id)
    }
    known = batch.states.setdefault(p.ATTENDANCE, {})
    rows = batch.quick_rows
    applied, answered = batch.applied, batch.answered
    latest = batch.latest_quick_stamp
    limit = f"{batch.now_ms + p.MAX_CLOCK_AHEAD_MS:013d}"
    rest: list[Prepared] = []
    for prepared in checkins:
        change = prepared.change
        record_id, values, short = prepared.checkin_id, change["f"], change["h"]
        session_id, farmer_id = values["session_id"], values["farmer_id"]
        if (
            record_id in known
            or record_id in rows
            or session_id not in townships
            or farmer_id not in known_farmers
            or short[:13] > limit
        ):
            rest.append(prepared)
            continue
        # Stamps of one device compare as their time parts: the clock sees the latest once.
        if short > latest:
            latest = short
        moment = stamp_iso(short)
        phone = values.get("phone")
        rows[record_id] = (
            record_id,
            session_id,
            farmer_id,
            values["checked_in_at"],
            values["method"],
            moment,
            moment,
            short,
            townships[session_id],
            phone,
            QUICK_STAMPS if phone is None else QUICK_STAMPS_WITH_PHONE,
        )
        seq = change["q"]
        applied.append(seq)
        answered.append((seq, prepared.digest, p.APPLIED, None))
    batch.latest_quick_stamp = latest
    if rest and not batch.careful:
        # The general path needs their stored states, which were not looked up.
        found = fetch_states(batch.db, p.ATTENDANCE, [prepared.checkin_id for prepared in rest])
        if found.keys() & rows.keys():
            raise CheckinsCollided()
        known.update(found)
    return rest
