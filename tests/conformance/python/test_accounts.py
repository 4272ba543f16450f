"""Connected accounts through stripe-python: create, retrieve, update, list."""

import pytest
import stripe

from conftest import create_account, unique_suffix


def test_create_connected_account_returns_the_account_object():
    suffix = unique_suffix()

    account = stripe.Account.create(
        type="custom",
        country="US",
        email=f"owner-{suffix}@example.com",
        business_profile={"name": f"Shop {suffix}", "url": f"https://{suffix}.example.com"},
        metadata={"order": "7", "suffix": suffix},
    )

    assert isinstance(account, stripe.Account)
    assert account.id.startswith("acct_")
    assert account.object == "account"
    assert account.type == "custom"
    assert account.country == "US"
    assert account.email == f"owner-{suffix}@example.com"
    assert account.business_profile.name == f"Shop {suffix}"
    assert account.business_profile.url == f"https://{suffix}.example.com"
    assert account.metadata.to_dict() == {"order": "7", "suffix": suffix}
    assert isinstance(account.created, int)
    for field in ("charges_enabled", "capabilities", "controller"):
        assert field in account, f"the account object has no {field!r}"


def test_create_carries_a_request_id():
    account = create_account()

    assert account.last_response is not None
    assert account.last_response.request_id.startswith("req_")


def test_retrieve_returns_what_create_returned():
    created = create_account()

    fetched = stripe.Account.retrieve(created.id)

    assert fetched.id == created.id
    assert fetched.email == created.email
    assert fetched.business_profile.name == created.business_profile.name
    assert fetched.metadata.to_dict() == created.metadata.to_dict()


def test_update_changes_fields_and_unsets_metadata_with_an_empty_value():
    account = create_account(metadata={"keep": "yes", "drop": "soon"})

    updated = stripe.Account.modify(
        account.id,
        email="new-owner@example.com",
        business_profile={"name": "Renamed shop"},
        metadata={"drop": "", "added": "42"},
    )

    assert updated.id == account.id
    assert updated.email == "new-owner@example.com"
    assert updated.business_profile.name == "Renamed shop"
    assert updated.metadata.to_dict() == {"keep": "yes", "added": "42"}
    assert stripe.Account.retrieve(account.id).email == "new-owner@example.com"


def test_list_is_a_list_object_with_the_real_url():
    create_account()

    page = stripe.Account.list(limit=1)

    assert page.object == "list"
    assert page.url == "/v1/accounts"
    assert len(page.data) == 1
    assert page.has_more is True


def test_auto_paging_walks_every_page_newest_first_and_sees_each_account_once():
    created_ids = [create_account().id for _ in range(7)]

    seen = []
    created_times = []
    for account in stripe.Account.list(limit=3).auto_paging_iter():
        seen.append(account.id)
        created_times.append(account.created)

    assert len(seen) == len(set(seen)), "auto-pagination returned an account twice"
    assert created_times == sorted(created_times, reverse=True), "list is not newest first"
    ours = [account_id for account_id in seen if account_id in created_ids]
    assert ours == list(reversed(created_ids))


def test_starting_after_and_ending_before_are_cursors():
    created_ids = [create_account().id for _ in range(4)]
    newest_first = list(reversed(created_ids))

    after = stripe.Account.list(limit=2, starting_after=newest_first[0])
    before = stripe.Account.list(limit=2, ending_before=newest_first[3])

    assert [account.id for account in after.data] == newest_first[1:3]
    assert [account.id for account in before.data] == newest_first[1:3]


def test_platform_retrieves_its_own_account():
    platform = stripe.Account.retrieve()

    assert platform.id.startswith("acct_")
    assert platform.object == "account"


def test_platform_reads_a_connected_account_through_stripe_account(connected_account):
    platform = stripe.Account.retrieve()

    seen_as_connected = stripe.Account.retrieve(stripe_account=connected_account.id)

    assert seen_as_connected.id == connected_account.id
    assert seen_as_connected.id != platform.id


def test_stripe_client_with_base_addresses_creates_and_lists_accounts(server):
    client = stripe.StripeClient(
        server.test_key, base_addresses={"api": server.base, "files": server.base}
    )
    suffix = unique_suffix()

    created = client.v1.accounts.create(
        params={"type": "custom", "country": "US", "email": f"client-{suffix}@example.com"}
    )
    fetched = client.v1.accounts.retrieve(created.id)
    listed = [account.id for account in client.v1.accounts.list({"limit": 2}).auto_paging_iter()]

    assert created.id.startswith("acct_")
    assert fetched.email == f"client-{suffix}@example.com"
    assert created.id in listed


def test_test_and_live_modes_keep_separate_data(server):
    test_account = create_account()
    live_account = create_account(api_key=server.live_key)

    assert stripe.Account.retrieve(live_account.id, api_key=server.live_key).id == live_account.id
    with pytest.raises(stripe.InvalidRequestError) as in_live:
        stripe.Account.retrieve(test_account.id, api_key=server.live_key)
    with pytest.raises(stripe.InvalidRequestError) as in_test:
        stripe.Account.retrieve(live_account.id)

    assert in_live.value.http_status == 404
    assert in_test.value.http_status == 404
    live_ids = [a.id for a in stripe.Account.list(limit=100, api_key=server.live_key).data]
    assert test_account.id not in live_ids
