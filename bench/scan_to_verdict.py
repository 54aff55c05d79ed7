"""Scan to verdict in headless Chromium: open the QR code's URL, check the signature in the page, ask for the
status, show the verdict. Floor: under 1 second.

    .venv/bin/python bench/scan_to_verdict.py [--runs 15]

Each run is a new browser context at 360 px (a phone opening the link for the first time: nothing cached) and
a second load in the same context (a verifier's next scan: scripts cached). The time is from navigation start to
the verdict on screen (`#verdict[data-status]`), read from the page's own clock. Prints one JSON object with the
median and worst of each. The server is `zel serve` (embedded chain, SQLite) in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ZEL_KDF_N", "1024")

from verify_load import prepare  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VERDICT_AT = """() => new Promise((done) => {
  const seen = () => document.querySelector('#verdict[data-status]');
  if (seen()) return done(performance.now());
  new MutationObserver((_, obs) => { if (seen()) { obs.disconnect(); done(performance.now()); } })
    .observe(document.body, {subtree: true, attributes: true, childList: true});
})"""


def scan(page, url: str) -> tuple[float, str]:  # noqa: ANN001 - a Playwright page
    page.goto("about:blank")
    page.goto(url, wait_until="commit")
    at = page.evaluate(VERDICT_AT)  # ms since this navigation started
    return at, page.get_attribute("#verdict", "data-status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = 19000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        _, urls = prepare(data_dir, base, 8)
        env = {**os.environ, "ZEL_DATA_DIR": str(data_dir)}
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "zel"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    if server.poll() is not None:
                        sys.exit(server.stderr.read().decode())
                    time.sleep(0.2)
            first, again, verdicts = [], [], set()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for run in range(args.runs + 1):
                    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
                    page = context.new_page()
                    cold, status = scan(page, urls[run % len(urls)])
                    warm, status2 = scan(page, urls[(run + 1) % len(urls)])
                    context.close()
                    verdicts |= {status, status2}
                    if run:  # the first run warms the server and the browser process
                        first.append(cold)
                        again.append(warm)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "verdicts": sorted(verdicts),
                "first_scan_ms": {"median": round(statistics.median(first), 1), "max": round(max(first), 1)},
                "next_scan_ms": {"median": round(statistics.median(again), 1), "max": round(max(again), 1)},
                "floor": {"below_ms": 1000, "ok": max(first) < 1000 and verdicts == {"VALID"}},
                "machine": {"cpus": os.cpu_count(), "browser": "Debian chromium, headless"},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
