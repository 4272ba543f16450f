//! `mercato listen`: follows the account's live events and forwards each one
//! to a local URL, signed as a webhook delivery would be, so a platform can
//! develop its webhook handler against a running server.
//!
//! **The signing secret is derived from the API key**, so it is the same on
//! every run with that key: `whsec_` followed by the first 32 hex digits of
//! HMAC-SHA256 keyed with the API key over the text
//! `mercato listen signing secret`. Whoever holds the key can compute it,
//! which is fine for a development tool whose receiver is local.
//!
//! Events come from `GET /v1/events/stream` (server-sent events). Each
//! event's JSON is forwarded byte for byte as a `POST` with
//! `Content-Type: application/json` and a `Stripe-Signature` made at the time
//! of sending; one event at a time, in order, with a 30 s timeout and no
//! redirects followed. A failed forward is printed and listening goes on.
//!
//! A dropped stream is reopened after 1, 2, 4, 8 and then every 10 seconds,
//! with `Last-Event-ID` so that no event is missed. An answer that retrying
//! cannot fix (a 401 for a refused key, any other 4xx but 429) ends the
//! command with the server's message. Times in printed lines are UTC.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use reqwest::redirect::Policy;
use reqwest::{Client, Method, Response, Url};
use serde_json::Value;
use sha2::Sha256;

use crate::client::api::{checked, error_reason, ApiClient, ApiError};
use crate::client::clock::now_text;
use crate::client::sse::SseParser;

/// The HMAC message the signing secret is derived with.
const SECRET_DERIVATION_MESSAGE: &[u8] = b"mercato listen signing secret";
/// Hex digits of the derived secret after `whsec_`.
const SECRET_HEX_DIGITS: usize = 32;
/// How long one forward may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// Silence after which the stream counts as dropped; the server sends a
/// keep-alive comment every 15 s.
const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The first and the longest wait before reopening the stream.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
const LONGEST_RETRY_DELAY: Duration = Duration::from_secs(10);
/// The live event stream (an extension of the API).
const STREAM_PATH: &str = "/v1/events/stream";
/// The SSE event name of a Mercato event; other names are ignored.
const EVENT_MESSAGE: &str = "event";

/// What `mercato listen` was asked to do.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    pub api_base: String,
    pub api_key: String,
    /// Where events are `POST`ed.
    pub forward_to: String,
    /// Event types to forward; empty means all.
    pub events: Vec<String>,
    /// Also receive the connected accounts' events (`connect=true`).
    pub connect: bool,
}

/// The `whsec_` secret `listen` signs with for `api_key`; see the module
/// documentation.
pub fn signing_secret(api_key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(SECRET_DERIVATION_MESSAGE);
    let digest = hex::encode(mac.finalize().into_bytes());
    format!("whsec_{}", &digest[..SECRET_HEX_DIGITS])
}

/// Listens until `stop` completes (then `Ok`) or the server gives an answer
/// that retrying cannot fix (then the error). Every line meant for the
/// user, the `Ready!` line with the secret first, goes to `output`.
pub async fn listen(
    options: ListenOptions,
    mut output: impl FnMut(String) + Send,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let listener = Listener::new(options)?;
    tokio::select! {
        result = listener.run(&mut output) => result,
        () = stop => Ok(()),
    }
}

/// A configured listener.
struct Listener {
    api: ApiClient,
    forwarder: Forwarder,
    secret: String,
    stream_query: Vec<(&'static str, String)>,
}

impl Listener {
    fn new(options: ListenOptions) -> anyhow::Result<Listener> {
        let api = ApiClient::new(&options.api_base, &options.api_key)?;
        let forwarder = Forwarder::new(&options.forward_to)?;
        Ok(Listener {
            api,
            forwarder,
            secret: signing_secret(&options.api_key),
            stream_query: stream_query(options.connect, &options.events),
        })
    }

