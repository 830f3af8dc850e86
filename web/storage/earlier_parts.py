"""A show's earlier part in the object store, for the node that records on after a failover.

When a node dies mid-show, the segments it had closed are in the store (web/storage/uploads.py).
The node that takes the room over continues the same archive entry: it numbers its part after
those segments (`number_after`, before it records a frame) and copies them back beside its own
(`fetch`, in the background while it records), so that finalizing joins both parts into one
program and one file per studio. Segments are about a megabyte each; each is read whole and
checked against the size the store lists before it takes its name on disk.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bridge.recording.directory import PARTIAL_COPY
from bridge.recording.parts import continue_after
from web.storage.objects import RecordingObjects
from web.storage.s3 import StorageError

log = logging.getLogger("telebridge.web.storage")

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


def _write(path: Path, body: bytes) -> None:
    partial = path.with_name(path.name + PARTIAL_COPY)
    partial.write_bytes(body)
    partial.replace(path)


def _missing(local: Path, stored: dict[str, int]) -> list[tuple[str, int]]:
    """The store's segments this disk lacks. One this disk has is this node's own (or copied
    whole before, under its name only once complete): never replaced, not even by a store's
    copy of another size (one sent while it was still being written)."""
    return [(name, size) for name, size in sorted(stored.items()) if not (local / name).exists()]


class EarlierParts:
    """Numbers a continued recording after the store's segments, and copies them back."""

    def __init__(self, objects: RecordingObjects, root: Path) -> None:
        self.objects = objects
        self.root = root
        self.retry_first_s = RETRY_FIRST_S
        self.retry_max_s = RETRY_MAX_S
        self.fetched = 0  # segments copied back by this process

    async def number_after(self, directory: str) -> int:
        """Make the recorders of `directory` number on after the store's segments of it; how
        many the store holds (raises StorageError when it cannot be asked)."""
        stored = await self.objects.stored_segments(directory)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, continue_after, self.root / directory, list(stored))
        return len(stored)

    async def fetch(self, directory: str) -> int:
        """Copy the store's segments of `directory` that this disk lacks; how many (raises
        StorageError when the store fails: call again, what is copied stays)."""
        stored = await self.objects.stored_segments(directory)
        local = self.root / directory
        loop = asyncio.get_running_loop()
        missing = await loop.run_in_executor(None, _missing, local, stored)
        prefix = self.objects.segments_prefix(directory)
        if missing:  # a node finishing what another left has no directory of it yet
            await loop.run_in_executor(None, lambda: local.mkdir(parents=True, exist_ok=True))
        for name, size in missing:
            body = await self.objects.client.get(self.objects.url.bucket, prefix + name)
            if len(body) != size:
                raise StorageError(f"segment {prefix}{name}: {len(body)} bytes, listed {size}")
            await loop.run_in_executor(None, _write, local / name, body)
            self.fetched += 1
        if missing:
            log.info("copied %d segments of %s back from the object store", len(missing), directory)
        return len(missing)

    async def fetch_until_done(self, directory: str) -> int:
        """`fetch`, tried again after 1, 2, 4 ... 30 s while the store fails (cancel to give
        up)."""
        delay = 0.0
        while True:
            try:
                return await self.fetch(directory)
            except StorageError as exc:
                delay = min(self.retry_max_s, delay * 2 if delay else self.retry_first_s)
                log.warning("earlier part of %s not copied yet (%s); retrying", directory, exc)
                await asyncio.sleep(delay)
