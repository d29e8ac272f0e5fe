"""Settings of the ``rekollect`` commands, declared once.

``OPTIONS`` is the one table of settings: each has a name (its ``Settings`` field), a type, a
default, its flag and environment variable, what it means, and the commands that take it. From
it come the argparse options of every command that takes settings (``add_options``: ``rekollect
serve`` and ``paths``, ``collection export|import``, ``install``), the ``Settings`` object the
server runs on (``settings_from``), and the README's Configuration table (``readme_table``;
``python -m rekollect.config`` prints it, ``tests/test_settings.py`` checks that the README shows
it). A value comes from the flag, else from the environment variable (an empty one counts as
unset), else the default. The data directory's file names and the ARN prefix are here too, so
that every command builds them alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FACE_MODEL_VERSIONS = ("1.0", "2.0", "2.1")
"""Face models a server holds (``vision/packs.py``): 1.0 is dlib's, 2.0 YuNet + SFace, 2.1 the same
networks with Similarity on the false-match-rate scale."""

LOG_FORMATS = ("text", "json")
"""``--log-format``: lines of text, or one JSON object a line (``server.configure_logging``)."""

STORE_FILE = "rekollect.sqlite3"
"""The metadata store in the data directory (SQLite)."""

JOBS_FILE = "jobs.sqlite3"
"""The video and clustering jobs in the data directory (SQLite)."""

SERVE = "serve"
"""``rekollect serve``, and ``rekollect paths``, which takes the same settings to say where the server keeps data."""
EXPORT, IMPORT, UPGRADE = "collection export", "collection import", "collection upgrade"
INSTALL = "install"


def arn_prefix(region: str, account_id: str) -> str:
    """``arn:aws:rekognition:<region>:<account>:``: the start of the ARN of a server's resources."""
    return f"arn:aws:rekognition:{region}:{account_id}:"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/rekollect`` (``~/.local/share/rekollect`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "rekollect"


def default_models_dir() -> Path:
    """``<sys.prefix>/share/rekollect/models``: inside the virtual environment."""
    return Path(sys.prefix) / "share" / "rekollect" / "models"


def _at_least(low: int) -> Callable[[Any], bool]:
    return lambda value: value >= low


def _positive(value: float) -> bool:
    return value > 0


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_boolean(text: str) -> bool:
    """An on/off variable's value: ``1``, ``true``, ``yes``, ``on`` or ``0``, ``false``, ``no``, ``off``
    (any case); ``ValueError`` otherwise."""
    folded = text.strip().lower()
    if folded in _TRUE or folded in _FALSE:
        return folded in _TRUE
    raise ValueError(f"{text!r} is neither on ({', '.join(_TRUE)}) nor off ({', '.join(_FALSE)})")


def _addresses(value: str) -> bool:
    try:
        for proxy in filter(None, (item.strip() for item in value.split(","))):
            ipaddress.ip_network(proxy)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Option:
    """One setting. ``kind`` parses its text (``str``, ``int``, ``float``, ``Path``; ``bool`` is a flag
    without a value, and ``--no-<flag>`` too when it has a variable, which reads ``parse_boolean``); ``default`` is its value when neither flag nor variable is given, or
    ``factory()`` is; ``shown`` is how the README and ``--help`` state that default when it is
    computed (``None``: the value itself; an unset default reads "unset"). ``check`` accepts a
    value, ``requirement`` says what it demands when it does not."""

    name: str
    kind: type
    default: Any
    flag: str | None
    env: str | None
    help: str
    commands: tuple[str, ...] = (SERVE,)
    choices: tuple[str, ...] | None = None
    factory: Callable[[], Any] | None = None
    shown: str | None = None
    check: Callable[[Any], bool] | None = None
    requirement: str = ""

    @property
    def annotation(self) -> Any:
        """The type of the ``Settings`` field."""
        return self.kind if self.default is not None or self.factory is not None else self.kind | None

    def parse(self, text: str) -> Any:
        """``text`` as a value of this option (``ValueError`` if unparsable; ``parse_boolean`` for on/off)."""
        return parse_boolean(text) if self.kind is bool else self.kind(text)

    def initial(self, environ: Mapping[str, str]) -> Any:
        """The value before the flag: the environment variable's, else the default (``ValueError`` if unparsable)."""
        text = environ.get(self.env) if self.env else None
        if text:
            return self.parse(text)
        return self.factory() if self.factory is not None else self.default

    def shown_default(self) -> str:
        """The default as the README and ``--help`` state it."""
        if self.shown is not None:
            return self.shown
        if self.default is None or self.default == "":
            return "unset"
        if isinstance(self.default, float) and self.default.is_integer():
            return f"`{self.default:g}`"
        return f"`{self.default}`"


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "127.0.0.1", "--host", "REKOLLECT_HOST",
           "address to listen on; anything but loopback needs credentials (see Security)"),
    Option("port", int, 8085, "--port", "REKOLLECT_PORT", "port to listen on"),
    Option("data_dir", Path, None, "--data-dir", "REKOLLECT_DATA_DIR",
           "where everything the server stores lives on embedded defaults (see below)",
           commands=(SERVE, EXPORT, IMPORT, UPGRADE), factory=default_data_dir,
           shown="`$XDG_DATA_HOME/rekollect` (`~/.local/share/rekollect`)"),
    Option("s3_endpoint_url", str, None, "--s3-endpoint-url", "REKOLLECT_S3_ENDPOINT_URL",
           "S3-compatible server that `S3Object` images and videos are read from; unset: read objects from the"
           " local root"),
    Option("s3_local_root", Path, None, "--s3-local-root", "REKOLLECT_S3_LOCAL_ROOT",
           "folder whose sub-folders are the buckets when no S3 endpoint is set", shown="`<data-dir>/s3`"),
    Option("region", str, "us-east-1", "--region", "REKOLLECT_REGION",
           "used in collection ARNs, and the region SigV4 signatures must be scoped to", commands=(SERVE, IMPORT)),
    Option("account_id", str, "000000000000", "--account-id", "REKOLLECT_ACCOUNT_ID", "used in collection ARNs",
           commands=(SERVE, IMPORT)),
    Option("video_sample_rate", float, 5.0, "--video-sample-rate", "REKOLLECT_VIDEO_SAMPLE_RATE",
           "video frames analysed per second of video"),
    Option("video_max_jobs", int, 20, "--video-max-jobs", "REKOLLECT_VIDEO_MAX_JOBS",
           "video jobs in progress at once (`LimitExceededException` past it)"),
    Option("sns_endpoint_url", str, None, "--sns-endpoint-url", "REKOLLECT_SNS_ENDPOINT_URL",
           "where video jobs' completion messages are published; unset: boto3's SNS endpoint for the topic's region"),
    Option("video_webhook_url", str, None, "--video-webhook-url", "REKOLLECT_VIDEO_WEBHOOK_URL",
           "URL each video job's completion message is POSTed to; unset: no webhook"),
    Option("tls_certificate_file", Path, None, "--tls-certificate", "REKOLLECT_TLS_CERTIFICATE",
           "PEM certificate (chain) to serve HTTPS and WSS with, with `--tls-key`; browsers open Face Liveness"
           " streams only over TLS (see Face Liveness); unset: plain HTTP"),
    Option("tls_key_file", Path, None, "--tls-key", "REKOLLECT_TLS_KEY",
           "PEM private key of `--tls-certificate`"),
    Option("stream_sources", Path, None, "--stream-sources", "REKOLLECT_STREAM_SOURCES",
           "file of `stream = URL` lines: the RTSP, HTTP or file URL that stream processors read for each Kinesis"
           " video stream name or ARN (see Live streams); unset: no stream processor can be created"),
    Option("kinesis_endpoint_url", str, None, "--kinesis-endpoint-url", "REKOLLECT_KINESIS_ENDPOINT_URL",
           "Kinesis-compatible server that stream processors put their records to; unset: boto3's Kinesis"
           " endpoint for the data stream's region"),
    Option("stream_sample_rate", float, 5.0, "--stream-sample-rate", "REKOLLECT_STREAM_SAMPLE_RATE",
           "live frames analysed per second by each stream processor (at most; see Live streams)",
           check=_positive, requirement="a positive number of frames per second"),
    Option("stream_slots", int, 4, "--stream-slots", "REKOLLECT_STREAM_SLOTS",
           "stream processors each server process runs at once; more wait, `STARTING`, for a free slot on any"
           " process or node", check=_at_least(1), requirement="at least 1"),
    Option("stream_webhook_url", str, None, "--stream-webhook-url", "REKOLLECT_STREAM_WEBHOOK_URL",
           "URL that every stream processor's frame records are POSTed to as well (see Live streams); unset: no"
           " webhook"),
    Option("credentials_file", Path, None, "--credentials-file", "REKOLLECT_CREDENTIALS_FILE",
           "the clients' keys and policies (see Security); unset: local mode"),
    Option("max_clock_skew_seconds", int, 300, "--max-clock-skew", "REKOLLECT_MAX_CLOCK_SKEW",
           "seconds between `X-Amz-Date` and the server clock"),
    Option("header_timeout_seconds", float, 10.0, "--header-timeout", "REKOLLECT_HEADER_TIMEOUT",
           "seconds for a client to send a request's headers (see Security)",
           check=_positive, requirement="a positive number of seconds"),
    Option("body_timeout_seconds", float, 120.0, "--body-timeout", "REKOLLECT_BODY_TIMEOUT",
           "seconds for a client to send a request's body, from the end of its headers",
           check=_positive, requirement="a positive number of seconds"),
    Option("trusted_proxies", str, "", "--trusted-proxies", "REKOLLECT_TRUSTED_PROXIES",
           "comma-separated addresses or CIDRs of reverse proxies whose `X-Forwarded-For`/`-Proto` are believed"
           " (see Security); unset: none",
           check=_addresses, requirement="IP addresses or CIDR blocks (host bits zero), separated by commas"),
    Option("workers", int, 1, "--workers", "REKOLLECT_WORKERS",
           "server processes; more let concurrent requests use more cores (see Scale)",
           check=_at_least(1), requirement="at least 1"),
    Option("ann_threshold", int, 20_000, "--ann-threshold", "REKOLLECT_ANN_THRESHOLD",
           "faces (or users) in a collection from which searches use the approximate index",
           check=_at_least(1), requirement="at least 1"),
    Option("vision_threads", int, 0, "--vision-threads", "REKOLLECT_VISION_THREADS",
           "threads of each process for the neural networks (detectors, embedding networks); `0`: the cores"
           " available divided by `--workers`",
           check=_at_least(0), requirement="at least 0 (0: automatic)"),
    Option("face_model_version", str, "2.1", "--face-model-version", "REKOLLECT_FACE_MODEL_VERSION",
           "the face model new collections get, and DetectFaces and CompareFaces use (see Face models)",
           choices=FACE_MODEL_VERSIONS),
    Option("database_url", str, None, "--database-url", "REKOLLECT_DATABASE_URL",
           "`postgresql://...` keeps all shared state in PostgreSQL, for several nodes (see Several nodes);"
           " unset: SQLite in the data directory",
           commands=(SERVE, EXPORT, IMPORT, UPGRADE),
           check=lambda url: url.startswith(("postgresql://", "postgres://")), requirement="a postgresql:// URL"),
    Option("snapshot_url", str, None, "--snapshot-url", "REKOLLECT_SNAPSHOT_URL",
           "`s3://bucket/prefix` shares index snapshots between nodes; unset: on local disk only",
           check=lambda url: url.startswith("s3://"), requirement="s3://bucket/prefix"),
    Option("job_lease_seconds", float, 30.0, "--job-lease", "REKOLLECT_JOB_LEASE",
           "seconds a video, clustering or stream processor job is held by the process running it (renewed while it runs); a job of"
           " a process or node that died is taken over after that (at once, on SQLite, when its process is gone)",
           check=_positive, requirement="a positive number of seconds"),
    Option("log_format", str, "text", "--log-format", "REKOLLECT_LOG_FORMAT",
           "`text`, or `json`: one JSON object a line (see Metrics and logs)", choices=LOG_FORMATS),
    Option("metrics_token_file", Path, None, "--metrics-token-file", "REKOLLECT_METRICS_TOKEN_FILE",
           "file holding the bearer token that reads `GET /metrics` (see Metrics and logs); unset: no token"),
    Option("face_crops", bool, False, "--face-crops", "REKOLLECT_FACE_CROPS",
           "keep a small aligned picture (JPEG, 128 px) of each face indexed, for the console and the"
           " `GetFaceCrops` extension: biometric data the server then keeps (see Security); off: no image is kept,"
           " as on AWS", shown="off"),
    Option("accept_data_loss", bool, False, "--accept-data-loss", None,
           "start even though the store lost writes it had acknowledged (it is behind its index snapshot;"
           " see Security); for one start", shown="off"),
    Option("models_dir", Path, None, None, "REKOLLECT_MODELS_DIR",
           "where `rekollect install` puts the model files, and the server reads them",
           commands=(SERVE, INSTALL), factory=default_models_dir,
           shown="`<virtual environment>/share/rekollect/models`"),
)

