#!/usr/bin/python3
"""A studio as a real non-browser WebRTC stack: GStreamer's webrtcbin publishing over WHIP.

Run with Debian's /usr/bin/python3, which has PyGObject (`python3-gi`); the project's venv has
not, so the tests start this as a process of its own (tests/browser/
test_encoder_studios_in_browser.py):

    /usr/bin/python3 harness/whip_publisher.py URL TOKEN [--codec vp8|h264] [--source flash]

What it sends, 1280x720 at 30 fps unless told otherwise, is one of:

- `pattern`: a moving test picture (SMPTE bars scrolling sideways) and a 440 Hz tone;
- `flash`: the flash-and-beep source of harness/avsync.py: a black picture with one white frame
  a second, and silence with a 50 ms 1 kHz beep starting at the same instants (FlashAndBeep:
  controllers on videotestsrc's colour and audiotestsrc's volume, the beeps laid out on the
  running time of the flashes), so that the flash and the beep leave the encoders together.

Video goes through a queue that drops the oldest raw frame rather than fall behind (a live
encoder that runs short of CPU sends fewer pictures, not later ones), then vp8enc (deadline 1,
its fastest speed, a key frame at least every 60 frames) or x264enc (zerolatency, ultrafast,
key-int-max 60, the `--profile` asked of it through caps) into rtpvp8pay / rtph264pay (SPS and
PPS before every IDR, no aggregation delay; GStreamer's 1400-byte packets unless `--mtu`);
audio through opusenc (20 ms) into rtpopuspay; both into one webrtcbin (max-bundle, send-only
transceivers, NACK and RTX offered for video unless `--no-nack`).

WHIP (RFC 9725): the offer is made once both streams' caps are known, ICE gathering is waited
out (no trickle), the offer is POSTed with the bearer token, the answer set. One line goes to
stdout when the connection is up (`connected ...`); SIGTERM or SIGINT sends DELETE to the
session's Location and exits 0. An HTTP error prints its status and body and exits 2; a
pipeline error or a failed connection exits 1. `--check` only says whether every element is
there (exit 0) or which are missing (exit 3). `--verbose` prints the offer and the answer,
`--lag` how late the packets reach webrtcbin (stderr).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstController", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import (  # type: ignore[import-not-found]  # noqa: E402
    GLib,
    Gst,
    GstController,
    GstSdp,
    GstWebRTC,
)

VIDEO_PT, AUDIO_PT = 96, 111
# A live encoder that falls behind drops pictures rather than sending them later and later
# (Chromium does the same): at most two raw frames wait for the encoder.
VIDEO_QUEUE = "queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 leaky=downstream"
BLACK, WHITE = 0xFF000000, 0xFFFFFFFF  # videotestsrc's foreground-color (ARGB)
BEEP_HZ, BEEP_SECONDS, BEEP_LEVEL = 1000, 0.05, 0.5  # as harness/avsync.py
FLASH_HOURS = 2  # the flash's control points are laid out this far ahead
GATHER_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 20.0
# x264enc's profile, asked for through its source caps, and the x264 options that make the
# stream really use it: x264 writes the lowest profile its tools need, and ultrafast's (no
# CABAC, no 8x8 transform) are Constrained Baseline's whatever the caps allow.
PROFILES = {
    "constrained-baseline": "",
    "baseline": "",
    "main": "cabac=1",
    "high": "cabac=1:8x8dct=1",
}

ELEMENTS = {
    "common": (
        "webrtcbin",
        "nicesrc",
        "dtlssrtpenc",
        "srtpenc",
        "rtpbin",
        "videotestsrc",
        "audiotestsrc",
        "videoconvert",
        "audioconvert",
        "audioresample",
        "opusenc",
        "rtpopuspay",
        "queue",
    ),
    "vp8": ("vp8enc", "rtpvp8pay"),
    "h264": ("x264enc", "rtph264pay"),
}


def missing_elements(codec: str) -> list[str]:
    """The GStreamer elements this publisher needs that are not installed."""
    return [n for n in (*ELEMENTS["common"], *ELEMENTS[codec]) if not Gst.ElementFactory.find(n)]


def video_source(kind: str, width: int, height: int, fps: int) -> str:
    raw = f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
    if kind == "flash":
        return (
            "videotestsrc name=vsrc is-live=true pattern=solid-color "
            f"foreground-color={BLACK} ! {raw}"
        )
    # SMPTE bars scrolling sideways: a picture that moves, with colour in every tile.
    return f"videotestsrc name=vsrc is-live=true pattern=smpte horizontal-speed=4 ! {raw}"


def audio_source(kind: str) -> str:
    raw = "audio/x-raw,format=S16LE,rate=48000,channels=1"
    if kind == "flash":  # silent until FlashAndBeep's controller says beep
        return (
            f"audiotestsrc name=asrc is-live=true wave=sine freq={BEEP_HZ} volume=0 "
            f"samplesperbuffer=48 ! {raw}"
        )
    return f"audiotestsrc name=asrc is-live=true wave=sine freq=440 volume=0.2 ! {raw}"


def video_encoder(codec: str, profile: str, kbps: int, mtu: int | None = None) -> str:
    size = f" mtu={mtu}" if mtu else ""  # GStreamer's payloaders: 1400 bytes unless told
    if codec == "vp8":
        return (
            f"vp8enc deadline=1 keyframe-max-dist=60 target-bitrate={kbps * 1000} "
            "end-usage=cbr cpu-used=16 threads=2 ! "
            f"rtpvp8pay picture-id-mode=15-bit{size} ! "
            f"application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload={VIDEO_PT}"
        )
    options = f' option-string="{PROFILES[profile]}"' if PROFILES[profile] else ""
    return (
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate={kbps}{options} ! "
        f"video/x-h264,profile={profile} ! "
        f"rtph264pay config-interval=-1 aggregate-mode=zero-latency{size} ! "
        "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,"
        f"packetization-mode=(string)1,payload={VIDEO_PT}"
    )


def pipeline_description(args: argparse.Namespace) -> str:
    """The whole pipeline, as gst-launch would read it."""
    width, height = args.size
    mtu = f" mtu={args.mtu}" if args.mtu else ""
    return " ".join(
        (
            "webrtcbin name=webrtc bundle-policy=max-bundle",
            f"{video_source(args.source, width, height, args.fps)} !",
            f"{VIDEO_QUEUE} ! videoconvert !",
            f"{video_encoder(args.codec, args.profile, args.kbps, args.mtu)} ! webrtc.",
            f"{audio_source(args.source)} ! queue ! audioconvert ! audioresample !",
            f"opusenc bitrate=64000 frame-size=20 ! rtpopuspay{mtu} !",
            "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,"
            f"payload={AUDIO_PT} ! webrtc.",
        )
    )


class FlashAndBeep:
    """A white frame and the start of a beep at the same instants, once a second.

    Each live source stamps its buffers from its own start (its own time, which the
    controllers read: the value at a frame's or a buffer's own time) plus the running time it
    started at, and the two start apart (tens of milliseconds: the video's first frame takes
    longer to make). The flash is the frame at each whole second of the video's own time; the
    beeps are laid out on the audio's own time once both first stamps are known, so that each
    starts at the running time of a flash. The audio comes in 1 ms buffers (a controller sets
    a value per buffer): a beep is within half a millisecond of its flash.
    """

    def __init__(self, pipeline: Any, fps: int) -> None:
        self.video = pipeline.get_by_name("vsrc")
        self.audio = pipeline.get_by_name("asrc")
        self.flash = self._control(self.video, "foreground-color")
        self.beep = self._control(self.audio, "volume")
        self.flash.set(0, float(BLACK))
        self.beep.set(0, 0.0)
        frame = Gst.SECOND // fps
        for second in range(1, FLASH_HOURS * 3600):
            self.flash.set(second * Gst.SECOND, float(WHITE))
            self.flash.set(second * Gst.SECOND + frame // 2, float(BLACK))
        self.starts: dict[str, int] = {}
        self._lock = threading.Lock()
        for name, source in (("video", self.video), ("audio", self.audio)):
            source.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._first, name)

    @staticmethod
    def _control(element: Any, prop: str) -> Any:
        control = GstController.InterpolationControlSource()
        control.set_property("mode", GstController.InterpolationMode.NONE)  # steps
        element.add_control_binding(
            GstController.DirectControlBinding.new_absolute(element, prop, control)
        )
        return control

    def _first(self, _pad: Any, info: Any, name: str) -> Any:
        with self._lock:
            self.starts[name] = info.get_buffer().pts
            if len(self.starts) == 2:
                self._lay_out_beeps(self.starts["video"] - self.starts["audio"])
        return Gst.PadProbeReturn.REMOVE

    def _lay_out_beeps(self, video_after_audio: int) -> None:
        """Beeps at the audio's own times of the flashes (to its 1 ms buffers)."""
        ms = Gst.MSECOND
        for second in range(1, FLASH_HOURS * 3600):
            at = round((second * Gst.SECOND + video_after_audio) / ms) * ms
            self.beep.set(at, BEEP_LEVEL)
            self.beep.set(at + round(BEEP_SECONDS * Gst.SECOND), 0.0)


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None


