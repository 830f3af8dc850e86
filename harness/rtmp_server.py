"""Destinations for the live outputs' tests: an RTMP server, and ffmpeg receiving SRT or RTMP.

The RTMP server is Debian's nginx with its RTMP module (libnginx-mod-rtmp), one process
(`master_process off`) on a loopback port, recording what is published to it as FLV: the
tests read the program back from that file. `kill()` drops it the way a crashed or rebooted
server does (every connection reset at once); `restart()` brings it back on the same port.

`Receiver` runs ffmpeg copying a stream (`srt://` as listener or caller, `rtmp://` to pull)
into a file, for as long as the test wants it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

from harness.server import free_port
from harness.waiting import eventually_sync

NGINX = Path("/usr/sbin/nginx")
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
FFMPEG = Path("/usr/bin/ffmpeg")
APP = "live"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

CONFIG = """\
load_module {module};
daemon off;
master_process off;
error_log {root}/error.log info;
pid {root}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        application {app} {{
            live on;
            record all;
            record_path {records};
            record_unique off;
        }}
    }}
}}
"""


def available() -> str | None:
    """Why the RTMP server cannot run here (None: it can)."""
    for path in (NGINX, RTMP_MODULE, FFMPEG):
        if not path.exists():
            return f"{path} is missing (Debian: nginx-light libnginx-mod-rtmp ffmpeg)"
    return None


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def udp_taken(port: int) -> bool:
    """Whether a process has bound the UDP port (an SRT listener waits there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _end(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a process and reap it (SIGKILL if it ignores `sig` for STOP_TIMEOUT_S)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


class RtmpServer:
    """nginx-rtmp on a loopback port, recording each stream to `records/<key>.flv`."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.records = root / "records"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The application's URL (an output appends its stream key)."""
        return f"rtmp://127.0.0.1:{self.port}/{APP}"

    def recorded(self, key: str) -> Path:
        """The FLV file of what was published under `key`."""
        return self.records / f"{key}.flv"

    def launch(self) -> None:
        """Start nginx (returns at once; `ready()` says when it answers)."""
        self.records.mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(
            CONFIG.format(
                module=RTMP_MODULE, root=self.root, port=self.port, app=APP, records=self.records
            )
        )
        self._process = subprocess.Popen(
            [str(NGINX), "-p", str(self.root), "-c", str(conf), "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def ready(self) -> bool:
        """Whether nginx runs and answers on its port."""
        return self.running and answers(self.port)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start nginx and wait until it answers (blocking: before the test's room runs)."""
        self.launch()
        eventually_sync(self.ready, timeout=START_TIMEOUT_S, message=self._log_tail)

    def kill(self) -> None:
        """Drop dead (SIGKILL): every publisher's connection is reset, as when a server
        crashes."""
        if self._process is not None:
            _end(self._process, signal.SIGKILL)

    def restart(self) -> None:
        """Come back on the same port after `kill()` (returns at once; see `ready()`)."""
        self.kill()
        self.launch()

    def stop(self) -> None:
        """Shut nginx down (SIGQUIT: a graceful stop that closes the recordings)."""
        if self._process is not None:
            _end(self._process, signal.SIGQUIT)

    def _log_tail(self) -> str:
        log = self.root / "error.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "nginx-rtmp answering:\n" + "\n".join(text.splitlines()[-5:])

    def __enter__(self) -> RtmpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Receiver:
    """ffmpeg copying `url` into `out` (no decode): the far end of an SRT or RTMP output."""

    def __init__(self, url: str, out: Path, options: tuple[str, ...] = ()) -> None:
        self.url, self.out, self.options = url, out, options
        self._process: subprocess.Popen[bytes] | None = None
        self.log = out.with_suffix(out.suffix + ".log")

    def launch(self) -> None:
        """Start receiving (a new file each time), returns at once."""
        muxer = "flv" if self.out.suffix == ".flv" else "mpegts"
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(FFMPEG),
                    *("-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
                    *self.options,
                    *("-i", self.url, "-map", "0", "-c", "copy", "-f", muxer, str(self.out)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def size(self) -> int:
        """Bytes received so far."""
        return self.out.stat().st_size if self.out.exists() else 0

    def stop(self) -> None:
        """End it (SIGINT: ffmpeg closes the file properly), SIGKILL if it hangs."""
        if self._process is not None:
            _end(self._process, signal.SIGINT)

    def __enter__(self) -> Receiver:
        self.launch()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class StalledServer:
    """A TCP port that accepts connections and never reads from them: a destination that
    hangs (the kernel completes the handshake; nothing is ever answered or read)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = int(self._socket.getsockname()[1])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def __enter__(self) -> StalledServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
