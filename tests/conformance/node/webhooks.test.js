// Webhook deliveries checked by stripe-node's own `webhooks.constructEvent`
// (default tolerance), and the seed's Express handler run as written against a
// Mercato endpoint.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Stripe from 'stripe';

import { CATALOG_CSV, client, createAccount, server, uniqueSuffix, uploadCsv } from './helpers.js';

const DELIVERY_TIMEOUT_MS = 20_000;
// How long a delivery that must not happen is waited for.
const QUIET_PERIOD_MS = 2_000;
const SEED_HANDLER = fileURLToPath(new URL('./seed-handler.js', import.meta.url));
const SIGNATURE_HEADER = /^t=\d+(,v1=[0-9a-f]{64})+$/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Whatever a test starts (receivers, endpoints, child processes) is undone
// after it, so that no later event is sent to a receiver that has gone.
const cleanups = [];
afterEach(async () => {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()();
    } catch {
      // best effort: the test's own assertions are what matter
    }
  }
});

/** Waits for `predicate` to return something truthy, polling; fails after the deadline. */
async function eventually(predicate, what, timeoutMs = DELIVERY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await predicate();
    if (found) {
      return found;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(100);
  }
}

/** An HTTP server on 127.0.0.1 that answers 200 and keeps every POST's raw bytes. */
async function startReceiver() {
  const deliveries = [];
  const http = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({
        method: request.method,
        path: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { 'Content-Length': '0' });
      response.end();
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(() => new Promise((resolve) => http.close(resolve)));
  const { port } = http.address();
  return {
    deliveries,
    url: (path = '/webhook') => `http://127.0.0.1:${port}${path}`,
    matching: (predicate) => deliveries.filter(predicate),
    async waitFor(predicate, count = 1) {
      return eventually(() => {
        const found = deliveries.filter(predicate);
        return found.length >= count ? found.slice(0, count) : null;
      }, `${count} matching deliveries (received ${deliveries.length})`);
    },
  };
}

async function makeEndpoint(stripe, params, options = undefined) {
  const endpoint = await stripe.webhookEndpoints.create({ enabled_events: ['*'], ...params }, options);
  cleanups.push(() => stripe.webhookEndpoints.del(endpoint.id, {}, options));
  return endpoint;
}

function payloadOf(delivery) {
  try {
    return JSON.parse(delivery.body.toString('utf8'));
  } catch {
    return {};
  }
}

/** Matches a delivery of `type` about `objectId`, optionally to `path` and with metadata values. */
function eventAbout(type, objectId, { path, metadata = {} } = {}) {
  return (delivery) => {
    if (path !== undefined && delivery.path !== path) {
      return false;
    }
    const payload = payloadOf(delivery);
    const object = payload.data?.object ?? {};
    return (
      payload.type === type &&
      object.id === objectId &&
      Object.entries(metadata).every(([key, value]) => object.metadata?.[key] === value)
    );
  };
}

function v1Count(delivery) {
  return delivery.headers['stripe-signature'].split(',').filter((part) => part.startsWith('v1=')).length;
}

function verify(stripe, delivery, secret) {
  return stripe.webhooks.constructEvent(delivery.body, delivery.headers['stripe-signature'], secret);
}

function assertVerifies(stripe, delivery, secret, type, objectId) {
  const event = verify(stripe, delivery, secret);
  assert.equal(event.type, type);
  assert.equal(event.data.object.id, objectId);
  return event;
}

function assertRefused(stripe, body, signature, secret) {
  assert.throws(
    () => stripe.webhooks.constructEvent(body, signature, secret),
    (error) => error instanceof Stripe.errors.StripeSignatureVerificationError,
  );
}

/** The same JSON with one value changed, as an attacker would. */
function tamper(body) {
  const payload = JSON.parse(body.toString('utf8'));
  payload.type = 'account.application.deauthorized';
  const tampered = Buffer.from(JSON.stringify(payload, null, 2));
  assert.ok(!tampered.equals(body));
  return tampered;
}

/** The `roll_secret` extension, through the SDK's raw request method. */
async function rollSecret(stripe, endpointId, expiresIn) {
  const rolled = await stripe.rawRequest('POST', `/v1/webhook_endpoints/${endpointId}/roll_secret`, {
    expires_in: expiresIn,
  });
  assert.equal(rolled.id, endpointId);
  assert.equal(rolled.object, 'webhook_endpoint');
  assert.match(rolled.secret, /^whsec_/);
  return rolled.secret;
}

// --- stripe.webhooks.constructEvent -------------------------------------------

test('a connected account update is delivered and constructEvent accepts it', async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  const endpoint = await makeEndpoint(stripe, {
    url: receiver.url(),
    connect: true,
    description: 'node conformance',
  });
  const value = uniqueSuffix();

  await stripe.accounts.update(account.id, { metadata: { webhook_check: value } });
  const [delivery] = await receiver.waitFor(
    eventAbout('account.updated', account.id, { metadata: { webhook_check: value } }),
  );

  assert.match(endpoint.id, /^we_/);
  assert.match(endpoint.secret, /^whsec_/);
  assert.equal(delivery.method, 'POST');
  assert.equal(delivery.headers['content-type'].split(';')[0].trim(), 'application/json');
  assert.match(delivery.headers['stripe-signature'], SIGNATURE_HEADER);
  assert.equal(v1Count(delivery), 1);
  const event = assertVerifies(stripe, delivery, endpoint.secret, 'account.updated', account.id);
  assert.match(event.id, /^evt_/);
  assert.equal(event.object, 'event');
  assert.equal(event.account, account.id);
  assert.equal(event.livemode, false);
  assert.equal(event.data.object.metadata.webhook_check, value);
});

