"""Screenshot of the report page with headless Chromium (optional; for checks and docs).

Chromium is not a Python dependency: on Debian/Ubuntu ``apt-get install chromium`` (or
``chromium-browser``/``google-chrome``). It runs with a fresh throw-away profile and no
network features, so it neither reads nor writes the user's browser state.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

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
)


def find_chromium() -> str | None:
    """Path of a Chromium-like browser on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    html_path: Path,
    png_path: Path,
    *,
    width: int = 1500,
    height: int = 4000,
    timeout_s: float = 120.0,
    chromium: str | None = None,
) -> Path:
    """Render ``html_path`` in headless Chromium and save a PNG of the top ``width x height`` pixels.

    Args:
        html_path: the page (a local file).
        png_path: where to write the screenshot.
        width: viewport width, pixels.
        height: viewport height, pixels (the part of the page captured).
        timeout_s: give up after this many seconds.
        chromium: browser executable; default :func:`find_chromium`.

    Returns:
        ``png_path``.

    Raises:
        FileNotFoundError: no browser found or the page does not exist.
        RuntimeError: the browser failed or wrote no image (its output is in the message).
    """
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError(f"no Chromium found on PATH (tried {', '.join(CHROMIUM_NAMES)})")
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(f"{html_path}: no such page")
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="medvision-chromium-") as profile:
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png_path}",
            html_path.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if result.returncode != 0 or not png_path.is_file():
        raise RuntimeError(f"{browser} exited {result.returncode} without writing {png_path}:\n{result.stderr[-2000:]}")
    return png_path
