"""Catalog imports (ImportSets) through stripe-python and through the exact
curl commands of the seed page: upload the feed as a File, create the
ImportSet with the preview `Stripe-Version`, poll it until it is no longer
`pending`, then read the counts and download the error report."""

import csv
import io
import json
import subprocess
import time

import pytest
import stripe

from conftest import create_account, raw_request

PREVIEW_VERSION = "2025-09-30.clover;udap_beta=v1"
FINAL_WITHIN_SECONDS = 30

HEADER = (
    "id,title,description,link,brand,image_link,availability,price,gtin,"
    "google_product_category,inventory_quantity"
)


def feed_row(product_id: str, price: str, quantity: int) -> str:
    return (
        f"{product_id},Mug {product_id},A stoneware mug,https://shop.example/{product_id},Acme,"
        f"https://shop.example/{product_id}.jpg,in_stock,{price},4006381333931,"
        f"Home > Kitchen,{quantity}"
    )


# Three good rows and one whose price uses a decimal comma.
SEED_FEED = "\n".join(
    [
        HEADER,
        feed_row("sku-1", "15.00 USD", 3),
        feed_row("sku-2", '"15,00 EUR"', 4),
        feed_row("sku-3", "20.00 USD", 5),
        feed_row("sku-4", "9.99 USD", 6),
    ]
) + "\n"


@pytest.fixture
def seed_feed_path(tmp_path) -> str:
    path = tmp_path / "catalog.csv"
    path.write_text(SEED_FEED)
    return str(path)


@pytest.fixture
def client(server) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.test_key,
        base_addresses={"api": server.base, "files": server.base, "connect": server.base},
    )


def expect_seed_outcome(import_set: dict) -> None:
    assert import_set["object"] == "data_management.import_set"
    assert import_set["status"] == "succeeded_with_errors", import_set
    result = import_set["result"]
    assert result["rows_processed"] == 4
    assert result["successes"]["row_count"] == 3
    assert result["errors"]["row_count"] == 1
    assert result["errors"]["file"].startswith("file_")


def expect_seed_report(text: str) -> None:
    records = list(csv.reader(io.StringIO(text)))
    assert records[0] == ["stripe_error_message", *HEADER.split(",")]
    assert len(records) == 2, records
    assert records[1][0].startswith("price: "), records[1]
    assert records[1][1] == "sku-2"
    assert records[1][8] == "15,00 EUR", "the original cell is untouched"


def sdk_json(client: stripe.StripeClient, method: str, path: str, **params) -> dict:
    response = client.raw_request(
        method, path, stripe_version=PREVIEW_VERSION, **params
    )
    return json.loads(response.body)


def test_the_seed_flow_through_stripe_python(client, server, seed_feed_path):
    account = create_account()
    with open(seed_feed_path, "rb") as handle:
        uploaded = stripe.File.create(
            purpose="data_management_manual_upload", file=handle, stripe_account=account.id
        )
    assert uploaded.purpose == "data_management_manual_upload"

    created = sdk_json(
        client,
        "post",
        "/v1/data_management/import_sets",
        file=uploaded.id,
        standard_data_format="product_catalog_feed",
        stripe_account=account.id,
    )
    assert created["status"] == "pending", created

    deadline = time.monotonic() + FINAL_WITHIN_SECONDS
    import_set = created
    while import_set["status"] == "pending":
        assert time.monotonic() < deadline, import_set
        time.sleep(0.1)
        import_set = sdk_json(
            client,
            "get",
            f"/v1/data_management/import_sets/{created['id']}",
            stripe_account=account.id,
        )
    expect_seed_outcome(import_set)

    # The SDK parses every answer as JSON; the report is CSV, so read its bytes.
    report = raw_request(
        server,
        "GET",
        f"/v1/files/{import_set['result']['errors']['file']}/contents",
        key=server.test_key,
        headers={"Stripe-Account": account.id},
    )
    assert report.status == 200, report
    assert report.headers["content-type"].startswith("text/csv"), report.headers
    expect_seed_report(report.body.decode())

    product = sdk_json(
        client, "get", "/v1/catalog/products/sku-1", stripe_account=account.id
    )
    assert product["object"] == "catalog.product"
    assert product["price"] == {"amount": 1500, "currency": "usd"}


def curl(server, *args: str) -> str:
    """Runs curl against the server and returns its body; fails on HTTP errors."""
    completed = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail-with-body", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, (args, completed.stdout, completed.stderr)
    return completed.stdout


def test_the_seed_curl_commands(server, seed_feed_path):
    account = create_account().id
    auth = f"{server.test_key}:"

    uploaded = json.loads(
        curl(
            server,
            f"{server.base}/v1/files",
            "-u", auth,
            "-H", f"Stripe-Account: {account}",
            "-F", "purpose=data_management_manual_upload",
            "-F", f"file=@{seed_feed_path};type=text/csv",
        )
    )
    created = json.loads(
        curl(
            server,
            f"{server.base}/v1/data_management/import_sets",
            "-H", f"Stripe-Version: {PREVIEW_VERSION}",
            "-H", f"Stripe-Account: {account}",
            "-u", auth,
            "-d", f"file={uploaded['id']}",
            "--data-urlencode", 'standard_data_format=product_catalog_feed',
        )
    )
    assert created["status"] == "pending", created

    deadline = time.monotonic() + FINAL_WITHIN_SECONDS
    import_set = created
    while import_set["status"] == "pending":
        assert time.monotonic() < deadline, import_set
        time.sleep(0.1)
        import_set = json.loads(
            curl(
                server,
                f"{server.base}/v1/data_management/import_sets/{created['id']}",
                "-u", auth,
                "-H", f"Stripe-Account: {account}",
            )
        )
    expect_seed_outcome(import_set)

    report = curl(
        server,
        f"{server.base}/v1/files/{import_set['result']['errors']['file']}/contents",
        "-u", auth,
        "-H", f"Stripe-Account: {account}",
    )
    expect_seed_report(report)
