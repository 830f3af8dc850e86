"""The S3 client on its own: SigV4 against AWS's documented examples, and uploads against a real
SeaweedFS (tests/s3_server.py): one PUT and multipart, each verified by SHA-256; the store's
refusals and a store that is not there, as the one StorageError."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from s3_server import S3Server, free_ports, running_s3

from web.settings import Settings
from web.storage.config import store_from_settings
from web.storage.objects import StoreUrl, location, parse_location
from web.storage.s3 import Part, S3Client, StorageError, b64_sha256
from web.storage.signing import (
    EMPTY_SHA256,
    Credentials,
    canonical_path,
    presign,
    sign_headers,
)
from web.storage.transfer import LocalFileMismatch, composite_sha256, upload_file

# The example of AWS's "Signature Calculations for the Authorization Header" and "Authenticating
# Requests: Using Query Parameters" pages (Amazon S3 API reference).
AWS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
AWS_HOST = "examplebucket.s3.amazonaws.com"
AWS_NOW = datetime(2013, 5, 24, tzinfo=UTC)


def _signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rsplit("Signature=", 1)[1]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "payload", "signature"),
    [
        (  # GET Object, the first ten bytes
            "GET",
            "/test.txt",
            [],
            {"range": "bytes=0-9"},
            b"",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
        (  # PUT Object: a key that needs escaping, a storage class, a signed payload
            "PUT",
            canonical_path("/test$file.text"),
            [],
            {"date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
            b"Welcome to Amazon S3.",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
        (  # GET Bucket Lifecycle: a parameter without a value
            "GET",
            "/",
            [("lifecycle", "")],
            {},
            b"",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (  # GET Bucket (List Objects): parameters in canonical order
            "GET",
            "/",
            [("prefix", "J"), ("max-keys", "2")],
            {},
            b"",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
    ids=["get-object", "put-object", "get-lifecycle", "list-objects"],
)
def test_header_signing_matches_the_aws_examples(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    payload: bytes,
    signature: str,
) -> None:
    payload_hash = hashlib.sha256(payload).hexdigest() if payload else EMPTY_SHA256
    signed = sign_headers(
        AWS, method, path, query, {"host": AWS_HOST, **headers}, payload_hash, AWS_NOW
    )
    assert signed["x-amz-date"] == "20130524T000000Z"
    assert signed["x-amz-content-sha256"] == payload_hash
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    )
    assert _signature(signed) == signature


def test_a_presigned_url_matches_the_aws_example() -> None:
    query = presign(AWS, "GET", AWS_HOST, "/test.txt", 86400, AWS_NOW)
    params = parse_qs(query)
    assert params["X-Amz-Signature"] == [
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    ]
    assert params["X-Amz-Credential"] == ["AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"]
    assert params["X-Amz-SignedHeaders"] == ["host"] and params["X-Amz-Expires"] == ["86400"]
    # Response headers are signed too: changing one breaks the link.
    download = presign(
        AWS,
        "GET",
        AWS_HOST,
        "/test.txt",
        86400,
        AWS_NOW,
        [("response-content-disposition", 'attachment; filename="a.mp4"')],
    )
    assert parse_qs(download)["X-Amz-Signature"] != params["X-Amz-Signature"]
    with pytest.raises(ValueError):
        presign(AWS, "GET", AWS_HOST, "/test.txt", 8 * 24 * 3600, AWS_NOW)


def test_store_urls_and_locations() -> None:
    url = StoreUrl.parse("s3://recordings/agency/archive/")
    assert (url.bucket, url.prefix) == ("recordings", "agency/archive")
    assert url.key("b1/r1", "program.mp4") == "agency/archive/b1/r1/program.mp4"
    assert StoreUrl.parse("s3://recordings").key("b1/r1", "x") == "b1/r1/x"
    for bad in ("https://recordings/x", "s3://Not_A_Bucket/x", "s3://ok-bucket/../x"):
        with pytest.raises(ValueError):
            StoreUrl.parse(bad)
    where = location("recordings", "agency/b1/r1/program.mp4")
    assert parse_location(where) == ("recordings", "agency/b1/r1/program.mp4")
    assert repr(Credentials("key", "very-secret")).count("very-secret") == 0


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"TELEBRIDGE_STORAGE_URL": "https://bucket/x"}, "s3://bucket"),
        ({"TELEBRIDGE_STORAGE_ENDPOINT": "ftp://store"}, "http(s)://host"),
        ({"TELEBRIDGE_STORAGE_LINK_SECONDS": "10"}, "60 to 604800"),
        ({"TELEBRIDGE_STORAGE_URL": "s3://recordings"}, "ACCESS_KEY"),
    ],
)
def test_storage_settings_are_checked_at_start(environ: dict[str, str], complaint: str) -> None:
    with pytest.raises(SystemExit) as refused:
        store_from_settings(Settings.load(environ))
    assert complaint in str(refused.value)


def test_without_a_storage_url_recordings_stay_on_disk() -> None:
    assert store_from_settings(Settings.load({})) is None
    store = store_from_settings(
        Settings.load(
            {
                "TELEBRIDGE_STORAGE_URL": "s3://recordings/agency",
                "TELEBRIDGE_STORAGE_ACCESS_KEY": "key",
                "TELEBRIDGE_STORAGE_SECRET_KEY": "secret",
                "TELEBRIDGE_STORAGE_REGION": "eu-central-1",
            }
        )
    )
    assert store is not None and store.url == StoreUrl("recordings", "agency")
    assert str(store.client.endpoint) == "https://s3.eu-central-1.amazonaws.com"
    assert store.public_origin == "https://s3.eu-central-1.amazonaws.com"
    assert "secret" not in repr(store.client)


# Against a real store


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """One SeaweedFS for the module's tests (each writes under its own keys)."""
    with running_s3() as server:
        yield server


