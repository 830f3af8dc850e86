"""Glass-to-glass latency between two Chromium studio pages: through Telebridge, and direct.

Each page sends a 1280x720 30 fps canvas that carries the wall-clock time as a row of black and
white blocks; the partner page reads the blocks back from every video frame it shows and takes
the difference (one browser, one clock). The same two pages are measured connected directly
(no server) and through the bridge, in one run: the ratio is the figure. Also printed: seconds
from Join until the partner shows 1280x720 at about 30 fps, and the sender's target bitrate.

    .venv/bin/python bench/glass_to_glass.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.netns import ensure_netns  # noqa: E402
from harness.api import book  # noqa: E402
from harness.chromium import launch_chromium  # noqa: E402
from harness.server import producer_token, running_server  # noqa: E402

# Runs in each page: a time-stamped canvas to send, a reader of the partner's time stamps.
PAGE_JS = """
() => {
  const W = 1280, H = 720, BITS = 40, BLOCK = 32;
  const canvas = document.createElement('canvas'); canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext('2d');
  let n = 0;
  function draw() {
    const now = Math.round(performance.timeOrigin + performance.now());
    ctx.fillStyle = `hsl(${(n++ * 3) % 360}, 40%, 35%)`; ctx.fillRect(0, 0, W, H);
    for (let i = 0; i < BITS; i++) {
      const bit = Math.floor(now / 2 ** i) % 2;
      ctx.fillStyle = bit ? '#fff' : '#000';
      ctx.fillRect(i * BLOCK, 0, BLOCK, BLOCK);
    }
  }
  setInterval(draw, 1000 / 60); // not requestAnimationFrame: it pauses in hidden pages
  const stream = canvas.captureStream(30);
  stream.getVideoTracks()[0].contentHint = 'detail';
  const reader = document.createElement('canvas');
  reader.width = BITS * BLOCK; reader.height = BLOCK;
  const rctx = reader.getContext('2d', { willReadFrequently: true });
  const samples = [];
  // Polled at 200 Hz rather than requestVideoFrameCallback (which headless Chromium without a
  // compositor does not call); each new stamp is taken once, when first seen.
  function watch(video) {
    let lastStamp = -1;
    setInterval(() => {
      const vw = video.videoWidth, vh = video.videoHeight;
      if (!vw) return;
      // The stamp row scales with the picture when the sender lowers its resolution.
      rctx.drawImage(video, 0, 0, (vw * BITS * BLOCK) / W, (vh * BLOCK) / H,
                     0, 0, BITS * BLOCK, BLOCK);
      const px = rctx.getImageData(0, 0, BITS * BLOCK, BLOCK).data;
      let t = 0;
      for (let i = 0; i < BITS; i++) {
        const o = ((BLOCK / 2) * BITS * BLOCK + i * BLOCK + BLOCK / 2) * 4;
        if (px[o] > 128) t += 2 ** i;
      }
      window.bench.seen = (window.bench.seen || 0) + 1;
      if (t === lastStamp) return;
      lastStamp = t;
      const span = 2 ** BITS; // the stamp holds the clock modulo 2^40 ms (about 35 years)
      const latency = (((performance.timeOrigin + performance.now()) % span) - t + span) % span;
      window.bench.lastRaw = latency;
      if (latency > 0 && latency < (window.bench.maxLatency || 5000)) samples.push(latency);
    }, 5);
  }
  window.bench = { stream, samples, watch };
}
"""

DIRECT_OFFER = """
async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.bench.pc = pc;
  window.bench.stream.getTracks().forEach((t) => pc.addTrack(t, window.bench.stream));
  pc.ontrack = (e) => { const v = document.createElement('video'); v.muted = true;
    v.srcObject = e.streams[0]; document.body.append(v); v.play(); window.bench.watch(v); };
  return pc;
}
"""


def _median_latency(pages: list[Any], seconds: float) -> float:
    for page in pages:
        page.evaluate("() => { window.bench.samples.length = 0; }")
    time.sleep(seconds)
    samples: list[float] = []
    for page in pages:
        samples += page.evaluate("() => window.bench.samples")
    if not samples:
        seen = [p.evaluate("() => [window.bench.seen, window.bench.lastRaw]") for p in pages]
        raise SystemExit(f"no frame was read back: the stamp could not be decoded ({seen})")
    return statistics.median(samples)


def direct(context: Any, base: str, seconds: float) -> float:
    a, b = context.new_page(), context.new_page()
    for p in (a, b):
        p.goto(base + "/healthz")
        p.evaluate(PAGE_JS)
        p.evaluate(DIRECT_OFFER)
    offer = a.evaluate("""async () => { const pc = window.bench.pc;
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((r) => { if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
        return pc.localDescription.sdp; }""")
    answer = b.evaluate(
        """async (sdp) => { const pc = window.bench.pc;
        await pc.setRemoteDescription({ type: 'offer', sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        await new Promise((r) => { if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
        return pc.localDescription.sdp; }""",
        offer,
    )
    a.evaluate(
        "async (sdp) => window.bench.pc.setRemoteDescription({ type: 'answer', sdp })", answer
    )
    time.sleep(10)  # let the browsers' own bandwidth estimate ramp up
    latency = _median_latency([a, b], seconds)
    a.close()
    b.close()
    return latency


JOIN = """
async (url) => {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  window.bench.pc = pc;
  const started = performance.now();
  const [track] = window.bench.stream.getVideoTracks();
  pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 2500000 }] });
  const slotVideo = pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sdp: pc.localDescription.sdp }) });
  const body = await res.json();
  await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
  const v = document.createElement('video'); v.muted = true;
  v.srcObject = new MediaStream([slotVideo.receiver.track]); document.body.append(v); v.play();
  window.bench.watch(v);
  window.bench.joinedAt = started;
  window.bench.video = v;
}
"""

FULL_QUALITY = """
() => { const v = window.bench.video; if (!v || v.videoWidth !== 1280) return null;
  const q = v.getVideoPlaybackQuality(); const now = performance.now();
  window.bench.last = window.bench.last || { frames: q.totalVideoFrames, at: now };
  const dt = now - window.bench.last.at;
  if (dt < 1000) return null;
  const fps = (q.totalVideoFrames - window.bench.last.frames) * 1000 / dt;
  window.bench.last = { frames: q.totalVideoFrames, at: now };
  return fps >= 27 ? (now - window.bench.joinedAt) / 1000 : null; }