OPTION = {option.name: option for option in OPTIONS}
"""The options by name."""


def options(command: str) -> list[Option]:
    """The options ``command`` (``SERVE``, ``EXPORT``, ``IMPORT``, ``UPGRADE``, ``INSTALL``) takes, in table order."""
    return [option for option in OPTIONS if command in option.commands]


class SettingsMethods:
    """What ``Settings`` offers besides its fields."""

    @property
    def local_object_root(self) -> Path:
        """Folder whose sub-folders act as buckets when no S3 endpoint is set."""
        return self.s3_local_root or self.data_dir / "s3"

    @property
    def store_path(self) -> Path:
        """The SQLite metadata store in the data directory."""
        return self.data_dir / STORE_FILE

    @property
    def jobs_path(self) -> Path:
        """The SQLite job store in the data directory."""
        return self.data_dir / JOBS_FILE

    @property
    def arn_prefix(self) -> str:
        """``arn:aws:rekognition:<region>:<account>:`` for this server's resources."""
        return arn_prefix(self.region, self.account_id)

    def to_json(self) -> str:
        """These settings as JSON (for ``from_json`` in a worker process)."""
        values = dataclasses.asdict(self)
        return json.dumps({key: None if value is None else str(value) if isinstance(value, Path) else value
                           for key, value in values.items()})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Settings written by ``to_json``."""
        values = json.loads(text)
        return cls(**{key: Path(value) if OPTION[key].kind is Path and value is not None else value
                      for key, value in values.items()})


def _field(option: Option) -> tuple[str, Any, Any]:
    """``option`` as a ``Settings`` field: name, type and default (an option without a flag is read
    from its variable wherever ``Settings`` are made)."""
    if option.flag is None:
        default = dataclasses.field(default_factory=lambda: option.initial(os.environ))
    elif option.factory is not None:
        default = dataclasses.field(default_factory=option.factory)
    else:
        default = dataclasses.field(default=option.default)
    return option.name, option.annotation, default


Settings = dataclasses.make_dataclass(
    "Settings", [_field(option) for option in options(SERVE)], bases=(SettingsMethods,), frozen=True
)
Settings.__module__ = __name__
Settings.__doc__ = """Everything the server is configured with: one field per option of ``OPTIONS`` that
``rekollect serve`` takes (their meaning, defaults, flags and variables are in that table)."""


def add_options(parser: argparse.ArgumentParser, command: str, environ: Mapping[str, str] | None = None) -> None:
    """Add the flags of ``command``'s options to ``parser``, their defaults taken from ``environ``
    (``os.environ``) or the table; read them back with ``checked``."""
    environ = os.environ if environ is None else environ
    for option in options(command):
        try:
            initial = option.initial(environ)
        except ValueError:
            kind = "on/off value" if option.kind is bool else option.kind.__name__
            parser.error(f"{option.env}: {environ[option.env]!r} is not a valid {kind}")
        default = option.shown_default().replace("`", "")
        if option.flag is None:  # said in the epilog
            parser.set_defaults(**{option.name: initial})
            parser.epilog = f"{parser.epilog or ''}${option.env}: {option.help.replace('`', '')} (default: {default}). "
            continue
        where = f"; ${option.env}" if option.env else ""
        described = f"{option.help.replace('`', '')} (default: {default}{where})".replace("%", "%%")
        if option.kind is bool:  # with a variable, --no-<flag> turns off what the variable turned on
            action = argparse.BooleanOptionalAction if option.env else "store_true"
            parser.add_argument(option.flag, dest=option.name, action=action, default=initial, help=described)
        else:
            parser.add_argument(
                option.flag,
                dest=option.name,
                type=option.kind,
                default=initial,
                choices=option.choices,
                metavar=None if option.choices else option.flag[2:].upper().replace("-", "_"),
                help=described,
            )


def checked(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> dict[str, Any]:
    """``command``'s option values in ``args`` by name; ``parser.error`` (exit status 2) for one the
    table refuses, whether it came from a flag or a variable."""
    values = {option.name: getattr(args, option.name) for option in options(command)}
    for option in options(command):
        value = values[option.name]
        if value is None:
            continue
        if option.choices is not None and value not in option.choices:
            parser.error(f"{option.flag or option.env} must be one of {', '.join(option.choices)}, not {value!r}")
        if option.check is not None and not option.check(value):
            parser.error(f"{option.flag or option.env} must be {option.requirement}, not {value!r}")
    return values


def settings_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    """The ``Settings`` of ``rekollect serve``'s parsed ``args`` (options added by ``add_options``)."""
    return Settings(**checked(parser, args, SERVE))


def models_dir() -> Path:
    """Where the model files are installed: ``$REKOLLECT_MODELS_DIR``, else inside the virtual environment."""
    return OPTION["models_dir"].initial(os.environ)


def readme_table() -> str:
    """The README's Configuration table (Markdown), one row per option with a flag or a variable."""
    rows = ["| flag | variable | default | meaning | commands |", "| --- | --- | --- | --- | --- |"]
    for option in OPTIONS:
        commands = ", ".join(f"`{command}`" for command in option.commands)
        rows.append(
            f"| {f'`{option.flag}`' if option.flag else '—'} | {f'`{option.env}`' if option.env else '—'}"
            f" | {option.shown_default()} | {option.help} | {commands} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(readme_table())
