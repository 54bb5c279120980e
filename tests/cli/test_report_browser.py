"""The HTML report loads in headless Chromium with all its images and no console errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from simdyn.cli import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),
        reason="headless Chromium is not installed (make browser installs it; in CI it must run)",
    ),
]

# Runs first in <head>: records script errors and console errors into the DOM, then on load
# records whether every image decoded.
PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + (e.message || e.target.src)), true);
const _err = console.error; console.error = (...a) => { window.__errors.push('console: ' + a.join(' ')); _err(...a); };
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const out = document.createElement('pre');
  out.id = 'probe';
  const wide = document.body.scrollWidth > window.innerWidth + 1;
  out.textContent = 'images=' + imgs.length + ';broken=' + bad + ';errors=' + window.__errors.length + ';overflow=' + wide + ';' + window.__errors.join('|');
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.parametrize("width", [1280, 390])
def test_report_renders_in_chromium(mini_scenario: Path, tmp_path: Path, width: int) -> None:
    assert CHROMIUM is not None, "CI is set but chromium is missing: run `make browser`"
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", str(mini_scenario), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "<script" not in html  # the report itself runs no code
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE_HEAD, 1))
    proc = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
            f"--window-size={width},2000",
            "--dump-dom", probed.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    start = dom.index('<pre id="probe">') + len('<pre id="probe">')
    probe = dom[start : dom.index("</pre>", start)]
    fields = dict(item.split("=", 1) for item in probe.split(";")[:4])
    assert int(fields["images"]) == 4  # key variables, run comparison, loop dominance, policies
    assert fields["broken"] == "0"
    assert fields["errors"] == "0", probe
    assert fields["overflow"] == "false", f"the page is wider than {width} px"  # tables scroll
    assert "Uncaught" not in proc.stderr
    assert ":ERROR:CONSOLE" not in proc.stderr