class Publisher:
    """The pipeline and its WHIP session; `run()` returns the exit status."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.loop = GLib.MainLoop()
        self.status = 0
        self.location: str | None = None
        self.offered = False
        self.connected = False
        self.gathered = threading.Event()
        self.description = pipeline_description(args)
        self.pipeline = Gst.parse_launch(self.description)
        self.webrtc = self.pipeline.get_by_name("webrtc")
        if args.source == "flash":
            self.flash_and_beep = FlashAndBeep(self.pipeline, args.fps)
        self.webrtc.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::connection-state", self._on_connection)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)
        bus.connect("message::eos", self._on_eos)

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def run(self) -> int:
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self._on_signal)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self._on_signal)
        self.log(f"pipeline: {self.description}")
        if self.args.lag:
            self._watch_lag()
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.log("the pipeline does not start")
            return 1
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        return self.status

    def _watch_lag(self) -> None:
        """Say every 2 s how late packets reach webrtcbin: the running time then minus their
        capture time (pts), least and most per stream (a queue building up before an encoder
        that cannot keep up shows here; the RTP timestamps do not)."""
        lags: dict[str, list[int]] = {}

        def probe(pad: Any, info: Any) -> Any:
            clock = self.pipeline.get_clock()
            segment = pad.get_sticky_event(Gst.EventType.SEGMENT, 0)
            pts = info.get_buffer().pts
            if clock is not None and segment is not None and pts != Gst.CLOCK_TIME_NONE:
                # x264enc's segment starts 1000 hours on: its running time, not its pts
                captured = segment.parse_segment().to_running_time(Gst.Format.TIME, pts)
                now = clock.get_time() - self.pipeline.get_base_time()
                media = pad.get_current_caps().get_structure(0).get_string("media")
                lags.setdefault(media, []).append(now - captured)
            return Gst.PadProbeReturn.OK

        for pad in self.webrtc.sinkpads:
            pad.add_probe(Gst.PadProbeType.BUFFER, probe)

        def report() -> bool:
            said = ", ".join(
                f"{media} {min(v) / Gst.MSECOND:.0f}-{max(v) / Gst.MSECOND:.0f} ms"
                for media, v in sorted(lags.items())
                if v
            )
            lags.clear()
            self.log(f"lag into webrtcbin: {said}")
            return True

        GLib.timeout_add(2000, report)

    def finish(self, status: int) -> bool:
        """Leave the main loop with `status` (from any thread, through the loop)."""

        def done() -> bool:
            self.status = self.status or status
            self.loop.quit()
            return False

        GLib.idle_add(done)
        return False

    # --- negotiation ---------------------------------------------------------------------

    def _on_negotiation_needed(self, webrtc: Any) -> None:
        if self.offered:
            return
        self.offered = True
        # The offer's codecs come from the caps on webrtcbin's sink pads: wait for both.
        threading.Thread(target=self._negotiate, name="whip", daemon=True).start()

    def _negotiate(self) -> None:
        try:
            self._wait_for_caps()
            for pad in self.webrtc.sinkpads:
                # The transceivers' kind is unknown until the offer: the pad's caps say it.
                media = pad.get_current_caps().get_structure(0).get_string("media")
                transceiver = pad.get_property("transceiver")
                transceiver.set_property(
                    "direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY
                )
                if media == "video":
                    transceiver.set_property("do-nack", self.args.nack)
            offered = threading.Event()
            replies: list[Any] = []

            def on_offer(promise: Gst.Promise, _data: Any = None) -> None:
                replies.append(promise.get_reply())
                offered.set()

            self.webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer))
            if not offered.wait(10):
                raise RuntimeError("webrtcbin made no offer")
            offer = replies[0].get_value("offer")
            done = Gst.Promise.new()
            self.webrtc.emit("set-local-description", offer, done)
            done.wait()
            if not self.gathered.wait(GATHER_TIMEOUT_S):
                raise RuntimeError(f"ICE gathering did not complete in {GATHER_TIMEOUT_S:g} s")
            sdp = self.webrtc.get_property("local-description").sdp.as_text()
            if self.args.verbose:
                self.log("offer:\n" + sdp)
            answer = self._post(sdp)
            if answer is None:
                return
            if self.args.verbose:
                self.log("answer:\n" + answer)
            ok, message = GstSdp.SDPMessage.new_from_text(answer)
            if ok != GstSdp.SDPResult.OK:
                raise RuntimeError("the answer is not SDP:\n" + answer)
            description = GstWebRTC.WebRTCSessionDescription.new(
                GstWebRTC.WebRTCSDPType.ANSWER, message
            )
            done = Gst.Promise.new()
            self.webrtc.emit("set-remote-description", description, done)
            done.wait()
            reply = done.get_reply()
            if reply is not None and reply.has_field("error"):
                raise RuntimeError(f"webrtcbin refused the answer: {reply.get_value('error')}")
        except Exception as exc:
            self.log(f"negotiation failed: {exc}")
            self.finish(1)

    def _wait_for_caps(self) -> None:
        ready = threading.Event()

        def check() -> bool:
            pads = self.webrtc.sinkpads
            if pads and all(p.has_current_caps() for p in pads):
                ready.set()
                return False
            return True

        GLib.timeout_add(20, check)
        if not ready.wait(20):
            raise RuntimeError("no caps reached webrtcbin in 20 s (encoders not running?)")

    def _post(self, sdp: str) -> str | None:
        """POST the offer; the answer, or None after an HTTP error (said and exiting)."""
        request = urllib.request.Request(
            self.args.url,
            data=sdp.encode(),
            method="POST",
            headers={
                "Content-Type": "application/sdp",
                "Authorization": f"Bearer {self.args.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as r:
                status, location, body = r.status, r.headers.get("Location"), r.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            self.log(f"WHIP POST {self.args.url}: HTTP {exc.code} {exc.reason}\n{body}")
            self.finish(2)
            return None
        if status != 201 or not location:
            self.log(f"WHIP POST {self.args.url}: HTTP {status}, Location {location!r}")
            self.finish(2)
            return None
        self.location = urllib.parse.urljoin(self.args.url, location)
        self.log(f"WHIP session: {self.location}")
        return str(body.decode())

    def _on_gathering(self, webrtc: Any, _pspec: Any) -> None:
        state = webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def _on_connection(self, webrtc: Any, _pspec: Any) -> None:
        state = webrtc.get_property("connection-state")
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not self.connected:
            self.connected = True
            width, height = self.args.size
            print(
                f"connected {self.args.codec} {width}x{height}@{self.args.fps} "
                f"{self.args.source} {self.location}",
                flush=True,
            )
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            self.log("the connection failed")
            self.finish(1)

    # --- the end -------------------------------------------------------------------------

    def _on_signal(self) -> bool:
        self.log("stopping")
        if self.location:
            request = urllib.request.Request(
                self.location,
                method="DELETE",
                headers={"Authorization": f"Bearer {self.args.token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as r:
                    self.log(f"WHIP DELETE: HTTP {r.status}")
            except urllib.error.HTTPError as exc:
                body = exc.read().decode(errors="replace")
                self.log(f"WHIP DELETE {self.location}: HTTP {exc.code} {exc.reason}\n{body}")
            except OSError as exc:
                self.log(f"WHIP DELETE {self.location}: {exc}")
        self.loop.quit()
        return False

    def _on_error(self, _bus: Any, message: Any) -> None:
        error, debug = message.parse_error()
        self.log(f"pipeline error from {message.src.get_name()}: {error.message}\n{debug}")
        self.finish(1)

    def _on_eos(self, _bus: Any, _message: Any) -> None:
        self.log("end of stream")
        self.finish(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the WHIP endpoint: .../whip/<booking>/<studio>")
    parser.add_argument("token", help="the studio's join token (sent as a Bearer token)")
    parser.add_argument("--codec", choices=("vp8", "h264"), default="vp8")
    parser.add_argument("--size", type=parse_size, default=(1280, 720), help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--kbps", type=int, default=2500, help="the video's bitrate")
    parser.add_argument("--source", choices=("pattern", "flash"), default="pattern")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="main", help="H.264 only")
    parser.add_argument(
        "--no-nack", dest="nack", action="store_false", help="offer no NACK/RTX for video"
    )
    parser.add_argument(
        "--mtu", type=int, help="the payloaders' largest RTP packet (GStreamer's default: 1400)"
    )
    parser.add_argument(
        "--lag", action="store_true", help="say how late packets reach webrtcbin, every 2 s"
    )
    parser.add_argument("--verbose", action="store_true", help="print the offer and answer")
    parser.add_argument("--check", action="store_true", help="only check the elements")
    args = parser.parse_args(argv)
    Gst.init(None)
    missing = missing_elements(args.codec)
    if missing:
        print(f"missing GStreamer elements: {', '.join(missing)}", file=sys.stderr)
        return 3
    if args.check:
        return 0
    return Publisher(args).run()


if __name__ == "__main__":
    sys.exit(main())
