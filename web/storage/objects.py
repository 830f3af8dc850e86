"""Where a recording's files live in the object store, and the links that hand them out.

The layout, under the prefix of `TELEBRIDGE_STORAGE_URL` (`s3://<bucket>/<prefix>`), mirrors the
recordings directory, so that any node (or a person with the bucket's keys) finds a recording
by its archive entry alone:

    <prefix>/<booking>/<recording>/program.mp4          finished files, as the archive names them
    <prefix>/<booking>/<recording>/iso-<studio>.webm
    <prefix>/<booking>/<recording>/poster.jpg           the archive's poster, made before upload
    <prefix>/<booking>/<recording>/segments/<segment>   segments as they close, while recording

Segments keep their recorder's names (`program-000007.ts`, `iso-<studio>-000007.webm`): a node
that takes a show over copies them back into its recording directory and records on after the
last one, and finalizing joins them all. They are deleted once the recording's finished files
are all stored. The archive keeps each finished file's location as `s3://<bucket>/<key>`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bridge.recording.directory import POSTER
from schedules.archive import Recording
from web.storage.s3 import ObjectInfo, S3Client

SCHEME = "s3://"
SEGMENTS = "segments"
# S3's bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class StoreUrl:
    """`s3://<bucket>/<prefix>`: the bucket, and the prefix every key starts with."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreUrl:
        """The bucket and prefix of `url`; ValueError for anything else."""
        if not url.startswith(SCHEME):
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
        if not BUCKET.fullmatch(bucket):
            raise ValueError(f"not an S3 bucket name: {bucket!r}")
        if any(c in prefix for c in "?#\\") or any(p in (".", "..") for p in prefix.split("/")):
            raise ValueError(f"not a plain key prefix: {prefix!r}")
        return cls(bucket, "/".join(p for p in prefix.split("/") if p))

    def key(self, *parts: str) -> str:
        """The key of `parts` under the prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def location(bucket: str, key: str) -> str:
    """How the archive records an object's place."""
    return f"{SCHEME}{bucket}/{key}"


def parse_location(where: str) -> tuple[str, str]:
    """The bucket and key of an archive location."""
    if not where.startswith(SCHEME) or "/" not in where.removeprefix(SCHEME):
        raise ValueError(f"not an object location: {where!r}")
    bucket, _, key = where.removeprefix(SCHEME).partition("/")
    return bucket, key


class RecordingObjects:
    """The recordings' objects in one bucket: their keys, links, and deleting them."""

    def __init__(self, client: S3Client, url: StoreUrl, link_seconds: int) -> None:
        self.client = client
        self.url = url
        self.link_seconds = link_seconds

    @property
    def public_origin(self) -> str:
        """Where browsers fetch the presigned links from (for the pages' media policy)."""
        base = self.client.public_endpoint or self.client.endpoint
        return str(base.origin())

    def file_key(self, directory: str, name: str) -> str:
        """The key of a finished file (or the poster) of the recording in `directory`."""
        return self.url.key(directory, name)

    def segments_prefix(self, directory: str) -> str:
        """The prefix of the recording's segment objects (with its closing slash)."""
        return self.url.key(directory, SEGMENTS) + "/"

    def link(self, where: str, media_type: str, download_as: str | None = None) -> str:
        """A presigned GET of the object at `where`, short-lived; saved under `download_as`."""
        bucket, key = parse_location(where)
        response = {"content-type": media_type}
        if download_as is not None:
            response["content-disposition"] = f'attachment; filename="{download_as}"'
        return self.client.presigned_get(bucket, key, self.link_seconds, response)

    def poster_link(self, program_location: str) -> str:
        """A presigned GET of the poster stored beside the program at `program_location`."""
        bucket, key = parse_location(program_location)
        folder = key.rpartition("/")[0]
        poster = f"{folder}/{POSTER}" if folder else POSTER
        return self.link(location(bucket, poster), "image/jpeg")

    async def stored_segments(self, directory: str) -> dict[str, int]:
        """The recording's segments in the store: name to size."""
        prefix = self.segments_prefix(directory)
        return {
            info.key.removeprefix(prefix): info.size
            async for info in self.client.list(self.url.bucket, prefix)
        }

    async def delete_segments(self, directory: str) -> int:
        """Delete the recording's segment objects (its finished files hold them); how many."""
        prefix = self.segments_prefix(directory)
        keys = [info.key async for info in self.client.list(self.url.bucket, prefix)]
        for key in keys:
            await self.client.delete(self.url.bucket, key)
        return len(keys)

    async def delete_recording(self, recording: Recording) -> int:
        """Delete every object of `recording`: its files wherever the archive says they are,
        and everything under its folder (poster, segments); how many objects were there."""
        keys = {(self.url.bucket, info.key) async for info in self._under(recording.directory)}
        keys |= {parse_location(f.location) for f in recording.files if f.location}
        for bucket, key in sorted(keys):
            await self.client.delete(bucket, key)
        return len(keys)

    def _under(self, directory: str) -> AsyncIterator[ObjectInfo]:
        return self.client.list(self.url.bucket, self.url.key(directory) + "/")