    /// Opens the stream, follows it, and reopens it when it drops.
    async fn run(&self, output: &mut (impl FnMut(String) + Send)) -> anyhow::Result<()> {
        let mut last_event_id: Option<String> = None;
        let mut retry = Backoff::default();
        let mut connected_before = false;
        loop {
            let reason = match self.open(last_event_id.as_deref()).await {
                Ok(response) => {
                    output(self.connected_line(connected_before));
                    connected_before = true;
                    retry.reset();
                    self.follow(response, &mut last_event_id, output).await
                }
                Err(error) if error.is_permanent() => {
                    return Err(error).context("the event stream was refused")
                }
                Err(error) => error.to_string(),
            };

            let delay = retry.next_delay();
            output(format!(
                "{}  The event stream is down ({reason}); reconnecting in {}s",
                now_text(),
                delay.as_secs()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    fn connected_line(&self, connected_before: bool) -> String {
        if connected_before {
            return format!("{}  Reconnected to the event stream", now_text());
        }
        format!(
            "Ready! Your webhook signing secret is {} (^C to quit)",
            self.secret
        )
    }

    async fn open(&self, last_event_id: Option<&str>) -> Result<Response, ApiError> {
        let mut request = self
            .api
            .request(Method::GET, STREAM_PATH, None)
            .query(&self.stream_query)
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = self.api.send(request, STREAM_PATH).await?;
        checked(response, &Method::GET, STREAM_PATH).await
    }

    /// Forwards the stream's events until it ends; returns why it ended.
    async fn follow(
        &self,
        response: Response,
        last_event_id: &mut Option<String>,
        output: &mut (impl FnMut(String) + Send),
    ) -> String {
        let mut body = response.bytes_stream();
        let mut parser = SseParser::default();
        loop {
            let chunk = match tokio::time::timeout(STREAM_IDLE_TIMEOUT, body.next()).await {
                Err(_) => return format!("nothing received for {STREAM_IDLE_TIMEOUT:?}"),
                Ok(None) => return "the server closed it".to_owned(),
                Ok(Some(Err(error))) => return error_reason(&error),
                Ok(Some(Ok(chunk))) => chunk,
            };

            for message in parser.push(&chunk) {
                if message.event == EVENT_MESSAGE {
                    self.forward(&message.data, output).await;
                }
                if message.last_event_id.is_some() {
                    *last_event_id = message.last_event_id;
                }
            }
        }
    }

    /// Forwards one event and prints a line before and after.
    async fn forward(&self, payload: &str, output: &mut (impl FnMut(String) + Send)) {
        let (event_id, event_type) = event_summary(payload);
        output(format!("{}  --> {event_type} [{event_id}]", now_text()));

        let started = Instant::now();
        let outcome = self.forwarder.send(payload, &self.secret).await;
        tracing::debug!(
            target: "mercato::listen",
            event_id,
            ok = outcome.is_ok(),
            elapsed_ms = started.elapsed().as_millis(),
            "forwarded an event"
        );

        let url = &self.forwarder.url;
        output(match outcome {
            Ok(status) => format!("{}  <-- [{status}] POST {url} [{event_id}]", now_text()),
            Err(reason) => format!("{}  <-- [ERR] POST {url} [{event_id}] {reason}", now_text()),
        });
    }
}

/// The stream's query: `connect=true` and one `types[]` per event type.
fn stream_query(connect: bool, events: &[String]) -> Vec<(&'static str, String)> {
    let connect = connect.then(|| ("connect", "true".to_owned()));
    let types = events.iter().map(|event| ("types[]", event.clone()));
    connect.into_iter().chain(types).collect()
}

/// An event's id and type for the printed lines; `?` where unreadable.
fn event_summary(payload: &str) -> (String, String) {
    let event: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let field = |name: &str| event[name].as_str().unwrap_or("?").to_owned();
    (field("id"), field("type"))
}

/// Posts signed events to the `--forward-to` URL.
struct Forwarder {
    http: Client,
    url: Url,
}

impl Forwarder {
    fn new(forward_to: &str) -> anyhow::Result<Forwarder> {
        let url = Url::parse(forward_to)
            .with_context(|| format!("--forward-to {forward_to:?} is not a URL"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https"),
            "--forward-to must be an http(s) URL, not {forward_to:?}"
        );

        let http = Client::builder()
            .redirect(Policy::none())
            .timeout(FORWARD_TIMEOUT)
            .user_agent(concat!("mercato-listen/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Forwarder { http, url })
    }

    /// The receiver's status code, or why there is none.
    async fn send(&self, payload: &str, secret: &str) -> Result<u16, String> {
        let signature = mercato_events::signing::header(
            &[secret],
            mercato_core::time::now_unix(),
            payload.as_bytes(),
        );
        let response = self
            .http
            .post(self.url.clone())
            .header("Content-Type", "application/json")
            .header("Stripe-Signature", signature)
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|error| error_reason(&error))?;
        Ok(response.status().as_u16())
    }
}

/// Waits between attempts to reopen the stream: doubling from
/// [`FIRST_RETRY_DELAY`] up to [`LONGEST_RETRY_DELAY`].
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let doubled = FIRST_RETRY_DELAY.saturating_mul(2u32.saturating_pow(self.failures));
        self.failures = self.failures.saturating_add(1);
        doubled.min(LONGEST_RETRY_DELAY)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_derived_from_the_key_alone() {
        let secret = signing_secret("sk_test_one");

        assert_eq!(secret, signing_secret("sk_test_one"));
        assert_ne!(secret, signing_secret("sk_test_two"));
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret.len(), "whsec_".len() + SECRET_HEX_DIGITS);
        assert!(secret["whsec_".len()..]
            .chars()
            .all(|digit| digit.is_ascii_hexdigit()));
    }

    #[test]
    fn the_backoff_doubles_to_ten_seconds_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..6).map(|_| backoff.next_delay().as_secs()).collect();

        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        backoff.reset();
        assert_eq!(backoff.next_delay().as_secs(), 1);
    }

    #[test]
    fn the_stream_query_carries_connect_and_types() {
        let events = vec!["file.created".to_owned(), "account.updated".to_owned()];

        assert_eq!(stream_query(false, &[]), []);
        assert_eq!(stream_query(true, &[]), [("connect", "true".to_owned())]);
        assert_eq!(
            stream_query(true, &events),
            [
                ("connect", "true".to_owned()),
                ("types[]", "file.created".to_owned()),
                ("types[]", "account.updated".to_owned()),
            ]
        );
    }

    #[test]
    fn summaries_tolerate_what_is_not_an_event() {
        assert_eq!(
            event_summary(r#"{"id":"evt_1","type":"file.created"}"#),
            ("evt_1".to_owned(), "file.created".to_owned())
        );
        assert_eq!(event_summary("not json"), ("?".to_owned(), "?".to_owned()));
    }
}
