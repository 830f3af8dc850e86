"""A local file into the store, verified: one PUT when small, a multipart upload when large.

Verification, as SeaweedFS, MinIO and S3 all support it:

- One PUT (files up to one part): the request carries the expected SHA-256 (the archive's, for
  a finished file) as `x-amz-checksum-sha256`; the store refuses to keep bytes that do not hash
  to it (400 BadDigest).
- Multipart: every part carries its own SHA-256, which the store checks the same way; the
  parts are hashed together on their way out and must give the expected SHA-256 before the
  upload is completed (else it is aborted); the completed object's checksum is then the SHA-256
  of the parts' digests with their count (`<base64>-<n>`), compared after a HEAD where the store
  reports one.
- Always: a HEAD after the upload must show the file's size.

Reading and hashing run off the event loop, one part (at most `part_bytes`) at a time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from web.storage.s3 import ObjectInfo, Part, S3Client, StorageError, hex_to_b64

PART_BYTES = 8 << 20  # a multipart upload's part; files up to it go up in one PUT
MAX_PARTS = 10_000  # S3's limit: a larger file gets larger parts
ABORT_TIMEOUT_S = 10.0


class LocalFileMismatch(Exception):
    """The local file does not hash to the SHA-256 expected of it: it is kept, not uploaded."""


@dataclass(frozen=True)
class Uploaded:
    """An object the store holds, verified against its file."""

    bucket: str
    key: str
    size: int
    sha256_hex: str


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _read(path: Path, offset: int, length: int, whole: _Digest | None) -> tuple[bytes, str]:
    """Bytes of `path` and their base64 SHA-256; `whole` hashes them too (off the loop)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    if len(data) != length:
        raise LocalFileMismatch(f"{path} is shorter than it was ({offset + len(data)} bytes)")
    if whole is not None:
        whole.update(data)
    return data, base64.b64encode(hashlib.sha256(data).digest()).decode()


def _size(path: Path) -> int:
    return path.stat().st_size


async def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    content_type: str,
    sha256_hex: str | None = None,
    part_bytes: int = PART_BYTES,
) -> Uploaded:
    """Upload `path` to `key` and verify it (see the module); `sha256_hex` is what the file
    must hash to (the archive's), None to take the file as it is (a segment).

    Raises StorageError when the store fails or refuses, LocalFileMismatch when the file is
    not what the archive says (nothing is then left in the store), FileNotFoundError when the
    file is gone."""
    loop = asyncio.get_running_loop()
    size = await loop.run_in_executor(None, _size, path)
    part = max(part_bytes, math.ceil(size / MAX_PARTS))
    if size <= part:
        data, digest = await loop.run_in_executor(None, _read, path, 0, size, None)
        actual = base64.b64decode(digest).hex()
        if sha256_hex is not None and actual != sha256_hex:
            raise LocalFileMismatch(f"{path} hashes to {actual}, the archive says {sha256_hex}")
        # The archive's digest goes with the bytes: the store itself checks them against it.
        await client.put(bucket, key, data, hex_to_b64(sha256_hex or actual), content_type)
        await _check(client, bucket, key, size, hex_to_b64(sha256_hex or actual))
        return Uploaded(bucket, key, size, actual)
    return await _multipart(client, bucket, key, path, size, part, content_type, sha256_hex)


async def _multipart(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    size: int,
    part: int,
    content_type: str,
    sha256_hex: str | None,
) -> Uploaded:
    loop = asyncio.get_running_loop()
    upload_id = await client.create_multipart(bucket, key, content_type)
    whole = hashlib.sha256()
    parts: list[Part] = []
    try:
        for number, offset in enumerate(range(0, size, part), start=1):
            length = min(part, size - offset)
            data, digest = await loop.run_in_executor(None, _read, path, offset, length, whole)
            parts.append(await client.upload_part(bucket, key, upload_id, number, data, digest))
            del data  # one part in memory at a time
        actual = whole.hexdigest()
        if sha256_hex is not None and actual != sha256_hex:
            raise LocalFileMismatch(f"{path} hashes to {actual}, the archive says {sha256_hex}")
        await client.complete_multipart(bucket, key, upload_id, parts)
    except BaseException:
        # Cancelled or failed: the parts would only take space in the store. Bounded: a store
        # that is down keeps them until its own clean-up of abandoned uploads.
        try:
            async with asyncio.timeout(ABORT_TIMEOUT_S):
                await client.abort_multipart(bucket, key, upload_id)
        except (StorageError, TimeoutError):
            pass
        raise
    await _check(client, bucket, key, size, composite_sha256(parts))
    return Uploaded(bucket, key, size, actual)


def composite_sha256(parts: list[Part]) -> str:
    """A multipart object's checksum as S3 gives it: the SHA-256 of the parts' digests, in
    order, then `-<number of parts>`."""
    joined = b"".join(base64.b64decode(p.sha256_b64) for p in parts)
    return f"{base64.b64encode(hashlib.sha256(joined).digest()).decode()}-{len(parts)}"


async def _check(client: S3Client, bucket: str, key: str, size: int, checksum: str) -> None:
    """The stored object is the file: its size, and its checksum where the store keeps one."""
    info: ObjectInfo | None = await client.head(bucket, key)
    where = f"s3://{bucket}/{key}"
    if info is None:
        raise StorageError(f"{where}: not found right after its upload")
    if info.size != size:
        raise StorageError(f"{where}: {info.size} bytes stored, {size} sent")
    if info.sha256_b64 is not None and info.sha256_b64 != checksum:
        raise StorageError(f"{where}: checksum {info.sha256_b64} stored, {checksum} sent")
