// Errors through stripe-node: each HTTP failure maps to the right error class.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import Stripe from 'stripe';

import { client, rejection } from './helpers.js';

test('a bad key is a StripeAuthenticationError', async () => {
  const badKey = `sk_test_${'Q'.repeat(20)}4321`;

  const error = await rejection(() => client(badKey).accounts.list());

  assert.ok(error instanceof Stripe.errors.StripeAuthenticationError, String(error));
  assert.equal(error.statusCode, 401);
  assert.ok(!error.message.includes(badKey), 'the error message repeats the whole key');
});

test('an unknown parameter is a StripeInvalidRequestError naming it', async () => {
  const error = await rejection(() =>
    client().accounts.create({ type: 'custom', country: 'US', favourite_colour: 'blue' }),
  );

  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 400);
  assert.equal(error.code, 'parameter_unknown');
  assert.equal(error.param, 'favourite_colour');
});

test('a missing account is a 404 resource_missing', async () => {
  const error = await rejection(() => client().accounts.retrieve('acct_doesnotexist'));

  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 404);
  assert.equal(error.code, 'resource_missing');
  assert.match(error.requestId, /^req_/);
});
