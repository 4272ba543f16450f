// Files through stripe-node: upload, retrieve, list, download, tenancy.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import Stripe from 'stripe';

import {
  CATALOG_CSV,
  PURPOSE,
  client,
  createAccount,
  downloadContents,
  rejection,
  uploadCsv,
} from './helpers.js';

test('upload a CSV as a connected account and download the same bytes', async () => {
  const stripe = client();
  const account = await createAccount(stripe);

  const uploaded = await uploadCsv(stripe, account.id);
  const contents = await downloadContents(uploaded.id, account.id);

  assert.match(uploaded.id, /^file_/);
  assert.equal(uploaded.object, 'file');
  assert.equal(uploaded.purpose, PURPOSE);
  assert.equal(uploaded.filename, 'catalog.csv');
  assert.equal(uploaded.size, CATALOG_CSV.length);
  assert.equal(uploaded.type, 'csv');
  assert.equal(contents.status, 200);
  assert.equal(contents.contentType.split(';')[0].trim(), 'text/csv');
  assert.ok(contents.body.equals(CATALOG_CSV), 'downloaded bytes differ from the upload');
});

test('retrieve and list files with the purpose filter', async () => {
  const stripe = client();
  const account = await createAccount(stripe);
  const first = await uploadCsv(stripe, account.id);
  const second = await uploadCsv(stripe, account.id);

  const fetched = await stripe.files.retrieve(first.id, {}, { stripeAccount: account.id });
  const listed = await stripe.files.list({ purpose: PURPOSE }, { stripeAccount: account.id });
  const otherPurpose = await stripe.files.list(
    { purpose: 'dispute_evidence' },
    { stripeAccount: account.id },
  );

  assert.equal(fetched.id, first.id);
  assert.equal(listed.url, '/v1/files');
  assert.deepEqual(
    listed.data.map((file) => file.id),
    [second.id, first.id],
  );
  assert.deepEqual(otherPurpose.data, []);
});

test('a file of one connected account is invisible to another', async () => {
  const stripe = client();
  const owner = await createAccount(stripe);
  const stranger = await createAccount(stripe);
  const uploaded = await uploadCsv(stripe, owner.id);

  const error = await rejection(() =>
    stripe.files.retrieve(uploaded.id, {}, { stripeAccount: stranger.id }),
  );
  const contents = await downloadContents(uploaded.id, stranger.id);

  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 404);
  assert.equal(error.code, 'resource_missing');
  assert.equal(contents.status, 404);
});

test('a binary file declared as text/csv is refused', async () => {
  const stripe = client();
  const account = await createAccount(stripe);
  const binary = Buffer.from(Array.from({ length: 2048 }, (_, i) => i % 256));

  const error = await rejection(() => uploadCsv(stripe, account.id, binary));
  const listed = await stripe.files.list({}, { stripeAccount: account.id });

  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 400);
  assert.deepEqual(listed.data, []);
});
