"""Files through stripe-python and curl: upload, retrieve, list, download, tenancy."""

import json
import struct
import subprocess
import zlib

import pytest
import stripe

from conftest import CATALOG_CSV, create_account, raw_request

PURPOSE = "data_management_manual_upload"


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built here so the suite ships no binary files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def upload_csv(path: str, account_id: str) -> stripe.File:
    with open(path, "rb") as handle:
        return stripe.File.create(purpose=PURPOSE, file=handle, stripe_account=account_id)


def download(server, file_id: str, account_id: str):
    return raw_request(
        server,
        "GET",
        f"/v1/files/{file_id}/contents",
        key=server.test_key,
        headers={"Stripe-Account": account_id},
    )


def test_upload_returns_a_file_object(connected_account, catalog_csv):
    uploaded = upload_csv(catalog_csv, connected_account.id)

    assert isinstance(uploaded, stripe.File)
    assert uploaded.id.startswith("file_")
    assert uploaded.object == "file"
    assert uploaded.purpose == PURPOSE
    assert uploaded.size == len(CATALOG_CSV)
    assert uploaded.type == "csv"
    assert uploaded.filename.endswith("catalog.csv")
    assert isinstance(uploaded.created, int)
    assert uploaded.url.endswith(f"/v1/files/{uploaded.id}/contents")
    for field in ("expires_at", "title", "links"):
        assert field in uploaded, f"the file object has no {field!r}"


def test_uploaded_bytes_download_unchanged_as_text_csv(server, connected_account, catalog_csv):
    uploaded = upload_csv(catalog_csv, connected_account.id)

    response = download(server, uploaded.id, connected_account.id)

    assert response.status == 200
    assert response.body == CATALOG_CSV
    assert response.headers["content-type"].split(";")[0].strip() == "text/csv"
    assert response.headers["request-id"].startswith("req_")


def test_retrieve_returns_the_uploaded_file(connected_account, catalog_csv):
    uploaded = upload_csv(catalog_csv, connected_account.id)

    fetched = stripe.File.retrieve(uploaded.id, stripe_account=connected_account.id)

    assert fetched.id == uploaded.id
    assert fetched.size == uploaded.size
    assert fetched.purpose == PURPOSE


def test_list_filters_by_purpose(connected_account, catalog_csv, tmp_path):
    logo_path = tmp_path / "logo.png"
    logo_path.write_bytes(tiny_png())
    csv_file = upload_csv(catalog_csv, connected_account.id)
    with open(logo_path, "rb") as handle:
        logo = stripe.File.create(
            purpose="business_logo", file=handle, stripe_account=connected_account.id
        )

    csv_page = stripe.File.list(purpose=PURPOSE, stripe_account=connected_account.id)
    logo_page = stripe.File.list(purpose="business_logo", stripe_account=connected_account.id)
    everything = stripe.File.list(stripe_account=connected_account.id)

    assert csv_page.object == "list"
    assert csv_page.url == "/v1/files"
    assert [f.id for f in csv_page.data] == [csv_file.id]
    assert [f.id for f in logo_page.data] == [logo.id]
    assert logo.type == "png"
    assert [f.id for f in everything.data] == [logo.id, csv_file.id]


def test_stripe_client_uploads_through_the_files_base_address(server, connected_account, catalog_csv):
    client = stripe.StripeClient(
        server.test_key, base_addresses={"api": server.base, "files": server.base}
    )

    with open(catalog_csv, "rb") as handle:
        uploaded = client.v1.files.create(
            params={"purpose": PURPOSE, "file": handle},
            options={"stripe_account": connected_account.id},
        )
    listed = client.v1.files.list(
        params={"purpose": PURPOSE}, options={"stripe_account": connected_account.id}
    )

    assert uploaded.object == "file"
    assert [f.id for f in listed.data] == [uploaded.id]
    assert download(server, uploaded.id, connected_account.id).body == CATALOG_CSV


def test_a_file_of_one_account_is_invisible_to_another(server, catalog_csv):
    owner = create_account()
    stranger = create_account()
    uploaded = upload_csv(catalog_csv, owner.id)

    with pytest.raises(stripe.InvalidRequestError) as as_stranger:
        stripe.File.retrieve(uploaded.id, stripe_account=stranger.id)
    with pytest.raises(stripe.InvalidRequestError) as as_platform:
        stripe.File.retrieve(uploaded.id)

    assert as_stranger.value.http_status == 404
    assert as_stranger.value.code == "resource_missing"
    assert as_platform.value.http_status == 404
    assert stripe.File.list(stripe_account=stranger.id).data == []
    assert download(server, uploaded.id, stranger.id).status == 404


def test_stripe_account_naming_an_unknown_account_is_404(catalog_csv):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        upload_csv(catalog_csv, "acct_doesnotexist")

    assert raised.value.http_status == 404


def test_binary_declared_as_csv_is_refused_and_nothing_is_stored(connected_account, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(bytes(range(256)) * 8)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        upload_csv(str(path), connected_account.id)

    assert raised.value.http_status == 400
    assert stripe.File.list(stripe_account=connected_account.id).data == []


def test_an_empty_file_is_refused(connected_account, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        upload_csv(str(path), connected_account.id)

    assert raised.value.http_status == 400
    assert stripe.File.list(stripe_account=connected_account.id).data == []


def test_the_seed_curl_upload_works_as_written(server, connected_account, catalog_csv):
    # The command from the seed document, with only the URL, key, account and path filled in.
    completed = subprocess.run(
        [
            "curl", "-sS", f"{server.base}/v1/files",
            "-u", f"{server.test_key}:",
            "-H", f"Stripe-Account: {connected_account.id}",
            "-F", "purpose=data_management_manual_upload",
            "-F", f"file=@{catalog_csv};type=text/csv",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    uploaded = json.loads(completed.stdout)

    assert uploaded["object"] == "file", uploaded
    assert uploaded["id"].startswith("file_")
    assert uploaded["filename"] == "catalog.csv"
    assert uploaded["purpose"] == PURPOSE
    assert uploaded["size"] == len(CATALOG_CSV)
    assert uploaded["type"] == "csv"
    response = download(server, uploaded["id"], connected_account.id)
    assert response.body == CATALOG_CSV
    assert response.headers["content-type"].split(";")[0].strip() == "text/csv"