test('constructEvent refuses a tampered body and a wrong secret', async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  const endpoint = await makeEndpoint(stripe, { url: receiver.url(), connect: true });
  const other = await makeEndpoint(stripe, {
    url: receiver.url('/other'),
    connect: true,
    enabled_events: ['file.created'],
  });

  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'tamper' } });
  const [delivery] = await receiver.waitFor(eventAbout('account.updated', account.id, { path: '/webhook' }));
  const signature = delivery.headers['stripe-signature'];

  assertVerifies(stripe, delivery, endpoint.secret, 'account.updated', account.id);
  assertRefused(stripe, tamper(delivery.body), signature, endpoint.secret);
  assertRefused(stripe, Buffer.concat([delivery.body, Buffer.from('\n')]), signature, endpoint.secret);
  assert.notEqual(other.secret, endpoint.secret);
  assertRefused(stripe, delivery.body, signature, other.secret);
  assertRefused(stripe, delivery.body, signature, `whsec_${'0'.repeat(32)}`);
});

test("the platform's own update reaches an endpoint without connect", async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const platform = await stripe.accounts.retrieve();
  const endpoint = await makeEndpoint(stripe, {
    url: receiver.url('/platform'),
    enabled_events: ['account.updated'],
  });
  const value = uniqueSuffix();

  await stripe.accounts.update(platform.id, { metadata: { webhook_check: value } });
  let delivery;
  try {
    [delivery] = await receiver.waitFor(
      eventAbout('account.updated', platform.id, { metadata: { webhook_check: value } }),
    );
  } finally {
    await stripe.accounts.update(platform.id, { metadata: { webhook_check: '' } });
  }

  const event = assertVerifies(stripe, delivery, endpoint.secret, 'account.updated', platform.id);
  assert.equal(event.data.object.metadata.webhook_check, value);
  assertRefused(stripe, tamper(delivery.body), delivery.headers['stripe-signature'], endpoint.secret);
});

test("an endpoint without connect gets no connected account's events", async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  await makeEndpoint(stripe, { url: receiver.url('/platform') });
  const connect = await makeEndpoint(stripe, { url: receiver.url('/connect'), connect: true });

  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'connect-only' } });
  const [delivery] = await receiver.waitFor(eventAbout('account.updated', account.id, { path: '/connect' }));
  await sleep(QUIET_PERIOD_MS);

  assertVerifies(stripe, delivery, connect.secret, 'account.updated', account.id);
  assert.deepEqual(receiver.matching(eventAbout('account.updated', account.id, { path: '/platform' })), []);
});

test('an endpoint made as the connected account gets its events', async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  const endpoint = await makeEndpoint(stripe, { url: receiver.url('/own') }, { stripeAccount: account.id });

  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'own-endpoint' } });
  const [delivery] = await receiver.waitFor(eventAbout('account.updated', account.id, { path: '/own' }));

  const event = assertVerifies(stripe, delivery, endpoint.secret, 'account.updated', account.id);
  assert.equal(event.account, account.id);
});

