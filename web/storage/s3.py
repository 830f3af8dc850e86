"""A small S3 client on aiohttp: objects, listings and multipart uploads, path-style.

Path-style addressing (`<endpoint>/<bucket>/<key>`) works with SeaweedFS, MinIO and AWS alike
without DNS names per bucket. Every request is signed (web/storage/signing.py), has a timeout,
and fails with one exception type, `StorageError`, whose message names the operation, the
object and what the store or the network said. The bodies are bytes the caller has read (a part
at most, see web/storage/transfer.py): nothing here touches the disk.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from web.storage.signing import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Credentials,
    canonical_path,
    canonical_query,
    sign_headers,
)
from web.storage.signing import presign as presign_query

TIMEOUT_S = 30.0  # a request without a body to move (HEAD, DELETE, a listing page)
CONNECT_TIMEOUT_S = 5.0
MIN_BYTES_PER_S = 1 << 20  # a body is given its size at 1 MiB/s on top of TIMEOUT_S
LIST_PAGES = 1000  # at most this many pages of 1000 keys in one listing
ERROR_BODY_BYTES = 4096  # of an error's XML, kept for its message


class StorageError(Exception):
    """A request to the object store failed: refused (status and S3 code), or no answer."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ObjectInfo:
    """What the store says of one object."""

    key: str
    size: int
    etag: str = ""
    sha256_b64: str | None = None  # x-amz-checksum-sha256, when the store keeps one


@dataclass(frozen=True)
class Part:
    """One uploaded part of a multipart upload, as CompleteMultipartUpload names it."""

    number: int
    etag: str
    sha256_b64: str


def b64_sha256(data: bytes) -> str:
    """The base64 SHA-256 of `data`, as x-amz-checksum-sha256 carries it."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def hex_to_b64(sha256_hex: str) -> str:
    """A hex SHA-256 (as the archive keeps it) in x-amz-checksum-sha256's base64 form."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # S3's XML is namespaced; the names are what count


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in node if _local(child.tag) == name]


def _text(node: ET.Element, name: str) -> str:
    found = _children(node, name)
    return (found[0].text or "") if found else ""


