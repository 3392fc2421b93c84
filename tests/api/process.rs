//! The real `stimul` binary as a child process, for tests that need several nodes or a
//! crash: `kill -9` cannot be done to a server living inside the test process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::expect_status;

pub struct ServerProcess {
    /// Behind a lock so a test can kill the node while requests to it are in flight.
    child: std::sync::Mutex<Child>,
    pub address: String,
    pub http: reqwest::Client,
    /// Everything the server printed (its log and console providers), for tests that
    /// look for what must never be printed.
    output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `stimul serve` on a free port against `database_url` (and Redis, when
    /// given with the key prefix to use) and waits until it listens.
    pub fn spawn(database_url: &str, redis: Option<(&str, &str)>, data_dir: &Path) -> Self {
        Self::spawn_with_env(database_url, redis, data_dir, &[])
    }

    /// Like [`Self::spawn`], with extra environment variables (settings).
    pub fn spawn_with_env(
        database_url: &str,
        redis: Option<(&str, &str)>,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        // Before anything can fail with a child running that nobody would kill.
        stimul::integrations::install_crypto_provider();
        let http = reqwest::Client::new();
        let mut command = Command::new(env!("CARGO_BIN_EXE_stimul"));
        command
            .args(["serve", "--port", "0"])
            .env("DATABASE_URL", database_url)
            .env("STIMUL_DATA_DIR", data_dir)
            .env("STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "1000000")
            .env("STIMUL_DATABASE__MAX_CONNECTIONS", "4")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.envs(env.iter().copied());
        if let Some((url, prefix)) = redis {
            command
                .env("REDIS_URL", url)
                .env("STIMUL_REDIS_PREFIX", prefix);
        }
        let mut child = command.spawn().expect("the stimul binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let errors = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Ok(mut output) = errors.lock() {
                    output.push(line);
                }
            }
        });
        let printed = output.clone();
        let (found, port) = mpsc::channel();
        // Read until the listening line, then keep draining so the child never blocks
        // on a full pipe (the console SMS provider prints there).
        std::thread::spawn(move || {
            let mut announced = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut output) = printed.lock() {
                    output.push(line.clone());
                }
                if let (false, Some(address)) =
                    (announced, line.strip_prefix("Stimul is listening on "))
                {
                    let _ = found.send(address.trim().to_string());
                    announced = true;
                }
            }
        });
        // Generous: a loaded CI machine runs dozens of test servers beside this one.
        let Ok(address) = port.recv_timeout(Duration::from_secs(180)) else {
            let _ = child.kill();
            panic!("the server did not announce its address within three minutes");
        };
        Self {
            child: std::sync::Mutex::new(child),
            address,
            http,
            output,
        }
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .map(|lines| lines.join("\n"))
            .unwrap_or_default()
    }

    /// `kill -9`: no shutdown, no flushing.
    pub fn kill(&self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `kill -TERM`: asks for a graceful stop.
    pub fn terminate(&self) {
        let pid = self.child.lock().map(|child| child.id().to_string());
        let pid = pid.expect("the child");
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }

    /// Waits for the process to exit; `false` if it had not within `limit` (it is then
    /// killed).
    pub async fn exited_within(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if let Ok(mut child) = self.child.lock()
                && let Ok(Some(_)) = child.try_wait()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        false
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.address))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("request sent");
        expect_status(response, StatusCode::OK).await["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// Posts and returns the status (or `None` if the server did not answer).
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Option<(StatusCode, Value)> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .json(body)
            .timeout(Duration::from_secs(10));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.ok()?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    pub async fn ws(&self, token: &str) -> crate::ws_client::WsClient {
        crate::ws_client::WsClient::connect(&self.address, token)
            .await
            .expect("websocket accepted")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
