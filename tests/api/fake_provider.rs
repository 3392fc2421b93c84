//! A local stand-in for the rewards provider: buys once per idempotency key, like a
//! real one, and can be told to fail, stall, refuse, answer garbage or keep an order
//! processing, so the server's timeouts, retries and bad answers are exercised.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// How the provider answers the next request.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Behaviour {
    /// 500.
    Fail,
    /// 400: the order itself is refused.
    Refuse,
    /// Waits this long before answering (past the client's timeout), having bought.
    Stall(Duration),
    /// 200 with a body that is not the expected JSON.
    Garbage,
    /// Accepts, and reports `processing` until told otherwise.
    Processing,
    /// 200 `failed` with a reason.
    Declined,
}

#[derive(Default)]
struct ProviderState {
    /// Order lines bought, by our id (the idempotency key).
    purchases: HashMap<String, usize>,
    /// Requests received in total.
    received: usize,
    /// Ids kept processing.
    processing: Vec<String>,
    script: VecDeque<Behaviour>,
    /// Card numbers received for tokens.
    cards: Vec<String>,
    /// Card payments asked, by our id: (amount, status).
    payments: HashMap<String, (String, String)>,
    /// Refunds made, by payment id (once per idempotency key, like a real one).
    refunds: HashMap<String, usize>,
    /// Top-ups asked: (our id, phone, amount).
    topups: Vec<(String, String, String)>,
}

#[derive(Clone)]
pub struct FakeProvider {
    port: u16,
    state: Arc<Mutex<ProviderState>>,
}

/// The request's `Idempotency-Key` (empty when missing).
fn idempotency_key(request: &HttpRequest) -> String {
    request
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn done(id: &str) -> Value {
    json!({ "id": id, "status": "done", "reference": format!("ref-{id}"), "code": format!("CODE-{id}"), "pin": "4321" })
}

async fn place(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let id = idempotency_key(&request);
    let behaviour = {
        let mut state = state.lock().expect("provider state");
        state.received += 1;
        state.script.pop_front()
    };
    if body["id"].as_str() != Some(id.as_str()) {
        return HttpResponse::BadRequest()
            .json(json!({"error": "the idempotency key is not the order id"}));
    }
    if request.path() == "/topups" {
        let mut state = state.lock().expect("provider state");
        let asked = (
            id.clone(),
            body["phone"].as_str().unwrap_or_default().to_string(),
            body["amount"].as_str().unwrap_or_default().to_string(),
        );
        if !state.topups.contains(&asked) {
            state.topups.push(asked);
        }
    }
    match behaviour {
        Some(Behaviour::Fail) => return HttpResponse::InternalServerError().body("upstream down"),
        Some(Behaviour::Refuse) => {
            return HttpResponse::BadRequest().json(json!({"error": "unknown network"}));
        }
        Some(Behaviour::Garbage) => return HttpResponse::Ok().body("<html>maintenance</html>"),
        Some(Behaviour::Declined) => {
            return HttpResponse::Ok()
                .json(json!({ "id": id, "status": "failed", "reason": "out of certificates" }));
        }
        _ => {}
    }
    let answer = {
        let mut state = state.lock().expect("provider state");
        // Bought once per key, however often asked: what a real provider promises.
        state.purchases.entry(id.clone()).or_insert(1);
        if matches!(behaviour, Some(Behaviour::Processing)) {
            state.processing.push(id.clone());
        }
        if state.processing.contains(&id) {
            json!({ "id": id, "status": "processing", "reference": format!("ref-{id}") })
        } else {
            done(&id)
        }
    };
    if let Some(Behaviour::Stall(delay)) = behaviour {
        tokio::time::sleep(delay).await;
    }
    HttpResponse::Ok().json(answer)
}

async fn status(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    id: web::Path<String>,
) -> HttpResponse {
    let mut state = state.lock().expect("provider state");
    state.received += 1;
    let id = id.into_inner();
    if !state.purchases.contains_key(&id) {
        return HttpResponse::NotFound().json(json!({"error": "no such order"}));
    }
    if state.processing.contains(&id) {
        HttpResponse::Ok()
            .json(json!({ "id": id, "status": "processing", "reference": format!("ref-{id}") }))
    } else {
        HttpResponse::Ok().json(done(&id))
    }
}

/// Card numbers it was given (the test checks they never come back from the server).
async fn tokenize(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    body: web::Json<Value>,
) -> HttpResponse {
    let number = body["number"].as_str().unwrap_or_default().to_string();
    let mut state = state.lock().expect("provider state");
    state.received += 1;
    state.cards.push(number.clone());
    HttpResponse::Ok().json(json!({ "token": format!("tok-{}", state.cards.len()) }))
}

async fn pay(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let id = idempotency_key(&request);
    let behaviour = {
        let mut state = state.lock().expect("provider state");
        state.received += 1;
        state.script.pop_front()
    };
    if body["id"].as_str() != Some(id.as_str()) || body["token"].as_str().is_none() {
        return HttpResponse::BadRequest().json(json!({"error": "bad payout request"}));
    }
    match behaviour {
        Some(Behaviour::Fail) => return HttpResponse::InternalServerError().body("bank down"),
        Some(Behaviour::Declined) => {
            return HttpResponse::Ok()
                .json(json!({ "id": id, "status": "failed", "reason": "card blocked" }));
        }
        _ => {}
    }
    state
        .lock()
        .expect("provider state")
        .purchases
        .entry(id.clone())
        .or_insert(1);
    HttpResponse::Ok()
        .json(json!({ "id": id, "status": "done", "reference": format!("bank-{id}") }))
}

fn payment_answer(id: &str, amount: &str, status: &str) -> Value {
    json!({ "id": id, "status": status, "amount": amount, "reference": format!("pay-{id}"),
            "confirmation_url": format!("https://pay.example/{id}") })
}

async fn create_payment(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let id = idempotency_key(&request);
    let mut state = state.lock().expect("provider state");
    state.received += 1;
    let behaviour = state.script.pop_front();
    let amount = body["amount"].as_str().unwrap_or_default().to_string();
    if body["id"].as_str() != Some(id.as_str()) || amount.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": "bad payment request"}));
    }
    match behaviour {
        Some(Behaviour::Fail) => return HttpResponse::InternalServerError().body("acquirer down"),
        Some(Behaviour::Garbage) => return HttpResponse::Ok().body("<html>maintenance</html>"),
        Some(Behaviour::Refuse) => {
            return HttpResponse::BadRequest().json(json!({"error": "merchant blocked"}));
        }
        _ => {}
    }
    let (amount, status) = state
        .payments
        .entry(id.clone())
        .or_insert((amount, "pending".into()))
        .clone();
    HttpResponse::Ok().json(payment_answer(&id, &amount, &status))
}

