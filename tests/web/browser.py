"""Headless Chromium for the web page's tests and benchmark: Debian's `chromium` and `chromium-driver`
(scripts/setup.sh installs them), driven by Selenium. Given the driver's path, Selenium never runs its manager,
so nothing downloads a browser or a driver; each browser gets a fresh profile folder, removed when it quits.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars")


def missing_browser() -> str | None:
    """Why there is no browser to test with, or None when there is one."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    absent = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if absent:
        return (f"{' and '.join(absent)} not found: install Debian's chromium and chromium-driver "
                "(scripts/setup.sh does as root: apt-get install -y chromium chromium-driver)")
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 900, language: str = "en") -> Iterator:
    """A headless Chromium (a Selenium WebDriver) with its window `width` x `height` CSS pixels, asking pages in
    `language` (Accept-Language)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lookalike-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 f"--lang={language}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
