//! The test harness: every test gets its own server on a free port, its own database
//! (a SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and
//! its own fake SMS gateway, and talks to the server over real HTTP.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use stimul::config::{ProviderKind, Settings};
use stimul::db::Clock;
use stimul::startup::{Application, Overrides};
use stimul::state::AppState;

use crate::fake_sms::FakeSmsGateway;

/// A database for one test, removed when the test ends.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh database and its URL.
    pub async fn create() -> (Self, String) {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) if admin_url.starts_with("postgres") => {
                sqlx::any::install_default_drivers();
                let name = format!("stimul_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let mut url = reqwest::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                (TestDatabase::Postgres { admin_url, name }, url.to_string())
            }
            Some(other) if !other.starts_with("sqlite") => {
                panic!("TEST_DATABASE_URL must be postgres://… or sqlite")
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("stimul.db").display()
                );
                (TestDatabase::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name, shown) = (admin_url.clone(), name.clone(), name.clone());
            // The test's runtime is going away; drop the database from a thread of our own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await
                    .ok()
                })
            })
            .join();
            if !matches!(dropped, Ok(Some(_))) {
                eprintln!("warning: could not drop test database {shown}");
            }
        }
    }
}

/// Accounts the demo program has: admin, moderator, manager, brand, 2 owners, 20 sellers.
pub const DEMO_USERS: i64 = 26;

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub clock: Clock,
    pub sms: FakeSmsGateway,
    pub settings: Settings,
    handle: ServerHandle,
    // Dropped last: the server must let go of the database first.
    _database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // `stop` sends the command when called; the returned future only reports
        // completion, which nobody here waits for.
        std::mem::drop(self.handle.stop(false));
        // The actor threads belong to no runtime of the test: stop them explicitly.
        self.state.live.shutdown();
        self.state.codegen.halt();
    }
}

/// Settings every test server shares, with a fresh database.
pub async fn test_settings() -> (Settings, TestDatabase) {
    let (database, url) = TestDatabase::create().await;
    let settings = Settings {
        port: 0,
        workers: 2,
        database_url: Some(stimul::config::Secret::new(url)),
        log: "warn".into(),
        // Dozens of servers run at once in one test run; PostgreSQL allows 100
        // connections by default.
        database: stimul::config::DatabaseSettings {
            max_connections: 3,
            ..Default::default()
        },
        codes: stimul::config::CodeSettings {
            // Off unless a test turns it on: a test must not behave differently at night.
            night_start: "00:00".into(),
            night_end: "00:00".into(),
            ..Default::default()
        },
        ..Settings::default()
    };
    (settings, database)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    stimul::telemetry::init("warn", None);
    let (mut settings, database) = test_settings().await;
    let sms = FakeSmsGateway::start().await;
    settings.sms.provider = ProviderKind::Http;
    settings.sms.url = Some(sms.url());
    settings.sms.timeout_ms = 1_000;
    configure(&mut settings);
    let clock = Clock::default();
    let app = Application::build_with(
        settings.clone(),
        Overrides {
            clock: Some(clock.clone()),
            ..Overrides::default()
        },
    )
    .await
    .expect("the application builds");
    let port = app.port();
    let state = app.state().clone();
    let handle = app.server_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
        state,
        clock,
        sms,
        settings,
        handle,
        _database: database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, token, body, None)
            .await
    }

    pub async fn post_idempotent(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        key: &str,
    ) -> Response {
        self.send(reqwest::Method::POST, path, token, body, Some(key))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::PATCH, path, token, body, None)
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, token, body, None)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
        key: Option<&str>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post_csv(&self, path: &str, token: &str, csv: &str) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// Logs in with a password; panics unless it works.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "login": login, "password": password }),
            )
            .await;
        let body = expect_status(response, StatusCode::OK).await;
        body["token"].as_str().expect("token").to_string()
    }

    /// Loads the demo program (password `demo` for everyone).
    pub async fn load_demo(&self) {
        stimul::demo::load(&self.state.db, &self.clock, &self.settings.default_program)
            .await
            .expect("demo loads");
    }

    /// Creates an administrator `root` of the default program and logs in.
    pub async fn admin_token(&self) -> String {
        stimul::org::people::create_admin(
            &self.state.db,
            &self.clock,
            &self.settings.default_program,
            "root",
            "root-password",
            "Root",
        )
        .await
        .expect("admin created");
        self.login("root", "root-password").await
    }

    /// Requests a code for `phone`, reads it off the fake gateway and verifies it.
    pub async fn otp_login(&self, phone: &str) -> String {
        let code = self.request_otp_code(phone).await;
        let response = self
            .post(
                "/api/v1/auth/otp/verify",
                None,
                &json!({ "phone": phone, "code": code }),
            )
            .await;
        expect_status(response, StatusCode::OK).await["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// Requests a code and returns it as delivered to the fake gateway.
    pub async fn request_otp_code(&self, phone: &str) -> String {
        let before = self.sms.messages_to(phone).len();
        let response = self
            .post("/api/v1/auth/otp", None, &json!({ "phone": phone }))
            .await;
        expect_status(response, StatusCode::ACCEPTED).await;
        let message = self
            .sms
            .wait_for_message(phone, before + 1, Duration::from_secs(10))
            .await
            .expect("an SMS arrives");
        extract_code(&message)
    }

    /// Sum of a table's rows, to prove a refused request changed nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count")
    }

    /// The id of the user with `login`.
    pub async fn user_id(&self, login: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("user exists")
    }

    pub async fn store_id(&self, code: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM stores WHERE external_ref = $1")
            .bind(code)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("store exists")
    }
}

