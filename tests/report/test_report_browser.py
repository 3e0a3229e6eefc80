"""Open the report in headless Chromium: no JavaScript errors, every image loaded, a screenshot.

Skips cleanly when /usr/bin/chromium (Debian's package) is absent. The screenshot is saved in the
test's tmp folder and copied to /tmp/report_screens/ for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENS = Path("/tmp/report_screens")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# Appended to a COPY of the report: after load, write how many images decoded into the DOM.
CHECK = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const d = document.createElement('div'); d.id = 'tt-check';
  d.textContent = 'images=' + imgs.length + ' broken=' + broken;
  document.body.appendChild(d);
});</script>"""


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_page(html: Path, tmp: Path) -> tuple[int, int, list[str]]:
    """(images, broken images, console errors) of ``html`` opened in headless Chromium."""
    probe = tmp / f"probe-{html.name}"
    probe.write_text(html.read_text().replace("</body>", CHECK + "</body>"))
    run = _chromium(tmp, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                    "--dump-dom", probe.as_uri())  # fmt: skip
    m = re.search(r'id="tt-check">images=(\d+) broken=(\d+)<', run.stdout)
    assert m, f"the check script did not run; stderr tail: {run.stderr[-800:]}"
    errors = [line for line in run.stderr.splitlines()
              if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]  # fmt: skip
    return int(m.group(1)), int(m.group(2)), errors


def screenshot(html: Path, out: Path, tmp: Path, height: int = 5000) -> Path:
    """A 1280-wide screenshot of the top ``height`` pixels; copied to /tmp/report_screens/."""
    _chromium(tmp, f"--screenshot={out}", f"--window-size=1280,{height}", "--hide-scrollbars",
              html.as_uri())  # fmt: skip
    assert out.is_file() and out.stat().st_size > 10_000
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, SCREENS / out.name)
    return out


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="chromium not installed")


@needs_chromium
def test_checker_catches_broken_images_and_js_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="data:image/png;base64,AAAA">'
                   "<script>notDefined();</script></body></html>")  # fmt: skip
    n, broken, errors = check_page(bad, tmp_path)
    assert (n, broken) == (1, 1)
    assert any("notDefined" in e for e in errors)


@needs_chromium
def test_report_renders_in_chromium(built_report, tmp_path):
    n, broken, errors = check_page(built_report, tmp_path)
    assert n == 13 and broken == 0
    assert errors == []
    shot = screenshot(built_report, tmp_path / "report_two_runs.png", tmp_path)
    assert shot.stat().st_size > 100_000  # a page of figures, not a blank one
