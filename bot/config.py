"""The bot's settings in one place, read once at start-up from the environment and a `.env` file.

Only `run_bot.py` calls `Settings.from_env`; everything else receives a `Settings` (or a part of it), so
tests build settings directly and never depend on the developer's environment. Light on imports (no
models), so that a bad setting is reported at once.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

from pipeline import settings
from pipeline.photo import PhotoLimits
from reply.quality import QualityThresholds
from serving.inference import InferenceConfig

T = TypeVar("T")


class ConfigError(ValueError):
    """A missing or malformed setting; the message is one line for the person starting the bot."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where Telegram posts updates in webhook mode (`run_bot.py --webhook`)."""

    base_url: str | None = None  # public https address of this server, e.g. https://bot.example.com
    path: str = "/telegram/webhook"
    host: str = "0.0.0.0"
    port: int = 8080
    secret: str | None = field(default=None, repr=False)  # checked against X-Telegram-Bot-Api-Secret-Token

    @property
    def url(self) -> str | None:
        return f"{self.base_url.rstrip('/')}{self.path}" if self.base_url else None

    def check(self) -> None:
        """Raise ConfigError unless webhook mode can start: a public address, and a secret (without one anybody who
        finds the address can post forged updates) of the characters Telegram allows."""
        if self.url is None:
            raise ConfigError("webhook mode needs WEBHOOK_BASE_URL, the public https address of this server")
        if not self.secret:
            raise ConfigError("webhook mode needs WEBHOOK_SECRET (1-256 characters A-Z, a-z, 0-9, _ and -), so that "
                              "only Telegram can post updates")
        if not SECRET_PATTERN.fullmatch(self.secret):
            raise ConfigError("WEBHOOK_SECRET may hold only 1-256 characters A-Z, a-z, 0-9, _ and -")


SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class ServingSettings:
    """How requests are served past the handlers (serving/, bot/requests.py and bot/distributed.py)."""

    redis_url: str | None = field(default=None, repr=False)  # set: distributed mode; may hold a password
    max_photos: int = 100  # photos accepted and not yet answered, all users together; past it: "busy"
    shutdown_timeout_s: float = 30.0  # on SIGTERM, for the accepted requests to be answered (or handed back)
    job_ttl_s: float = 600.0  # distributed: how long a photo's bytes may wait in Redis for a worker
    job_lease_s: float = 10.0  # distributed: a job whose worker stops renewing this lease goes to another

    @property
    def distributed(self) -> bool:
        return self.redis_url is not None


