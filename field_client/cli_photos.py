"""tianjian-field's photo commands: `session photo` and `plot photo` (a plot observation's)."""

from __future__ import annotations

import click

from field_client import photos
from field_client.cli_support import Context, Labelled, pass_ctx
from field_client.listing import china_time
from shared.choices import PHOTO_KINDS, choice_help
from shared.errors import PhotoTooLarge, TianjianError
from shared.photos import MAX_PHOTO_BYTES
from shared.schemas.field import PHOTO_KINDS_OF_SUBJECT

SESSION_PHOTO_LABELS = {code: PHOTO_KINDS[code].zh for code in PHOTO_KINDS_OF_SUBJECT["session"]}
SESSION_PHOTO_KIND = Labelled(SESSION_PHOTO_LABELS, "photo_kind")
PIPL_NOTE = (
    "照片中的人像属于个人信息：只拍需要的，不必拍农民的脸 / photos of people are personal "
    "information: take only what is needed; farmers' faces are never required"
)


def _read(path: str) -> bytes:
    """The file's bytes, up to the cap (a file past it is refused without reading it all)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PHOTO_BYTES + 1)
    except OSError as exc:
        raise TianjianError(
            f"无法读取文件 {path}：{exc.strerror or exc} / cannot read the file {path}",
            {"file": "无法读取 / cannot be read"},
        ) from exc
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(
            f"照片文件太大（最多 {MAX_PHOTO_BYTES // (1024 * 1024)} MB） / the photo file is too "
            f"large (at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB)"
        )
    return data


def _said(ctx: Context, added: photos.PhotoAdded) -> None:
    parts = [added.id, f"{added.width}×{added.height}", f"{added.size_bytes // 1024} KB"]
    if added.taken_at:
        parts.append(f"拍摄 taken {china_time(added.taken_at)}")
    if added.latitude is not None and added.longitude is not None:
        parts.append(f"位置 at {added.latitude:.5f},{added.longitude:.5f}")
    text = " · ".join(parts)
    if not added.new:
        text += "（这张照片已在上面 / this photo was there already）"
    ctx.out(added.as_dict(), text)
    if not ctx.as_json:
        click.echo(PIPL_NOTE, err=True)


@click.command("photo")
@click.argument("session_ref", metavar="SESSION")
@click.argument("file", metavar="FILE")
@click.option(
    "--kind",
    "photo_kind",
    type=SESSION_PHOTO_KIND,
    default="site",
    show_default=True,
    help=f"照片类型 / kind: {choice_help(SESSION_PHOTO_LABELS)}",
)
@click.option("--note", default=None, help="说明（可不填） / note (optional).")
@pass_ctx
def session_photo(
    ctx: Context, session_ref: str, file: str, photo_kind: str, note: str | None
) -> None:
    """给培训加照片：现场、签到表或展板，缩小后待同步 / add a photo to a session: site, sign-in
    sheet or display board; reduced for 2G and sent at the next sync."""
    added = photos.add_photo(ctx.store, "session", session_ref, _read(file), photo_kind, note)
    _said(ctx, added)


@click.command("photo")
@click.argument("observation_ref", metavar="OBSERVATION")
@click.argument("file", metavar="FILE")
@click.option("--note", default=None, help="说明（可不填） / note (optional).")
@pass_ctx
def observation_photo(ctx: Context, observation_ref: str, file: str, note: str | None) -> None:
    """给示范田观察加照片（观察编号见 list observations） / add a photo to a plot observation
    (its id from `list observations`)."""
    added = photos.add_photo(ctx.store, "observation", observation_ref, _read(file), None, note)
    _said(ctx, added)
