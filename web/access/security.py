"""Secrets and signatures: password hashes, the signing key, signed tokens, CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

# scrypt with n=2**14, r=8 costs about 16 MiB and 50 ms: slow for guessing, fine for a login.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in a self-describing text form."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# A hash to check against when the user name is unknown, so both cases cost the same time.
DUMMY_HASH = hash_password(secrets.token_hex(8))


def load_secret(configured: str, data_dir: Path) -> bytes:
    """The signing key: the configured one, else the one kept in the data dir (made once)."""
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip().encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written owner-only and atomically: a half-written key would sign with garbage.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    tmp.replace(path)
    return key.encode()


def _untrusted_bytes(text: str) -> bytes:
    """Text from a header, cookie or URL as bytes, whatever it holds.

    aiohttp hands undecodable header bytes over as lone surrogates, which plain `.encode()`
    refuses; such a value can only ever fail the check it is being put through.
    """
    return text.encode("utf-8", "surrogatepass")


def token_digest(token: str) -> str:
    """How an API token or session id is stored: SHA-256, hex."""
    return hashlib.sha256(_untrusted_bytes(token)).hexdigest()


def new_token() -> str:
    """A fresh random bearer token or session id."""
    return "tb_" + secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """HMAC-SHA256 signatures of small JSON payloads, separated by purpose."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, body: str) -> str:
        mac = hmac.new(self._key, _untrusted_bytes(f"{purpose}:{body}"), hashlib.sha256).digest()
        return _b64(mac[:20])

    def sign(self, purpose: str, payload: dict[str, object]) -> str:
        """`payload` as compact signed text usable in a URL."""
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def unsign(self, purpose: str, token: str) -> dict[str, object] | None:
        """The payload of a token signed for `purpose`, or None when forged or malformed."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 2048:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(_untrusted_bytes(mac), self._mac(purpose, body).encode()):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def csrf_token(self, binding: str) -> str:
        """The CSRF token for a session (or an anonymous visitor's cookie)."""
        return self._mac("csrf", binding)

    def check_csrf(self, binding: str, token: str | None) -> bool:
        """Whether `token` is the CSRF token of `binding`."""
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        return bool(token) and hmac.compare_digest(
            _untrusted_bytes(str(token)), self.csrf_token(binding).encode()
        )