@pytest.fixture
async def client(s3: S3Server) -> AsyncIterator[S3Client]:
    c = s3.client()
    try:
        yield c
    finally:
        await c.close()


async def test_a_small_file_goes_up_in_one_verified_put(
    s3: S3Server, client: S3Client, tmp_path: Path
) -> None:
    path = tmp_path / "poster.jpg"
    path.write_bytes(os.urandom(300_000))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    up = await upload_file(client, s3.bucket, "t1/poster.jpg", path, "image/jpeg", digest)
    assert (up.size, up.sha256_hex) == (300_000, digest)
    info = await client.head(s3.bucket, "t1/poster.jpg")
    assert info is not None and info.size == 300_000
    assert info.sha256_b64 == b64_sha256(path.read_bytes())  # SeaweedFS kept the checksum
    assert await client.get(s3.bucket, "t1/poster.jpg") == path.read_bytes()
    assert (
        await client.get(s3.bucket, "t1/poster.jpg", (1000, 1999)) == path.read_bytes()[1000:2000]
    )


async def test_a_large_file_goes_up_in_verified_parts(
    s3: S3Server, client: S3Client, tmp_path: Path
) -> None:
    path = tmp_path / "program.mp4"
    data = os.urandom(20 << 20)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    up = await upload_file(client, s3.bucket, "t2/program.mp4", path, "video/mp4", digest)
    assert up.size == len(data)
    info = await client.head(s3.bucket, "t2/program.mp4")
    assert info is not None and info.size == len(data)
    # Three parts of 8, 8 and 4 MiB, each checked by the store; the object's checksum is theirs.
    assert info.etag.strip('"').endswith("-3")
    assert info.sha256_b64 is not None and info.sha256_b64.endswith("-3")
    part = 8 << 20
    parts = [
        Part(n + 1, "", b64_sha256(data[offset : offset + part]))
        for n, offset in enumerate(range(0, len(data), part))
    ]
    assert info.sha256_b64 == composite_sha256(parts)
    edge = (part - 50, part + 49)  # across the first two parts
    assert await client.get(s3.bucket, "t2/program.mp4", edge) == data[edge[0] : edge[1] + 1]


