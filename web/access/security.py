"""Secrets and signatures: password hashes, the signing key, signed tokens, CSRF tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# scrypt with N=2**17, r=8, p=1 (today's advice for scrypt) takes 128 MiB and a few tenths of a
# second of one core: slow for guessing, fine for a login. Every stored hash names its own
# parameters, so hashes made with older ones still verify (and are remade at the next login).
SCRYPT_R, SCRYPT_P = 8, 1
DEFAULT_PASSWORD_COST = 17  # N = 2**17; the `password_cost` setting (tests lower it)
_cost = [DEFAULT_PASSWORD_COST]


def set_password_cost(cost: int) -> None:
    """The work factor of the hashes made from now on (the `password_cost` setting)."""
    _cost[0] = cost


def scrypt_n() -> int:
    """scrypt's N for new hashes."""
    return int(2 ** _cost[0])


# A hash naming parameters that cost more than this is refused rather than computed: a corrupt
# row must not make one login take gigabytes.
_SCRYPT_MAX_MEMORY = 256 * 2**20
# Each check holds 128 MiB for its duration: at most this many at once, whatever the number of
# logins in flight (the rest queue, which also keeps the event loop's default pool free).
HASH_WORKERS = 2
_hashing = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="scrypt")


def _scrypt_memory(n: int, r: int, p: int) -> int:
    """The bytes OpenSSL's scrypt allocates: its V array (128·r·(N+2)) and B blocks (128·r·p).
    hashlib refuses anything over 32 MiB unless `maxmem` says more."""
    return 128 * r * (n + 2 + p)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    memory = _scrypt_memory(n, r, p)
    if memory > _SCRYPT_MAX_MEMORY:
        raise ValueError(f"scrypt parameters need {memory} bytes")
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=memory + 2**20
    )


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in a self-describing text form (it names N, r, p)."""
    salt = secrets.token_bytes(16)
    n = scrypt_n()
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P, 32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`, with whatever parameters it
    was made with (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (remade at login)."""
    return stored.split("$")[:4] != ["scrypt", str(scrypt_n()), str(SCRYPT_R), str(SCRYPT_P)]


async def check_password(password: str, stored: str) -> bool:
    """`verify_password` off the event loop, on the bounded pool of password checks."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, verify_password, password, stored)


async def new_password_hash(password: str) -> str:
    """`hash_password` off the event loop, on the bounded pool of password checks."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


# What an unknown user name is checked against, so that both cases cost the same time: a hash
# with today's parameters that no password matches (nothing to compute at import).
def dummy_hash() -> str:
    return f"scrypt${scrypt_n()}${SCRYPT_R}${SCRYPT_P}${_DUMMY_SALT}${'0' * 64}"


_DUMMY_SALT = secrets.token_hex(16)


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


# The start of an API token that `telebridge token list` shows to name it: "tb_" and 8 of its 43
# random characters (48 of its 256 bits), far too few to use it. Only the digest of the whole
# token is stored besides, so the token itself is never shown again after it is made.
TOKEN_PREFIX_LENGTH = 11


def token_prefix(token: str) -> str:
    """The part of an API token kept in the clear, to tell tokens apart in lists."""
    return token[:TOKEN_PREFIX_LENGTH]


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
