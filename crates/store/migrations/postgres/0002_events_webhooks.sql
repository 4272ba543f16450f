-- Events (the outbox), webhook endpoints, per-endpoint delivery state and
-- the record of every delivery attempt.

CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    platform_id TEXT,
    livemode BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    api_version TEXT NOT NULL,
    created BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    data_object TEXT NOT NULL,
    previous_attributes TEXT,
    request_id TEXT,
    idempotency_key TEXT,
    pending_webhooks BIGINT NOT NULL
);
CREATE INDEX events_by_account ON events (account_id, livemode, seq);
CREATE INDEX events_by_platform ON events (platform_id, livemode, seq);
CREATE INDEX events_by_created ON events (created);

CREATE TABLE webhook_endpoints (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode BIGINT NOT NULL,
    url TEXT NOT NULL,
    description TEXT,
    enabled_events TEXT NOT NULL,
    connect BIGINT NOT NULL,
    api_version TEXT,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_expires_at BIGINT,
    failing_since BIGINT,
    disabled_reason TEXT,
    deleted BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id, livemode, seq);

CREATE TABLE webhook_deliveries (
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);

CREATE TABLE webhook_attempts (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    status_code BIGINT,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    response_head TEXT,
    succeeded BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, seq);
CREATE INDEX webhook_attempts_by_created ON webhook_attempts (created);
