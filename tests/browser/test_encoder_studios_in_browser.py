"""A real non-browser WebRTC stack as a studio: GStreamer's webrtcbin publishing over WHIP.

Trend is harness/whip_publisher.py (Debian's python3 with GStreamer: vp8enc or x264enc,
webrtcbin), ANSA a Chromium console, on a real server; once per codec:

1. Trend sends a moving test pattern with a tone. ANSA sees its 1280x720 picture moving, in
   Trend's own codec; the program, Trend alone on air, shows Trend's bars (ANSA's program tile).
2. The publisher ends its session (WHIP DELETE: ANSA sees Trend go) and comes back with the
   flash-and-beep source. Ten seconds are recorded. Trend's ISO is its own stream as it came:
   `.webm` for VP8; for H.264 an `.mp4` holding the very SPS the publisher offered (x264's Main
   profile, where the program's libx264 writes High), Opus beside it. The ISO plays in
   Chromium (the archive's player), and its flashes and beeps are within 20 ms of each other
   (H.264; VP8's offset is printed: its slower encoder drops pictures on a busy machine).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import statistics
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import pytest
from live_helpers import received_fps, sees, wait

from harness.api import api, book
from harness.avsync import beep_onsets, flash_onsets, pair
from harness.server import producer_token
from harness.waiting import eventually_sync

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PUBLISHER = ROOT / "harness" / "whip_publisher.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi (the venv has no gi)
ENCODER, CONSOLE = "trend", "ansa"
RECORD_S = 10
MAX_AV_OFFSET_MS = 20.0
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]

# Frames a <video> has decoded so far, and where it is (a moving picture keeps counting).
PLAYBACK = (
    "(sel) => { const v = document.querySelector(sel);"
    " return v && v.videoWidth ? {frames: v.getVideoPlaybackQuality().totalVideoFrames,"
    " time: v.currentTime, width: v.videoWidth, height: v.videoHeight} : null; }"
)
# SMPTE bars in a <video>: the share of a row at 30% of its height that is the bars' magenta
# and blue (1/7 each however far they have scrolled; none in Chromium's fake camera).
BARS = """(sel) => {
  const v = document.querySelector(sel);
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const row = g.getImageData(0, Math.round(c.height * 0.3), c.width, 1).data;
  let magenta = 0, blue = 0;
  for (let i = 0; i < row.length; i += 4) {
    const r = row[i], gr = row[i + 1], b = row[i + 2];
    if (r > 130 && gr < 90 && b > 130) magenta++;
    if (r < 90 && gr < 90 && b > 130) blue++;
  }
  return {magenta: magenta / (row.length / 4), blue: blue / (row.length / 4)};
}"""
# The codec a console receives a partner's picture in, from its connection's statistics.
PARTNER_CODEC = """async (partner) => {
  const tile = document.querySelector(`.tile[data-partner='${partner}']`);
  const report = await window.telebridge.pc.getStats();
  for (const s of report.values()) {
    if (s.type === 'inbound-rtp' && s.mid === tile.dataset.videoMid && s.codecId) {
      const codec = report.get(s.codecId);
      return codec ? codec.mimeType : null;
    }
  }
  return null;
}"""
TILE = f".tile[data-partner='{ENCODER}'] video"
PROGRAM = "#program-tile video"


def gstreamer_missing(codec: str) -> str | None:
    """Why the publisher cannot send `codec` here (None: it can)."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    bindings = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gst', '1.0')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if bindings.returncode:
        said = (bindings.stderr.strip().splitlines() or ["?"])[-1]
        return f"Debian's python3 has no GStreamer bindings (python3-gi, gir1.2-*): {said}"
    check = subprocess.run(
        [SYSTEM_PYTHON, str(PUBLISHER), "-", "-", "--codec", codec, "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check.returncode:
        return check.stderr.strip() or f"the publisher's check exited {check.returncode}"
    return None


@pytest.fixture(params=["vp8", "h264"])
def codec(request: pytest.FixtureRequest) -> str:
    """The codec the GStreamer studio sends (skipped without GStreamer, failed in CI)."""
    name = str(request.param)
    reason = gstreamer_missing(name)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs GStreamer from Debian")
        pytest.skip(reason)
    return name


def _skew_ms(lag_reports: str) -> float:
    """The most the publisher's sound and picture reached webrtcbin apart, over its reports
    ("lag into webrtcbin: audio 3-9 ms, video 2-41 ms"): their least lags' difference."""
    skew = 0.0
    for line in lag_reports.splitlines():
        least = {m: float(lo) for m, lo in re.findall(r"(audio|video) (-?\d+)--?\d+ ms", line)}
        if len(least) == 2:
            skew = max(skew, abs(least["audio"] - least["video"]))
    return skew


class GstStudio:
    """harness/whip_publisher.py as a process of its own; its output in `directory`."""

    def __init__(self, url: str, token: str, codec: str, source: str, directory: Path) -> None:
        self.out = directory / f"publisher-{codec}-{source}.out"
        self.err = directory / f"publisher-{codec}-{source}.log"
        options = ["--codec", codec, "--source", source, "--verbose", "--lag"]
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [SYSTEM_PYTHON, str(PUBLISHER), url, token, *options],
                stdout=out,
                stderr=err,
            )

    def said(self) -> str:
        return self.err.read_text(errors="replace")

    def connected(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the publisher exited {self.proc.returncode}:\n{self.said()}")
        return "connected" in self.out.read_text()

    def wait_connected(self, timeout: float = 30) -> float:
        started = time.monotonic()
        eventually_sync(
            self.connected,
            timeout=timeout,
            interval=0.2,
            message=lambda: f"the publisher connected; it said:\n{self.said()[-3000:]}",
        )
        return time.monotonic() - started

    def lag(self) -> str:
        """The publisher's last reports of how late its packets reach webrtcbin."""
        return "\n".join([line for line in self.said().splitlines() if "lag into" in line][-6:])

    def offered_sps(self) -> bytes:
        """The H.264 sequence parameter set of the publisher's offer (sprop-parameter-sets)."""
        found = re.search(r"sprop-parameter-sets=([A-Za-z0-9+/=]+),", self.said())
        assert found, f"no sprop-parameter-sets in the offer:\n{self.said()}"
        return base64.b64decode(found.group(1))

    def stop(self) -> int:
        """SIGTERM: the publisher DELETEs its WHIP session and exits; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"the publisher did not stop:\n{self.said()}") from None
        return int(self.proc.returncode)

    def __enter__(self) -> GstStudio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def server_warned(directory: Path, lines: int = 12) -> str:
    """The server's last warnings and errors (tests/browser/conftest.py's server logs into the
    test's tmp_path)."""
    log = (directory / "server.log").read_text(errors="replace").splitlines()
    notable = [line for line in log if " WARNING " in line or " ERROR " in line]
    return "\n".join(notable[-lines:])


def ffprobe(path: Path) -> dict[str, dict[str, Any]]:
    """The file's streams by type (video, audio), as ffprobe reads them."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {s["codec_type"]: s for s in json.loads(done.stdout)["streams"]}


def avcc_sps(path: Path) -> bytes:
    """The first SPS of an MP4's H.264 track (its avcC)."""
    with av.open(str(path)) as container:
        avcc = bytes(container.streams.video[0].codec_context.extradata or b"")
    assert len(avcc) > 8 and avcc[0] == 1, f"no avcC in {path.name}: {avcc[:16].hex()}"
    size = int.from_bytes(avcc[6:8], "big")
    return avcc[8 : 8 + size]


def _arriving_fps(server: str, token: str, booking: str) -> list[float]:
    """The encoder's video frame rate at the server now, as master control reads it."""
    rooms = api(server, token, "GET", "/api/live")["rooms"]
    studios = [s for r in rooms if r["booking_id"] == booking for s in r["studios"]]
    return [
        float(s["video"]["fps"])
        for s in studios
        if s["id"] == ENCODER and s.get("video") and s["video"].get("fps") is not None
    ]


def frame_rate(path: Path) -> float:
    """Video frames per second over the file (from its packets' times)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = sorted(
            float(p.pts * p.time_base)
            for p in container.demux(stream)
            if p.pts is not None and p.time_base is not None
        )
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def download(base: str, token: str, url: str, to: Path) -> Path:
    request = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as r:
        to.write_bytes(r.read())
    return to


def test_a_gstreamer_studio_is_seen_on_air_and_recorded_as_it_sent(
    codec: str, server: str, browser_context: Any, tmp_path: Path
) -> None:
    began = time.monotonic()
    token = producer_token(tmp_path / "data")
    # 540p: the console's own camera costs less (the encoder sends 720p whatever the booking).
    links = book(server, token, [ENCODER, CONSOLE], timedelta(minutes=5), quality="540p30")
    parts = urlsplit(links[ENCODER])
    join_token = parse_qs(parts.query)["token"][0]
    booking, studio = parts.path.split("/")[2:4]
    whip = f"{server}/whip/{booking}/{studio}"

    console = browser_context.new_page()
    console.goto(links[CONSOLE])
    console.click("#join")

    # 1. The test pattern: seen by the console at 1280x720, moving, in the encoder's codec.
    with GstStudio(whip, join_token, codec, "pattern", tmp_path) as pattern:
        connected_s = pattern.wait_connected()
        try:
            seen_s = wait(console, sees(ENCODER), 45)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nthe server warned:\n{server_warned(tmp_path)}\n"
                f"the publisher:\n{pattern.lag()}"
            ) from None
        mime = eventually_sync(
            lambda: console.evaluate(PARTNER_CODEC, ENCODER),
            timeout=15,
            message="the console's statistics name the encoder's codec",
        )
        assert mime.lower() == f"video/{codec}", mime
        first = console.evaluate(PLAYBACK, TILE)
        assert first is not None and (first["width"], first["height"]) == (1280, 720), first
        wait(
            console,
            f'() => {{ const p = ({PLAYBACK})("{TILE}");'
            f" return p && p.frames > {first['frames'] + 30} && p.time > {first['time'] + 1}; }}",
            20,
        )
        wait(
            console,
            f'() => {{ const b = ({BARS})("{TILE}"); return b && b.magenta > 0.08'
            " && b.blue > 0.08; }",
            15,
        )
        fps = eventually_sync(
            lambda: console.evaluate(received_fps(ENCODER)),
            timeout=15,
            message="the console measures the encoder's frame rate",
        )
        # The program: the encoder alone on air shows its bars, in the console's program tile.
        api(
            server,
            token,
            "POST",
            f"/api/bookings/{booking}/program",
            {"layout": "solo", "studio": ENCODER},
        )
        wait(
            console,
            "() => { const p = window.telebridge.stats.program;"
            " return p && p.status === 'live' && p.width === 1280 && p.height === 720; }",
            20,
        )
        wait(
            console,
            f'() => {{ const b = ({BARS})("{PROGRAM}"); return b && b.magenta > 0.08'
            " && b.blue > 0.08; }",
            20,
        )
        console.screenshot(path=str(ARTIFACTS / f"console-gstreamer-{codec}.png"))
        print(
            f"\n{codec}: publisher connected in {connected_s:.1f} s, the console saw it "
            f"{seen_s:.1f} s later ({mime}, 1280x720, {fps:.0f} fps received)"
        )
        # WHIP DELETE ends the session: the console sees the encoder go.
        assert pattern.stop() == 0, pattern.said()
        assert "WHIP DELETE: HTTP 200" in pattern.said(), pattern.said()
    wait(console, f"() => window.telebridge.stats.partners['{ENCODER}'].status === 'lost'", 15)

    # 2. Flash and beep, recorded: the encoder's ISO is its own stream, in sync.
    with GstStudio(whip, join_token, codec, "flash", tmp_path) as flash:
        flash.wait_connected()
        wait(console, sees(ENCODER), 45)
        started = api(server, token, "POST", f"/api/bookings/{booking}/recording/start", {})
        assert started["started"] is True, started
        # Ten seconds of show recorded, from the confirmed start; meanwhile, what frame rate
        # of the encoder reaches the server (a publisher short of CPU sends fewer).
        arriving: list[float] = []
        recording_until = time.monotonic() + RECORD_S
        while time.monotonic() < recording_until:
            time.sleep(1.0)  # stays: one sample a second while the show records
            arriving += _arriving_fps(server, token, booking)
        api(server, token, "POST", f"/api/bookings/{booking}/recording/stop", {})
        assert flash.stop() == 0, flash.said()
        sps = flash.offered_sps() if codec == "h264" else b""
        sender_lag = flash.lag()

    def finished() -> dict[str, Any] | None:
        found = api(server, token, "GET", f"/api/recordings?booking={booking}")["recordings"]
        return found[0] if found else None

    recording = eventually_sync(finished, timeout=30, interval=0.5, message="the recording")
    files = {f["name"]: f for f in recording["files"]}
    iso_name = f"iso-{ENCODER}.{'mp4' if codec == 'h264' else 'webm'}"
    assert iso_name in files, f"{sorted(files)}\n{server_warned(tmp_path)}"
    iso = download(server, token, files[iso_name]["url"], tmp_path / iso_name)
    streams = ffprobe(iso)
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == (codec, 1280, 720), video
    assert audio["codec_name"] == "opus", audio
    if codec == "h264":
        # Not re-encoded: the publisher's own parameter sets, its x264's Main profile (the
        # program's libx264 writes High).
        program = download(server, token, files["program.mp4"]["url"], tmp_path / "program.mp4")
        assert ffprobe(program)["video"]["profile"] == "High"
        assert video["profile"] == "Main", video

    # The ISO plays in Chromium: the archive's player switched to the encoder's own feed.
    player = browser_context.new_page()
    player.goto(f"{server}/login?next=/archive/{recording['id']}")
    player.fill("input[name=name]", "producer")
    player.fill("input[name=password]", "telebridge-demo")
    player.click("form[action='/login'] button[type=submit]")
    player.wait_for_url(f"**/archive/{recording['id']}")
    player.click(f".sources .source[data-studio='{ENCODER}']")
    player.evaluate(
        "() => { const v = document.getElementById('player'); v.muted = true; v.play(); }"
    )
    wait(
        player,
        "() => { const v = document.getElementById('player');"
        f" return v.currentSrc.endsWith('{iso_name}') && v.readyState >= 2"
        " && v.videoWidth === 1280 && v.currentTime > 1; }",
        20,
    )
    player.screenshot(path=str(ARTIFACTS / f"archive-gstreamer-iso-{codec}.png"), full_page=True)

    # Lip sync of the ISO: each flash with its beep.
    (flashes,) = flash_onsets(iso, None)
    beeps = beep_onsets(iso)
    pairs = pair(flashes, beeps)
    offsets = [(a - v) * 1000 for v, a in pairs]
    iso_fps = frame_rate(iso)
    print(
        f"{iso_name}: {len(pairs)} pairs of {len(flashes)} flashes and {len(beeps)} beeps, "
        f"A-V median {statistics.median(offsets) if offsets else float('nan'):+.1f} ms "
        f"(min {min(offsets, default=float('nan')):+.1f}, "
        f"max {max(offsets, default=float('nan')):+.1f}), {iso_fps:.1f} fps; "
        f"test {time.monotonic() - began:.0f} s"
    )
    if codec == "h264":  # VP8's figures are printed (a slower encoder: pictures dropped)
        said = f"flashes {flashes}, beeps {beeps}; the publisher's lag:\n{sender_lag}"
        assert len(pairs) >= RECORD_S - 3, said
        # The ISO keeps sound and picture as they arrived: a publisher starved of CPU that
        # hands one of them to webrtcbin later than the other sends them out of step itself.
        allowed = MAX_AV_OFFSET_MS + _skew_ms(sender_lag)
        assert abs(statistics.median(offsets)) <= allowed, f"{offsets}; {said}"
    # The ISO holds what arrived: its frame rate that of the encoder's feed at the server.
    arrived = statistics.median(arriving) if arriving else 0.0
    assert iso_fps > min(10.0, 0.7 * arrived), (iso_fps, arriving)
    if codec == "h264":
        # The MP4's own description of the stream (avcC) is the publisher's: its SPS.
        assert avcc_sps(iso) == sps, (avcc_sps(iso).hex(), sps.hex())