async fn payment_status(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    id: web::Path<String>,
) -> HttpResponse {
    let mut state = state.lock().expect("provider state");
    state.received += 1;
    match state.payments.get(id.as_str()) {
        Some((amount, status)) => HttpResponse::Ok().json(payment_answer(&id, amount, status)),
        None => HttpResponse::NotFound().json(json!({"error": "no such payment"})),
    }
}

async fn refund_payment(
    state: web::Data<Arc<Mutex<ProviderState>>>,
    request: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let key = idempotency_key(&request);
    let mut state = state.lock().expect("provider state");
    state.received += 1;
    if key != format!("refund-{id}") {
        return HttpResponse::BadRequest().json(json!({"error": "bad refund key"}));
    }
    match state.payments.get(id.as_str()) {
        Some((_, status)) if status == "succeeded" => {
            *state.refunds.entry(id.into_inner()).or_insert(0) = 1;
            HttpResponse::Ok().json(json!({ "status": "refunded" }))
        }
        _ => HttpResponse::BadRequest().json(json!({"error": "nothing was paid"})),
    }
}

impl FakeProvider {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(ProviderState::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/orders", web::post().to(place))
                .route("/orders/{id}", web::get().to(status))
                .route("/cards", web::post().to(tokenize))
                .route("/payouts", web::post().to(pay))
                .route("/payouts/{id}", web::get().to(status))
                .route("/topups", web::post().to(place))
                .route("/topups/{id}", web::get().to(status))
                .route("/payments", web::post().to(create_payment))
                .route("/payments/{id}", web::get().to(payment_status))
                .route("/payments/{id}/refund", web::post().to(refund_payment))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind fake provider");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points every HTTP provider of `settings` (rewards, top-ups, payouts, card
    /// payments) at this fake, with a short timeout so slow answers are tried again.
    pub fn serve(&self, settings: &mut stimul::config::Settings) {
        use stimul::config::ProviderKind::Http;
        let url = Some(self.url());
        settings.rewards.provider = Http;
        settings.rewards.url = url.clone();
        settings.rewards.timeout_ms = 500;
        settings.topups.provider = Http;
        settings.topups.url = url.clone();
        settings.topups.timeout_ms = 500;
        settings.payouts.provider = Http;
        settings.payouts.url = url.clone();
        settings.payouts.timeout_ms = 500;
        settings.payments.provider = Http;
        settings.payments.url = url;
        settings.payments.timeout_ms = 500;
    }

    /// Queues behaviours for the next order requests (then it answers normally).
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.state
            .lock()
            .expect("provider state")
            .script
            .extend(behaviours);
    }

    /// Order lines bought, each once.
    pub fn purchases(&self) -> usize {
        self.state.lock().expect("provider state").purchases.len()
    }

    /// Card numbers the provider was given.
    pub fn cards(&self) -> Vec<String> {
        self.state.lock().expect("provider state").cards.clone()
    }

    /// The buyer pays (or, with `"failed"`, is declined) on the payment page.
    pub fn settle_payment(&self, id: &str, status: &str) {
        if let Some(payment) = self
            .state
            .lock()
            .expect("provider state")
            .payments
            .get_mut(id)
        {
            payment.1 = status.into();
        }
    }

    /// Top-ups asked: (our id, phone, amount), each once.
    pub fn topups(&self) -> Vec<(String, String, String)> {
        self.state.lock().expect("provider state").topups.clone()
    }

    /// Card payments asked (each once, however often asked).
    pub fn payments(&self) -> usize {
        self.state.lock().expect("provider state").payments.len()
    }

    /// Refunds of the payment `id`.
    pub fn refunds(&self, id: &str) -> usize {
        self.state
            .lock()
            .expect("provider state")
            .refunds
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub fn received(&self) -> usize {
        self.state.lock().expect("provider state").received
    }
}
