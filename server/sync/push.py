"""Applying a device's push: one transaction, every change answered on its own."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from server.farmers import matching as farmers
from server.quality import flags
from server.quality.flags import FlagRules
from server.quality.outlier_stats import JUDGED_KINDS
from server.store.db import get_state, set_state, write_transaction
from server.store.records import fetch_states
from server.sync import refusals
from server.sync.apply import apply_change
from server.sync.batch import Batch, HeldLimits
from server.sync.checkins import store_checkins
from server.sync.checks import REFERENCES
from server.sync.device import Device
from server.sync.errors import CheckinsCollided, Held
from server.sync.held import hold_new, release_held
from server.sync.idempotency import device_max_seq, previous_answers, record_answers
from server.sync.prepare import Prepared, prepare_change
from server.sync.reviewed import mark_corrected, returned_corrected
from server.sync.write import write_dirty
from shared import protocol as p
from shared.clock import HybridLogicalClock, wall_ms


def apply_push(
    db: Database,
    device: Device,
    changes: list[dict[str, Any]],
    held_limits: HeldLimits | None = None,
    flag_rules: FlagRules | None = None,
) -> dict[str, Any]:
    """Apply a batch of changes in one transaction; answer each change on its own.

    The answer lists the sequence numbers applied just as sent under "applied" (nearly all of
    them) and answers every other change on its own under "answers".

    New check-ins are stored without first looking up whether their ids exist: almost always
    they do not, and the lookup cost a twentieth of a big push. The insert itself notices one
    that does (another device checked the same farmer into the same session); then nothing of
    the first attempt is kept and the push is applied again, looking everything up first.
    """
    limits = held_limits or HeldLimits()
    rules = flag_rules or FlagRules()
    try:
        return _apply_push(db, device, changes, limits, rules, careful=False)
    except CheckinsCollided:
        return _apply_push(db, device, changes, limits, rules, careful=True)


def _apply_push(
    db: Database,
    device: Device,
    changes: list[dict[str, Any]],
    held_limits: HeldLimits,
    flag_rules: FlagRules,
    careful: bool,
) -> dict[str, Any]:
    with write_transaction(db):
        hlc = HybridLogicalClock("server", get_state(db, "hlc"))
        batch = Batch(db, device, hlc, wall_ms(), careful=careful, held_limits=held_limits)
        seqs = [change["q"] for change in changes]
        device_max = device_max_seq(db, device.id)
        # Numbers above any this device ever sent cannot have been seen: no lookup needed.
        seen = previous_answers(db, device.id, seqs) if min(seqs, default=0) <= device_max else {}
        # New check-ins apart from everything else: they are stored in bulk.
        checkins: list[Prepared] = []
        others: list[Prepared] = []
        for change in changes:
            prepared = prepare_change(change)
            earlier = seen.get(change["q"]) if seen else None
            if earlier is None:
                # A county's link forwards check-ins one by one through every check (county
                # scope included): the bulk path is for a device's own new check-ins.
                quick = prepared.checkin and not device.county_code
                (checkins if quick else others).append(prepared)
            elif earlier[0] != prepared.digest:
                batch.answers.append({"q": change["q"], "s": p.SEQ_REUSED})
            elif earlier[1] == p.REJECTED:
                batch.answers.append({"q": change["q"], "s": p.REJECTED, "r": earlier[2]})
            else:
                batch.answers.append({"q": change["q"], "s": p.DUPLICATE})
        _prefetch(batch, checkins, others)
        # Other records first, as a check-in's session or farmer may be among them; then new
        # check-ins in bulk; then edits of check-ins. Merges do not depend on order, so this
        # ends where applying them as sent would.
        for prepared in others:
            if prepared.change.get("k") != p.ATTENDANCE:
                _apply_one(batch, device, prepared)
        for prepared in store_checkins(batch, checkins):
            _apply_one(batch, device, prepared)
        for prepared in others:
            if prepared.change.get("k") == p.ATTENDANCE:
                _apply_one(batch, device, prepared)
        batch.observe_quick_stamps()
        # Recorded before held changes are released, so a release can update its own row.
        record_answers(db, device.id, batch.answered)
        if batch.refused:
            refusals.record(db, batch.refused)
        release_held(batch)
        corrected = returned_corrected(batch)
        judged = {kind: list(batch.dirty.get(kind, ())) for kind in JUDGED_KINDS}
        write_dirty(batch)
        # Outliers raised by what this push brought are kept before later pushes move them.
        flags.raise_after_push(db, judged, flag_rules.z_threshold)
        # After the records, so a device pulling in order meets the edit before the review.
        mark_corrected(db, device.id, corrected)
        farmers.check_new_farmers(db, [batch.states[p.FARMER][i] for i in batch.new_farmers])
        device_max = max(device_max, *seqs) if seqs else device_max
        db.execute("UPDATE devices SET max_seq = ? WHERE id = ?", [device_max, device.id])
        set_state(db, "hlc", hlc.last)
    batch.applied.sort()
    batch.answers.sort(key=lambda answer: answer["q"])
    return {
        "applied": batch.applied,
        "answers": batch.answers,
        "server_hlc": hlc.last,
        "device_max_seq": device_max,
    }


def _apply_one(batch: Batch, device: Device, prepared: Prepared) -> None:
    change = prepared.change
    try:
        result = apply_change(batch, device, prepared)
    except Held as waiting:
        result = hold_new(batch, device, change, waiting)
    if result["s"] == p.APPLIED and len(result) == 2:
        batch.applied.append(change["q"])
    else:
        batch.answers.append(result)
        if result["s"] == p.REJECTED:
            batch.refused.append(
                refusals.of_change(
                    device.id,
                    device.envoy_id,
                    change,
                    prepared.record_id,
                    result.get("r"),
                    result.get("e"),
                )
            )
    batch.answered.append((change["q"], prepared.digest, result["s"], result.get("r")))


def _prefetch(batch: Batch, checkins: list[Prepared], others: list[Prepared]) -> None:
    """Read in a few queries what the batch's changes touch and refer to."""
    changed: dict[str, set[str]] = {kind: set() for kind in p.FIELD_KINDS}
    referred: dict[str, set[str]] = {kind: set() for kind in p.FIELD_KINDS}
    batch.checkin_sessions = {prepared.change["f"]["session_id"] for prepared in checkins}
    batch.checkin_farmers = {prepared.change["f"]["farmer_id"] for prepared in checkins}
    referred[p.SESSION].update(batch.checkin_sessions)
    referred[p.FARMER].update(batch.checkin_farmers)
    if batch.careful:
        changed[p.ATTENDANCE].update(prepared.checkin_id for prepared in checkins)
    for prepared in others:
        change = prepared.change
        kind = change.get("k")
        if kind not in p.FIELD_KINDS:
            continue
        record_id = prepared.record_id
        if isinstance(record_id, str):
            changed[kind].add(record_id)
        values = change.get("f") or {}
        for name, target in REFERENCES.get(kind, ()):
            if isinstance(values.get(name), str):
                referred[target].add(values[name])
    for kind, ids in changed.items():
        if ids:
            batch.states.setdefault(kind, {}).update(fetch_states(batch.db, kind, ids))
    for kind, ids in referred.items():
        if ids:
            batch.note_present(kind, ids - batch.states.get(kind, {}).keys())
    if referred[p.FARMER]:
        batch.states.setdefault(p.FARMER_ALIAS, {}).update(
            {
                alias: {"canonical_id": canonical}
                for alias, canonical in farmers.aliases_of(batch.db, referred[p.FARMER])
            }
        )
