"""The web page's settings in one place: where it listens, its per-client rate limit and upload time, and what it
shares with the bot, read from the same environment variables and `.env` file (.env.example explains each): the
answer's settings (index, weights, look-alikes, faces, upload limits, quality thresholds: serving's
InferenceConfig, what every worker loads), the worker processes, and the global admission limit
(MAX_PENDING_PHOTOS; with REDIS_URL it is counted in Redis, one limit for the bot and the page together).

Only the `serve` command (web/server.py, through `settings_from`) reads the environment; tests build settings
directly.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.config import ConfigError, parse, read_environment
from pipeline import settings
from pipeline.photo import PhotoLimits
from reply.quality import QualityThresholds
from serving.inference import InferenceConfig

MB = 1024 * 1024


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"  # this machine only by default; publish it behind a reverse proxy with HTTPS
    port: int = 8080
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    workers: int = 2  # worker processes: photos processed at the same time
    photos_per_minute: float = 20.0  # per client (IP address), after a burst of `burst` photos
    burst: int = 5
    max_photos: int = 100  # photos accepted and not yet answered (being read, waiting, answered); past it: "busy"
    redis_url: str | None = field(default=None, repr=False)  # set: the admission limit is counted in Redis
    admission_ttl_s: float = 600.0  # in Redis, a place held by a front-end that died is free again after this
    upload_timeout_s: float = 120.0  # for a client to send its photos (a slow one holds admission places)

    def __post_init__(self) -> None:
        if min(self.workers, self.burst, self.inference.lookalikes, self.inference.max_faces) < 1:
            raise ConfigError("WORKERS, WEB_BURST, LOOKALIKES and MAX_FACES must be at least 1")
        if self.max_photos < 2:
            raise ConfigError("MAX_PENDING_PHOTOS must be at least 2 (a comparison holds two places)")
        if min(self.photos_per_minute, self.admission_ttl_s, self.upload_timeout_s) <= 0:
            raise ConfigError("WEB_PHOTOS_PER_MINUTE, JOB_TTL_SECONDS and WEB_UPLOAD_TIMEOUT_S must be above 0")

    @property
    def limits(self) -> PhotoLimits:
        return self.inference.limits

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 dotenv_path: str | Path | None = ".env") -> WebSettings:
        """Settings from `environ` (default: os.environ) over those in the `dotenv_path` file, if any."""
        values = read_environment(environ, dotenv_path)
        log_level = (values.get("LOG_LEVEL") or "INFO").upper()
        if log_level not in logging.getLevelNamesMapping():
            raise ConfigError(f"LOG_LEVEL={log_level!r} is not a logging level such as INFO or DEBUG")
        inference = InferenceConfig(
            index_dir=settings.index_dir(values),
            weights_dir=settings.weights_dir(values),
            lookalikes=parse(values, settings.LOOKALIKES_ENV, int, settings.LOOKALIKES),
            max_faces=parse(values, settings.MAX_FACES_ENV, int, settings.MAX_FACES),
            limits=PhotoLimits(max_bytes=int(parse(values, "MAX_FILE_MB", float, PhotoLimits.max_bytes / MB) * MB),
                               max_pixels=parse(values, "MAX_PIXELS", int, PhotoLimits.max_pixels)),
            quality=QualityThresholds(
                min_face_px=parse(values, "QUALITY_MIN_FACE_PX", float, QualityThresholds.min_face_px),
                max_turn=parse(values, "QUALITY_MAX_TURN", float, QualityThresholds.max_turn),
                min_sharpness=parse(values, "QUALITY_MIN_SHARPNESS", float, QualityThresholds.min_sharpness),
            ),
            log_level=log_level,
        )
        return cls(
            host=values.get("WEB_HOST") or cls.host,
            port=parse(values, "WEB_PORT", int, cls.port),
            inference=inference,
            workers=parse(values, "WORKERS", int, cls.workers),
            photos_per_minute=parse(values, "WEB_PHOTOS_PER_MINUTE", float, cls.photos_per_minute),
            burst=parse(values, "WEB_BURST", int, cls.burst),
            max_photos=parse(values, "MAX_PENDING_PHOTOS", int, cls.max_photos),
            redis_url=values.get("REDIS_URL") or None,
            admission_ttl_s=parse(values, "JOB_TTL_SECONDS", float, cls.admission_ttl_s),
            upload_timeout_s=parse(values, "WEB_UPLOAD_TIMEOUT_S", float, cls.upload_timeout_s),
        )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve`'s options; each overrides its environment variable (WebSettings.from_env)."""
    parser.add_argument("--host", help="address to listen on (default $WEB_HOST, else 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default $WEB_PORT, else 8080)")
    parser.add_argument("--index", type=Path, help="index directory (default $LOOKALIKE_INDEX_DIR, else index_data/)")
    parser.add_argument("--weights", type=Path,
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")
    parser.add_argument("--workers", type=int, help="worker processes (default $WORKERS, else 2)")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None,
                  dotenv_path: str | Path | None = ".env") -> WebSettings:
    """The environment's settings with the command line's options over them."""
    base = WebSettings.from_env(environ, dotenv_path)
    inference = {"index_dir": args.index, "weights_dir": args.weights}
    given = {"host": args.host, "port": args.port, "workers": args.workers,
             "inference": replace(base.inference, **{k: v for k, v in inference.items() if v is not None})}
    return replace(base, **{k: v for k, v in given.items() if v is not None})
