//! Messages beyond the inbox: a trigger's template picks SMS, e-mail and push with the
//! program's own texts (a text naming an unknown variable is refused); each channel
//! sends one message per trigger through its provider (fakes here, one failing once
//! and recovering: nothing lost, nothing twice); a person's opt-out sends nothing on
//! that channel; quiet hours hold SMS back until they end.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};

#[derive(Default)]
struct Provider {
    /// (path, body) of every request, failed ones too.
    received: Vec<(String, Value)>,
    /// Statuses to answer, in order; 200 once they run out.
    script: VecDeque<u16>,
}

async fn accept(
    state: web::Data<Arc<Mutex<Provider>>>,
    request: actix_web::HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = state.lock().expect("provider");
    state
        .received
        .push((request.path().to_string(), body.into_inner()));
    match state.script.pop_front() {
        Some(status) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
                .finish()
        }
        None => HttpResponse::Ok().json(json!({ "id": "accepted" })),
    }
}

fn start_provider(script: &[u16]) -> (u16, Arc<Mutex<Provider>>) {
    let state = Arc::new(Mutex::new(Provider {
        script: script.iter().copied().collect(),
        ..Provider::default()
    }));
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/email/messages", web::post().to(accept))
            .route("/push/messages", web::post().to(accept))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    (port, state)
}

fn delivered(provider: &Arc<Mutex<Provider>>, path: &str) -> Vec<Value> {
    provider
        .lock()
        .expect("provider")
        .received
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, body)| body.clone())
        .collect()
}

async fn channels_app(port: u16) -> TestApp {
    let app = spawn_app_with(move |settings| {
        settings.email.provider = stimul::config::ProviderKind::Http;
        settings.email.url = Some(format!("http://127.0.0.1:{port}/email"));
        settings.push.provider = stimul::config::ProviderKind::Http;
        settings.push.url = Some(format!("http://127.0.0.1:{port}/push"));
    })
    .await;
    app.load_demo().await;
    app
}

#[actix_web::test]
async fn a_trigger_reaches_each_chosen_channel_once_as_the_person_allows() {
    // The e-mail provider fails once and recovers.
    let (port, provider) = start_provider(&[503]);
    let app = channels_app(port).await;
    let admin = app.login("admin", "demo").await;

    // A template naming a variable the trigger lacks is refused; a good one is kept.
    expect_problem(
        app.put(
            "/api/v1/notification-templates/order_status",
            Some(&admin),
            &json!({ "channels": ["email"], "texts": {
                "ru": { "title": "Заказ {order}", "body": "{status}" },
                "en": { "title": "Order {order_id}", "body": "{status}" } } }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let template = expect_status(
        app.put(
            "/api/v1/notification-templates/order_status",
            Some(&admin),
            &json!({ "channels": ["sms", "email", "push"], "texts": {
                "ru": { "title": "Ваш заказ №{order_id}", "body": "Статус: {status}" },
                "en": { "title": "Your order {order_id}", "body": "Status: {status}" } } }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(template["custom"], true, "{template}");

    // seller1 gives an e-mail address and turns push off.
    let seller = app.login("seller1", "demo").await;
    let seller_id = app.user_id("seller1").await;
    let settings = expect_status(
        app.put(
            "/api/v1/me/notification-settings",
            Some(&seller),
            &json!({ "email_address": "seller1@example.com", "push": false }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&settings["push"], &settings["email_address"]),
        (&json!(false), &json!("seller1@example.com"))
    );
    expect_problem(
        app.put(
            "/api/v1/me/notification-settings",
            Some(&seller),
            &json!({ "email_address": "not-an-address" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    app.award(&admin, seller_id, "100.00").await;
    let order = app
        .order_goods(&admin, &seller, "TEAPOT", "5", "teapot-1")
        .await;
    expect_status(
        app.post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&admin),
            &json!({ "reason": "out of teapots" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Each order_status message: one e-mail (after a failed try), one SMS, no push.
    let messages: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND trigger_kind = 'order_status'",
    )
    .bind(seller_id)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("messages");
    assert!(messages >= 1);
    for _ in 0..200 {
        // One failed try plus one delivered e-mail per message.
        if delivered(&provider, "/email/messages").len() as i64 > messages {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emails = delivered(&provider, "/email/messages");
    assert_eq!(emails.len() as i64, messages + 1, "{emails:?}");
    let cancelled = format!("Ваш заказ №{order}");
    assert!(
        emails
            .iter()
            .any(|e| e["subject"] == cancelled.as_str() && e["text"] == "Статус: отменён"),
        "{emails:?}"
    );
    assert_eq!(emails[0]["to"], "seller1@example.com");
    assert!(
        delivered(&provider, "/push/messages").is_empty(),
        "push is off"
    );
    let sms = app.sms.messages_to("+79002000001");
    assert_eq!(
        sms.iter().filter(|text| text.contains(&cancelled)).count() as i64,
        messages,
        "one SMS per message: {sms:?}"
    );
    assert_eq!(
        sms.iter().filter(|text| text.contains("отменён")).count(),
        1,
        "{sms:?}"
    );

    // Quiet hours around now hold seller2's SMS back; the inbox still gets it.
    let other = app.login("seller2", "demo").await;
    let other_id = app.user_id("seller2").await;
    let now = chrono::DateTime::from_timestamp_millis(app.clock.now_ms())
        .expect("now")
        .with_timezone(&chrono_tz::Europe::Moscow);
    let from = (now - chrono::Duration::hours(1))
        .format("%H:%M")
        .to_string();
    let to = (now + chrono::Duration::hours(1))
        .format("%H:%M")
        .to_string();
    expect_status(
        app.put(
            "/api/v1/me/notification-settings",
            Some(&other),
            &json!({ "quiet_hours": { "from": from, "to": to } }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.award(&admin, other_id, "100.00").await;
    let order = app
        .order_goods(&admin, &other, "KETTLE", "5", "kettle-2")
        .await;
    expect_status(
        app.post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut held = 0;
    for _ in 0..100 {
        held = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'sms' AND payload LIKE '%+79002000002%' AND next_attempt_at > $1",
        )
        .bind(app.clock.now_ms() + 30 * 60 * 1000)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("effects");
        if held > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(held > 0, "the SMS waits for the quiet hours to end");
    assert!(app.sms.messages_to("+79002000002").is_empty());
}
