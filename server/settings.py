"""Server settings, declared once with their help text; each can come from the environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from shared import photos, serving
from shared import protocol as p

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Setting:
    """One setting: its config key, the environment variable that sets it, default and help."""

    name: str
    env: str
    default: Any
    help: str


SETTINGS = (
    Setting(
        "DATABASE",
        "TIANJIAN_DB",
        "tianjian.db",
        "服务器 SQLite 数据库文件路径 / Path of the server's SQLite database file.",
    ),
    Setting(
        "MEDIA_DIR",
        "TIANJIAN_MEDIA_DIR",
        "",
        "照片文件夹（留空则在数据库旁，名为“数据库名-media”）/ Folder the photos' bytes are kept in,"
        " never in the database (empty: beside the database, named after it with -media).",
    ),
    Setting(
        "MEDIA_BACKEND",
        "TIANJIAN_MEDIA_BACKEND",
        "folder",
        "照片字节存放于何处：folder（照片文件夹，县级默认）或 s3（S3 兼容对象存储，如 MinIO，供多台应用服务器共用）"
        " / Where photos' bytes are kept: folder (the media folder, a county's default) or s3"
        " (S3-compatible object storage such as MinIO, shared by several app machines).",
    ),
    Setting(
        "MEDIA_S3_ENDPOINT",
        "TIANJIAN_MEDIA_S3_ENDPOINT",
        "",
        "S3 服务地址，如 https://minio.example:9000（留空则为 AWS）/ URL of the S3-compatible"
        " service, e.g. https://minio.example:9000 (empty: AWS's own).",
    ),
    Setting(
        "MEDIA_S3_BUCKET",
        "TIANJIAN_MEDIA_S3_BUCKET",
        "",
        "存放照片的存储桶（须预先创建）/ Bucket the photos are kept in (created beforehand).",
    ),
    Setting(
        "MEDIA_S3_PREFIX",
        "TIANJIAN_MEDIA_S3_PREFIX",
        "",
        "存储桶内的键前缀，如 tianjian/（留空则在根部）/ Key prefix inside the bucket, e.g."
        " tianjian/ (empty: at its root).",
    ),
    Setting(
        "MEDIA_S3_REGION",
        "TIANJIAN_MEDIA_S3_REGION",
        "us-east-1",
        "S3 区域（MinIO 通常为 us-east-1）/ S3 region (MinIO's default is us-east-1).",
    ),
    Setting(
        "MEDIA_S3_ACCESS_KEY_ID",
        "TIANJIAN_MEDIA_S3_ACCESS_KEY_ID",
        "",
        "S3 访问密钥 ID，只从环境变量读取（留空则用 boto3 自己的 AWS_ACCESS_KEY_ID 等）/ S3 access"
        " key id, from the environment only (empty: boto3's own AWS_ACCESS_KEY_ID and so on).",
    ),
    Setting(
        "MEDIA_S3_SECRET_ACCESS_KEY",
        "TIANJIAN_MEDIA_S3_SECRET_ACCESS_KEY",
        "",
        "S3 秘密访问密钥，只从环境变量读取，从不写入日志 / S3 secret access key, from the"
        " environment only, never logged.",
    ),
    Setting(
        "MAX_PHOTO_BYTES",
        "TIANJIAN_MAX_PHOTO_BYTES",
        photos.MAX_REDUCED_BYTES,
        "一张照片的最大字节数 / Largest photo accepted, in bytes (devices reduce theirs to about"
        " 200 KB, never more than this).",
    ),
    Setting(
        "MEDIA_REQUESTS_PER_MINUTE",
        "TIANJIAN_MEDIA_REQUESTS_PER_MINUTE",
        600,
        "一台设备每分钟最多的照片上传请求数 / Most photo-upload requests (status and chunks) one"
        " device may make per minute; more are answered 429.",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        "TIANJIAN_MAX_REQUEST_BYTES",
        4 * 1024 * 1024,
        "接受的最大请求体（字节，压缩后）/ Largest request body accepted, in bytes (compressed, as sent).",
    ),
    Setting(
        "MAX_DECOMPRESSED_BYTES",
        "TIANJIAN_MAX_DECOMPRESSED_BYTES",
        32 * 1024 * 1024,
        "解压后的最大请求体（字节）/ Largest request body after gzip is undone, in bytes; a gzip bomb stops here.",
    ),
    Setting(
        "MAX_BATCH_CHANGES",
        "TIANJIAN_MAX_BATCH_CHANGES",
        5000,
        "一次上传的最多变更数 / Most changes in one push.",
    ),
    Setting(
        "MAX_PULL_PAGE",
        "TIANJIAN_MAX_PULL_PAGE",
        5000,
        "一页下载的最多记录数 / Most records in one pull page.",
    ),
    Setting(
        "CHECKPOINT_QUIET_SECONDS",
        "TIANJIAN_CHECKPOINT_QUIET_SECONDS",
        2,
        "无写入多少秒后把预写日志并入数据库 / Seconds without a write after which `run` copies the write-ahead log into the database"
        " (0: only when it passes ~256 MB).",
    ),
    Setting(
        "MAX_HELD_CHANGES",
        "TIANJIAN_MAX_HELD_CHANGES",
        5000,
        "一台设备在服务器上等待中的最多变更数 / Most changes one device may have waiting on the server for a record that has not arrived"
        " (a check-in before its session); past it, further such changes are refused.",
    ),
    Setting(
        "MAX_HELD_BYTES",
        "TIANJIAN_MAX_HELD_BYTES",
        4 * 1024 * 1024,
        "一台设备等待中变更的最多字节数 / Most bytes of such waiting changes one device may have on the server.",
    ),
    Setting(
        "THREADS",
        serving.THREADS_ENV,
        4,
        "处理请求的线程数 / Threads that run requests (`run`); idle or slow connections need none.",
    ),
    Setting(
        "CONNECTION_LIMIT",
        serving.CONNECTION_LIMIT_ENV,
        serving.DEFAULT_CONNECTION_LIMIT,
        "同时保持的最多连接数 / Most connections `run` keeps open at once, idle and slow ones included; more wait to be"
        " accepted (waitress's own default, 100, let a hundred idle clients stop it answering).",
    ),
    Setting(
        "CHANNEL_TIMEOUT",
        serving.CHANNEL_TIMEOUT_ENV,
        serving.DEFAULT_CHANNEL_TIMEOUT,
        "连接无数据多少秒后关闭 / Seconds a connection may stay silent before `run` closes it.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "TIANJIAN_TRUSTED_PROXIES",
        0,
        "本服务器前面可信的反向代理层数（0：不信任 X-Forwarded-For 等头，按连接地址计数）/ How many"
        " reverse proxies in front of this server to trust: their X-Forwarded-For, -Proto and -Host"
        " give each client's own address (so per-address limits count each phone, not the proxy)"
        " and the https scheme. 0, the default, trusts none: a client cannot choose its address.",
    ),
    Setting(
        "ENROLMENT_CODE_MINUTES",
        "TIANJIAN_ENROLMENT_MINUTES",
        60 * 24,
        "一次性登记码的有效分钟数 / How long a one-time enrolment code stays valid, in minutes.",
    ),
    Setting(
        "SECRET_KEY",
        "TIANJIAN_SECRET_KEY",
        "",
        "签名登录 cookie 的密钥（留空则自动生成并存于数据库）/ Key that signs sign-in cookies (empty: one is made and kept in the database).",
    ),
    Setting(
        "SESSION_IDLE_MINUTES",
        "TIANJIAN_SESSION_IDLE_MINUTES",
        30,
        "登录后闲置多少分钟自动退出 / Minutes without a request after which a signed-in page session expires.",
    ),
    Setting(
        "CHECKIN_MARGIN_MINUTES",
        "TIANJIAN_CHECKIN_MARGIN_MINUTES",
        120,
        "签到早于开始或晚于结束超过多少分钟即列入核对 / Minutes before a session starts or after it ends (or starts, with no end time) beyond"
        " which a check-in is listed for reconciliation (never refused).",
    ),
    Setting(
        "CHECKIN_SHARED_PHONE_FARMERS",
        "TIANJIAN_CHECKIN_SHARED_PHONE_FARMERS",
        3,
        "同一手机在同一场培训为多少位不同农户签到即列入核对 / Distinct farmers one phone checks in"
        " at one session from which its check-ins are listed for reconciliation (never refused).",
    ),
    Setting(
        "CHECKIN_SHARED_ADDRESS_FARMERS",
        "TIANJIAN_CHECKIN_SHARED_ADDRESS_FARMERS",
        6,
        "同一网络地址在同一场培训为多少位不同农户自助签到即标记该场 / Distinct farmers one client"
        " network address checks in at one session from which the session is flagged (never refused).",
    ),
    Setting(
        "CHECKIN_BURST_CHECKINS",
        "TIANJIAN_CHECKIN_BURST_CHECKINS",
        30,
        "同一场培训在 CHECKIN_BURST_SECONDS 秒内有多少次自助签到即标记该场 / Self check-ins at one"
        " session within CHECKIN_BURST_SECONDS from which the session is flagged as a burst.",
    ),
    Setting(
        "CHECKIN_BURST_SECONDS",
        "TIANJIAN_CHECKIN_BURST_SECONDS",
        60,
        "判断签到过快的时间窗（秒）/ The span, in seconds, CHECKIN_BURST_CHECKINS are counted in.",
    ),
    Setting(
        "CHECKIN_ONE_TIME_SHARE",
        "TIANJIAN_CHECKIN_ONE_TIME_SHARE",
        0.8,
        "一场培训的签到农户中，未参加任何其他培训者占多大比例（0-1）即标记该场 / Share (0-1) of a"
        " session's farmers checked in at no other session, before or since, from which it is flagged.",
    ),
    Setting(
        "CHECKIN_ONE_TIME_MIN_FARMERS",
        "TIANJIAN_CHECKIN_ONE_TIME_MIN_FARMERS",
        10,
        "签到农户少于多少位的培训不作此判断 / Sessions with fewer farmers checked in are not judged"
        " for one-time farmers.",
    ),
    Setting(
        "CHECKIN_ONE_TIME_AFTER_DAYS",
        "TIANJIAN_CHECKIN_ONE_TIME_AFTER_DAYS",
        90,
        "培训开始多少天后才判断其农户是否再未出现 / Days after a session starts before its farmers"
        " are judged as never seen again.",
    ),
    Setting(
        "SILENT_DEVICE_DAYS",
        "TIANJIAN_SILENT_DEVICE_DAYS",
        14,
        "设备多少天未联系即列为失联 / Days without contact after which a device is listed as silent for reconciliation.",
    ),
    Setting(
        "FLAG_Z_THRESHOLD",
        "TIANJIAN_FLAG_Z_THRESHOLD",
        3.5,
        "修正 z 分数超过多少即标记为异常（面积、上报人数、发放份数，须同时远离该特派员与全县常见值）"
        " / Modified z-score (Iglewicz & Hoaglin) beyond which a plot's area, a session's headcount"
        " or a hand-out's copies is flagged, when far outside both its envoy's and its county's"
        " usual (flagged for review, never refused).",
    ),
    Setting(
        "FLAG_YIELD_RATIO",
        "TIANJIAN_FLAG_YIELD_RATIO",
        3.0,
        "观测亩产高于目标亩产多少倍（或低于其几分之一）即标记 / A plot observation's yield more than"
        " this many times its plot's target yield, or less than its reciprocal, is flagged.",
    ),
    Setting(
        "SUMMARIES",
        "TIANJIAN_SUMMARIES",
        1,
        "是否维护并读取汇总表（1 是，0 否；关闭后须运行 summaries rebuild 才会再读取）/ Keep and read"
        " the summary tables (1) or count every figure from the records (0); once turned off,"
        " they are read again only after `summaries rebuild`.",
    ),
    Setting(
        "FLAG_PHOTO_REQUIRED",
        "TIANJIAN_FLAG_PHOTO_REQUIRED",
        False,
        "是否要求培训有现场照片：开启后，有签到或上报人数却无照片的培训即标记（1 开启，0 关闭）"
        " / Whether the bureau asks for photos: when on (1), a session with check-ins or a"
        " headcount but no photo is flagged (never refused). Off (0) by default.",
    ),
    Setting(
        "FLAG_PHOTO_WINDOW_HOURS",
        "TIANJIAN_FLAG_PHOTO_WINDOW_HOURS",
        12.0,
        "照片拍摄时间早于培训开始或晚于结束超过多少小时即标记该场 / Hours a photo's taken-at time may"
        " lie before its session starts or after it ends (or starts, with no end) before the"
        " session is flagged.",
    ),
    Setting(
        "FLAG_PHOTO_HASH_DISTANCE",
        "TIANJIAN_FLAG_PHOTO_HASH_DISTANCE",
        6,
        "两张照片的感知哈希（64 位）相差不超过多少位即视为同一画面 / Bits (of 64) within which two"
        " photos' perceptual hashes count as the same picture, so a session reusing another's"
        " photo is flagged (0: only the same picture re-encoded; identical bytes always are).",
    ),
    Setting(
        "FLAG_PHOTO_DISTANCE_KM",
        "TIANJIAN_FLAG_PHOTO_DISTANCE_KM",
        5.0,
        "照片拍摄地点距所属村超过多少公里即标记 / Kilometres beyond which a photo placed away from"
        " its session's or observation's village flags that record (the photo's stated accuracy"
        " is allowed for).",
    ),
    Setting(
        "TOMBSTONE_RETENTION_DAYS",
        "TIANJIAN_TOMBSTONE_DAYS",
        p.TOMBSTONE_RETENTION_DAYS,
        "删除记录的墓碑保留天数；离线更久的设备需全量重新同步 / Days a deleted record's tombstone is kept; a device offline longer resyncs in full.",
    ),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def option(name: str, *param_decls: str, **attrs: Any) -> Callable[[F], F]:
    """A click option for setting `name`: its default, environment variable and help come from
    the one declaration above, so a command line and the app never disagree."""
    setting = BY_NAME[name]
    attrs.setdefault("type", type(setting.default))
    return click.option(
        *param_decls,
        envvar=setting.env,
        default=setting.default,
        show_default=True,
        show_envvar=True,
        help=setting.help,
        **attrs,
    )


def defaults_from_environment() -> dict[str, Any]:
    """Every setting's value: its environment variable if set, else its default."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        if raw is None:
            values[setting.name] = setting.default
        elif isinstance(setting.default, bool):
            values[setting.name] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(setting.default, int):
            values[setting.name] = int(raw)
        elif isinstance(setting.default, float):
            values[setting.name] = float(raw)
        else:
            values[setting.name] = raw
    return values


def default(name: str) -> Any:
    """A setting's declared default."""
    return BY_NAME[name].default
