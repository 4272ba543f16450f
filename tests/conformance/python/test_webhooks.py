"""Webhook deliveries checked by stripe-python's own `Webhook.construct_event`.

A receiver runs in the test process (127.0.0.1, a port of the system's
choosing) and records every POST byte for byte. Endpoints are made with the
SDK and pointed at it; the tests then cause real events (`account.updated`,
`file.created`) and verify what arrives exactly as a platform would, with
the SDK's default tolerance.
"""

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from conftest import create_account, unique_suffix

DELIVERY_TIMEOUT_SECS = 20
# How long a delivery that must not happen is waited for.
QUIET_PERIOD_SECS = 2.0
PURPOSE = "data_management_manual_upload"

# This SDK version exposes the error at the top level; older ones only under
# stripe.error. Take whichever exists.
SignatureVerificationError = getattr(stripe, "SignatureVerificationError", None) or getattr(
    stripe.error, "SignatureVerificationError"
)

SIGNATURE_HEADER = re.compile(r"^t=\d+(,v1=[0-9a-f]{64})+$")


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def signature(self) -> str:
        return self.headers["stripe-signature"]

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    def v1_count(self) -> int:
        return sum(1 for part in self.signature.split(",") if part.startswith("v1="))


class Receiver:
    """An HTTP server in a thread that answers 200 and keeps every POST."""

    def __init__(self):
        self._deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the name http.server calls)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._changed:
                    receiver._deliveries.append(Delivery(self.path, headers, body))
                    receiver._changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/webhook") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def deliveries(self, predicate=lambda delivery: True) -> list[Delivery]:
        with self._changed:
            return [delivery for delivery in self._deliveries if predicate(delivery)]

    def wait_for(self, predicate, count: int = 1, timeout: float = DELIVERY_TIMEOUT_SECS):
        """The first `count` deliveries matching `predicate`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [delivery for delivery in self._deliveries if predicate(delivery)]
                if len(matching) >= count:
                    return matching[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [
                        (d.path, d.payload.get("type"), d.payload.get("data", {}).get("object", {}).get("id"))
                        for d in self._deliveries
                    ]
                    pytest.fail(
                        f"no matching delivery within {timeout}s ({len(matching)} of {count}); "
                        f"received: {seen}"
                    )
                self._changed.wait(remaining)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def endpoints():
    """Makes webhook endpoints and deletes them afterwards, so that no later
    event is sent to a receiver that has gone."""
    made: list[tuple[str, dict]] = []

    def make(url: str, **params) -> stripe.WebhookEndpoint:
        params.setdefault("enabled_events", ["*"])
        endpoint = stripe.WebhookEndpoint.create(url=url, **params)
        options = {"stripe_account": params["stripe_account"]} if "stripe_account" in params else {}
        made.append((endpoint.id, options))
        return endpoint

    yield make
    for endpoint_id, options in made:
        try:
            stripe.WebhookEndpoint.delete(endpoint_id, **options)
        except stripe.StripeError:
            pass


def event_about(event_type: str, object_id: str, path: str | None = None, **metadata):
    """Matches a delivery of `event_type` about `object_id` (and, when given,
    to `path` and with these metadata values on the object)."""

    def matches(delivery: Delivery) -> bool:
        if path is not None and delivery.path != path:
            return False
        try:
            payload = delivery.payload
        except ValueError:
            return False
        if payload.get("type") != event_type:
            return False
        obj = payload.get("data", {}).get("object", {})
        if obj.get("id") != object_id:
            return False
        return all((obj.get("metadata") or {}).get(k) == v for k, v in metadata.items())

    return matches


def roll_secret(endpoint_id: str, expires_in: int, **options) -> str:
    """The extension `roll_secret`, through the SDK's raw request method."""
    client = stripe.StripeClient(
        stripe.api_key, base_addresses={"api": stripe.api_base, "files": stripe.upload_api_base}
    )
    response = client.raw_request(
        "post", f"/v1/webhook_endpoints/{endpoint_id}/roll_secret", expires_in=expires_in, **options
    )
    rolled = json.loads(response.body)
    assert rolled["id"] == endpoint_id
    assert rolled["object"] == "webhook_endpoint"
    assert rolled["secret"].startswith("whsec_")
    return rolled["secret"]


def tamper(body: bytes) -> bytes:
    """The same JSON with one value changed, as an attacker would."""
    payload = json.loads(body)
    payload["type"] = "account.application.deauthorized"
    tampered = json.dumps(payload, indent=2).encode()
    assert tampered != body
    return tampered


def assert_verifies(delivery: Delivery, secret: str, event_type: str, object_id: str):
    event = stripe.Webhook.construct_event(delivery.body, delivery.signature, secret)
    assert isinstance(event, stripe.Event)
    assert event.type == event_type
    assert event.data.object.id == object_id
    return event


