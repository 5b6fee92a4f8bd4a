"""The review page: one field record with its envoy, present review and review history; staff and
admins set 通过, 有问题 or 退回 (with a note); an envoy user may read their own records' reviews."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from server.accounts.access import ANYONE, BUREAU, requires, signed_in
from server.api.scope import own_record
from server.media.photos import SUBJECT_KINDS, Photo, photo_by_id, photos_of
from server.quality import flags, reviews
from server.quality.record_detail import RecordDetail, record_detail
from server.store.db import get_db
from server.web.formatting import chosen_words
from shared import protocol as p
from shared import review_status as rs
from shared.choices import BY_FIELD, RECORD_KINDS, Words
from shared.clock import utc_now

bp = Blueprint("review", __name__, url_prefix="/review")

KIND_LABELS = {
    p.FARMER: lazy_gettext("农户"),
    p.SESSION: lazy_gettext("培训场次"),
    p.ATTENDANCE: lazy_gettext("签到"),
    p.LEAFLET_RECEIPT: lazy_gettext("资料领取"),
    p.LEAFLET_HANDOUT: lazy_gettext("资料发放"),
    p.PLOT: lazy_gettext("示范田"),
    p.PLOT_OBSERVATION: lazy_gettext("示范田观测"),
    p.PHOTO: lazy_gettext("照片"),
}
STATUS_LABELS = {
    rs.APPROVED: lazy_gettext("通过"),
    rs.QUESTIONED: lazy_gettext("有问题"),
    rs.RETURNED: lazy_gettext("退回"),
    rs.CORRECTED: lazy_gettext("已更正待复核"),
}
FIELD_LABELS = {
    "name": lazy_gettext("姓名"),
    "mobile": lazy_gettext("手机"),
    "gender": lazy_gettext("性别"),
    "birth_year": lazy_gettext("出生年"),
    "village_code": lazy_gettext("村"),
    "kind": lazy_gettext("类型"),
    "title": lazy_gettext("主题"),
    "technology_ids": lazy_gettext("推广技术"),
    "unit_code": lazy_gettext("地点（单位）"),
    "place": lazy_gettext("具体地点"),
    "starts_at": lazy_gettext("开始时间"),
    "ends_at": lazy_gettext("结束时间"),
    "lead_envoy_id": lazy_gettext("主讲特派员"),
    "co_envoy_ids": lazy_gettext("协同特派员"),
    "reported_headcount": lazy_gettext("填报人数"),
    "display_boards": lazy_gettext("展板"),
    "closed": lazy_gettext("已结束签到"),
    "session_id": lazy_gettext("场次"),
    "farmer_id": lazy_gettext("学员"),
    "checked_in_at": lazy_gettext("签到时间"),
    "method": lazy_gettext("签到方式"),
    "leaflet_title_id": lazy_gettext("资料"),
    "copies": lazy_gettext("份数"),
    "received_on": lazy_gettext("领取日期"),
    "handed_out_at": lazy_gettext("发放时间"),
    "correction_of": lazy_gettext("更正的记录"),
    "host_name": lazy_gettext("承担户"),
    "crop": lazy_gettext("作物"),
    "variety_id": lazy_gettext("品种"),
    "area_mu": lazy_gettext("面积（亩）"),
    "latitude": lazy_gettext("纬度"),
    "longitude": lazy_gettext("经度"),
    "altitude_m": lazy_gettext("海拔（米）"),
    "target_yield_kg_per_mu": lazy_gettext("目标亩产（公斤）"),
    "established_on": lazy_gettext("建立日期"),
    "plot_id": lazy_gettext("示范田"),
    "observed_on": lazy_gettext("观测日期"),
    "stage": lazy_gettext("生育期"),
    "survival_rate": lazy_gettext("成活率 %"),
    "yield_kg_per_mu": lazy_gettext("测产（公斤/亩）"),
    "notes": lazy_gettext("备注"),
    "subject_kind": lazy_gettext("照片所属"),
    "subject_id": lazy_gettext("所属记录"),
    "photo_kind": lazy_gettext("照片类型"),
    "sha256": lazy_gettext("文件摘要（SHA-256）"),
    "size_bytes": lazy_gettext("大小（字节）"),
    "width": lazy_gettext("宽（像素）"),
    "height": lazy_gettext("高（像素）"),
    "taken_at": lazy_gettext("拍摄时间"),
    "recorded_at": lazy_gettext("添加时间"),
    "accuracy_m": lazy_gettext("定位精度（米）"),
    "note": lazy_gettext("说明"),
}
CLOSED = {"1": Words(lazy_gettext("是"), "yes"), "0": Words(lazy_gettext("否"), "no")}


def value_label(name: str, text: str) -> Any:
    if name == "subject_kind" and text in SUBJECT_KINDS:
        # A photo's subject is named as the kind of record it is.
        return chosen_words(RECORD_KINDS[SUBJECT_KINDS[text]])
    choices = CLOSED if name == "closed" else BY_FIELD.get(name)
    return chosen_words(choices[text]) if choices and text in choices else text


def _readable(detail: RecordDetail) -> None:
    own_record(signed_in(), detail.owners)


def _page(kind: str, record_id: str, error: reviews.InvalidReview | None = None) -> Any:
    db = get_db()
    user = signed_in()
    detail = record_detail(db, kind, record_id, show_mobiles=user.is_admin)
    _readable(detail)
    page = render_template(
        "review.html",
        detail=detail,
        review=reviews.review_of(db, kind, record_id),
        # Judged as the /flags list judges it, so what staff saw there is what they see here.
        flags=flags.flags_of_record(
            db, kind, record_id, utc_now(), flags.rules_of(current_app.config)
        ),
        history=reviews.history_of(db, kind, record_id),
        photos=_photos(db, kind, record_id),
        may_review=reviews.may_review(user),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        field_labels=FIELD_LABELS,
        value_label=value_label,
        choices=rs.STAFF_CHOICES,
        error=error,
        form=request.form if error else {},
    )
    return (page, error.status) if error else page


def _photos(db: Any, kind: str, record_id: str) -> list[Photo]:
    """The photos shown with a record: a session's or an observation's, or a photo itself."""
    if kind == p.PHOTO:
        found = photo_by_id(db, record_id)
        return [found] if found else []
    subject = {v: k for k, v in SUBJECT_KINDS.items()}.get(kind)
    return photos_of(db, subject, record_id) if subject else []


@bp.get("/<record_kind>/<record_id>")
@requires(*ANYONE)
def record(record_kind: str, record_id: str) -> Any:
    return _page(record_kind, record_id)


@bp.post("/<record_kind>/<record_id>")
@requires(*BUREAU)
def set_review(record_kind: str, record_id: str) -> Any:
    # Refused before anything is written when the record is not the reviewer's to see (a user
    # with an area and another county's record); an unknown record is a 404 here as on the page.
    _readable(record_detail(get_db(), record_kind, record_id))
    try:
        review = reviews.set_review(
            get_db(),
            signed_in(),
            record_kind,
            record_id,
            request.form.get("status", ""),
            request.form.get("note"),
        )
    except reviews.InvalidReview as exc:
        # The form again, with what was typed and the field named: nothing was written.
        return _page(record_kind, record_id, exc)
    flash(gettext("已保存审核：%(status)s", status=STATUS_LABELS[review.status]), "ok")
    return redirect(url_for("review.record", record_kind=record_kind, record_id=record_id))
