//! The in-app inbox: a trigger's message written once with the change that causes it,
//! pushed live as `notification`, listed newest first in the reader's language, marked
//! read; a burst of credits announced by one coalesced message.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app_with};

async fn notifications_app() -> TestApp {
    let app = spawn_app_with(|settings| {
        settings.notifications.digest_every_ms = 100;
        settings.notifications.digest_quiet_ms = 60_000;
    })
    .await;
    app.load_demo().await;
    app
}

async fn inbox(app: &TestApp, token: &str, lang: &str) -> Value {
    expect_status(
        app.get(
            &format!("/api/v1/me/notifications?lang={lang}"),
            Some(token),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

/// The inbox once it holds a message of `trigger`.
async fn inbox_with(app: &TestApp, token: &str, trigger: &str) -> Value {
    for _ in 0..100 {
        let inbox = inbox(app, token, "ru").await;
        let found = inbox["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item["trigger"] == trigger));
        if found {
            return inbox;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {trigger} message arrived");
}

#[actix_web::test]
async fn a_burst_of_credits_is_one_message_and_an_order_change_is_pushed_and_listed() {
    let app = notifications_app().await;
    let admin = app.login("admin", "demo").await;
    let token = app.login("seller1", "demo").await;
    let seller = app.user_id("seller1").await;
    let mut ws = app.ws(&token).await;
    ws.subscribe("me").await;

    for _ in 0..50 {
        app.award(&admin, seller, "1.00").await;
    }
    // Credits younger than the quiet minute wait: the burst is still going on.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let credited = |inbox: &Value| -> Vec<Value> {
        inbox["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|item| item["trigger"] == "points_credited")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(credited(&inbox(&app, &token, "ru").await).is_empty());
    app.clock.advance(Duration::from_secs(120));
    let listed = inbox_with(&app, &token, "points_credited").await;
    let items = credited(&listed);
    assert_eq!(items.len(), 1, "one message for the burst: {listed}");
    assert_eq!(items[0]["data"]["credits"], "50");
    assert_eq!(items[0]["data"]["amount"], "50.00");
    assert_eq!(items[0]["title"], "Начислены баллы: 50.00");
    let pushed = loop {
        let pushed = ws.next_event("notification").await;
        if pushed["data"]["trigger"] == "points_credited" {
            break pushed;
        }
    };
    assert_eq!(
        pushed["data"]["texts"]["en"]["title"],
        "Points credited: 50.00"
    );
    // Later looks find nothing new to announce.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(credited(&inbox(&app, &token, "ru").await).len(), 1);

    // An order cancelled by staff: one message, in the reader's language.
    let order = app.order_goods(&admin, &token, "LAMP", "5", "lamp-1").await;
    expect_status(
        app.post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&admin),
            &json!({ "reason": "out of lamps" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    inbox_with(&app, &token, "order_status").await;
    let english = inbox(&app, &token, "en").await;
    let cancelled = english["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|item| item["data"]["status"] == "cancelled")
        })
        .expect("the cancellation");
    assert_eq!(cancelled["title"], format!("Order {order}: cancelled"));
    let russian = inbox(&app, &token, "ru").await;
    assert!(
        russian["items"].as_array().is_some_and(|items| items
            .iter()
            .any(|i| i["title"] == format!("Заказ №{order}: отменён"))),
        "{russian}"
    );

    // Marked read, once or twice.
    let first = cancelled["id"].as_i64().expect("id");
    let unread = expect_status(
        app.post(
            "/api/v1/me/notifications/read",
            Some(&token),
            &json!({ "ids": [first] }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let before = russian["unread"].as_i64().expect("unread");
    assert_eq!(unread["unread"], before - 1);
    let all = expect_status(
        app.post("/api/v1/me/notifications/read", Some(&token), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["unread"], 0);
    expect_problem(
        app.get("/api/v1/me/notifications?lang=de", Some(&token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Another person sees none of it.
    let other = app.login("seller2", "demo").await;
    let theirs = inbox(&app, &other, "ru").await;
    assert!(
        theirs["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["trigger"] != "order_status")),
        "{theirs}"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn reaching_a_new_level_puts_one_message_in_the_inbox() {
    let app = notifications_app().await;
    let admin = app.login("admin", "demo").await;
    expect_status(
        app.patch(
            "/api/v1/program",
            Some(&admin),
            &json!({ "levels": [
                { "name": "Bronze", "multiplier": "1" },
                { "name": "Silver", "min_lifetime_points": "100.00", "multiplier": "1.1" }
            ] }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let token = app.login("seller3", "demo").await;
    let seller = app.user_id("seller3").await;
    app.award(&admin, seller, "60.00").await;
    app.award(&admin, seller, "60.00").await; // crosses 100: Silver
    app.award(&admin, seller, "60.00").await; // still Silver: nothing more
    let listed = inbox_with(&app, &token, "level_up").await;
    let ups: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["trigger"] == "level_up")
        .collect();
    assert_eq!(ups.len(), 1, "{listed}");
    assert_eq!(ups[0]["title"], "Новый уровень: Silver");
    let english = inbox(&app, &token, "en").await;
    assert!(
        english["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["title"] == "New level: Silver")),
        "{english}"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_new_task_is_announced_to_its_audience_only_once() {
    let app = notifications_app().await;
    let admin = app.login("admin", "demo").await;
    let task = expect_status(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Фото витрины", "points": "15.00", "audience": { "roles": ["owner"] },
                     "spec": { "kind": "stock_check", "product": "AquaLine mixer 40 mm" } }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let owner = app.login("owner1", "demo").await;
    let listed = inbox_with(&app, &owner, "new_task").await;
    let ours = |inbox: &Value| -> usize {
        inbox["items"].as_array().map_or(0, |items| {
            items
                .iter()
                .filter(|item| item["title"] == "Новое задание: Фото витрины")
                .count()
        })
    };
    let mut listed = listed;
    for _ in 0..100 {
        if ours(&listed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = inbox(&app, &owner, "ru").await;
    }
    assert_eq!(ours(&listed), 1, "{listed}");
    // Switched off and on again: no second announcement; sellers hear nothing.
    let path = format!("/api/v1/tasks/{}", task["id"]);
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "active": false }))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_status(
        app.patch(&path, Some(&admin), &json!({ "active": true }))
            .await,
        StatusCode::OK,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ours(&inbox(&app, &owner, "ru").await), 1);
    let seller = app.login("seller1", "demo").await;
    assert_eq!(ours(&inbox(&app, &seller, "ru").await), 0);

    // A quest opens the same way.
    expect_status(
        app.post(
            "/api/v1/quests",
            Some(&admin),
            &json!({ "title": "Витрина недели", "kind": "chain", "task_ids": [task["id"]],
                     "bonus": "50.00", "audience": { "roles": ["owner"] } }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let quest_message = |inbox: &Value| -> usize {
        inbox["items"].as_array().map_or(0, |items| {
            items
                .iter()
                .filter(|item| item["title"] == "Новое задание: Витрина недели")
                .count()
        })
    };
    let mut found = 0;
    for _ in 0..100 {
        found = quest_message(&inbox(&app, &owner, "ru").await);
        if found > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found, 1);
    assert_eq!(quest_message(&inbox(&app, &seller, "ru").await), 0);
}
