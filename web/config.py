"""The web page's settings in one place: where it listens, its per-client rate and global admission limits, and
the answer's settings that it shares with the bot (index, weights, look-alikes, faces, upload limits, quality
thresholds), read from the same environment variables and `.env` file (.env.example explains each).

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

MB = 1024 * 1024


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"  # loopback only by default; put a reverse proxy with HTTPS in front to publish it
    port: int = 8080
    index_dir: Path = settings.DEFAULT_INDEX_DIR
    weights_dir: Path = settings.DEFAULT_WEIGHTS_DIR
    lookalikes: int = settings.LOOKALIKES
    max_faces: int = settings.MAX_FACES
    workers: int = 2  # photos processed at the same time
    limits: PhotoLimits = field(default_factory=PhotoLimits)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    photos_per_minute: float = 20.0  # per client (IP address), after a burst of `burst` photos
    burst: int = 5
    admitted: int = 8  # photos in the app at once (answered or waiting for a worker); past it: "busy"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if min(self.workers, self.lookalikes, self.max_faces, self.burst, self.admitted) < 1:
            raise ConfigError("WORKERS, LOOKALIKES, MAX_FACES, WEB_BURST and WEB_ADMITTED must be at least 1")
        if self.photos_per_minute <= 0:
            raise ConfigError("WEB_PHOTOS_PER_MINUTE must be above 0")
        if self.log_level not in logging.getLevelNamesMapping():
            raise ConfigError(f"LOG_LEVEL={self.log_level!r} is not a logging level such as INFO or DEBUG")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 dotenv_path: str | Path | None = ".env") -> WebSettings:
        """Settings from `environ` (default: os.environ) over those in the `dotenv_path` file, if any."""
        values = read_environment(environ, dotenv_path)
        return cls(
            host=values.get("WEB_HOST") or cls.host,
            port=parse(values, "WEB_PORT", int, cls.port),
            index_dir=settings.index_dir(values),
            weights_dir=settings.weights_dir(values),
            lookalikes=parse(values, settings.LOOKALIKES_ENV, int, settings.LOOKALIKES),
            max_faces=parse(values, settings.MAX_FACES_ENV, int, settings.MAX_FACES),
            workers=parse(values, "WORKERS", int, cls.workers),
            limits=PhotoLimits(max_bytes=int(parse(values, "MAX_FILE_MB", float, PhotoLimits.max_bytes / MB) * MB),
                               max_pixels=parse(values, "MAX_PIXELS", int, PhotoLimits.max_pixels)),
            quality=QualityThresholds(
                min_face_px=parse(values, "QUALITY_MIN_FACE_PX", float, QualityThresholds.min_face_px),
                max_turn=parse(values, "QUALITY_MAX_TURN", float, QualityThresholds.max_turn),
                min_sharpness=parse(values, "QUALITY_MIN_SHARPNESS", float, QualityThresholds.min_sharpness),
            ),
            photos_per_minute=parse(values, "WEB_PHOTOS_PER_MINUTE", float, cls.photos_per_minute),
            burst=parse(values, "WEB_BURST", int, cls.burst),
            admitted=parse(values, "WEB_ADMITTED", int, cls.admitted),
            log_level=(values.get("LOG_LEVEL") or "INFO").upper(),
        )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve`'s options; each overrides its environment variable (WebSettings.from_env)."""
    parser.add_argument("--host", help="address to listen on (default $WEB_HOST, else 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default $WEB_PORT, else 8080)")
    parser.add_argument("--index", type=Path, help="index directory (default $LOOKALIKE_INDEX_DIR, else index_data/)")
    parser.add_argument("--weights", type=Path,
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")
    parser.add_argument("--workers", type=int, help="photos processed at the same time (default $WORKERS, else 2)")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None,
                  dotenv_path: str | Path | None = ".env") -> WebSettings:
    """The environment's settings with the command line's options over them."""
    given = {"host": args.host, "port": args.port, "index_dir": args.index, "weights_dir": args.weights,
             "workers": args.workers}
    return replace(WebSettings.from_env(environ, dotenv_path), **{k: v for k, v in given.items() if v is not None})
