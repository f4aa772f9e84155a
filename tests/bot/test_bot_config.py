from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, WebhookSettings
from pipeline.settings import DEFAULT_WEIGHTS_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_settings_come_from_dotenv_with_the_environment_winning(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BOT_TOKEN=from-file\nMAX_FACES=3\nLOOKALIKE_INDEX_DIR=/data/index\nQUALITY_MAX_TURN=0.5\n")
    settings = Settings.from_env({"BOT_TOKEN": "from-env", "QUEUE_LENGTH": "2", "ALBUM_WAIT_SECONDS": "0.5"},
                                 dotenv)
    assert settings.bot_token == "from-env"
    assert settings.max_faces == 3
    assert (settings.queue_length, settings.album_wait_s) == (2, 0.5)
    assert settings.index_dir == Path("/data/index")
    assert settings.quality.max_turn == 0.5


def test_defaults() -> None:
    settings = Settings.from_env({"BOT_TOKEN": "t"}, dotenv_path=None)
    assert settings.api_base_url is None
    assert settings.index_dir == Path("index_data")
    assert settings.weights_dir == DEFAULT_WEIGHTS_DIR  # the committed weights (pipeline/settings.py)
    assert (settings.max_faces, settings.lookalikes) == (10, 8)
    assert settings.max_file_bytes == 20 * 1024 * 1024
    assert (settings.queue_length, settings.album_wait_s) == (5, 1.0)
    assert settings.webhook.url is None


def test_webhook_url_joins_base_and_path() -> None:
    settings = Settings.from_env({"BOT_TOKEN": "t", "WEBHOOK_BASE_URL": "https://bot.example.com/"}, None)
    assert settings.webhook.url == "https://bot.example.com/telegram/webhook"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "   "}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "t", "MAX_FACES": "many"}, "MAX_FACES"),
        ({"BOT_TOKEN": "t", "WORKERS": "0"}, "WORKERS"),
        ({"BOT_TOKEN": "t", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_settings_raise_a_one_line_error_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as error:
        Settings.from_env(environ, dotenv_path=None)
    assert "\n" not in str(error.value)


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings.from_env({"BOT_TOKEN": "123:secret", "WEBHOOK_SECRET": "hush"}, dotenv_path=None)
    assert "secret" not in repr(settings)
    assert "hush" not in repr(settings)


def test_run_bot_without_a_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    environ = {name: value for name, value in os.environ.items() if name != "BOT_TOKEN"}
    finished = subprocess.run([sys.executable, str(REPO_ROOT / "run_bot.py")], cwd=tmp_path, env=environ,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert finished.stderr.startswith("error: BOT_TOKEN is not set")
    assert finished.stderr.count("\n") == 1


@pytest.mark.parametrize(("secret", "named"), [(None, "WEBHOOK_SECRET"), ("has spaces", "WEBHOOK_SECRET")])
def test_webhook_mode_refuses_to_start_without_a_valid_secret(secret: str | None, named: str) -> None:
    webhook = WebhookSettings(base_url="https://bot.example.com", secret=secret)
    with pytest.raises(ConfigError, match=named):
        webhook.check()
    WebhookSettings(base_url="https://bot.example.com", secret="A-good_secret1").check()


def test_run_bot_webhook_without_a_secret_exits_2_before_loading_anything(tmp_path: Path) -> None:
    environ = {**os.environ, "BOT_TOKEN": "1:t", "WEBHOOK_BASE_URL": "https://bot.example.com", "WEBHOOK_SECRET": ""}
    finished = subprocess.run([sys.executable, str(REPO_ROOT / "run_bot.py"), "--webhook"], cwd=tmp_path,
                              env=environ, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert finished.stderr.startswith("error: webhook mode needs WEBHOOK_SECRET")


def test_serving_settings() -> None:
    settings = Settings.from_env({"BOT_TOKEN": "t", "REDIS_URL": "redis://:pw@localhost:6379/0",
                                  "MAX_PENDING_PHOTOS": "7", "JOB_TTL_SECONDS": "60"}, dotenv_path=None)
    assert settings.serving.distributed and settings.serving.max_photos == 7 and settings.serving.job_ttl_s == 60
    assert "pw" not in repr(settings)
    assert not Settings.from_env({"BOT_TOKEN": "t"}, dotenv_path=None).serving.distributed
    with pytest.raises(ConfigError, match="--worker needs REDIS_URL"):
        from bot.main import run

        run(Settings(bot_token="t"), worker=True)
