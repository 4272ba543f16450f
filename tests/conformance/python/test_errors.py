"""Errors through stripe-python: each HTTP failure maps to the right exception."""

import base64
import json
import re

import pytest
import stripe

from conftest import raw_request


def test_a_bad_key_is_an_authentication_error_with_the_key_masked():
    bad_key = "sk_test_" + "Z" * 20 + "9876"

    with pytest.raises(stripe.AuthenticationError) as raised:
        stripe.Account.list(api_key=bad_key)

    assert raised.value.http_status == 401
    message = raised.value.user_message
    assert bad_key not in message
    assert "9876" in message
    assert raised.value.request_id.startswith("req_")


def test_a_missing_key_is_401_in_the_error_shape(server):
    response = raw_request(server, "GET", "/v1/accounts")

    assert response.status == 401
    error = json.loads(response.body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


def test_basic_auth_with_the_key_as_user_name_is_accepted(server):
    response = raw_request(
        server,
        "GET",
        "/v1/account",
        headers={"Authorization": "Basic " + _basic(server.test_key)},
    )

    assert response.status == 200
    assert json.loads(response.body)["object"] == "account"


def test_an_unknown_parameter_is_an_invalid_request_naming_it():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.Account.create(type="custom", country="US", favourite_colour="blue")

    assert raised.value.http_status == 400
    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "favourite_colour"
    assert "favourite_colour" in raised.value.user_message


def test_an_unknown_nested_parameter_is_named_with_its_brackets():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.Account.create(type="custom", country="US", business_profile={"colour": "blue"})

    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "business_profile[colour]"


def test_a_missing_account_is_a_404_resource_missing():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.Account.retrieve("acct_doesnotexist")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert "acct_doesnotexist" in raised.value.user_message


def test_a_missing_file_is_a_404_resource_missing():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.File.retrieve("file_doesnotexist")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_every_response_has_a_request_id(server):
    ok = raw_request(server, "GET", "/v1/account", key=server.test_key)
    missing = raw_request(server, "GET", "/v1/accounts/acct_doesnotexist", key=server.test_key)

    assert re.fullmatch(r"req_[A-Za-z0-9]+", ok.headers["request-id"])
    assert re.fullmatch(r"req_[A-Za-z0-9]+", missing.headers["request-id"])


def _basic(key: str) -> str:
    return base64.b64encode(f"{key}:".encode()).decode()
