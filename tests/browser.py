"""Open local HTML files in headless Chromium and record what the page did.

Reusable by any test that checks generated HTML (maps, the report)::

    from browser import headless_chromium, require_chromium

    def test_page(tmp_path):
        require_chromium()              # skip (or fail when $CI is set)
        with headless_chromium() as browser:
            visit = browser.open(tmp_path / "page.html")
            assert visit.network_requests == []
            assert visit.console_errors == []
            assert visit.dialogs == []

``Visit.network_requests`` comes from Chrome's performance log (CDP
``Network.requestWillBeSent``) and the page's resource timing: every request
attempted, whether or not it could succeed, except the page itself and URLs
that never leave the machine (``data:``, ``about:``, ``blob:``, the browser's
own ``chrome://`` UI). Another local file counts: a self-contained page needs
none. Dialogs (alert/confirm/prompt) are left open
by the driver (``unhandledPromptBehavior=ignore``) and collected through
``switch_to.alert``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)

# Never leave the machine: inline data, blank pages, and the browser's own UI
# (the start page loads chrome:// resources before the test page opens).
_LOCAL_SCHEMES = ("data", "about", "blob", "chrome", "chrome-extension", "chrome-untrusted", "devtools")


def find_chromium():
    """(chromium, chromedriver) paths, or None when either is missing.

    ``$CHROMIUM_BIN`` / ``$CHROMEDRIVER`` override the search of ``PATH``.
    """
    browser = os.environ.get("CHROMIUM_BIN") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser or not driver or not Path(browser).exists() or not Path(driver).exists():
        return None
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    return browser, driver


def require_chromium():
    """Skip the calling test without Chromium/chromedriver/selenium; fail instead under CI."""
    if find_chromium() is None:
        msg = ("headless browser tests need Debian's `chromium` and `chromedriver` (apt-get install chromium "
               "chromium-driver) and the `selenium` package; set CHROMIUM_BIN/CHROMEDRIVER if they are elsewhere")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser is missing: {msg}", pytrace=False)
        pytest.skip(msg)


@dataclass
class Visit:
    """What happened while a page was open."""

    url: str
    network_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    console: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)


class Browser:
    """A headless Chromium session (use :func:`headless_chromium`)."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, path, *, ready_js: str | None = None, timeout: float = 20.0, settle: float = 0.3) -> Visit:
        """Load ``path`` via ``file://`` and wait until ``ready_js`` is truthy.

        ``ready_js`` is a JavaScript expression (e.g. a DOM attribute the page
        sets when drawn); without it, waits for ``document.readyState``.
        """
        from selenium.common.exceptions import UnexpectedAlertPresentException

        url = Path(path).resolve().as_uri()
        self.drain()
        self.driver.get(url)
        expr = ready_js or "document.readyState === 'complete'"
        deadline = time.monotonic() + timeout
        visit = Visit(url=url)
        while True:
            self.collect_dialogs(visit)
            try:
                if self.driver.execute_script(f"return !!({expr});"):
                    break
            except UnexpectedAlertPresentException:  # a dialog opened after the check: collected next round
                pass
            if time.monotonic() > deadline:
                self.collect(visit)
                raise TimeoutError(f"page {url} not ready after {timeout}s ({expr}); console: {visit.console}")
            time.sleep(0.1)
        time.sleep(settle)
        return self.collect(visit)

    def collect_dialogs(self, visit: Visit) -> Visit:
        """Record and dismiss any open alert/confirm/prompt."""
        from selenium.common.exceptions import NoAlertPresentException

        while True:
            try:
                alert = self.driver.switch_to.alert
                visit.dialogs.append(alert.text)
                alert.dismiss()
            except NoAlertPresentException:
                return visit

    def collect(self, visit: Visit) -> Visit:
        """Add the console messages, requests and dialogs seen since the last call (a dialog opening while they
        are read is collected and the reading started again: the logs are drained, so nothing is counted twice)."""
        from selenium.common.exceptions import UnexpectedAlertPresentException

        for _ in range(49):
            try:
                return self._collect(visit)
            except UnexpectedAlertPresentException:
                continue
        return self._collect(visit)  # a page opening dialogs without end: its error raised

    def _collect(self, visit: Visit) -> Visit:
        self.collect_dialogs(visit)
        for entry in self.driver.get_log("browser"):
            visit.console.append(entry)
            if entry.get("level") == "SEVERE":
                visit.console_errors.append(entry.get("message"))
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            req_url = msg["params"]["request"]["url"]
            if req_url == visit.url or req_url.split(":", 1)[0] in _LOCAL_SCHEMES:
                continue
            visit.network_requests.append(req_url)
        # resources the page itself recorded, in case a request bypassed the log
        for name in self.driver.execute_script(
                "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"):
            if name.split(":", 1)[0] not in _LOCAL_SCHEMES and name not in visit.network_requests:
                visit.network_requests.append(name)
        return visit

    def drain(self):
        """Discard dialogs and logs left over from a previous page (a dialog left open would fail every later
        command of the session)."""
        with contextlib.suppress(Exception):
            self.collect_dialogs(Visit(url=""))
            self.driver.get_log("browser")
            self.driver.get_log("performance")


@contextlib.contextmanager
def headless_chromium(width: int = 1280, height: int = 1000):
    """Start headless Chromium with a fresh profile; yield a :class:`Browser`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        require_chromium()
    binary, driver_path = found
    profile = tempfile.mkdtemp(prefix="cx-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opts.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
