"""Idempotent requests through stripe-python: replay, mismatch, limits."""

import secrets

import pytest
import stripe

from conftest import CATALOG_CSV, create_account, lower_headers, raw_request


def new_key() -> str:
    return f"conformance-{secrets.token_hex(12)}"


def test_a_repeated_create_is_replayed_with_the_same_body():
    key = new_key()
    params = {"type": "custom", "country": "US", "email": f"{key}@example.com"}

    first = stripe.Account.create(idempotency_key=key, **params)
    second = stripe.Account.create(idempotency_key=key, **params)

    assert second.id == first.id
    assert second.last_response.body == first.last_response.body
    assert lower_headers(second.last_response.headers).get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in lower_headers(first.last_response.headers)


def test_a_replay_creates_nothing_new():
    key = new_key()
    first = stripe.Account.create(idempotency_key=key, type="custom", country="US")
    stripe.Account.create(idempotency_key=key, type="custom", country="US")

    newest = stripe.Account.list(limit=2).data

    assert newest[0].id == first.id
    assert all(account.id != first.id for account in newest[1:])


def test_same_key_with_different_parameters_is_an_idempotency_error():
    key = new_key()
    stripe.Account.create(idempotency_key=key, type="custom", country="US", email="a@example.com")

    with pytest.raises(stripe.IdempotencyError) as raised:
        stripe.Account.create(
            idempotency_key=key, type="custom", country="US", email="b@example.com"
        )

    assert raised.value.http_status == 400
    assert raised.value.error.type == "idempotency_error"


def test_keys_are_scoped_per_account(catalog_csv):
    key = new_key()
    first_account = create_account()
    second_account = create_account()

    with open(catalog_csv, "rb") as handle:
        first = stripe.File.create(
            purpose="data_management_manual_upload",
            file=handle,
            stripe_account=first_account.id,
            idempotency_key=key,
        )
    with open(catalog_csv, "rb") as handle:
        second = stripe.File.create(
            purpose="data_management_manual_upload",
            file=handle,
            stripe_account=second_account.id,
            idempotency_key=key,
        )

    assert first.id != second.id
    assert first.size == second.size == len(CATALOG_CSV)


def test_a_request_failing_validation_saves_nothing():
    key = new_key()
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Account.create(idempotency_key=key, type="custom", not_a_parameter="x")

    account = stripe.Account.create(idempotency_key=key, type="custom", country="US")

    assert account.id.startswith("acct_")


def test_an_idempotency_key_over_255_characters_is_refused(server):
    response = raw_request(
        server,
        "POST",
        "/v1/accounts",
        key=server.test_key,
        headers={
            "Idempotency-Key": "k" * 256,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=b"type=custom&country=US",
    )

    assert response.status == 400
    assert b'"invalid_request_error"' in response.body
