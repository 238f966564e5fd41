"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``), driven by
Selenium; nothing is downloaded at test time. Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from .served import need

ARTIFACTS = Path(os.environ.get("UPSLIFE_TEST_ARTIFACTS", "test-artifacts")) / "web"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,820",
    # the test server's certificate is self-signed for 127.0.0.1
    "--ignore-certificate-errors",
)


class Browser:
    """One Chromium session with the few moves the tests make."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get(url)

    @property
    def heading(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "h1").text)

    @property
    def outcome(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "main").get_attribute("data-outcome"))

    @property
    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "main").text)

    def press(self, label: str) -> None:
        """Click the button whose visible text is ``label`` and wait for the next page."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        buttons = [b for b in self.driver.find_elements(By.TAG_NAME, "button") if b.text == label]
        assert len(buttons) == 1, [b.text for b in self.driver.find_elements(By.TAG_NAME, "button")]
        buttons[0].click()
        WebDriverWait(self.driver, 15).until(staleness_of(old))  # the next page replaced it

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    binary = need("chromium")
    driver_path = need("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