def _xml(body: bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise StorageError(f"{what}: the store's answer is not XML ({exc})") from None


class S3Client:
    """Signed requests to one S3-compatible endpoint."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        public_endpoint: str = "",
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.endpoint = URL(endpoint.rstrip("/"))
        if self.endpoint.scheme not in ("http", "https") or not self.endpoint.host:
            raise ValueError(f"an S3 endpoint is http(s)://host[:port], not {endpoint!r}")
        # Browsers follow presigned links to this one (the store as the public reaches it).
        self.public_endpoint = URL(public_endpoint.rstrip("/")) if public_endpoint else None
        self.credentials = credentials
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"S3Client({str(self.endpoint)!r}, {self.credentials!r})"

    async def close(self) -> None:
        """Close the connections (the client opens them again when asked)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Objects are sent and read as they are: no compression in between.
            self._session = aiohttp.ClientSession(auto_decompress=False)
        return self._session

    @staticmethod
    def _host(url: URL) -> str:
        host = url.host or ""
        if url.port in (None, {"http": 80, "https": 443}[url.scheme]):
            return host  # as HTTP clients send it: the default port unnamed
        return f"{host}:{url.port}"

    @staticmethod
    def _path(bucket: str, key: str = "") -> str:
        return canonical_path(f"/{bucket}/{key}" if key else f"/{bucket}")

    async def _request(
        self,
        method: str,
        bucket: str,
        key: str = "",
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        ok: tuple[int, ...] = (200,),
        read_body: bool = True,
        what: str = "",
        checksummed: bool = False,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        """One signed request; its status, headers and body, or StorageError (whose message
        starts with `what`, by default the method and the object).

        A body sent `checksummed` (its SHA-256 in x-amz-checksum-sha256, which is signed and
        which the store checks) is not hashed again here for the signature: an 8 MiB part
        would cost the event loop tens of milliseconds, and the checksum guards it already."""
        path = self._path(bucket, key)
        what = what or f"{method} s3://{bucket}/{key}"
        if checksummed:
            payload = UNSIGNED_PAYLOAD
        else:  # small: XML, or nothing
            payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        signed = sign_headers(
            self.credentials,
            method,
            path,
            query,
            {"host": self._host(self.endpoint), **(headers or {})},
            payload,
            datetime.now(UTC),
        )
        signed["Accept-Encoding"] = "identity"
        # Sent exactly as signed: yarl must not encode the path or the query again.
        query_string = f"?{canonical_query(query)}" if query else ""
        target = URL(f"{self.endpoint}{path}{query_string}", encoded=True)
        limit = self.timeout_s + len(body) / MIN_BYTES_PER_S
        timeout = aiohttp.ClientTimeout(total=limit, sock_connect=CONNECT_TIMEOUT_S)
        try:
            async with self._http().request(
                method, target, headers=signed, data=body or None, timeout=timeout
            ) as resp:
                if resp.status not in ok:
                    raise _refused(what, resp.status, await resp.content.read(ERROR_BODY_BYTES))
                data = await resp.read() if read_body else b""
                return resp.status, resp.headers, data
        except StorageError:
            raise
        except TimeoutError:
            raise StorageError(f"{what}: no answer from {self.endpoint} in {limit:.0f} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise StorageError(f"{what}: cannot reach {self.endpoint}: {exc}") from None

    # Objects

    async def put(
        self, bucket: str, key: str, body: bytes, sha256_b64: str, content_type: str
    ) -> str:
        """Store `body` as one object; the store refuses it unless its SHA-256 is `sha256_b64`.
        Returns the ETag."""
        _, headers, _ = await self._request(
            "PUT",
            bucket,
            key,
            headers={"content-type": content_type, "x-amz-checksum-sha256": sha256_b64},
            body=body,
            checksummed=True,
        )
        return headers.get("ETag", "")

    async def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """What the store has under `key` (with its checksum when it kept one), None if
        nothing."""
        try:
            _, headers, _ = await self._request(
                "HEAD", bucket, key, headers={"x-amz-checksum-mode": "ENABLED"}, read_body=False
            )
        except StorageError as exc:
            if exc.status == 404:
                return None
            raise
        return ObjectInfo(
            key,
            int(headers.get("Content-Length", "0")),
            headers.get("ETag", ""),
            headers.get("x-amz-checksum-sha256"),
        )

    async def get(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """An object's bytes, or those from `byte_range`'s first to its last, inclusive (for
        checks and tests: the archive's players read the store through presigned links)."""
        headers = {} if byte_range is None else {"range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        _, _, body = await self._request("GET", bucket, key, headers=headers, ok=(200, 206))
        return body

    async def delete(self, bucket: str, key: str) -> None:
        """Delete one object (nothing there is no error)."""
        await self._request("DELETE", bucket, key, ok=(200, 204, 404))

    async def list(self, bucket: str, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (ListObjectsV2, a page at a time)."""
        token = ""
        for _ in range(LIST_PAGES):
            query = [("list-type", "2"), ("prefix", prefix)]
            if token:
                query.append(("continuation-token", token))
            what = f"list s3://{bucket}/{prefix}"
            _, _, body = await self._request("GET", bucket, query=query, what=what)
            root = _xml(body, what)
            for item in _children(root, "Contents"):
                yield ObjectInfo(_text(item, "Key"), int(_text(item, "Size") or 0))
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return
        raise StorageError(f"list s3://{bucket}/{prefix}: more than {LIST_PAGES} pages")

    async def create_bucket(self, bucket: str) -> None:
        """Create `bucket` (one that is already ours is fine)."""
        try:
            await self._request("PUT", bucket)
        except StorageError as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    # Multipart uploads

    async def create_multipart(self, bucket: str, key: str, content_type: str) -> str:
        """Start a multipart upload whose parts carry SHA-256 checksums; its upload id."""
        _, _, body = await self._request(
            "POST",
            bucket,
            key,
            query=[("uploads", "")],
            headers={"content-type": content_type, "x-amz-checksum-algorithm": "SHA256"},
        )
        upload_id = _text(_xml(body, f"create upload s3://{bucket}/{key}"), "UploadId")
        if not upload_id:
            raise StorageError(f"create upload s3://{bucket}/{key}: no UploadId in the answer")
        return upload_id

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: bytes, sha256_b64: str
    ) -> Part:
        """Upload part `number` (from 1); the store refuses it unless its SHA-256 matches."""
        _, headers, _ = await self._request(
            "PUT",
            bucket,
            key,
            query=[("partNumber", str(number)), ("uploadId", upload_id)],
            headers={"x-amz-checksum-sha256": sha256_b64},
            body=body,
            checksummed=True,
        )
        return Part(number, headers.get("ETag", ""), sha256_b64)

    async def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[Part]
    ) -> None:
        """Join the parts, in order, into the object."""
        root = ET.Element("CompleteMultipartUpload")
        for part in parts:
            node = ET.SubElement(root, "Part")
            ET.SubElement(node, "PartNumber").text = str(part.number)
            ET.SubElement(node, "ETag").text = part.etag
            ET.SubElement(node, "ChecksumSHA256").text = part.sha256_b64
        _, _, body = await self._request(
            "POST",
            bucket,
            key,
            query=[("uploadId", upload_id)],
            headers={"content-type": "application/xml"},
            body=ET.tostring(root),
        )
        # S3 may answer 200 and still fail: the error is then in the body.
        if body and _local(_xml(body, f"complete s3://{bucket}/{key}").tag) == "Error":
            raise _refused(f"complete s3://{bucket}/{key}", 200, body)

    async def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and the parts it holds."""
        await self._request(
            "DELETE", bucket, key, query=[("uploadId", upload_id)], ok=(200, 204, 404)
        )

    # Links

    def presigned_get(
        self,
        bucket: str,
        key: str,
        expires_s: int,
        response: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> str:
        """A URL anyone may GET the object with (Range included) for `expires_s` seconds;
        `response` sets the answer's headers (`content-disposition` -> the signed
        `response-content-disposition` parameter)."""
        base = self.public_endpoint or self.endpoint
        path = self._path(bucket, key)
        query = [(f"response-{name}", value) for name, value in (response or {}).items()]
        signed = presign_query(
            self.credentials,
            "GET",
            self._host(base),
            path,
            expires_s,
            now or datetime.now(UTC),
            query,
        )
        return f"{base}{path}?{signed}"


def _refused(what: str, status: int, body: bytes) -> StorageError:
    code, message = "", ""
    if body:
        try:
            root: Any = ET.fromstring(body)
            code, message = _text(root, "Code"), _text(root, "Message")
        except ET.ParseError:
            message = body[:200].decode("utf-8", "replace")
    said = f"{code}: {message}" if code else message or "no reason given"
    return StorageError(f"{what}: the store answered {status} ({said})", status, code)
