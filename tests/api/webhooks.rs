//! Outbound webhooks: a subscriber gets each event it asked for as a POST signed in the
//! manner of Standard Webhooks (checked here with the documented algorithm), a failed
//! delivery is retried and then succeeds with both tries in the log, "send again"
//! repeats the message id, and a switched-off subscription gets nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};

/// A request the receiver got: its webhook headers and body.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 once they run out.
    script: VecDeque<u16>,
}

struct Receiver {
    port: u16,
    state: Arc<Mutex<ReceiverState>>,
}

async fn receive(
    state: web::Data<Arc<Mutex<ReceiverState>>>,
    request: HttpRequest,
    body: String,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut state = state.lock().expect("receiver state");
    state.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let status = state.script.pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).finish()
}

impl Receiver {
    fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.iter().copied().collect(),
            ..ReceiverState::default()
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hooks", web::post().to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Receiver { port, state }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().expect("receiver state").received.clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} of {count} requests",
            self.received().len()
        );
    }
}

/// The Standard Webhooks check, written out from the specification.
fn verify(secret: &str, received: &Received) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("a key");
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    received
        .signature
        .split(' ')
        .any(|candidate| candidate == expected)
}

async fn webhooks_app() -> TestApp {
    let app = spawn_app_with(|settings| settings.webhooks.allow_private_urls = true).await;
    app.load_demo().await;
    app
}

#[actix_web::test]
async fn events_are_signed_retried_logged_and_sent_again() {
    let app = webhooks_app().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let receiver = Receiver::start(&[500]);
    let seller_id = app.user_id("seller1").await;
    app.award(&admin, seller_id, "100.00").await;

    let hook = expect_status(
        app.post(
            "/api/v1/webhooks",
            Some(&admin),
            &json!({ "url": receiver.url(), "events": ["order.placed", "order.status_changed"], "description": "ERP" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = hook["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let hook_id = hook["id"].as_i64().expect("id");

    // An order (placed, then moving on): the very first try meets a 500 and is
    // retried under the same message id.
    let order = app
        .order_goods(&admin, &seller, "BOWL", "5", "bowl-1")
        .await;
    let mut retried = None;
    for _ in 0..200 {
        let received = receiver.received();
        if let Some(first) = received.first()
            && received.iter().skip(1).any(|r| r.id == first.id)
        {
            retried = Some(first.id.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retried = retried.expect("the failed message is tried again");
    let received = receiver.received();
    for message in &received {
        assert!(verify(&secret, message), "{message:?}");
        assert!(!verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", message));
    }
    let placed = received
        .iter()
        .find_map(|r| {
            let body: Value = serde_json::from_str(&r.body).ok()?;
            (body["type"] == "order.placed").then_some(body)
        })
        .expect("order.placed arrived");
    assert_eq!(placed["data"]["order_id"], order);

    let path = format!("/api/v1/webhooks/{hook_id}/deliveries");
    let mut first = Value::Null;
    for _ in 0..100 {
        let log = expect_status(app.get(&path, Some(&admin)).await, StatusCode::OK).await;
        if let Some(found) = log["items"]
            .as_array()
            .and_then(|items| items.iter().find(|d| d["message_id"] == retried.as_str()))
            && found["status"] == "delivered"
        {
            first = found.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let statuses: Vec<Value> = first["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!(500), json!(200)],
        "both tries are in the log: {first}"
    );

    // Send again: the same message id once more.
    let delivery = first["id"].as_i64().expect("delivery id");
    let before = receiver.received().len();
    let resent = app
        .post(
            &format!("/api/v1/webhooks/deliveries/{delivery}/resend"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let received = receiver.wait_for(before + 1).await;
    assert!(received[before..].iter().any(|r| r.id == retried));

    // Switched off: nothing more is sent.
    expect_status(
        app.patch(
            &format!("/api/v1/webhooks/{hook_id}"),
            Some(&admin),
            &json!({ "active": false }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = receiver.received().len();
    app.order_goods(&admin, &seller, "CUP", "5", "cup-1").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), settled);

    // Bad subscriptions are refused; participants may not manage them.
    for body in [
        json!({ "url": "ftp://example.org/x", "events": ["order.placed"] }),
        json!({ "url": receiver.url(), "events": ["order.eaten"] }),
        json!({ "url": receiver.url(), "events": [] }),
    ] {
        expect_problem(
            app.post("/api/v1/webhooks", Some(&admin), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    expect_problem(
        app.get("/api/v1/webhooks", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(app.audited("webhook.write").await, 2);
}