def assert_refused(body: bytes, signature: str, secret: str):
    with pytest.raises(SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, secret)


# --- connected accounts ------------------------------------------------------


def test_connected_account_update_is_delivered_and_verifies(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True, description="python conformance")
    value = unique_suffix()

    stripe.Account.modify(account.id, metadata={"webhook_check": value})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id, webhook_check=value))

    assert endpoint.object == "webhook_endpoint"
    assert endpoint.id.startswith("we_")
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.url == receiver.url()
    assert endpoint.enabled_events == ["*"]
    event = assert_verifies(delivery, endpoint.secret, "account.updated", account.id)
    assert event.id.startswith("evt_")
    assert event.object == "event"
    assert event.account == account.id
    assert event.livemode is False
    assert event.data.object.metadata["webhook_check"] == value
    assert event.data.previous_attributes.metadata.to_dict() == {"webhook_check": None}


def test_delivery_is_a_json_post_with_a_stripe_signature(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url("/hooks/mercato"), connect=True)

    stripe.Account.modify(account.id, metadata={"webhook_check": "headers"})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id))

    assert delivery.path == "/hooks/mercato"
    assert delivery.headers["content-type"].split(";")[0].strip() == "application/json"
    assert SIGNATURE_HEADER.match(delivery.signature), delivery.signature
    assert delivery.v1_count() == 1
    timestamp = int(delivery.signature.split(",")[0][len("t="):])
    assert abs(time.time() - timestamp) < 60
    assert_verifies(delivery, endpoint.secret, "account.updated", account.id)


def test_a_tampered_body_is_refused(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True)

    stripe.Account.modify(account.id, metadata={"webhook_check": "tamper"})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id))

    assert_verifies(delivery, endpoint.secret, "account.updated", account.id)
    assert_refused(tamper(delivery.body), delivery.signature, endpoint.secret)
    assert_refused(delivery.body + b"\n", delivery.signature, endpoint.secret)


def test_a_wrong_secret_is_refused(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True)
    other = endpoints(receiver.url("/other"), connect=True, enabled_events=["file.created"])

    stripe.Account.modify(account.id, metadata={"webhook_check": "wrong-secret"})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id))

    assert other.secret != endpoint.secret
    assert_refused(delivery.body, delivery.signature, other.secret)
    assert_refused(delivery.body, delivery.signature, "whsec_" + "0" * 32)
    assert_verifies(delivery, endpoint.secret, "account.updated", account.id)


def test_endpoint_without_connect_gets_no_connected_account_events(receiver, endpoints):
    account = create_account()
    platform_only = endpoints(receiver.url("/platform"))
    connect = endpoints(receiver.url("/connect"), connect=True)

    stripe.Account.modify(account.id, metadata={"webhook_check": "connect-only"})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id, path="/connect"))
    time.sleep(QUIET_PERIOD_SECS)

    assert platform_only.secret != connect.secret
    assert_verifies(delivery, connect.secret, "account.updated", account.id)
    assert receiver.deliveries(event_about("account.updated", account.id, path="/platform")) == []


def test_endpoint_made_as_the_connected_account_gets_its_events(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url("/own"), stripe_account=account.id)

    stripe.Account.modify(account.id, metadata={"webhook_check": "own-endpoint"})
    (delivery,) = receiver.wait_for(event_about("account.updated", account.id, path="/own"))

    event = assert_verifies(delivery, endpoint.secret, "account.updated", account.id)
    assert event.account == account.id


def test_only_subscribed_event_types_are_delivered(receiver, endpoints, catalog_csv):
    account = create_account()
    files_only = endpoints(receiver.url("/files"), connect=True, enabled_events=["file.created"])
    endpoints(receiver.url("/accounts"), connect=True, enabled_events=["account.updated"])

    stripe.Account.modify(account.id, metadata={"webhook_check": "filtered"})
    receiver.wait_for(event_about("account.updated", account.id, path="/accounts"))
    with open(catalog_csv, "rb") as handle:
        uploaded = stripe.File.create(purpose=PURPOSE, file=handle, stripe_account=account.id)
    (delivery,) = receiver.wait_for(event_about("file.created", uploaded.id, path="/files"))
    time.sleep(QUIET_PERIOD_SECS)

    assert_verifies(delivery, files_only.secret, "file.created", uploaded.id)
    assert receiver.deliveries(event_about("account.updated", account.id, path="/files")) == []
    assert receiver.deliveries(event_about("file.created", uploaded.id, path="/accounts")) == []


# --- the platform's own account ----------------------------------------------