pub fn extract_code(message: &str) -> String {
    message
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .expect("a 6-digit code in the SMS")
        .to_string()
}

/// Asserts the status and returns the JSON body (Null when empty).
pub async fn expect_status(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Asserts a problem+json error with `code`; returns its body.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = expect_status(response, status).await;
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["type"], format!("/problems/{code}"), "body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "a problem explains itself: {body}"
    );
    body
}

/// Bytes that pass as a JPEG (the server checks magic numbers), distinct per `n`.
pub fn test_photo(n: u32) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend(format!("test photo {n}").bytes());
    bytes
}

impl TestApp {
    /// Posts a multipart form: a `data` JSON part and `photos` as parts named `part`.
    pub async fn post_multipart(
        &self,
        path: &str,
        token: &str,
        data: &Value,
        part: &str,
        photos: &[Vec<u8>],
    ) -> Response {
        let boundary = "stimul-test-boundary-7d1f";
        let mut body = Vec::new();
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\nContent-Type: application/json\r\n\r\n{data}\r\n").bytes());
        for (i, bytes) in photos.iter().enumerate() {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"p{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").bytes());
            body.extend(bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").bytes());
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("request sent")
    }
}

impl TestApp {
    /// Awards `amount` (income) to `user_id` as `token`; returns the answer.
    pub async fn award(&self, token: &str, user_id: i64, amount: &str) -> Value {
        let response = self
            .post(
                &format!("/api/v1/participants/{user_id}/awards"),
                Some(token),
                &json!({ "amount": amount, "comment": "test award" }),
            )
            .await;
        expect_status(response, StatusCode::CREATED).await
    }

    /// The participant's standing as staff see it.
    pub async fn standing(&self, token: &str, user_id: i64) -> Value {
        expect_status(
            self.get(
                &format!("/api/v1/participants/{user_id}/standing"),
                Some(token),
            )
            .await,
            StatusCode::OK,
        )
        .await
    }

    /// Staff add goods `sku` at `price` and the participant `token` orders one,
    /// delivered to a Moscow address, with idempotency key `key`; answers the order id.
    pub async fn order_goods(
        &self,
        admin: &str,
        token: &str,
        sku: &str,
        price: &str,
        key: &str,
    ) -> i64 {
        let reward = expect_status(
            self.post(
                "/api/v1/rewards",
                Some(admin),
                &json!({ "sku": sku, "kind": "goods", "title": sku, "price": price, "stock": 5, "category": "Home" }),
            )
            .await,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_i64()
            .expect("reward id");
        expect_status(
            self.post_idempotent(
                "/api/v1/orders",
                Some(token),
                &json!({ "items": [{ "reward_id": reward }],
                         "delivery": { "name": "Ivan", "phone": "+79002000001", "address": "Moscow, Tverskaya 1" } }),
                key,
            )
            .await,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_i64()
            .expect("order id")
    }

    /// Entries of the audit log with `action`.
    pub async fn audited(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("audit log")
    }

    /// Asserts the ledger invariants: balances sum to zero, every balance equals its
    /// postings, no participant below zero, no key twice.
    pub async fn assert_ledger_sound(&self) {
        let check = stimul::ledger::queries::check(&self.state.db, None)
            .await
            .expect("ledger check runs");
        assert!(check.sound, "ledger unsound: {check:?}");
    }

    /// A WebSocket connection authenticated with `token`.
    pub async fn ws(&self, token: &str) -> crate::ws_client::WsClient {
        crate::ws_client::WsClient::connect(&self.address, token)
            .await
            .expect("websocket accepted")
    }
}

impl TestApp {
    /// The id of a role of the program by name.
    pub async fn role_id(&self, admin: &str, name: &str) -> i64 {
        let roles =
            expect_status(self.get("/api/v1/roles", Some(admin)).await, StatusCode::OK).await;
        roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_i64())
            .expect("role exists")
    }

    /// Creates a staff account (with `extra` fields such as `partner_id`), gives it one
    /// role over one scope, and logs it in: returns its id and token.
    pub async fn staff_with_role(
        &self,
        admin: &str,
        login: &str,
        extra: Value,
        role: &str,
        scope: Value,
    ) -> (i64, String) {
        let mut body = json!({ "login": login, "password": "staff password", "name": login });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let user = expect_status(
            self.post("/api/v1/users", Some(admin), &body).await,
            StatusCode::CREATED,
        )
        .await;
        let id = user["id"].as_i64().expect("id");
        let role_id = self.role_id(admin, role).await;
        expect_status(
            self.post(
                &format!("/api/v1/users/{id}/roles"),
                Some(admin),
                &json!({ "role_id": role_id, "scope": scope }),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        (id, self.login(login, "staff password").await)
    }

    /// Another moderator of the whole default program.
    pub async fn moderator(&self, admin: &str, login: &str) -> String {
        let program = expect_status(
            self.get("/api/v1/program", Some(admin)).await,
            StatusCode::OK,
        )
        .await["id"]
            .as_i64()
            .expect("program");
        self.staff_with_role(
            admin,
            login,
            json!({}),
            "moderator",
            json!({ "kind": "program", "id": program }),
        )
        .await
        .1
    }
}
