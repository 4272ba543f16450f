-- Accounts, API keys, files, idempotency keys and the job queue.
-- Integers stand for booleans (0/1) and for times (Unix seconds, or
-- milliseconds where the column name ends in _ms) so that the same queries
-- run on SQLite and PostgreSQL. `seq` orders lists newest first.

CREATE TABLE accounts (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    platform_id TEXT,
    livemode BIGINT NOT NULL,
    account_type TEXT NOT NULL,
    country TEXT NOT NULL,
    email TEXT,
    default_currency TEXT NOT NULL,
    business_profile TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX accounts_by_platform ON accounts (platform_id, livemode, seq);
CREATE UNIQUE INDEX accounts_one_platform ON accounts (account_type) WHERE account_type = 'platform';

CREATE TABLE api_keys (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    livemode BIGINT NOT NULL,
    kind TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    redacted TEXT NOT NULL,
    created BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_account ON api_keys (account_id, seq);

CREATE TABLE files (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    livemode BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    filename TEXT,
    title TEXT,
    file_type TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX files_by_account ON files (account_id, livemode, seq);

CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL,
    livemode BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    created BIGINT NOT NULL,
    locked_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, livemode, idempotency_key)
);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created);

CREATE TABLE jobs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    run_at_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at_ms BIGINT,
    last_error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at_ms);
CREATE INDEX jobs_leased ON jobs (state, lease_expires_at_ms);
