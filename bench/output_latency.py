"""Glass-to-viewer latency of the live outputs: HLS in the watch page, RTMP and SRT read back.

A Chromium studio page sends a 1280x720 canvas that carries the wall-clock time as a row of
black and white blocks (bench/glass_to_glass.py's camera) through Telebridge; the producer puts
that studio alone on the program, which goes out as HLS, RTMP (to nginx-rtmp) and SRT
(listening on a server port). The stamp is read back from every frame shown by the watch page's
player (hls.js, as an audience sees it), and from the frames ffmpeg decodes off the RTMP server
and off the SRT listener, against the same machine's clock, one after the other (HLS, then
RTMP, then SRT) so that no reader starves another of CPU. Goals (issue 11): HLS <= 6 s, SRT
<= 1 s.

    .venv/bin/python bench/output_latency.py [--seconds 20]   (root: enters a network namespace)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.glass_to_glass import JOIN, PAGE_JS  # noqa: E402
from bench.netns import ensure_netns  # noqa: E402
from harness.api import api, book  # noqa: E402
from harness.chromium import launch_chromium  # noqa: E402
from harness.rtmp_server import RtmpServer  # noqa: E402
from harness.server import free_port, producer_token, running_server  # noqa: E402

W, H, BITS, BLOCK = 1280, 720, 40, 32
KEY = "latency-bench"


def stamp_of(gray: np.ndarray) -> int:
    """The wall-clock milliseconds (modulo 2^40) a frame's block row says."""
    row = gray[BLOCK // 2, [i * BLOCK + BLOCK // 2 for i in range(BITS)]]
    return int(sum(1 << i for i, v in enumerate(row) if v > 128))


def read_back(url: str, seconds: float, samples: list[float], extra: list[str]) -> None:
    """Decode `url` with ffmpeg for `seconds` and collect each new stamp's age in ms.

    As a playout decoder would: it shows what arrives at once (no buffering beyond the
    decoder's), and only the stamp's row leaves ffmpeg (a whole 720p frame piped to Python 30
    times a second would make the reader, not the output, the bottleneck on a busy machine).
    """
    command = ["ffmpeg", "-v", "error", "-fflags", "nobuffer", "-flags", "low_delay", *extra]
    command += ["-i", url, "-an", "-vf", f"scale={W}:{H},crop={W}:{BLOCK}:0:0"]
    command += ["-pix_fmt", "gray", "-f", "rawvideo", "-"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    end, last, size = time.monotonic() + seconds, -1, W * BLOCK
    try:
        while time.monotonic() < end:
            data = process.stdout.read(size)
            if len(data) < size:
                break
            stamp = stamp_of(np.frombuffer(data, np.uint8).reshape(BLOCK, W))
            if stamp == last:
                continue
            last = stamp
            age = (time.time() * 1000) % 2**BITS - stamp
            if 0 < age < 20_000:
                samples.append(age)
    finally:
        process.kill()
        process.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    ensure_netns()
    from playwright.sync_api import sync_playwright

    srt_port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp)) as server,
        RtmpServer(Path(tmp) / "nginx") as rtmp,
    ):
        token = producer_token(server.data)
        links = book(server.base, token, ["trend", "ansa"], timedelta(minutes=5), title="Latency")
        booking = next(iter(links.values())).split("/join/", 1)[1].split("/", 1)[0]
        with sync_playwright() as p:
            context = launch_chromium(p, Path(tmp) / "profile", bypass_csp=True)
            studios = []
            for link in links.values():
                page = context.new_page()
                page.goto(server.base + "/healthz")
                page.evaluate(PAGE_JS)
                path, query = link.split("?", 1)
                page.evaluate(JOIN, f"{path}/session?{query}")
                studios.append(page)
            time.sleep(8)  # both in the program, the senders' bitrate ramped up
            calls = f"/api/bookings/{booking}"
            api(
                server.base,
                token,
                "POST",
                f"{calls}/program",
                {"layout": "solo", "studio": "trend"},
            )
            ids = []
            for body in (
                {"kind": "hls", "name": "Web"},
                {"kind": "rtmp", "name": "Platform", "url": rtmp.url, "key": KEY},
                {"kind": "srt", "name": "Playout", "url": f"srt://:{srt_port}", "latency_ms": 120},
            ):
                ids.append(
                    api(server.base, token, "POST", f"{calls}/outputs", body)["output"]["id"]
                )
            for output_id in ids:
                api(server.base, token, "POST", f"{calls}/outputs/{output_id}/start")
            watch = api(server.base, token, "GET", f"{calls}/watch-link")["url"]
            viewer = context.new_page()
            viewer.goto(watch)
            viewer.evaluate(PAGE_JS)
            viewer.evaluate("() => { window.bench.maxLatency = 20000; }")
            viewer.wait_for_function(
                "() => { const v = document.querySelector('video'); "
                "return v && v.videoWidth === 1280 && v.currentTime > 2; }",
                timeout=60_000,
            )
            viewer.evaluate("() => window.bench.watch(document.querySelector('video'))")
            viewer.evaluate("() => { window.bench.samples.length = 0; }")
            time.sleep(args.seconds)
            hls_ms = viewer.evaluate("() => window.bench.samples")
            viewer.close()  # its decoding would slow the readers below
            # One reader at a time: a reader short of CPU falls behind, and SRT's receive
            # buffer (unlike nginx-rtmp, which drops for a slow player) would count that
            # backlog as the output's latency.
            rtmp_ms: list[float] = []
            srt_ms: list[float] = []
            read_back(f"{rtmp.url}/{KEY}", args.seconds, rtmp_ms, [])
            read_back(
                f"srt://127.0.0.1:{srt_port}?mode=caller&latency=120000",
                args.seconds,
                srt_ms,
                [],
            )
            context.close()

    def show(name: str, samples: list[float], goal: str) -> None:
        if not samples:
            print(f"{name:5} no frame read back")
            return
        median = statistics.median(samples) / 1000
        print(
            f"{name:5} {median:6.2f} s median, {min(samples) / 1000:.2f}-{max(samples) / 1000:.2f}"
            f" s ({len(samples)} frames){goal}"
        )

    print("glass-to-viewer latency of the outputs, studio canvas → program → output → reader")
    show("HLS", hls_ms, "   goal <= 6 s (the watch page's hls.js player)")
    show("RTMP", rtmp_ms, "   (ffmpeg reading back from nginx-rtmp)")
    show("SRT", srt_ms, "   goal <= 1 s (ffmpeg calling the output's listener, 120 ms latency)")


if __name__ == "__main__":
    main()
