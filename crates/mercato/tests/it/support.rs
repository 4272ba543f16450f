//! The test harness: a running server with its keys, and an HTTP client
//! that speaks the wire format.

use std::path::{Path, PathBuf};

use mercato::server::{self, RunningServer};
use mercato_core::ids::random_token;
use mercato_core::Config;
use mercato_store::Db;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use sqlx::Connection;

/// A server for one test, with the platform's secret keys.
pub struct TestServer {
    pub base: String,
    pub test_key: String,
    pub live_key: String,
    pub platform_id: String,
    pub client: Client,
    pub config: Config,
    running: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

/// Where a test's data lives: a fresh database URL and a data directory.
pub struct Fixture {
    pub database_url: String,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database_url = fresh_database_url(dir.path()).await;
        Fixture { database_url, dir }
    }

    pub fn config(&self) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: self.dir.path().join("data"),
            database_url: Some(self.database_url.clone()),
            database_max_connections: 8,
            bootstrap_test_key: Some(format!("sk_test_{}", random_token(24))),
            bootstrap_live_key: Some(format!("sk_live_{}", random_token(24))),
            ..Config::default()
        }
    }
}

/// A database URL nobody else uses: a new SQLite file, or a new database on
/// the PostgreSQL server named by `MERCATO_TEST_DATABASE_URL`.
pub async fn fresh_database_url(dir: &Path) -> String {
    let Ok(admin_url) = std::env::var("MERCATO_TEST_DATABASE_URL") else {
        return format!("sqlite://{}", dir.join("mercato.db").display());
    };
    let name = format!("mercato_it_{}", random_token(12).to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    let (server, _) = admin_url
        .rsplit_once('/')
        .expect("database url with a path");
    format!("{server}/{name}")
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let fixture = Fixture::new().await;
        let mut config = fixture.config();
        adjust(&mut config);
        let running = server::start(config.clone()).await.expect("server starts");
        let platform_id = running
            .bootstrapped
            .as_ref()
            .expect("a fresh store is bootstrapped")
            .platform
            .id
            .to_string();
        TestServer {
            base: format!("http://{}", running.addr),
            test_key: config.bootstrap_test_key.clone().unwrap_or_default(),
            live_key: config.bootstrap_live_key.clone().unwrap_or_default(),
            platform_id,
            client: Client::new(),
            config,
            running: Some(running),
            _dir: fixture.dir,
        }
    }

    /// Starts a second server on this one's database and data directory,
    /// as another node sharing them would run.
    pub async fn start_another(&self) -> RunningServer {
        server::start(self.config.clone())
            .await
            .expect("second server starts")
    }

    pub fn db(&self) -> &Db {
        &self.running.as_ref().expect("server running").db
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
    }

    /// A request with the test-mode platform key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.test_key)
    }

    /// `POST` of a raw form body with the test key.
    pub async fn post_raw(&self, path: &str, body: &str) -> Reply {
        let response = self
            .request(Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent");
        Reply::read(response).await
    }

    /// `POST` of form pairs with the test key.
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded_pairs(pairs);
        self.post_raw(path, &body).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(
            self.request(Method::GET, path)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// Creates a connected account in test mode and returns its id.
    pub async fn connected_account(&self, name: &str) -> String {
        let reply = self
            .post(
                "/v1/accounts",
                &[("type", "custom"), ("business_profile[name]", name)],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["id"].as_str().expect("account id").to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            drop(running);
        }
    }
}

/// An answer: status, headers and JSON body (or `Null` when not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub async fn read(response: Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read").to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a Stripe-shaped error and returns its `error` object.
    pub fn error(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let error = &self.body["error"];
        assert!(
            error["type"].is_string(),
            "not a Stripe error: {}",
            self.body
        );
        assert!(
            error["message"].is_string(),
            "error without message: {}",
            self.body
        );
        error
    }
}

/// Form-encodes pairs.
pub fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
