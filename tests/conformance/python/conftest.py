"""Points the unchanged stripe-python SDK at a running `mercato serve`.

The server is started by scripts/test, which exports:

- MERCATO_API_BASE   e.g. http://127.0.0.1:4242 (API and file uploads alike)
- MERCATO_TEST_KEY   the platform's sk_test_ key
- MERCATO_LIVE_KEY   the platform's sk_live_ key
- MERCATO_SERVER_LOG the file holding the server's stderr (its logs)

See ../README.md for running this suite by hand.
"""

import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
import stripe

CATALOG_CSV = (
    b"id,title,description,price,currency,availability\n"
    b"sku-1,Blue mug,A mug that is blue,1200,usd,in_stock\n"
    b"sku-2,Red mug,A mug that is red,1300,usd,out_of_stock\n"
)

REQUIRED_ENV = ("MERCATO_API_BASE", "MERCATO_TEST_KEY", "MERCATO_LIVE_KEY")


@dataclass(frozen=True)
class Server:
    base: str
    test_key: str
    live_key: str
    log_path: str | None


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="session")
def server() -> Server:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"set {', '.join(missing)} to point the suite at a running mercato serve "
            "(scripts/test does this; see tests/conformance/README.md)",
            pytrace=False,
        )
    return Server(
        base=os.environ["MERCATO_API_BASE"].rstrip("/"),
        test_key=os.environ["MERCATO_TEST_KEY"],
        live_key=os.environ["MERCATO_LIVE_KEY"],
        log_path=os.environ.get("MERCATO_SERVER_LOG"),
    )


@pytest.fixture(autouse=True)
def sdk(server: Server):
    """Configures the SDK's module-level client the way a platform would."""
    stripe.api_key = server.test_key
    stripe.api_base = server.base
    stripe.upload_api_base = server.base
    stripe.connect_api_base = server.base
    yield stripe
    stripe.api_key = None


@pytest.fixture
def connected_account(server: Server) -> stripe.Account:
    return create_account()


@pytest.fixture
def catalog_csv(tmp_path) -> str:
    path = tmp_path / "catalog.csv"
    path.write_bytes(CATALOG_CSV)
    return str(path)


def unique_suffix() -> str:
    return secrets.token_hex(6)


def create_account(**overrides) -> stripe.Account:
    suffix = unique_suffix()
    params = {
        "type": "custom",
        "country": "US",
        "email": f"owner-{suffix}@example.com",
        "business_profile": {"name": f"Shop {suffix}", "url": f"https://{suffix}.example.com"},
        "metadata": {"suite": "python", "suffix": suffix},
    }
    params.update(overrides)
    return stripe.Account.create(**params)


def lower_headers(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in dict(headers).items()}


def raw_request(
    server: Server,
    method: str,
    path: str,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> RawResponse:
    """One HTTP request without the SDK, for what the SDK hides (bytes, headers)."""
    request = urllib.request.Request(server.base + path, data=body, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return RawResponse(response.status, lower_headers(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, lower_headers(error.headers), error.read())
