// Connected accounts through stripe-node: create, retrieve, update, list.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import Stripe from 'stripe';

import { client, createAccount, rejection, server, uniqueSuffix } from './helpers.js';

test('create returns a connected account object', async () => {
  const stripe = client();
  const suffix = uniqueSuffix();

  const account = await stripe.accounts.create({
    type: 'custom',
    country: 'US',
    email: `owner-${suffix}@example.com`,
    business_profile: { name: `Shop ${suffix}`, url: `https://${suffix}.example.com` },
    metadata: { order: '7', suffix },
  });

  assert.match(account.id, /^acct_/);
  assert.equal(account.object, 'account');
  assert.equal(account.type, 'custom');
  assert.equal(account.country, 'US');
  assert.equal(account.email, `owner-${suffix}@example.com`);
  assert.equal(account.business_profile.name, `Shop ${suffix}`);
  assert.equal(account.business_profile.url, `https://${suffix}.example.com`);
  assert.deepEqual(account.metadata, { order: '7', suffix });
  assert.equal(typeof account.created, 'number');
  assert.match(account.lastResponse.requestId, /^req_/);
});

test('retrieve and update a connected account', async () => {
  const stripe = client();
  const account = await createAccount(stripe, { metadata: { keep: 'yes', drop: 'soon' } });

  const fetched = await stripe.accounts.retrieve(account.id);
  const updated = await stripe.accounts.update(account.id, {
    email: 'updated@example.com',
    metadata: { drop: '', added: '42' },
  });

  assert.equal(fetched.id, account.id);
  assert.equal(fetched.email, account.email);
  assert.equal(updated.email, 'updated@example.com');
  assert.deepEqual(updated.metadata, { keep: 'yes', added: '42' });
});

test('auto-pagination walks every page newest first and sees each account once', async () => {
  const stripe = client();
  const createdIds = [];
  for (let i = 0; i < 7; i += 1) {
    createdIds.push((await createAccount(stripe)).id);
  }

  const seen = [];
  for await (const account of stripe.accounts.list({ limit: 3 })) {
    seen.push(account);
  }
  const asArray = await stripe.accounts.list({ limit: 3 }).autoPagingToArray({ limit: 10000 });

  const seenIds = seen.map((account) => account.id);
  assert.equal(new Set(seenIds).size, seenIds.length, 'an account came back twice');
  const created = seen.map((account) => account.created);
  assert.deepEqual(created, [...created].sort((a, b) => b - a), 'the list is not newest first');
  assert.deepEqual(
    seenIds.filter((id) => createdIds.includes(id)),
    [...createdIds].reverse(),
  );
  assert.deepEqual(
    asArray.map((account) => account.id),
    seenIds,
  );
});

test('a list page is a list object with the real url', async () => {
  const stripe = client();
  await createAccount(stripe);
  await createAccount(stripe);

  const page = await stripe.accounts.list({ limit: 1 });

  assert.equal(page.object, 'list');
  assert.equal(page.url, '/v1/accounts');
  assert.equal(page.data.length, 1);
  assert.equal(page.has_more, true);
});

test('the platform retrieves its own account and acts as a connected one', async () => {
  const stripe = client();
  const connected = await createAccount(stripe);

  const platform = await stripe.accounts.retrieveCurrent();
  const asConnected = await stripe.accounts.retrieveCurrent({}, { stripeAccount: connected.id });

  assert.match(platform.id, /^acct_/);
  assert.notEqual(platform.id, connected.id);
  assert.equal(asConnected.id, connected.id);
});

test('live and test modes keep separate data', async () => {
  const testAccount = await createAccount(client());
  const live = client(server.liveKey);

  const error = await rejection(() => live.accounts.retrieve(testAccount.id));

  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 404);
});
