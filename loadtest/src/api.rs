//! The Stimul HTTP API as the load generator calls it: one pooled client, password
//! login, JSON calls that turn `application/problem+json` answers into readable
//! errors (for setup), paging through lists, and the measured call that reports its
//! outcome without judging it (for the streams under test). Also the API's money
//! format: points as decimal strings, read here as integer hundredths.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::{Deserialize, de};
use serde_json::json;

/// Largest page the list endpoints serve.
const PAGE_LIMIT: usize = 200;

/// A client of one server. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
}

/// A logged-in account.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub user_id: i64,
}

#[derive(Deserialize)]
struct SessionIssued {
    token: String,
    user_id: i64,
    status: String,
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// The fields of a problem answer worth showing.
#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
}

/// The answer to a measured call: its status and, for a success, the parsed body; for
/// a refusal, the problem's stable `code`.
pub struct Reply<T> {
    pub status: StatusCode,
    pub body: Option<T>,
    pub problem_code: Option<String>,
}

/// Why a measured call got no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be opened.
    Connect,
    /// The connection broke, or a success carried a body we could not read.
    Transport,
}

impl CallError {
    pub fn as_str(self) -> &'static str {
        match self {
            CallError::Timeout => "timeout",
            CallError::Connect => "connect",
            CallError::Transport => "transport",
        }
    }

    fn of(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            CallError::Timeout
        } else if err.is_connect() {
            CallError::Connect
        } else {
            CallError::Transport
        }
    }
}

impl Api {
    pub fn new(base_url: &str, request_timeout: Duration) -> anyhow::Result<Self> {
        let base = Url::parse(base_url).with_context(|| format!("--base-url {base_url:?}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("--base-url must be http:// or https://, not {base_url:?}");
        }
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(Duration::from_secs(10))
            // Many small requests from one address: keep connections and send at once.
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Self { http, base })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> anyhow::Result<Url> {
        self.base
            .join(path)
            .with_context(|| format!("joining {path:?} to the base URL"))
    }

    /// The WebSocket address for a session: the base URL with `ws`/`wss`.
    pub fn ws_url(&self, session: &Session) -> anyhow::Result<String> {
        let mut url = self.url("/api/v1/ws")?;
        let scheme = if self.base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        url.set_scheme(scheme)
            .map_err(|()| anyhow::anyhow!("cannot turn {} into a WebSocket URL", self.base))?;
        url.query_pairs_mut().append_pair("token", &session.token);
        Ok(url.into())
    }

    /// Logs in with login and password.
    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<Session> {
        self.try_login(login, password).await?.with_context(|| {
            format!(
                "logging in as {login:?}: wrong login or password (an existing population keeps \
                 the password it was created with)"
            )
        })
    }

    /// Logs in with login and password; `None` when the server does not know that
    /// pair (so a caller can create the account).
    pub async fn try_login(&self, login: &str, password: &str) -> anyhow::Result<Option<Session>> {
        let body = json!({ "login": login, "password": password });
        let response = self
            .http
            .post(self.url("/api/v1/auth/login")?)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("logging in as {login:?}"))?;
        match response.status() {
            StatusCode::TOO_MANY_REQUESTS => bail!(
                "logging in as {login:?}: the server refused with 429 (rate limited). Start it \
                 with STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE=1000000 for a load test"
            ),
            StatusCode::UNAUTHORIZED => return Ok(None),
            _ => {}
        }
        let issued: SessionIssued = read_success(response, &format!("logging in as {login:?}"))
            .await
            .context("the server refused the login")?;
        if issued.status != "active" {
            bail!(
                "{login:?} is {} and cannot act; use another --prefix",
                issued.status
            );
        }
        Ok(Some(Session {
            token: issued.token,
            user_id: issued.user_id,
        }))
    }

    /// `GET path` expecting a success.
    pub async fn get<T: DeserializeOwned>(
        &self,
        session: &Session,
        path: &str,
    ) -> anyhow::Result<T> {
        let bytes = self.get_bytes(session, path).await?;
        serde_json::from_slice(&bytes).with_context(|| format!("GET {path}: unexpected answer"))
    }

