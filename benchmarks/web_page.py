"""Photo -> the web page shows its cards: `lookalike serve` as deployed (its worker processes, the index) and
headless Chromium (tests/web/browser.py) on 127.0.0.1.

    python -m benchmarks.web_page [--index index_data] [--photo PATH] [--runs 10] [--screenshots docs/web]

Each run opens the page, chooses the photo in its file input and waits until every picture of the answer is
decoded. The figure is measured in the page: from the input's `change` event (the photo chosen) to the moment
the last card image is decoded and in the page; beside it, the fetch (upload + answer, from the browser's
Resource Timing) and the reply path's share (the app's Server-Timing header), and the JSON API's round trip
without a browser. The first run is a warm-up and not counted. With --screenshots, the page with its answer is
saved at desktop (1280 px) and phone (390 px) widths as JPEGs for the README.
"""

from __future__ import annotations

import argparse
import base64
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipeline import settings
from tests.web.browser import chromium
from tests.web.support import ServeProcess, post_photo

from .common import REPO, REPORTS, load_note, write_report

# Records, in the page's own clock, when the photo was chosen and when the answer's pictures were all decoded.
TIMING_PROBE = """
window.probe = {};
document.querySelector("input[type=file]").addEventListener("change", () => { probe.chosen = performance.now(); });
new MutationObserver(async (changes, observer) => {
    const images = Array.from(document.querySelectorAll("#answer img"));
    if (images.length === 0) return;
    observer.disconnect();
    await Promise.all(images.map((image) => image.decode()));
    probe.shown = performance.now();
}).observe(document.getElementById("answer"), {childList: true});
"""
FETCH_TIMING = """
const fetches = performance.getEntriesByType("resource").filter((entry) => entry.initiatorType === "fetch");
const last = fetches[fetches.length - 1];
return {fetch: last.duration, reply: last.serverTiming.length ? last.serverTiming[0].duration : null};
"""
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


def show(driver: Any, url: str, photo: Path) -> dict[str, float]:
    """One run: the photo chosen on a freshly opened page, until its answer is shown; milliseconds."""
    driver.get(url)
    driver.execute_script(TIMING_PROBE)
    driver.find_element("css selector", "input[type=file]").send_keys(str(photo))
    deadline = time.monotonic() + 60
    while (probe := driver.execute_script("return window.probe")).get("shown") is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer was not shown within 60 s")
        time.sleep(0.02)
    timing = driver.execute_script(FETCH_TIMING)
    return {"shown_ms": probe["shown"] - probe["chosen"], "fetch_ms": timing["fetch"], "reply_ms": timing["reply"]}


def save_page(driver: Any, path: Path, width: int, quality: int = 82) -> None:
    """The whole page (beyond the window) as a JPEG, at most twice `width` pixels wide."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    png = driver.execute_cdp_cmd("Page.captureScreenshot",
                                 {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
    image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")
    if image.width > width * 2:
        image = image.resize((width * 2, round(image.height * width * 2 / image.width)), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=quality, optimize=True)
    print(f"wrote {path} ({image.width}x{image.height}, {path.stat().st_size // 1024} kB)")


def screenshots(url: str, photo: Path, out_dir: Path) -> None:
    with chromium(1280, 900) as driver:
        show(driver, url, photo)
        save_page(driver, out_dir / "desktop.jpg", 1280)
    with chromium(PHONE["width"], PHONE["height"]) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        show(driver, url, photo)
        save_page(driver, out_dir / "phone.jpg", PHONE["width"])


def summary(values: list[float]) -> dict[str, float]:
    return {"median": float(np.median(values)), "min": float(np.min(values)), "max": float(np.max(values))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None, help="default $LOOKALIKE_INDEX_DIR, else index_data/")
    parser.add_argument("--photo", type=Path, default=REPO / "examples" / "astronaut.jpg")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for desktop.jpg and phone.jpg")
    parser.add_argument("--out", type=Path, default=REPORTS / "web_page.json")
    args = parser.parse_args()
    index_dir = (args.index or settings.index_dir()).resolve()
    load_before = load_note()
    with ServeProcess(["--index", str(index_dir)], {"WEB_PHOTOS_PER_MINUTE": "6000", "WEB_BURST": "1000"}) as served:
        with chromium() as driver:
            runs = [show(driver, served.url, args.photo) for _ in range(args.runs + 1)][1:]
        photo = args.photo.read_bytes()
        api_ms = []
        for _ in range(args.runs + 1):
            started = time.perf_counter()
            status, _ = post_photo(f"{served.url}/api/lookup", args.photo.name, photo)
            assert status == 200
            api_ms.append((time.perf_counter() - started) * 1000)
        if args.screenshots is not None:
            screenshots(served.url, args.photo, args.screenshots)
    figures = {key: summary([run[key] for run in runs]) for key in ("shown_ms", "fetch_ms", "reply_ms")}
    figures["api_round_trip_ms"] = summary(api_ms[1:])
    print(f"photo -> page shows the cards, {args.photo.name}, {args.runs} runs (load before: {load_before}; "
          f"after: {load_note()}):")
    for key, values in figures.items():
        print(f"  {key:<18} median {values['median']:6.0f} ms   min {values['min']:6.0f}   max {values['max']:6.0f}")
    write_report(args.out, {"photo": args.photo.name, "runs": args.runs, "load_before": load_before, **figures})


if __name__ == "__main__":
    main()