def test_platform_account_update_reaches_an_endpoint_without_connect(receiver, endpoints):
    platform = stripe.Account.retrieve()
    endpoint = endpoints(receiver.url("/platform"), enabled_events=["account.updated"])
    value = unique_suffix()

    stripe.Account.modify(platform.id, metadata={"webhook_check": value})
    try:
        (delivery,) = receiver.wait_for(
            event_about("account.updated", platform.id, webhook_check=value)
        )
    finally:
        stripe.Account.modify(platform.id, metadata={"webhook_check": ""})

    event = assert_verifies(delivery, endpoint.secret, "account.updated", platform.id)
    assert event.data.object.metadata["webhook_check"] == value
    assert_refused(tamper(delivery.body), delivery.signature, endpoint.secret)


# --- files -------------------------------------------------------------------


def test_file_upload_delivers_file_created(receiver, endpoints, catalog_csv):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True, enabled_events=["file.created"])

    with open(catalog_csv, "rb") as handle:
        uploaded = stripe.File.create(purpose=PURPOSE, file=handle, stripe_account=account.id)
    (delivery,) = receiver.wait_for(event_about("file.created", uploaded.id))

    event = assert_verifies(delivery, endpoint.secret, "file.created", uploaded.id)
    assert event.account == account.id
    assert event.data.object.object == "file"
    assert event.data.object.purpose == PURPOSE
    assert event.data.object.size == uploaded.size
    assert_refused(tamper(delivery.body), delivery.signature, endpoint.secret)


# --- secret rolls ------------------------------------------------------------


def test_during_a_roll_both_secrets_verify_and_after_expiry_only_the_new(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True, enabled_events=["account.updated"])
    original = endpoint.secret

    rolled = roll_secret(endpoint.id, 3600)
    stripe.Account.modify(account.id, metadata={"webhook_check": "during-roll"})
    (during,) = receiver.wait_for(
        event_about("account.updated", account.id, webhook_check="during-roll")
    )

    assert rolled != original
    assert during.v1_count() == 2, during.signature
    assert_verifies(during, rolled, "account.updated", account.id)
    assert_verifies(during, original, "account.updated", account.id)
    assert_refused(tamper(during.body), during.signature, rolled)
    assert_refused(tamper(during.body), during.signature, original)

    newest = roll_secret(endpoint.id, 0)
    stripe.Account.modify(account.id, metadata={"webhook_check": "after-roll"})
    (after,) = receiver.wait_for(
        event_about("account.updated", account.id, webhook_check="after-roll")
    )

    assert newest not in (original, rolled)
    assert after.v1_count() == 1, after.signature
    assert_verifies(after, newest, "account.updated", account.id)
    assert_refused(after.body, after.signature, rolled)
    assert_refused(after.body, after.signature, original)


def test_roll_secret_refuses_an_overlap_over_a_day(receiver, endpoints):
    endpoint = endpoints(receiver.url(), connect=True)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        roll_secret(endpoint.id, 86401)

    assert raised.value.http_status == 400
    assert raised.value.param == "expires_in"


def test_the_secret_is_shown_only_when_made(receiver, endpoints):
    endpoint = endpoints(receiver.url(), connect=True)

    fetched = stripe.WebhookEndpoint.retrieve(endpoint.id)
    listed = [e for e in stripe.WebhookEndpoint.list(limit=100).data if e.id == endpoint.id]

    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in fetched.to_dict()
    assert ["secret" in e.to_dict() for e in listed] == [False]


# --- events API beside deliveries --------------------------------------------


def test_delivered_event_is_retrievable_and_resend_signs_it_again(receiver, endpoints):
    account = create_account()
    endpoint = endpoints(receiver.url(), connect=True, enabled_events=["account.updated"])

    stripe.Account.modify(account.id, metadata={"webhook_check": "resend"})
    (first,) = receiver.wait_for(event_about("account.updated", account.id))
    event = assert_verifies(first, endpoint.secret, "account.updated", account.id)

    fetched = stripe.Event.retrieve(event.id, stripe_account=account.id)
    assert fetched.id == event.id
    assert fetched.type == "account.updated"
    assert fetched.data.object.id == account.id
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECS
    while fetched.pending_webhooks != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        fetched = stripe.Event.retrieve(event.id, stripe_account=account.id)
    assert fetched.pending_webhooks == 0

    client = stripe.StripeClient(stripe.api_key, base_addresses={"api": stripe.api_base})
    client.raw_request(
        "post",
        f"/v1/events/{event.id}/resend",
        webhook_endpoint=endpoint.id,
        stripe_account=account.id,
    )
    first_again, second = receiver.wait_for(
        lambda delivery: delivery.payload.get("id") == event.id, count=2
    )

    assert first_again == first
    again = assert_verifies(second, endpoint.secret, "account.updated", account.id)
    assert again.id == event.id
    assert_refused(tamper(second.body), second.signature, endpoint.secret)
