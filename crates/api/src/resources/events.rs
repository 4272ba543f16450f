//! `/v1/events`: the account's events, a manual resend, and a live stream of
//! new events (server-sent events) that `mercato listen` follows.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use mercato_core::time::now_unix_millis;
use mercato_events::render;
use mercato_store::events::{self, Event, EventFilter};
use mercato_store::webhooks;
use mercato_store::Db;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::list::{render_list, ListOptions};
use crate::params::FormParams;
use crate::range::RangeParam;
use crate::state::AppState;

/// Most types one filter may name.
const MAX_TYPES: usize = 20;
/// How often a stream looks for new events; events committed on other nodes
/// arrive within this delay.
const STREAM_POLL: Duration = Duration::from_millis(200);
/// How far back a stream looks again for events that committed late.
const STREAM_RESCAN_MS: i64 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFilters {
    #[serde(rename = "type")]
    event_type: Option<String>,
    types: Option<Vec<String>>,
    created: Option<RangeParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendParams {
    webhook_endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    #[serde(default)]
    connect: bool,
    types: Option<Vec<String>>,
}

/// `GET /v1/events`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    let filters: ListFilters = FormParams(params).into_typed()?;
    let filter = event_filter(filters)?;

    let page = events::list(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &filter,
        &options.page,
    )
    .await?;
    Ok(Json(render_list("/v1/events", page, |event| {
        render::event(&event)
    })))
}

fn event_filter(filters: ListFilters) -> Result<EventFilter, ApiError> {
    if filters.event_type.is_some() && filters.types.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: type, types.",
        ));
    }
    let types: Vec<String> = filters
        .event_type
        .into_iter()
        .chain(filters.types.unwrap_or_default())
        .collect();
    if types.len() > MAX_TYPES {
        return Err(ApiError::invalid_param(
            "types",
            format!("Invalid types: at most {MAX_TYPES} may be given"),
        ));
    }
    let created = match filters.created {
        None => Vec::new(),
        Some(range) => range.comparisons("created")?,
    };
    Ok(EventFilter { types, created })
}

/// `GET /v1/events/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let event = owned_event(&state, &caller, &id).await?;
    Ok(Json(render::event(&event)))
}

/// `POST /v1/events/{id}/resend` (an extension): delivers the event again to
/// one endpoint, or to every endpoint subscribed to it now.
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: ResendParams = params.into_typed()?;
    let event = owned_event(&state, &caller, &id).await?;

    let mut tx = state.db.write().await?;
    let subscribed = webhooks::subscribed(
        tx.conn(),
        &event.account_id,
        event.platform_id.as_ref(),
        event.livemode,
        &event.event_type,
    )
    .await?;
    let targets: Vec<_> = match &params.webhook_endpoint {
        None => subscribed,
        Some(wanted) => subscribed
            .into_iter()
            .filter(|endpoint| endpoint.id.as_str() == wanted)
            .collect(),
    };
    if let (Some(wanted), true) = (&params.webhook_endpoint, targets.is_empty()) {
        return Err(ApiError::missing("webhook_endpoint", wanted).with_param("webhook_endpoint"));
    }
    for endpoint in &targets {
        events::enqueue_delivery(
            &mut tx,
            event.id.as_str(),
            endpoint.id.as_str(),
            now_unix_millis(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(render::event(&event)))
}

async fn owned_event(state: &AppState, caller: &Caller, id: &str) -> Result<Event, ApiError> {
    events::get(state.db.pool(), caller.account_id(), caller.livemode, id)
        .await?
        .ok_or_else(|| ApiError::missing("event", id))
}

/// `GET /v1/events/stream` (an extension): new events as server-sent
/// events, `id` being the event's position so that `Last-Event-ID` resumes.
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let params: StreamParams = params.into_typed()?;
    if params.connect && !caller.is_platform() {
        return Err(ApiError::forbidden(
            "Only the platform can follow its connected accounts' events.",
        ));
    }
    let resume_from = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<i64>().ok());
    let start = match resume_from {
        Some(seq) => Start::Resume(seq),
        None => Start::Now(events::latest_seq(state.db.pool()).await?),
    };
    let follower = Follower::new(state.db.clone(), caller, params, start);
    tracing::info!(target: "mercato::events", connect = follower.connect, "event stream opened");
    Ok(Sse::new(stream::unfold(follower, Follower::next)).keep_alive(KeepAlive::default()))
}

/// The state of one live stream.
struct Follower {
    db: Db,
    caller: Caller,
    connect: bool,
    types: Vec<String>,
    /// The highest `seq` read so far.
    after_seq: i64,
    /// Events created before this (Unix ms) are not sent: the stream began
    /// after them.
    not_before_ms: i64,
    /// Recently sent events, `seq` to creation time, so that looking back
    /// does not send them twice.
    sent: HashMap<i64, i64>,
    pending: Vec<Event>,
}

impl Follower {
    fn new(db: Db, caller: Caller, params: StreamParams, start: Start) -> Self {
        let (after_seq, not_before_ms) = match start {
            Start::Resume(seq) => (seq, 0),
            Start::Now(seq) => (seq, now_unix_millis()),
        };
        Self {
            db,
            caller,
            connect: params.connect,
            types: params.types.unwrap_or_default(),
            after_seq,
            not_before_ms,
            sent: HashMap::new(),
            pending: Vec::new(),
        }
    }

    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop() {
                let data = render::event(&event).to_string();
                let sse = SseEvent::default()
                    .id(event.seq.to_string())
                    .event("event")
                    .data(data);
                return Some((Ok(sse), self));
            }
            self.fetch().await;
            if self.pending.is_empty() {
                tokio::time::sleep(STREAM_POLL).await;
            }
        }
    }

    async fn fetch(&mut self) {
        let rescan_from_ms = now_unix_millis() - STREAM_RESCAN_MS;
        let found = events::stream_after(
            self.db.pool(),
            self.caller.account_id(),
            self.caller.livemode,
            self.connect,
            self.after_seq,
            rescan_from_ms / 1000,
            200,
        )
        .await;
        let found = match found {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(target: "mercato::events", %error, "event stream could not read");
                return;
            }
        };

        let mut fresh = Vec::new();
        for event in found {
            self.after_seq = self.after_seq.max(event.seq);
            let already_sent = self.sent.insert(event.seq, event.created_ms).is_some();
            let wanted = self.types.is_empty() || self.types.contains(&event.event_type);
            if !already_sent && wanted && event.created_ms >= self.not_before_ms {
                fresh.push(event);
            }
        }
        self.sent
            .retain(|_, created_ms| *created_ms >= rescan_from_ms - STREAM_RESCAN_MS);
        fresh.reverse();
        self.pending = fresh;
    }
}

/// Where a stream begins.
enum Start {
    /// After the event with this `seq` (from `Last-Event-ID`).
    Resume(i64),
    /// With events after this `seq`, created from now on.
    Now(i64),
}
