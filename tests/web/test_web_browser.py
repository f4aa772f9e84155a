"""The page in a real browser: headless Chromium (Debian's, driven by Selenium) against the app running on
127.0.0.1. A photo chosen in the file input (or dropped on the page) is sent at once; the page shows that it is
working, then the cards; errors are shown on the page; /compare shows both faces and the verdict; a Russian
browser gets the Russian page. Skipped, with the reason, where Chromium or its driver is not installed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from bot import texts
from bot.i18n import create_i18n
from pipeline.photo import PhotoLimits, PhotoProblem
from serving.inference import InferenceConfig
from serving.pool import InProcessPool
from tests.web.browser import chromium
from tests.web.support import TEST_SETTINGS, GatedPool, LiveServer, settings_with
from web import texts as page_texts
from web.app import create_app

WAIT_S = 30


def waited(driver: WebDriver, found: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(found)


def elements(driver: WebDriver, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def decoded(driver: WebDriver, image: WebElement) -> bool:
    """The image has loaded and decoded (a broken data: URL has no natural size)."""
    return bool(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))


def choose(driver: WebDriver, url: str, *photos: Path) -> None:
    """Open `url` and choose each photo in the next file input (the look-up page sends it at once; the answer
    comes into the same page)."""
    driver.get(url)
    for file_input, photo in zip(elements(driver, "input[type=file]"), photos, strict=False):
        file_input.send_keys(str(photo))


@pytest.fixture(scope="module")
def browser(browser_available: None) -> Iterator[WebDriver]:
    """One headless Chromium (English, desktop width) for this module's tests."""
    with chromium() as driver:
        yield driver


def test_the_example_photo_gets_a_card_with_8_lookalikes_and_the_named_row(browser: WebDriver, live_url: str,
                                                                           example_photo: Path) -> None:
    choose(browser, live_url, example_photo)
    (face,) = waited(browser, lambda driver: elements(driver, ".face"))

    card = face.find_element(By.CSS_SELECTOR, "img.card")
    assert decoded(browser, card) and card.get_attribute("alt") == page_texts.card_alt(1)
    assert face.find_element(By.TAG_NAME, "h2").text == "Your 8 closest CelebA look-alikes"
    matches = [item.text for item in face.find_elements(By.CSS_SELECTOR, ".matches li")]
    assert len(matches) == 8 and all(re.fullmatch(r"\d\. celebrity #\d+ · similarity -?\d\.\d\d", m) for m in matches)
    assert face.find_element(By.CSS_SELECTOR, ".named").text.startswith("Closest named celebrity: ")
    assert not elements(browser, ".overview") and not elements(browser, ".error")


def test_a_group_photo_shows_the_overview_and_numbered_cards(browser: WebDriver, live_url: str,
                                                             group_photo: Path) -> None:
    choose(browser, live_url, group_photo)
    (overview,) = waited(browser, lambda driver: elements(driver, ".overview"))

    faces = elements(browser, ".face")
    assert len(faces) >= 3 and decoded(browser, overview.find_element(By.TAG_NAME, "img"))
    assert overview.find_element(By.TAG_NAME, "figcaption").text == f"I found {len(faces)} faces."
    for number, face in enumerate(faces, start=1):
        assert face.get_attribute("id") == f"face-{number}"
        assert face.find_element(By.TAG_NAME, "h2").text.startswith(f"Face {number} of {len(faces)}: ")
        assert decoded(browser, face.find_element(By.CSS_SELECTOR, "img.card"))


def test_a_text_file_gets_the_error_on_the_page(browser: WebDriver, live_url: str, text_file: Path) -> None:
    choose(browser, live_url, text_file)
    (error,) = waited(browser, lambda driver: elements(driver, ".error"))

    assert error.text == page_texts.photo_problem(PhotoProblem.NOT_AN_IMAGE, PhotoLimits.max_bytes)
    assert not elements(browser, ".face")


def test_two_photos_are_compared(browser: WebDriver, live_url: str, face_photo: Path,
                                 other_face_photo: Path) -> None:
    choose(browser, f"{live_url}/compare", face_photo, other_face_photo)
    browser.find_element(By.CSS_SELECTOR, "form.upload button").click()
    (compared,) = waited(browser, lambda driver: elements(driver, ".compared"))

    assert decoded(browser, compared.find_element(By.TAG_NAME, "img"))
    verdict = compared.find_element(By.CSS_SELECTOR, ".verdict").text
    assert re.match(r"Similarity -?\d\.\d\d: ", verdict)
    assert "The model takes two faces for the same person from" in verdict


def test_a_photo_dropped_on_the_page_is_sent(browser: WebDriver, live_url: str, example_photo: Path) -> None:
    browser.get(live_url)
    browser.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
        document.body.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    """, base64.b64encode(example_photo.read_bytes()).decode())
    (face,) = waited(browser, lambda driver: elements(driver, ".face"))

    assert decoded(browser, face.find_element(By.CSS_SELECTOR, "img.card"))


def test_a_file_over_the_limit_is_refused_before_it_is_sent(browser: WebDriver, web_pool: InProcessPool,
                                                           example_photo: Path) -> None:
    counting = GatedPool(web_pool)
    server = LiveServer(create_app(counting, settings_with(inference=InferenceConfig(
        limits=PhotoLimits(max_bytes=50_000)))))
    try:
        choose(browser, server.url, example_photo)  # 75 kB
        (error,) = waited(browser, lambda driver: elements(driver, ".error"))
        assert error.text == page_texts.photo_problem(PhotoProblem.TOO_LARGE_FILE, 50_000)
        assert browser.find_element(By.CSS_SELECTOR, ".progress").get_attribute("hidden") is not None
        assert counting.waiting == 0  # nothing reached the reply path
    finally:
        server.stop()


def test_the_page_shows_that_it_is_working_until_the_answer_comes(browser: WebDriver, web_pool: InProcessPool,
                                                                  example_photo: Path) -> None:
    gated = GatedPool(web_pool)
    server = LiveServer(create_app(gated, TEST_SETTINGS))
    try:
        choose(browser, server.url, example_photo)
        progress = browser.find_element(By.CSS_SELECTOR, ".progress")
        waited(browser, lambda driver: gated.waiting == 1)  # the answer is held
        assert progress.is_displayed() and progress.text == page_texts.working()
        assert not browser.find_element(By.CSS_SELECTOR, "form.upload button").is_enabled()
        server.loop.call_soon_threadsafe(gated.gate.set)
        waited(browser, lambda driver: elements(driver, ".face"))
        assert not progress.is_displayed() and browser.find_element(By.CSS_SELECTOR, "form.upload button").is_enabled()
    finally:
        server.stop()


def test_a_russian_browser_gets_the_russian_page_and_cards(browser_available: None, live_url: str,
                                                           example_photo: Path) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        title, header = page_texts.page_title(), texts.caption_header(1, 1, 8, third_person=False)
    with chromium(language="ru") as driver:
        choose(driver, live_url, example_photo)
        (face,) = waited(driver, lambda d: elements(d, ".face"))
        assert driver.find_element(By.TAG_NAME, "h1").text == title
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
        assert face.find_element(By.TAG_NAME, "h2").text == header
