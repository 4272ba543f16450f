// Shared set-up for the stripe-node conformance tests: reads the environment
// that scripts/test exports and builds SDK clients pointed at `mercato serve`.
import { randomBytes } from 'node:crypto';

import Stripe from 'stripe';

const REQUIRED_ENV = ['MERCATO_API_BASE', 'MERCATO_TEST_KEY', 'MERCATO_LIVE_KEY'];

export const PURPOSE = 'data_management_manual_upload';

export const CATALOG_CSV = Buffer.from(
  'id,title,description,price,currency,availability\n' +
    'sku-1,Blue mug,A mug that is blue,1200,usd,in_stock\n' +
    'sku-2,Red mug,A mug that is red,1300,usd,out_of_stock\n',
);

function readServer() {
  const missing = REQUIRED_ENV.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `set ${missing.join(', ')} to point the suite at a running mercato serve ` +
        '(scripts/test does this; see tests/conformance/README.md)',
    );
  }
  const base = new URL(process.env.MERCATO_API_BASE);
  return {
    base: base.origin,
    host: base.hostname,
    port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
    protocol: base.protocol.replace(':', ''),
    testKey: process.env.MERCATO_TEST_KEY,
    liveKey: process.env.MERCATO_LIVE_KEY,
  };
}

export const server = readServer();

/** An SDK client as a platform would configure it, with only the host changed. */
export function client(key = server.testKey) {
  return new Stripe(key, {
    host: server.host,
    port: server.port,
    protocol: server.protocol,
  });
}

export function uniqueSuffix() {
  return randomBytes(6).toString('hex');
}

export function createAccount(stripe = client(), overrides = {}) {
  const suffix = uniqueSuffix();
  return stripe.accounts.create({
    type: 'custom',
    country: 'US',
    email: `owner-${suffix}@example.com`,
    business_profile: { name: `Shop ${suffix}`, url: `https://${suffix}.example.com` },
    metadata: { suite: 'node', suffix },
    ...overrides,
  });
}

export function uploadCsv(stripe, accountId, data = CATALOG_CSV, name = 'catalog.csv') {
  return stripe.files.create(
    { purpose: PURPOSE, file: { data, name, type: 'text/csv' } },
    { stripeAccount: accountId },
  );
}

/** Downloads a file's bytes without the SDK, which has no call for it. */
export async function downloadContents(fileId, accountId, key = server.testKey) {
  const response = await fetch(`${server.base}/v1/files/${fileId}/contents`, {
    headers: { Authorization: `Bearer ${key}`, 'Stripe-Account': accountId },
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

/** Runs `action`, which must reject, and returns what it rejected with. */
export async function rejection(action) {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to fail, but it succeeded');
}