test('a file upload delivers file.created', async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  const endpoint = await makeEndpoint(stripe, {
    url: receiver.url(),
    connect: true,
    enabled_events: ['file.created'],
  });

  const uploaded = await uploadCsv(stripe, account.id);
  const [delivery] = await receiver.waitFor(eventAbout('file.created', uploaded.id));

  const event = assertVerifies(stripe, delivery, endpoint.secret, 'file.created', uploaded.id);
  assert.equal(event.account, account.id);
  assert.equal(event.data.object.object, 'file');
  assert.equal(event.data.object.size, CATALOG_CSV.length);
  assertRefused(stripe, tamper(delivery.body), delivery.headers['stripe-signature'], endpoint.secret);
});

test('during a secret roll both secrets verify; after it expires only the new one', async () => {
  const stripe = client();
  const receiver = await startReceiver();
  const account = await createAccount(stripe);
  const endpoint = await makeEndpoint(stripe, {
    url: receiver.url(),
    connect: true,
    enabled_events: ['account.updated'],
  });
  const original = endpoint.secret;

  const rolled = await rollSecret(stripe, endpoint.id, 3600);
  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'during-roll' } });
  const [during] = await receiver.waitFor(
    eventAbout('account.updated', account.id, { metadata: { webhook_check: 'during-roll' } }),
  );

  assert.notEqual(rolled, original);
  assert.equal(v1Count(during), 2, during.headers['stripe-signature']);
  assertVerifies(stripe, during, rolled, 'account.updated', account.id);
  assertVerifies(stripe, during, original, 'account.updated', account.id);
  assertRefused(stripe, tamper(during.body), during.headers['stripe-signature'], rolled);
  assertRefused(stripe, tamper(during.body), during.headers['stripe-signature'], original);

  const newest = await rollSecret(stripe, endpoint.id, 0);
  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'after-roll' } });
  const [after] = await receiver.waitFor(
    eventAbout('account.updated', account.id, { metadata: { webhook_check: 'after-roll' } }),
  );

  assert.ok(![original, rolled].includes(newest));
  assert.equal(v1Count(after), 1, after.headers['stripe-signature']);
  assertVerifies(stripe, after, newest, 'account.updated', account.id);
  assertRefused(stripe, after.body, after.headers['stripe-signature'], rolled);
  assertRefused(stripe, after.body, after.headers['stripe-signature'], original);
});

// --- the seed's Express handler ------------------------------------------------

/** Runs seed-handler.js with the endpoint's secret; collects the JSON lines it prints. */
async function startSeedHandler(endpointSecret) {
  const child = spawn(process.execPath, [SEED_HANDLER], {
    env: {
      ...process.env,
      STRIPE_SECRET_KEY: server.testKey,
      MERCATO_ENDPOINT_SECRET: endpointSecret,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ text: line });
    }
  });
  const { listening: port } = await eventually(() => {
    if (child.exitCode !== null) {
      throw new Error(`seed-handler.js exited with ${child.exitCode}: ${stderr}`);
    }
    return lines.find((line) => line.listening);
  }, 'seed-handler.js to listen');
  return { url: `http://127.0.0.1:${port}/webhook`, lines };
}

/** The delivery attempts Mercato recorded for an endpoint (an extension). */
async function attemptsOf(stripe, endpointId, options) {
  const page = await stripe.rawRequest('GET', `/v1/webhook_endpoints/${endpointId}/attempts`, {}, options);
  return page.data;
}

test("the seed's Express handler accepts Mercato's deliveries", async () => {
  const stripe = client();
  const account = await createAccount(stripe);
  // The handler needs the secret when it starts and the endpoint needs the
  // handler's address: make the endpoint on this account alone (nothing else
  // is sent to it), start the handler, then point the endpoint at it.
  const endpoint = await makeEndpoint(
    stripe,
    { url: 'http://127.0.0.1:9/not-yet', enabled_events: ['account.updated'] },
    { stripeAccount: account.id },
  );
  const handler = await startSeedHandler(endpoint.secret);
  await stripe.webhookEndpoints.update(endpoint.id, { url: handler.url }, { stripeAccount: account.id });

  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'seed-handler' } });
  const seen = await eventually(
    () => handler.lines.find((line) => line.seen === 'account.updated'),
    'the seed handler to see account.updated',
  );
  const attempts = await eventually(async () => {
    const all = await attemptsOf(stripe, endpoint.id, { stripeAccount: account.id });
    return all.some((attempt) => attempt.event === seen.id) ? all : null;
  }, 'the attempt to be recorded');

  assert.match(seen.id, /^evt_/);
  const attempt = attempts.find((candidate) => candidate.event === seen.id);
  assert.equal(attempt.status_code, 200, JSON.stringify(attempt));
  assert.equal(attempt.succeeded, true);
  const event = await stripe.events.retrieve(seen.id, {}, { stripeAccount: account.id });
  assert.equal(event.type, 'account.updated');
  assert.equal(event.data.object.id, account.id);
  assert.equal(event.data.object.metadata.webhook_check, 'seed-handler');
});

