//! The `mercato` program as a library: starting the server (used by `main`
//! and by the integration tests, which run the real server on port 0), the
//! operator's commands, and the client commands that talk to a running
//! server over its API.

pub mod client;
pub mod keys_command;
pub mod logging;
pub mod server;
