"""Screenshot of `flock dashboard` in headless Chromium (Debian's chromium and chromedriver,
which scripts/setup.sh installs), for docs/dashboard.png.

    .venv/bin/python scripts/dashboard_screenshot.py --run-dir outputs/<date>/<time> \
        --out docs/dashboard.png
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from flock.dashboard import Dashboard, DashboardServer, DashboardSettings, RunDirFeed, alliance_feed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", type=Path)
    source.add_argument("--alliance-file", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--max-height", type=int, default=2600, help="crop a longer page")
    args = parser.parse_args()
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        sys.exit("chromium and chromedriver not found: run scripts/setup.sh")
    feed = RunDirFeed(args.run_dir) if args.run_dir else alliance_feed(args.alliance_file)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", f"--window-size={args.width},1000"):  # fmt: skip
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        with DashboardServer(Dashboard(feed), DashboardSettings(port=0)) as server:
            browser.get(server.url)
            WebDriverWait(browser, 30).until(
                lambda b: b.find_element(By.ID, "round").get_attribute("data-round")
            )
            time.sleep(0.5)  # the charts are drawn with the same render
            height = int(browser.execute_script("return document.documentElement.scrollHeight"))
            browser.set_window_size(args.width, min(height, args.max_height))
            time.sleep(0.3)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(args.out))
    finally:
        browser.quit()
    print(f"screenshot: {args.out} ({args.width} x {min(height, args.max_height)})")


if __name__ == "__main__":
    main()