test("the seed's Express handler answers a forged POST with 400 Webhook Error", async () => {
  const stripe = client();
  const secret = (
    await makeEndpoint(stripe, { url: 'http://127.0.0.1:9/unused', enabled_events: ['file.created'] })
  ).secret;
  const handler = await startSeedHandler(secret);
  const forged = JSON.stringify({
    id: 'evt_forged',
    object: 'event',
    type: 'checkout.session.completed',
    data: { object: { id: 'cs_forged', object: 'checkout.session' } },
  });
  const post = (headers) =>
    fetch(handler.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: forged,
    });

  const wrongSecret = await post({
    'Stripe-Signature': stripe.webhooks.generateTestHeaderString({
      payload: forged,
      secret: `whsec_${'0'.repeat(32)}`,
    }),
  });
  const garbage = await post({ 'Stripe-Signature': `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}` });
  const unsigned = await post({});
  const genuine = await post({
    'Stripe-Signature': stripe.webhooks.generateTestHeaderString({ payload: forged, secret }),
  });

  for (const response of [wrongSecret, garbage, unsigned]) {
    assert.equal(response.status, 400);
    assert.match(await response.text(), /^Webhook Error: \S/);
  }
  // Control: the same body signed with the right secret is accepted, so the
  // 400s above come from the signature alone.
  assert.equal(genuine.status, 200);
  await eventually(() => handler.lines.find((line) => line.fulfilled === 'cs_forged'), 'fulfillCheckout');
  assert.deepEqual(
    handler.lines.filter((line) => line.seen).map((line) => line.seen),
    ['checkout.session.completed'],
  );
});

test('a roll keeps the seed handler accepting deliveries signed with the old secret', async () => {
  const stripe = client();
  const account = await createAccount(stripe);
  const options = { stripeAccount: account.id };
  const endpoint = await makeEndpoint(
    stripe,
    { url: 'http://127.0.0.1:9/not-yet', enabled_events: ['account.updated'] },
    options,
  );
  // The handler keeps the original secret; Mercato rolls to a new one.
  const handler = await startSeedHandler(endpoint.secret);
  await stripe.webhookEndpoints.update(endpoint.id, { url: handler.url }, options);
  const rolled = await stripe.rawRequest(
    'POST',
    `/v1/webhook_endpoints/${endpoint.id}/roll_secret`,
    { expires_in: 3600 },
    options,
  );

  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'seed-roll' } });
  const seen = await eventually(
    () => handler.lines.find((line) => line.seen === 'account.updated'),
    'the seed handler to see account.updated during the roll',
  );

  assert.notEqual(rolled.secret, endpoint.secret);
  assert.match(seen.id, /^evt_/);

  // Once the old secret has expired, the handler (still on it) must refuse.
  await stripe.rawRequest(
    'POST',
    `/v1/webhook_endpoints/${endpoint.id}/roll_secret`,
    { expires_in: 0 },
    options,
  );
  await stripe.accounts.update(account.id, { metadata: { webhook_check: 'seed-expired' } });
  const refused = await eventually(async () => {
    const attempts = await attemptsOf(stripe, endpoint.id, options);
    return attempts.find((attempt) => attempt.event !== seen.id);
  }, 'an attempt after the old secret expired');

  assert.equal(refused.status_code, 400, JSON.stringify(refused));
  assert.equal(refused.succeeded, false);
  assert.match(refused.response_body_head, /^Webhook Error: /);
  assert.deepEqual(
    handler.lines.filter((line) => line.seen).map((line) => line.id),
    [seen.id],
  );
});