@dataclass(frozen=True)
class Settings:
    bot_token: str = field(repr=False)  # never in logs or tracebacks
    api_base_url: str | None = None  # a local Bot API server, e.g. http://127.0.0.1:8081
    index_dir: Path = settings.DEFAULT_INDEX_DIR
    weights_dir: Path = settings.DEFAULT_WEIGHTS_DIR
    lookalikes: int = settings.LOOKALIKES  # CelebA look-alikes on each face's card
    max_faces: int = settings.MAX_FACES  # faces answered per photo, largest first
    workers: int = 2  # worker processes (photos processed at the same time); distributed: per worker command
    queue_length: int = 5  # a user's photos waiting behind the one being answered; past it the bot says so
    album_wait_s: float = 1.0  # how long the photos of one album (one media_group_id) are collected
    max_file_bytes: int = PhotoLimits.max_bytes  # the cloud Bot API lets bots download at most 20 MB
    max_pixels: int = PhotoLimits.max_pixels
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    log_level: str = "INFO"
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)

    def __post_init__(self) -> None:
        if self.max_faces < 1 or self.workers < 1 or self.lookalikes < 1:
            raise ConfigError("MAX_FACES, LOOKALIKES and WORKERS must be at least 1")
        if self.queue_length < 0 or self.album_wait_s < 0:
            raise ConfigError("QUEUE_LENGTH and ALBUM_WAIT_SECONDS must not be negative")
        if self.serving.max_photos < 1 or min(self.serving.job_ttl_s, self.serving.job_lease_s) <= 0:
            raise ConfigError("MAX_PENDING_PHOTOS, JOB_TTL_SECONDS and JOB_LEASE_SECONDS must be positive")
        if self.log_level not in logging.getLevelNamesMapping():
            raise ConfigError(f"LOG_LEVEL={self.log_level!r} is not a logging level such as INFO or DEBUG")

    def inference(self) -> InferenceConfig:
        """What a worker process loads, and the limits of an answer."""
        return InferenceConfig(index_dir=self.index_dir, weights_dir=self.weights_dir, lookalikes=self.lookalikes,
                               max_faces=self.max_faces, quality=self.quality, log_level=self.log_level,
                               limits=PhotoLimits(max_bytes=self.max_file_bytes, max_pixels=self.max_pixels))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 dotenv_path: str | Path | None = ".env") -> Settings:
        """Settings from `environ` (default: os.environ) over those in the `dotenv_path` file, if any."""
        values = read_environment(environ, dotenv_path)
        token = values.get("BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("BOT_TOKEN is not set: put @BotFather's token in .env or the environment")
        return cls(
            bot_token=token,
            api_base_url=values.get("BOT_API_BASE_URL") or None,
            index_dir=settings.index_dir(values),
            weights_dir=settings.weights_dir(values),
            lookalikes=parse(values, settings.LOOKALIKES_ENV, int, settings.LOOKALIKES),
            max_faces=parse(values, settings.MAX_FACES_ENV, int, settings.MAX_FACES),
            workers=parse(values, "WORKERS", int, 2),
            queue_length=parse(values, "QUEUE_LENGTH", int, 5),
            album_wait_s=parse(values, "ALBUM_WAIT_SECONDS", float, 1.0),
            max_file_bytes=int(parse(values, "MAX_FILE_MB", float, PhotoLimits.max_bytes / 2**20) * 2**20),
            max_pixels=parse(values, "MAX_PIXELS", int, PhotoLimits.max_pixels),
            quality=QualityThresholds(
                min_face_px=parse(values, "QUALITY_MIN_FACE_PX", float, QualityThresholds.min_face_px),
                max_turn=parse(values, "QUALITY_MAX_TURN", float, QualityThresholds.max_turn),
                min_sharpness=parse(values, "QUALITY_MIN_SHARPNESS", float, QualityThresholds.min_sharpness),
            ),
            log_level=(values.get("LOG_LEVEL") or "INFO").upper(),
            webhook=WebhookSettings(
                base_url=values.get("WEBHOOK_BASE_URL") or None,
                path=values.get("WEBHOOK_PATH") or WebhookSettings.path,
                host=values.get("WEBHOOK_HOST") or WebhookSettings.host,
                port=parse(values, "WEBHOOK_PORT", int, WebhookSettings.port),
                secret=values.get("WEBHOOK_SECRET") or None,
            ),
            serving=ServingSettings(
                redis_url=values.get("REDIS_URL") or None,
                max_photos=parse(values, "MAX_PENDING_PHOTOS", int, ServingSettings.max_photos),
                shutdown_timeout_s=parse(values, "SHUTDOWN_TIMEOUT_SECONDS", float, ServingSettings.shutdown_timeout_s),
                job_ttl_s=parse(values, "JOB_TTL_SECONDS", float, ServingSettings.job_ttl_s),
                job_lease_s=parse(values, "JOB_LEASE_SECONDS", float, ServingSettings.job_lease_s),
            ),
        )


def read_environment(environ: Mapping[str, str] | None, dotenv_path: str | Path | None) -> dict[str, str]:
    """The `.env` file's values, overridden by the real environment (as python-dotenv does by default)."""
    from_file = dotenv_values(dotenv_path) if dotenv_path and Path(dotenv_path).is_file() else {}
    merged = {key: value for key, value in from_file.items() if value is not None}
    merged.update(os.environ if environ is None else environ)
    return merged


def parse(values: Mapping[str, str], name: str, kind: Callable[[str], T], default: T) -> T:
    """values[name] converted by `kind`, or `default` when unset; a ConfigError names the bad variable."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
