"""SRTP below aiortc: how large a packet pylibsrtp protects, and its per-packet calls made lean.

- pylibsrtp protects a packet in a fixed 1500-byte buffer less a 144-byte trailer reserve, so
  an RTP packet over 1356 bytes is refused. Encoders packetize up to 1400 bytes (browsers
  about 1200), and the relay adds its own header extensions: the buffer is made larger.
- The relay protects or unprotects every packet it reads and sends, about 330 a second a
  stream each way. pylibsrtp's call does, besides libsrtp's own work, a type check, a
  name-mangled method call and a new C integer for the length each time; `RtpCipher` calls
  libsrtp on the same session and buffer with the checks done once (measured on one packet
  protected and unprotected in a loop: 3.9 us with pylibsrtp, 3.0 with this).

pylibsrtp's binding (`_binding.ffi`, `.lib`) and its session's fields (`_srtp`, `_cdata`,
`_buffer`) are private: they are checked where taken, and fail loudly (HookBroken) when an
upgrade moved them.
"""

from __future__ import annotations

from typing import Any

import pylibsrtp

from bridge.aiortc_hooks.pinned import HookBroken

SRTP_BUFFER_BYTES = 4096  # an RTP packet of up to ~3900 bytes, however it came
SRTP_MAX_TRAILER_BYTES = 16 + 128  # pylibsrtp's SRTP_MAX_TRAILER_LEN: tag and MKI

_SESSION_FIELDS = ("_srtp", "_cdata", "_buffer")


def _binding() -> tuple[Any, Any]:
    """pylibsrtp's cffi binding: (ffi, lib)."""
    ffi = getattr(pylibsrtp, "ffi", None)
    lib = getattr(pylibsrtp, "lib", None)
    if ffi is None or lib is None or not hasattr(lib, "srtp_protect"):
        raise HookBroken(f"pylibsrtp {pylibsrtp.__version__} no longer exposes its binding")
    return ffi, lib


def allow_large_srtp_packets() -> None:
    """Give every new pylibsrtp session a buffer of SRTP_BUFFER_BYTES (idempotent)."""
    session = pylibsrtp.Session
    original = session.__init__
    if getattr(original, "large_packets", False):
        return
    ffi, _lib = _binding()

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if not hasattr(self, "_cdata") or not hasattr(self, "_buffer"):
            raise HookBroken(f"pylibsrtp {pylibsrtp.__version__} keeps no _cdata/_buffer")
        self._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
        self._buffer = ffi.buffer(self._cdata)

    init.large_packets = True  # type: ignore[attr-defined]
    session.__init__ = init  # type: ignore[method-assign]


class RtpCipher:
    """Protects or unprotects RTP (not RTCP) packets of one pylibsrtp session, as its
    `protect` and `unprotect` do (the same errors), with less Python around each call.

    It shares the session's buffer, as pylibsrtp's own calls do: every call copies in,
    transforms and copies out before it returns, so on one event loop they never overlap.
    """

    def __init__(self, session: pylibsrtp.Session) -> None:
        missing = [f for f in _SESSION_FIELDS if not hasattr(session, f)]
        if missing:
            raise HookBroken(f"pylibsrtp {pylibsrtp.__version__} sessions lack {missing}")
        ffi, lib = _binding()
        self.session = session  # keeps libsrtp's context alive (freed when it is collected)
        self._context = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._length = ffi.new("int *")
        self._buffer_bytes = len(session._cdata)
        self._protect = lib.srtp_protect
        self._unprotect = lib.srtp_unprotect

    def protect(self, packet: bytes) -> bytes:
        """The SRTP packet of an RTP one (pylibsrtp.Error when libsrtp refuses it)."""
        return self._process(packet, self._protect, SRTP_MAX_TRAILER_BYTES)

    def unprotect(self, packet: bytes) -> bytes:
        """The RTP packet of an SRTP one (pylibsrtp.Error when it fails to authenticate or
        replays one already seen)."""
        return self._process(packet, self._unprotect, 0)

    def _process(self, packet: bytes, function: Any, trailer: int) -> bytes:
        size = len(packet)
        if size > self._buffer_bytes - trailer:
            raise ValueError("packet is too long")
        length = self._length
        length[0] = size
        buffer = self._buffer
        buffer[0:size] = packet
        status = function(self._context, self._cdata, length)
        if status:
            raise pylibsrtp.Error(_error(status))
        result: bytes = buffer[0 : length[0]]
        return result


def _error(status: int) -> str:
    errors: list[str] = getattr(pylibsrtp, "ERRORS", [])
    return errors[status] if 0 <= status < len(errors) else f"libsrtp error {status}"
