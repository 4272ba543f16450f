// Idempotent requests through stripe-node: replay and mismatch.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import Stripe from 'stripe';

import { client, rejection } from './helpers.js';

function newKey() {
  return `conformance-node-${randomBytes(12).toString('hex')}`;
}

test('a repeated create is replayed', async () => {
  const stripe = client();
  const idempotencyKey = newKey();
  const params = { type: 'custom', country: 'US', email: `${idempotencyKey}@example.com` };

  const first = await stripe.accounts.create(params, { idempotencyKey });
  const second = await stripe.accounts.create(params, { idempotencyKey });

  assert.equal(second.id, first.id);
  assert.deepEqual(second, first);
  assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
  assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined);
});

test('the same key with different parameters is a StripeIdempotencyError', async () => {
  const stripe = client();
  const idempotencyKey = newKey();
  await stripe.accounts.create(
    { type: 'custom', country: 'US', email: 'a@example.com' },
    { idempotencyKey },
  );

  const error = await rejection(() =>
    stripe.accounts.create(
      { type: 'custom', country: 'US', email: 'b@example.com' },
      { idempotencyKey },
    ),
  );

  assert.ok(error instanceof Stripe.errors.StripeIdempotencyError, String(error));
  assert.equal(error.statusCode, 400);
  assert.equal(error.rawType, 'idempotency_error');
});
