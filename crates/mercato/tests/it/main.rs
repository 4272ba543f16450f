//! Integration tests: each test starts the real server on port 0 against a
//! fresh database and talks HTTP to it. The backend is SQLite unless
//! `MERCATO_TEST_DATABASE_URL` names a PostgreSQL server, in which case each
//! test gets its own new database there; `scripts/test` runs the suite once
//! each way.

mod accounts;
mod auth;
mod catalog_commands;
mod client_commands;
mod files;
mod forms;
mod idempotency;
mod import_sets;
mod jobs;
mod server;
mod support;
mod webhook_faults;
mod webhooks;