"""

TARGET_BITRATE = """
async () => { const r = await window.bench.pc.getStats(); let b = 0;
  r.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') b = s.targetBitrate || 0; });
  return b; }
"""


def through_bridge(
    context: Any, base: str, token: str, seconds: float
) -> tuple[float, float, float]:
    links = book(base, token, ["trend", "ansa"], timedelta(minutes=5), title="Latency bench")
    pages = []
    for link in links.values():
        page = context.new_page()
        page.goto(base + "/healthz")
        page.evaluate(PAGE_JS)
        path, query = link.split("?", 1)
        pages.append((page, f"{path}/session?{query}"))
    for page, url in pages:
        page.evaluate(JOIN, url)
    joined = time.monotonic()
    to_full = None
    while to_full is None and time.monotonic() - joined < 30:
        to_full = pages[0][0].evaluate(FULL_QUALITY)
        time.sleep(0.2)
    time.sleep(max(0.0, 5 - (time.monotonic() - joined)))
    bitrate = pages[0][0].evaluate(TARGET_BITRATE)
    time.sleep(3)
    latency = _median_latency([p for p, _ in pages], seconds)
    for page, _ in pages:
        page.close()
    return latency, to_full if to_full is not None else float("nan"), bitrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    ensure_netns()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        token = producer_token(server.data)
        with sync_playwright() as p:
            context = launch_chromium(p, Path(tmp) / "profile", bypass_csp=True)
            direct_ms = direct(context, server.base, args.seconds)
            bridge_ms, to_full, bitrate = through_bridge(context, server.base, token, args.seconds)
            context.close()
    print(f"glass-to-glass, two pages connected directly: {direct_ms:6.1f} ms (median)")
    print(f"glass-to-glass, through Telebridge:           {bridge_ms:6.1f} ms (median)")
    print(f"ratio through / direct: {bridge_ms / direct_ms:.2f}")
    print(f"Join to 1280x720 at >= 27 fps at the partner: {to_full:.1f} s")
    print(f"sender's target bitrate 5 s after Join: {bitrate / 1e6:.2f} Mbps")


if __name__ == "__main__":
    main()