    /// `GET path` expecting a success, the body as it came (a CSV download).
    pub async fn get_bytes(&self, session: &Session, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .http
            .get(self.url(path)?)
            .bearer_auth(&session.token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        read_body(response, &format!("GET {path}")).await
    }

    /// `POST path` expecting a success. The idempotency key makes a retried setup step
    /// harmless.
    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        session: &Session,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> anyhow::Result<T> {
        self.send_json(session, Method::POST, path, body, Some(idempotency_key))
            .await
    }

    /// `PATCH path` expecting a success.
    pub async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        session: &Session,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send_json(session, Method::PATCH, path, body, None)
            .await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<T> {
        let what = format!("{method} {path}");
        let mut request = self
            .http
            .request(method, self.url(path)?)
            .bearer_auth(&session.token)
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.with_context(|| what.clone())?;
        read_success(response, &what).await
    }

    /// Every item of a paged list. `path` may carry a query already.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        session: &Session,
        path: &str,
    ) -> anyhow::Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = self.url(path)?;
            url.query_pairs_mut()
                .append_pair("limit", &PAGE_LIMIT.to_string());
            if let Some(cursor) = &cursor {
                url.query_pairs_mut().append_pair("cursor", cursor);
            }
            let page: Page<T> = self.get(session, &relative(&url)).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// A call under measurement: sends it and reports what came back without treating
    /// a refusal as an error of the load generator.
    pub async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<Reply<T>, CallError> {
        let request = self
            .request(session, method, path, idempotency_key)
            .json(body);
        measure(request).await
    }

    /// A measured call with a body already encoded (a multipart form): `content_type`
    /// names it.
    pub async fn call_raw<T: DeserializeOwned>(
        &self,
        session: &Session,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<Reply<T>, CallError> {
        let request = self
            .request(session, Method::POST, path, idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        measure(request).await
    }

    fn request(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        // The path is built by the scenario from ids; a bad one is a bug, not load.
        let url = self
            .url(path)
            .expect("a scenario builds valid relative paths");
        let request = self.http.request(method, url).bearer_auth(&session.token);
        match idempotency_key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        }
    }
}

async fn measure<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<Reply<T>, CallError> {
    let response = request.send().await.map_err(|e| CallError::of(&e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| CallError::of(&e))?;
    if status.is_success() {
        let body = serde_json::from_slice(&bytes).map_err(|_| CallError::Transport)?;
        Ok(Reply {
            status,
            body: Some(body),
            problem_code: None,
        })
    } else {
        let problem: Problem = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(Reply {
            status,
            body: None,
            problem_code: (!problem.code.is_empty()).then_some(problem.code),
        })
    }
}

/// The path and query of `url`, to hand back to [`Api::get`].
fn relative(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

async fn read_success<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> anyhow::Result<T> {
    let bytes = read_body(response, what).await?;
    serde_json::from_slice(&bytes).with_context(|| format!("{what}: unexpected answer"))
}

/// The body of a success; a refusal as an error that names its problem code.
async fn read_body(response: reqwest::Response, what: &str) -> anyhow::Result<Vec<u8>> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    if !status.is_success() {
        let problem: Problem = serde_json::from_slice(&bytes).unwrap_or_default();
        if problem.code.is_empty() {
            bail!(
                "{what}: {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        bail!("{what}: {status} {}: {}", problem.code, problem.detail);
    }
    Ok(bytes.to_vec())
}

/// Points as the API writes them (`"12.50"`, `"-3.00"`), in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Points(pub i64);

impl Points {
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || fraction.len() > 2
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let cents = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().ok()? * 10,
            _ => fraction.parse::<i64>().ok()?,
        };
        let value = whole.checked_mul(100)?.checked_add(cents)?;
        Some(Self(if negative { -value } else { value }))
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Points::parse(&text)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a points amount")))
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Points;

    #[test]
    fn points_read_and_print_as_the_api_writes_them() {
        for (text, hundredths) in [
            ("12.50", 1250),
            ("0.00", 0),
            ("-3.05", -305),
            ("7", 700),
            ("1.5", 150),
        ] {
            assert_eq!(Points::parse(text), Some(Points(hundredths)), "{text}");
        }
        for bad in ["", ".5", "1.234", "1,00", "abc", "--1"] {
            assert_eq!(Points::parse(bad), None, "{bad}");
        }
        assert_eq!(Points(-305).to_string(), "-3.05");
        assert_eq!(Points(100000).to_string(), "1000.00");
    }
}
