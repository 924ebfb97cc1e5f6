"""Whole-page screenshot of the report with headless Chromium (optional; for checks, docs and slides).

Chromium is not a Python dependency: on Debian/Ubuntu ``apt-get install chromium`` (or
``chromium-browser``/``google-chrome``). It runs with a fresh throw-away profile and no
network features, so it neither reads nor writes the user's browser state.

The page is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``, standard
library only): it is laid out at ``min_width`` pixels, widened until its widest table fits
without scrolling inside its box, and captured from top to bottom in tiles that are stitched
together, so the picture holds the whole page at a width that fits every table. Folded
sections (``<details>`` of long tables) stay folded, as a reader first sees them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
TILE_HEIGHT = 4000
"""Pixels captured per tile: well below the texture limits of headless GPUs and software rasterizers."""
_MEASURE = """JSON.stringify({
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  overflow: Math.max(0, ...[...document.querySelectorAll('.scroll')].map(e => e.scrollWidth - e.clientWidth)),
  widest: Math.max(0, ...[...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().width)),
})"""
# Copies first, so that neither end overwrites the other; a copy landing on 3 or 4 makes dup2 a no-op,
# hence the explicit inheritable flags.
_TRAMPOLINE = (
    "import os, sys\n"
    "read_end, write_end = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))\n"
    "os.dup2(read_end, 3)\n"
    "os.dup2(write_end, 4)\n"
    "os.set_inheritable(3, True)\n"
    "os.set_inheritable(4, True)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)
# The page caps its text column for reading; the picture lets tables take the room they need.
_UNCAP = "document.body.style.maxWidth = 'none'; document.body.style.margin = '1rem 2rem'"


@dataclass(frozen=True)
class Shot:
    """What was captured.

    Attributes:
        path: the PNG.
        width: picture width in pixels (viewport width the page was laid out at).
        height: picture height in pixels: the page's full height.
        widest_table: width of the widest table, pixels.
        clipped: how many pixels the worst scroll box still hides (0: every table fits).
    """

    path: Path
    width: int
    height: int
    widest_table: int
    clipped: int


def find_chromium() -> str | None:
    """Path of a Chromium-like browser on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe (fd 3 in, fd 4 out)."""

    def __init__(self, browser: str, profile: str, timeout_s: float) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        # Chromium reads the protocol on fd 3 and writes on fd 4: a tiny Python trampoline puts the pipe
        # ends there and execs the browser (no preexec_fn, which is unsafe when threads run).
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _TRAMPOLINE,
                str(to_browser_read),
                str(from_browser_write),
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser_read, from_browser_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._deadline = time.monotonic() + timeout_s
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _fail(self, why: str) -> RuntimeError:
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace")[-2000:]
        return RuntimeError(f"headless Chromium: {why}\n{tail}")

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > self._deadline:
                raise self._fail("timed out")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise self._fail("closed the debugging pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise self._fail(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._message())

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()


def screenshot(
    html_path: Path,
    png_path: Path,
    *,
    min_width: int = 1280,
    timeout_s: float = 180.0,
    chromium: str | None = None,
) -> Shot:
    """Render ``html_path`` in headless Chromium and save a PNG of the whole page.

    Args:
        html_path: the page (a local file).
        png_path: where to write the screenshot.
        min_width: narrowest layout width, pixels; wider when a table needs it.
        timeout_s: give up after this many seconds.
        chromium: browser executable; default :func:`find_chromium`.

    Returns:
        A :class:`Shot` describing the picture.

    Raises:
        FileNotFoundError: no browser found or the page does not exist.
        RuntimeError: the browser failed or timed out (its output is in the message).
    """
    from PIL import Image

    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError(f"no Chromium found on PATH (tried {', '.join(CHROMIUM_NAMES)})")
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(f"{html_path}: no such page")
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medvision-chromium-") as profile:
        tools = _DevTools(browser, profile, timeout_s)
        try:
            target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

            def measure() -> dict:
                result = tools.call("Runtime.evaluate", {"expression": _MEASURE, "returnByValue": True}, session)
                return json.loads(result["result"]["value"])

            def viewport(width: int, height: int) -> None:
                metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
                tools.call("Emulation.setDeviceMetricsOverride", metrics, session)

            tools.call("Page.enable", session=session)
            viewport(min_width, 1000)
            tools.call("Page.navigate", {"url": html_path.as_uri()}, session)
            tools.wait_for("Page.loadEventFired")
            tools.call("Runtime.evaluate", {"expression": _UNCAP}, session)
            width = min_width
            for _ in range(4):  # widen until no table scrolls inside its box (layout may reflow once or twice)
                page = measure()
                if page["overflow"] <= 0:
                    break
                width += int(page["overflow"]) + 2
                viewport(width, 1000)
            page = measure()
            height = int(page["height"])
            viewport(width, min(height, TILE_HEIGHT))
            tiles = []
            for top in range(0, height, TILE_HEIGHT):
                clip = {"x": 0, "y": top, "width": width, "height": min(TILE_HEIGHT, height - top), "scale": 1}
                shot = tools.call(
                    "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session
                )
                tiles.append(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB"))
        finally:
            tools.close()
    picture = Image.new("RGB", (width, height), "white")
    for index, tile in enumerate(tiles):
        picture.paste(tile, (0, index * TILE_HEIGHT))
    png_path.unlink(missing_ok=True)
    picture.save(png_path, optimize=True)
    return Shot(png_path, width, height, round(page["widest"]), int(page["overflow"]))
