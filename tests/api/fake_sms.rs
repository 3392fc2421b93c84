//! A local stand-in for an SMS gateway: records what it is sent and can be told to
//! fail, stall or answer nonsense, so the HTTP provider's retries are exercised.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;

/// How the gateway answers the next request.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Behaviour {
    /// 500 Internal Server Error.
    Fail,
    /// 400 with a reason: the message itself is refused.
    Refuse,
    /// Waits this long before answering 200 (past the client's timeout).
    Stall(Duration),
    /// 200 with a body that is not the expected JSON.
    Garbage,
}

#[derive(Default)]
struct GatewayState {
    /// (to, text, authorization header) of every accepted message.
    accepted: Vec<(String, String, Option<String>)>,
    /// Requests received in total, accepted or not.
    received: usize,
    script: VecDeque<Behaviour>,
}

#[derive(Clone)]
pub struct FakeSmsGateway {
    port: u16,
    state: Arc<Mutex<GatewayState>>,
}

async fn receive(
    state: web::Data<Arc<Mutex<GatewayState>>>,
    request: actix_web::HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let behaviour = {
        let mut state = state.lock().expect("gateway state");
        state.received += 1;
        state.script.pop_front()
    };
    match behaviour {
        Some(Behaviour::Fail) => return HttpResponse::InternalServerError().body("upstream down"),
        Some(Behaviour::Refuse) => {
            return HttpResponse::BadRequest().json(serde_json::json!({"error": "invalid number"}));
        }
        Some(Behaviour::Garbage) => return HttpResponse::Ok().body("<html>maintenance</html>"),
        Some(Behaviour::Stall(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let to = body["to"].as_str().unwrap_or_default().to_string();
    let text = body["text"].as_str().unwrap_or_default().to_string();
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut state = state.lock().expect("gateway state");
    state.accepted.push((to, text, auth));
    let id = state.accepted.len();
    HttpResponse::Ok().json(serde_json::json!({ "id": format!("msg-{id}") }))
}

impl FakeSmsGateway {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GatewayState::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/send", web::post().to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind fake gateway");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/send", self.port)
    }

    /// Queues behaviours for the next requests (then it answers normally).
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.state
            .lock()
            .expect("gateway state")
            .script
            .extend(behaviours);
    }

    pub fn messages_to(&self, phone: &str) -> Vec<String> {
        self.state
            .lock()
            .expect("gateway state")
            .accepted
            .iter()
            .filter(|(to, _, _)| to == phone)
            .map(|(_, text, _)| text.clone())
            .collect()
    }

    pub fn received(&self) -> usize {
        self.state.lock().expect("gateway state").received
    }

    pub fn last_authorization(&self) -> Option<String> {
        self.state
            .lock()
            .expect("gateway state")
            .accepted
            .last()
            .and_then(|(_, _, auth)| auth.clone())
    }

    /// Waits until `phone` has `count` messages; returns the last.
    pub async fn wait_for_message(
        &self,
        phone: &str,
        count: usize,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages_to(phone);
            if messages.len() >= count {
                return messages.last().cloned();
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
