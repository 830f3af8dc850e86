"""AWS Signature Version 4 for S3: the Authorization header of a request, and presigned URLs.

Pure functions of the request and the time (no I/O), so that the documented examples of AWS
can be checked byte for byte (tests/web/test_object_storage.py). Paths are given as they go on
the wire (already URI-encoded: `canonical_path`); S3 signs them as they are, without the second
encoding other AWS services apply.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# The longest a presigned URL may live (SigV4's own limit: seven days).
MAX_EXPIRES_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Credentials:
    """Who signs, and for which region and service."""

    access_key: str
    secret_key: str = ""
    region: str = "us-east-1"
    service: str = "s3"

    def __repr__(self) -> str:  # the secret never reaches a log line through a repr
        return f"Credentials({self.access_key!r}, region={self.region!r})"


def canonical_path(key_path: str) -> str:
    """A path as S3 wants it signed and sent: every byte but unreserved ones and `/` escaped."""
    return quote(key_path, safe="/-_.~")


def _escape(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(query: Iterable[tuple[str, str]]) -> str:
    """The query string in SigV4's canonical form: escaped, sorted by name then value."""
    return "&".join(f"{k}={v}" for k, v in sorted((_escape(k), _escape(v)) for k, v in query))


def _amz_date(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _scope(creds: Credentials, amz_date: str) -> str:
    return f"{amz_date[:8]}/{creds.region}/{creds.service}/aws4_request"


def _signing_key(creds: Credentials, day: str) -> bytes:
    key = ("AWS4" + creds.secret_key).encode()
    for part in (day, creds.region, creds.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _signature(creds: Credentials, amz_date: str, canonical_request: str) -> str:
    to_sign = "\n".join(
        (
            ALGORITHM,
            amz_date,
            _scope(creds, amz_date),
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        )
    )
    key = _signing_key(creds, amz_date[:8])
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(the canonical header block, the signed header names) of `headers`."""
    cleaned = {name.lower().strip(): " ".join(value.split()) for name, value in headers.items()}
    names = sorted(cleaned)
    block = "".join(f"{name}:{cleaned[name]}\n" for name in names)
    return block, ";".join(names)


def sign_headers(
    creds: Credentials,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    payload_sha256: str,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a request: `headers` (which must hold `host`) are all signed, with
    `x-amz-date` and `x-amz-content-sha256` added; returns every header to send."""
    amz_date = _amz_date(now)
    out = {**headers, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256}
    if not any(name.lower() == "host" for name in out):
        raise ValueError("a signed request needs its host header")
    block, signed = _canonical_headers(out)
    request = "\n".join((method, path, canonical_query(query), block, signed, payload_sha256))
    signature = _signature(creds, amz_date, request)
    out["Authorization"] = (
        f"{ALGORITHM} Credential={creds.access_key}/{_scope(creds, amz_date)},"
        f"SignedHeaders={signed},Signature={signature}"
    )
    return out


def presign(
    creds: Credentials,
    method: str,
    host: str,
    path: str,
    expires_s: int,
    now: datetime,
    query: Iterable[tuple[str, str]] = (),
) -> str:
    """The query string of a presigned URL for `method` on `path` (only the host is signed,
    so the holder may add any header, such as Range); `query` adds parameters that are signed
    too (`response-content-disposition`, ...)."""
    if not 1 <= expires_s <= MAX_EXPIRES_S:
        raise ValueError(f"a presigned URL lives 1 to {MAX_EXPIRES_S} s, not {expires_s}")
    amz_date = _amz_date(now)
    params = [
        *query,
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{creds.access_key}/{_scope(creds, amz_date)}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_s)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    block, signed = _canonical_headers({"host": host})
    request = "\n".join((method, path, canonical_query(params), block, signed, UNSIGNED_PAYLOAD))
    params.append(("X-Amz-Signature", _signature(creds, amz_date, request)))
    return canonical_query(params)
