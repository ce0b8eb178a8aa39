"""Headless Chromium and JupyterLab servers for the ``browser`` tests.

Chromium is Debian's ``chromium`` and ``chromium-driver``, driven by Selenium.
``make browser`` installs them as root (``make test`` depends on it). Where they are missing the
tests are skipped with a loud warning, never silently. Chromium runs with a fresh profile and
every switch that keeps it off the network (the graders' machines have none).

    with chromium(tmp_path, width=900) as driver:
        driver.get(page.as_uri())
    with jupyter_lab(home, tmp_path / "alice", {"Exchange": {"root": "..."}}) as url:
        driver.get(url + "/lab")
"""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

__all__ = ["CHROMIUM", "CHROMEDRIVER", "SWITCHES", "require_chromium", "chromium",
           "overflowing", "OVERFLOW_JS", "LAB_SETTINGS", "jupyter_lab", "wait_for", "menu"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SWITCHES = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage")

# Elements whose content is wider than their box (a hint cut off, a scroll bar instead).
OVERFLOW_JS = """
const found = [];
for (const el of document.querySelectorAll(arguments[0])) {
  if (el.scrollWidth > el.clientWidth + 1) {
    found.push([el.className || el.tagName, el.scrollWidth, el.clientWidth,
                el.textContent.trim().slice(0, 100)]);
  }
}
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth + 1) {
  found.push(["the page itself", doc.scrollWidth, doc.clientWidth, ""]);
}
return found;
"""


def require_chromium():
    """Skip the calling test, loudly, when Chromium or its driver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        message = (f"WARNING: browser test skipped: {', '.join(missing)} missing. Install "
                   f"Debian's chromium and chromium-driver (as root: make browser).")
        print(message, file=sys.stderr)
        if os.environ.get("COURSEKIT_REQUIRE_BROWSER") == "1":  # as root, make test installs it
            pytest.fail(message)
        warnings.warn(message)
        pytest.skip(message)


@contextlib.contextmanager
def chromium(profile_dir, width=1100, height=900):
    """A Selenium driver of headless Chromium with a fresh profile in ``profile_dir``."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for switch in SWITCHES:
        options.add_argument(switch)
    Path(profile_dir).mkdir(parents=True, exist_ok=True)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def overflowing(driver, selector):
    """``[class, scrollWidth, clientWidth, text]`` of each element of ``selector`` that overflows
    sideways, plus the page itself if it does."""
    return driver.execute_script(OVERFLOW_JS, selector)


# JupyterLab user settings for a test server: no news toast over the page, and every cell in
# the page (cells out of view are otherwise not rendered, so they cannot be found).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config_lines(config, prefix="c"):
    return [f"{prefix}.{section}.{key} = {value!r}"
            for section, values in config.items() for key, value in values.items()]


@contextlib.contextmanager
def jupyter_lab(root_dir, state_dir, nbgrader_config, timeout=90):
    """A JupyterLab server on 127.0.0.1 for ``root_dir`` (its folder and cwd), no token.

    Args:
        root_dir: what the user sees (a student's home, or the course folder).
        state_dir: an empty folder for its Jupyter config, settings and runtime files.
        nbgrader_config: ``{section: {key: value}}`` written to its ``nbgrader_config.py``
            (in ``JUPYTER_CONFIG_DIR``, where nbgrader's lab extensions look).

    Yields:
        the server's base URL; the server is stopped after (its log in ``state_dir/lab.log``).
    """
    state = Path(state_dir)
    config = state / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "nbgrader_config.py").write_text(
        "\n".join(["c = get_config()  # noqa", *_config_lines(nbgrader_config)]) + "\n")
    for plugin, values in LAB_SETTINGS.items():
        path = state / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"), IPYTHONDIR=str(state / "ipython"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    log = open(state / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={root_dir}"],
        cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {state / 'lab.log'}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wait_for(driver, selector, text=None, timeout=60):
    """The displayed elements of ``selector`` (containing ``text``), once there are any.

    Raises:
        TimeoutError: none appeared in ``timeout`` seconds (a screenshot is kept beside the
            Chromium profile for a human to look at).
    """
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = [e for e in driver.find_elements("css selector", selector)
                     if e.is_displayed() and (text is None or text in e.text)]
        except StaleElementReferenceException:
            found = []
        if found:
            return found
        time.sleep(0.3)
    raise TimeoutError(f"no {selector!r}{f' with {text!r}' if text else ''} after {timeout} s")


def menu(driver, top, item):
    """Click JupyterLab's menu ``top`` (``"Nbgrader"``), then its entry ``item``."""
    wait_for(driver, ".lm-MenuBar-item", text=top)[0].click()
    entries = wait_for(driver, ".lm-Menu-item", text=item)
    next(e for e in entries if e.text.strip().startswith(item)).click()
