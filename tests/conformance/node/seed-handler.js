// The Express webhook handler from the seed page
// (shared/seed/enable-in-context-selling-on-ai-agents.txt, "Respond to
// purchases and fulfill orders"), run as its own process by webhooks.test.js:
//
//   STRIPE_SECRET_KEY=sk_test_... MERCATO_ENDPOINT_SECRET=whsec_... node seed-handler.js
//
// The seed's statements are kept as written, one per line, comments included.
// Every line that is not in the seed is marked `// added`; they are:
//
// - the imports and `createRequire`: this package is "type": "module", and
//   createRequire keeps the seed's `require('stripe')(...)` line unchanged;
// - `const app = express()` and `app.listen(...)`: the seed shows only the
//   route, not the app around it. The server listens on 127.0.0.1 on a port of
//   the system's choosing and prints that port as a JSON line for the test;
// - `express.raw({type: 'application/json'})` on the route: the middleware
//   Stripe's own docs put there, so that `request.body` is the raw bytes that
//   were signed (constructEvent must see them unparsed);
// - `endpointSecret` is the Mercato endpoint's `secret`, read from the
//   environment, where the seed has the placeholder 'whsec_...';
// - one line printing the verified event's type and id as a JSON line, so that
//   the test can tell what the handler saw;
// - `fulfillCheckout`: the seed calls it and leaves it to the reader.
import { createRequire } from 'node:module'; // added
import express from 'express'; // added

const require = createRequire(import.meta.url); // added
const app = express(); // added

const stripe = require('stripe')(process.env.STRIPE_SECRET_KEY);

// Use the secret provided by Stripe CLI for local testing
// or your webhook endpoint's secret
const endpointSecret = process.env.MERCATO_ENDPOINT_SECRET; // added: the seed has 'whsec_...'

// added: express.raw({type: 'application/json'}) between the path and the handler
app.post('/webhook', express.raw({type: 'application/json'}), (request, response) => {
  const sig = request.headers['stripe-signature'];

  let event;

  try {
    event = stripe.webhooks.constructEvent(request.body, sig, endpointSecret);
  } catch (err) {
    response.status(400).send(`Webhook Error: ${err.message}`);
    return;
  }

  console.log(JSON.stringify({ seen: event.type, id: event.id })); // added

  if (event.type === 'checkout.session.completed') {
    const session = event.data.object;

    // Fulfill the order using the session data
    fulfillCheckout(session.id);
  }

  response.status(200).send();
});

function fulfillCheckout(sessionId) { // added
  console.log(JSON.stringify({ fulfilled: sessionId })); // added
} // added

const listener = app.listen(0, '127.0.0.1', () => { // added
  console.log(JSON.stringify({ listening: listener.address().port })); // added
}); // added
