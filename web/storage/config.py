"""The object store as the settings describe it, or None for the local disk."""

from __future__ import annotations

from web.settings import Settings
from web.storage.objects import RecordingObjects, StoreUrl
from web.storage.s3 import S3Client
from web.storage.signing import Credentials


def store_from_settings(settings: Settings) -> RecordingObjects | None:
    """The recordings' store of TELEBRIDGE_STORAGE_URL, or None when it is empty."""
    if not settings.storage_url:
        return None
    if not (settings.storage_access_key and settings.storage_secret_key):
        raise SystemExit(
            "TELEBRIDGE_STORAGE_URL needs TELEBRIDGE_STORAGE_ACCESS_KEY and "
            "TELEBRIDGE_STORAGE_SECRET_KEY"
        )
    try:
        url = StoreUrl.parse(settings.storage_url)
    except ValueError as exc:
        raise SystemExit(f"TELEBRIDGE_STORAGE_URL: {exc}") from None
    region = settings.storage_region
    endpoint = settings.storage_endpoint or f"https://s3.{region}.amazonaws.com"
    client = S3Client(
        endpoint,
        Credentials(settings.storage_access_key, settings.storage_secret_key, region),
        public_endpoint=settings.storage_public_endpoint,
    )
    return RecordingObjects(client, url, settings.storage_link_seconds)