@pytest.mark.parametrize("size", [1000, 9 << 20], ids=["put", "multipart"])
async def test_a_file_that_is_not_what_the_archive_says_is_not_stored(
    s3: S3Server, client: S3Client, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "iso-trend.webm"
    path.write_bytes(os.urandom(size))
    wrong = hashlib.sha256(b"what the archive recorded").hexdigest()
    key = f"t3/{size}/iso-trend.webm"
    with pytest.raises(LocalFileMismatch):
        await upload_file(client, s3.bucket, key, path, "video/webm", wrong)
    assert await client.head(s3.bucket, key) is None


async def test_the_store_refuses_bytes_whose_checksum_differs(
    s3: S3Server, client: S3Client
) -> None:
    with pytest.raises(StorageError) as refused:
        await client.put(s3.bucket, "t4/x", b"the bytes", b64_sha256(b"other bytes"), "text/plain")
    assert refused.value.status == 400 and refused.value.code == "BadDigest"
    assert "PUT s3://recordings/t4/x" in str(refused.value)
    assert await client.head(s3.bucket, "t4/x") is None


async def test_a_presigned_link_serves_ranges_and_downloads(s3: S3Server, client: S3Client) -> None:
    data = os.urandom(100_000)
    await client.put(s3.bucket, "t5/program.mp4", data, b64_sha256(data), "video/mp4")
    link = client.presigned_get(
        s3.bucket,
        "t5/program.mp4",
        60,
        {"content-disposition": 'attachment; filename="rec-program.mp4"'},
    )
    assert urlsplit(link).netloc == urlsplit(s3.endpoint).netloc
    async with aiohttp.ClientSession() as http:
        async with http.get(link, headers={"Range": "bytes=100-199"}) as resp:
            assert resp.status == 206
            assert await resp.read() == data[100:200]
            assert resp.headers["Content-Disposition"] == 'attachment; filename="rec-program.mp4"'
        tampered = link.replace("t5/program.mp4", "t5/other.mp4")
        async with http.get(tampered) as resp:
            assert resp.status == 403  # the signature names the object


async def test_listing_deleting_and_aborting(s3: S3Server, client: S3Client) -> None:
    for n in range(3):
        await client.put(s3.bucket, f"t6/segments/s{n}", b"x" * n, b64_sha256(b"x" * n), "a/b")
    listed = {o.key: o.size async for o in client.list(s3.bucket, "t6/segments/")}
    assert listed == {"t6/segments/s0": 0, "t6/segments/s1": 1, "t6/segments/s2": 2}
    await client.delete(s3.bucket, "t6/segments/s1")
    await client.delete(s3.bucket, "t6/segments/s1")  # gone already: no error
    assert [o.key async for o in client.list(s3.bucket, "t6/")] == [
        "t6/segments/s0",
        "t6/segments/s2",
    ]
    upload = await client.create_multipart(s3.bucket, "t6/big", "video/mp4")
    await client.upload_part(s3.bucket, "t6/big", upload, 1, b"part", b64_sha256(b"part"))
    await client.abort_multipart(s3.bucket, "t6/big", upload)
    assert await client.head(s3.bucket, "t6/big") is None


async def test_a_store_that_does_not_answer_is_one_clear_error() -> None:
    (port,) = free_ports(1)
    client = S3Client(f"http://127.0.0.1:{port}", Credentials("k", "s"), timeout_s=2.0)
    try:
        with pytest.raises(StorageError) as failed:
            await client.head("recordings", "x")
        assert f"cannot reach http://127.0.0.1:{port}" in str(failed.value)
        assert failed.value.status is None
    finally:
        await client.close()
