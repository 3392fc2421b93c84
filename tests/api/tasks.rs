//! Tasks and quests end to end: every kind from creation to credit, quizzes and their
//! attempts, moderation with rework, recurrence in the program's time zone, quests and
//! streaks, audiences, trust, and bad input. Every test ends with the ledger sound.

use std::time::Duration;

use chrono::Timelike;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app};
use crate::ws_client::WsClient;

/// Creates a task as `token`; returns it.
async fn create_task(app: &TestApp, token: &str, body: Value) -> Value {
    expect_status(
        app.post("/api/v1/tasks", Some(token), &body).await,
        StatusCode::CREATED,
    )
    .await
}

fn task_id(task: &Value) -> i64 {
    task["id"].as_i64().expect("task id")
}

async fn submit(app: &TestApp, token: &str, task: i64, body: Value) -> reqwest::Response {
    app.post(
        &format!("/api/v1/tasks/{task}/submissions"),
        Some(token),
        &body,
    )
    .await
}

async fn submitted(app: &TestApp, token: &str, task: i64, body: Value) -> Value {
    expect_status(submit(app, token, task, body).await, StatusCode::CREATED).await
}

/// A well-formed product code (the `n`-th of the code space).
fn code(n: u64) -> String {
    stimul_actors::rules::codes::ProductCode::from_value(n)
        .expect("a value in the code space")
        .as_str()
        .to_string()
}

fn photo(n: u32) -> Vec<u8> {
    crate::helpers::test_photo(n)
}

/// Submits as multipart: a `data` JSON part and `photos` parts.
async fn submit_with_photos(
    app: &TestApp,
    token: &str,
    task: i64,
    data: &Value,
    photos: &[Vec<u8>],
) -> reqwest::Response {
    app.post_multipart(
        &format!("/api/v1/tasks/{task}/submissions"),
        token,
        data,
        "photos",
        photos,
    )
    .await
}

async fn my_tasks(app: &TestApp, token: &str) -> Value {
    expect_status(
        app.get("/api/v1/me/tasks", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

/// The entry of `task` in the caller's `listMyTasks`, if they see it.
async fn my_task(app: &TestApp, token: &str, task: i64) -> Option<Value> {
    my_tasks(app, token).await["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["task"]["id"] == task)
        .cloned()
}

async fn balance(app: &TestApp, admin: &str, user: i64) -> (String, String) {
    let standing = app.standing(admin, user).await;
    (
        standing["balance"]["available"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        standing["balance"]["pending"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// A seller's WebSocket subscribed to `me`, past the snapshot.
async fn me_socket(app: &TestApp, token: &str) -> WsClient {
    let mut ws = app.ws(token).await;
    ws.subscribe("me").await;
    ws.next_of("snapshot").await;
    ws
}

/// Takes the next task submission off the queue over HTTP as the moderator.
async fn take_submission(app: &TestApp, moderator: &str) -> Value {
    expect_status(
        app.post(
            "/api/v1/moderation/next",
            Some(moderator),
            &json!({ "kinds": ["task_submission"] }),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn decide(app: &TestApp, moderator: &str, item: i64, decision: Value) -> Value {
    expect_status(
        app.post(
            &format!("/api/v1/moderation/items/{item}/decision"),
            Some(moderator),
            &decision,
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.state.db.pool)
        .await
        .expect("query runs")
}

async fn demo_task(app: &TestApp, title: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM tasks WHERE title = $1")
        .bind(title)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("demo task exists")
}

#[actix_web::test]
async fn self_scoring_tasks_credit_at_once_and_are_pushed() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let token = app.login("seller1", "demo").await;
    let seller = app.user_id("seller1").await;
    let owner = app.user_id("owner1").await;
    let mut ws = me_socket(&app, &token).await;

    let stock = create_task(
        &app,
        &admin,
        json!({ "title": "Is the 40 mm mixer in stock?", "spec": { "kind": "stock_check", "product": "AquaLine mixer 40 mm" }, "points": "5.00" }),
    )
    .await;
    assert_eq!(
        (
            stock["kind"].as_str(),
            stock["requires_moderation"].as_bool()
        ),
        (Some("stock_check"), Some(false))
    );
    let scanned = stimul_actors::rules::codes::ProductCode::from_value(7)
        .expect("a code")
        .qr_payload();
    let answer = submitted(&app, &token, task_id(&stock), json!({ "code": scanned })).await;
    assert_eq!(answer["status"], "approved");
    assert_eq!(answer["answers"]["code"], code(7));
    assert_eq!(answer["credited"], "5.00");
    assert!(answer["transaction_id"].as_i64().is_some());
    let pushed = ws.next_event("task_submission").await;
    assert_eq!(pushed["data"]["id"], answer["id"]);
    assert_eq!(pushed["data"]["status"], "approved");

    let survey = create_task(
        &app,
        &admin,
        json!({ "title": "How busy is the store?", "points": "3.00", "spec": { "kind": "survey", "questions": [
            { "text": "Visitors today?", "options": ["Few", "Many"] },
            { "text": "What do they ask for?" }
        ] } }),
    )
    .await;
    let answer = submitted(
        &app,
        &token,
        task_id(&survey),
        json!({ "answers": [{ "options": [1] }, { "text": "Quiet mixers" }] }),
    )
    .await;
    assert_eq!(
        (
            answer["status"].as_str(),
            answer["answers"]["answers"][1]["text"].as_str()
        ),
        (Some("approved"), Some("Quiet mixers"))
    );

    let training = create_task(
        &app,
        &admin,
        json!({ "title": "Mixers 101", "points": "12.00", "spec": { "kind": "training", "course": "Mixers 101", "url": "https://learn.example/mixers" } }),
    )
    .await;
    submitted(
        &app,
        &token,
        task_id(&training),
        json!({ "completed": true }),
    )
    .await;

    // 5 + 3 + 12 at level 1 (×1); the owner gets 5 % of each.
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("20.00".into(), "0.00".into())
    );
    assert_eq!(balance(&app, &admin, owner).await.0, "1.00");
    let standing = app.standing(&admin, seller).await;
    assert_eq!(standing["completed_tasks"], 3);
    let reasons = scalar(
        &app,
        "SELECT COUNT(*) FROM ledger_transactions WHERE reason = 'task' AND source_type = 'submission'",
    )
    .await;
    assert_eq!(reasons, 3);
    // Each is done once (the default) and shows so.
    let listed = my_task(&app, &token, task_id(&training))
        .await
        .expect("listed");
    assert_eq!(listed["state"], "completed");
    assert_eq!(listed["usage"]["completed"], 1);
    expect_problem(
        submit(
            &app,
            &token,
            task_id(&training),
            json!({ "completed": true }),
        )
        .await,
        StatusCode::CONFLICT,
        "completion_limit_reached",
    )
    .await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_sales_plan_pays_once_the_ledger_shows_it_met() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let token = app.login("seller2", "demo").await;
    let seller = app.user_id("seller2").await;
    let plan = create_task(
        &app,
        &admin,
        json!({ "title": "Sell 2 this week", "recurrence": "weekly", "points": "50.00",
                "spec": { "kind": "sales_plan", "target_quantity": 2, "target_amount": "15.00" } }),
    )
    .await;
    let id = task_id(&plan);
    expect_problem(
        submit(&app, &token, id, json!({})).await,
        StatusCode::CONFLICT,
        "plan_not_met",
    )
    .await;
    assert_eq!(app.count("task_submissions").await, 0);

    // Sales income (reason `code`) counts; other income does not.
    for (reason, amount) in [("code", "10.00"), ("award", "100.00"), ("code", "6.00")] {
        expect_status(
            app.post(
                &format!("/api/v1/participants/{seller}/awards"),
                Some(&admin),
                &json!({ "amount": amount, "comment": "sale", "reason": reason }),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let listed = my_task(&app, &token, id).await.expect("listed");
    assert_eq!(listed["plan"], json!({ "quantity": 2, "amount": "16.00" }));
    let answer = submitted(&app, &token, id, json!({})).await;
    assert_eq!(answer["status"], "approved");
    assert_eq!(answer["answers"]["progress"]["quantity"], 2);
    assert_eq!(balance(&app, &admin, seller).await.0, "166.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn photo_tasks_hold_points_until_a_moderator_approves_them_live() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let token = app.login("seller3", "demo").await;
    let seller = app.user_id("seller3").await;
    let owner = app.user_id("owner1").await;
    let moderator = app.login("moderator", "demo").await;
    let mut moderation = app.ws(&moderator).await;
    moderation
        .send(json!({ "type": "subscribe", "topic": "moderation", "capacity": 5 }))
        .await;
    moderation.next_of("snapshot").await;
    let mut me = me_socket(&app, &token).await;

    let audit = create_task(
        &app,
        &admin,
        json!({ "title": "Store self-audit", "points": "40.00",
                "spec": { "kind": "self_audit", "checklist": ["Stand is clean", "Catalogues in place"], "min_photos": 2 } }),
    )
    .await;
    assert_eq!(audit["requires_moderation"], true);
    let photos = [photo(1), photo(2)];
    let answer = expect_status(
        submit_with_photos(
            &app,
            &token,
            task_id(&audit),
            &json!({ "checklist": [true, false], "comment": "Catalogues are coming" }),
            &photos,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(answer["status"], "pending");
    assert_eq!(
        me.next_event("task_submission").await["data"]["status"],
        "pending"
    );
    assert_eq!(answer["photos"].as_array().map(Vec::len), Some(2));
    assert!(answer["hold_transaction_id"].as_i64().is_some());
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("0.00".into(), "40.00".into())
    );
    assert_eq!(
        my_task(&app, &token, task_id(&audit))
            .await
            .expect("listed")["state"],
        "pending"
    );

    let assigned = moderation.next_event("item_assigned").await;
    let item = &assigned["data"];
    assert_eq!(
        (item["kind"].as_str(), item["subject_id"].as_i64()),
        (Some("task_submission"), answer["id"].as_i64())
    );
    assert_eq!(item["summary"]["task"]["title"], "Store self-audit");
    assert_eq!(item["summary"]["photos"], answer["photos"]);
    assert_eq!(
        item["summary"]["answers"]["comment"],
        "Catalogues are coming"
    );
    let sha = item["summary"]["photos"][0].as_str().expect("sha");
    let photo_seen = app
        .get(&format!("/api/v1/photos/{sha}"), Some(&moderator))
        .await;
    assert_eq!(photo_seen.status(), StatusCode::OK);

    moderation
        .send(json!({ "type": "decide", "item_id": item["id"], "decision": "approve" }))
        .await;
    assert_eq!(moderation.next_of("decided").await["effect"], "applied");
    let pushed = me.next_event("task_submission").await;
    assert_eq!(pushed["data"]["status"], "approved");
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("40.00".into(), "0.00".into())
    );
    assert_eq!(balance(&app, &admin, owner).await.0, "2.00");
    assert_eq!(app.standing(&admin, seller).await["completed_tasks"], 1);

    // A price report is moderated by default; a rejection returns the points.
    let prices = create_task(
        &app,
        &admin,
        json!({ "title": "Rival prices", "points": "8.00",
                "spec": { "kind": "price_report", "products": ["Rival mixer", "Rival siphon"] } }),
    )
    .await;
    let answer = submitted(
        &app,
        &token,
        task_id(&prices),
        json!({ "prices": [{ "price": "349.90" }, { "price": null }] }),
    )
    .await;
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["answers"]["prices"][0]["price"], "349.90");
    me.next_event("task_submission").await;
    let item = moderation.next_event("item_assigned").await["data"]["id"].clone();
    moderation
        .send(json!({ "type": "decide", "item_id": item, "decision": "reject", "reason": "not_eligible" }))
        .await;
    moderation.next_of("decided").await;
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("40.00".into(), "0.00".into())
    );
    let rejected = me.next_event("task_submission").await;
    assert_eq!(
        (
            rejected["data"]["status"].as_str(),
            rejected["data"]["decision_reason"].as_str()
        ),
        (Some("rejected"), Some("not_eligible"))
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_quiz_fails_on_wrong_answers_passes_on_right_ones_and_limits_attempts() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let quiz = demo_task(&app, "Quiz: AquaLine mixers").await;
    let detail = expect_status(
        app.get(&format!("/api/v1/tasks/{quiz}"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["spec"]["questions"][1]["correct"], json!([2]));
    // Three attempts (the demo quiz's limit) but one completion.
    let token = app.login("seller4", "demo").await;
    let seller = app.user_id("seller4").await;
    let shown = my_task(&app, &token, quiz)
        .await
        .expect("the demo quiz is listed");
    assert!(
        shown["task"]["spec"]["questions"][0]
            .get("correct")
            .is_none(),
        "sellers never see the right answers: {shown}"
    );
    assert_eq!(shown["attempts_left"], 3);

    let wrong =
        json!({ "answers": [{ "options": [1] }, { "options": [0] }, { "options": [0, 2] }] });
    let answer = submitted(&app, &token, quiz, wrong.clone()).await;
    assert_eq!(
        (
            answer["status"].as_str(),
            answer["score"].as_i64(),
            answer["max_score"].as_i64()
        ),
        (Some("failed"), Some(1), Some(3))
    );
    assert_eq!(answer["credited"], Value::Null);
    submitted(&app, &token, quiz, wrong.clone()).await;
    let listed = my_task(&app, &token, quiz).await.expect("listed");
    assert_eq!(
        (listed["state"].as_str(), listed["attempts_left"].as_i64()),
        (Some("available"), Some(1))
    );

    // A multiple-choice question needs exactly its right options.
    let almost = json!({ "answers": [{ "options": [0] }, { "options": [0] }, { "options": [0] }] });
    let answer = submitted(&app, &token, quiz, almost).await;
    assert_eq!(
        (answer["status"].as_str(), answer["score"].as_i64()),
        (Some("failed"), Some(1))
    );
    expect_problem(
        submit(&app, &token, quiz, wrong).await,
        StatusCode::CONFLICT,
        "attempts_exhausted",
    )
    .await;
    assert_eq!(
        my_task(&app, &token, quiz).await.expect("listed")["state"],
        "exhausted"
    );
    assert_eq!(balance(&app, &admin, seller).await.0, "0.00");

    let right =
        json!({ "answers": [{ "options": [0] }, { "options": [2] }, { "options": [2, 0] }] });
    let other = app.login("seller5", "demo").await;
    let answer = submitted(&app, &other, quiz, right.clone()).await;
    assert_eq!(
        (
            answer["status"].as_str(),
            answer["score"].as_i64(),
            answer["credited"].as_str()
        ),
        (Some("approved"), Some(3), Some("20.00"))
    );
    expect_problem(
        submit(&app, &other, quiz, right).await,
        StatusCode::CONFLICT,
        "completion_limit_reached",
    )
    .await;
    assert_eq!(
        balance(&app, &admin, app.user_id("seller5").await).await.0,
        "20.00"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn concurrent_attempts_never_exceed_the_limit() {
    let app = spawn_app().await;
    app.load_demo().await;
    let quiz = demo_task(&app, "Quiz: AquaLine mixers").await;
    let token = app.login("seller15", "demo").await;
    let wrong = json!({ "answers": [{ "options": [1] }, { "options": [0] }, { "options": [1] }] });
    let statuses = join_all((0..6).map(|_| {
        let (app, token, wrong) = (&app, &token, wrong.clone());
        async move { submit(app, token, quiz, wrong).await.status() }
    }))
    .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(app.count("task_submissions").await, 3);
}

#[actix_web::test]
async fn rework_returns_with_the_comment_and_the_fix_is_moderated_again() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let moderator = app.login("moderator", "demo").await;
    let token = app.login("seller6", "demo").await;
    let seller = app.user_id("seller6").await;
    let shelf = demo_task(&app, "Photograph the AquaLine shelf").await;
    let mut me = me_socket(&app, &token).await;

    // Photos are required.
    expect_problem(
        submit(&app, &token, shelf, json!({ "checklist": [true, true] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let first = expect_status(
        submit_with_photos(
            &app,
            &token,
            shelf,
            &json!({ "checklist": [true, false] }),
            &[photo(10)],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["status"], "pending");
    me.next_event("task_submission").await;
    let item = take_submission(&app, &moderator).await;
    assert_eq!(item["subject_id"], first["id"]);
    let decided = decide(
        &app,
        &moderator,
        item["id"].as_i64().expect("item"),
        json!({ "decision": "rework", "comment": "The price tags are cut off; step back a little" }),
    )
    .await;
    assert_eq!(decided["effect"], "applied");
    let pushed = me.next_event("task_submission").await;
    assert_eq!(
        (
            pushed["data"]["status"].as_str(),
            pushed["data"]["decision_comment"].as_str()
        ),
        (
            Some("rework"),
            Some("The price tags are cut off; step back a little")
        )
    );
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("0.00".into(), "0.00".into()),
        "the hold is cancelled"
    );
    let listed = my_task(&app, &token, shelf).await.expect("listed");
    assert_eq!(listed["state"], "rework");
    assert_eq!(
        listed["last_submission"]["decision_comment"],
        "The price tags are cut off; step back a little"
    );

    let fix = expect_status(
        submit_with_photos(
            &app,
            &token,
            shelf,
            &json!({ "checklist": [true, true] }),
            &[photo(11)],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            fix["status"].as_str(),
            fix["resubmission_of"].as_i64(),
            fix["attempt"].as_i64()
        ),
        (Some("pending"), first["id"].as_i64(), Some(1))
    );
    let item = take_submission(&app, &moderator).await;
    assert_eq!(item["subject_id"], fix["id"]);
    assert_eq!(
        item["summary"]["previous_comment"],
        "The price tags are cut off; step back a little"
    );
    decide(
        &app,
        &moderator,
        item["id"].as_i64().expect("item"),
        json!({ "decision": "approve" }),
    )
    .await;
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("30.00".into(), "0.00".into())
    );

    let history = expect_status(
        app.get(
            &format!("/api/v1/me/submissions?task_id={shelf}"),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<&str> = history["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert_eq!(statuses, ["approved", "resubmitted"], "newest first");
    let staff_view = expect_status(
        app.get(&format!("/api/v1/tasks/{shelf}/submissions"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        staff_view["items"][0]["decision_comment"],
        "The price tags are cut off; step back a little"
    );
    // The daily shelf photo is done for today.
    expect_problem(
        submit_with_photos(
            &app,
            &token,
            shelf,
            &json!({ "checklist": [true, true] }),
            &[photo(12)],
        )
        .await,
        StatusCode::CONFLICT,
        "completion_limit_reached",
    )
    .await;
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_daily_task_starts_over_at_midnight_in_the_programs_time_zone() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    expect_status(
        app.patch(
            "/api/v1/program",
            Some(&admin),
            &json!({ "timezone": "Asia/Vladivostok" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let daily = create_task(
        &app,
        &admin,
        json!({ "title": "Daily check-in", "recurrence": "daily", "points": "1.00",
                "spec": { "kind": "training", "course": "Morning briefing" } }),
    )
    .await;
    let id = task_id(&daily);
    let token = app.login("seller7", "demo").await;
    let listed = my_task(&app, &token, id).await.expect("listed");
    let end = listed["period"]["end_ms"]
        .as_i64()
        .expect("a daily period ends");
    let local = chrono::DateTime::from_timestamp_millis(end)
        .expect("a moment")
        .with_timezone(&chrono_tz::Asia::Vladivostok);
    assert_eq!((local.hour(), local.minute()), (0, 0), "{local}");

    // A minute before local midnight: done once, then done for the day.
    let now = app.clock.now_ms();
    app.clock
        .advance(Duration::from_millis((end - 60_000 - now).max(0) as u64));
    let first = submitted(&app, &token, id, json!({ "completed": true })).await;
    expect_problem(
        submit(&app, &token, id, json!({ "completed": true })).await,
        StatusCode::CONFLICT,
        "completion_limit_reached",
    )
    .await;
    assert_eq!(
        my_task(&app, &token, id).await.expect("listed")["state"],
        "completed"
    );

    // Two minutes later it is a new day there.
    app.clock.advance(Duration::from_secs(120));
    let listed = my_task(&app, &token, id).await.expect("listed");
    assert_eq!(listed["state"], "available");
    assert_eq!(listed["period"]["start_ms"], end);
    let second = submitted(&app, &token, id, json!({ "completed": true })).await;
    assert_ne!(first["period_key"], second["period_key"]);
    assert_eq!(
        balance(&app, &admin, app.user_id("seller7").await).await.0,
        "2.00"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_chain_quest_counts_steps_in_order_and_pays_its_bonus_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let first = create_task(
        &app,
        &admin,
        json!({ "title": "Step 1: learn", "points": "1.00", "max_completions": 2, "spec": { "kind": "training", "course": "Mixers" } }),
    )
    .await;
    let second = create_task(
        &app,
        &admin,
        json!({ "title": "Step 2: check stock", "points": "1.00", "max_completions": 2, "spec": { "kind": "stock_check" } }),
    )
    .await;
    let quest = expect_status(
        app.post(
            "/api/v1/quests",
            Some(&admin),
            &json!({ "title": "Mixer week", "kind": "chain", "task_ids": [task_id(&first), task_id(&second)], "bonus": "25.00" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let quest_id = quest["id"].as_i64().expect("quest id");
    let token = app.login("seller8", "demo").await;
    let seller = app.user_id("seller8").await;
    let mut me = me_socket(&app, &token).await;

    // Step 2 before step 1 does not count for a chain.
    submitted(&app, &token, task_id(&second), json!({ "code": code(1) })).await;
    let progress = me.next_event("quest_progress").await;
    assert_eq!(
        (
            progress["data"]["done"].as_i64(),
            progress["data"]["total"].as_i64()
        ),
        (Some(0), Some(2))
    );
    app.clock.advance(Duration::from_secs(1));
    submitted(&app, &token, task_id(&first), json!({ "completed": true })).await;
    let progress = me.next_event("quest_progress").await;
    assert_eq!(
        (
            progress["data"]["done"].as_i64(),
            progress["data"]["next_task_id"].as_i64()
        ),
        (Some(1), Some(task_id(&second)))
    );
    app.clock.advance(Duration::from_secs(1));
    let last = submitted(&app, &token, task_id(&second), json!({ "code": code(2) })).await;
    let progress = me.next_event("quest_progress").await;
    assert_eq!(progress["data"]["quest_id"], quest_id);
    assert_eq!(
        (
            progress["data"]["done"].as_i64(),
            progress["data"]["completed"].as_bool()
        ),
        (Some(2), Some(true))
    );
    let quests = my_tasks(&app, &token).await["quests"].clone();
    assert_eq!(quests[0]["completed"], true);

    // Following the completion up again (a retry after a crash) pays nothing more.
    sqlx::query("UPDATE task_submissions SET followup = 'pending' WHERE id = $1")
        .bind(last["id"].as_i64())
        .execute(&app.state.db.pool)
        .await
        .expect("reset");
    stimul::tasks::submissions::follow_up(
        &app.state.db,
        &app.state.clock,
        &app.state.live,
        last["id"].as_i64().expect("id"),
    )
    .await
    .expect("follow-up runs again");
    let bonuses = scalar(
        &app,
        "SELECT COUNT(*) FROM ledger_transactions WHERE reason = 'quest'",
    )
    .await;
    assert_eq!(bonuses, 1);
    // 3 tasks of 1.00 and the 25.00 bonus.
    assert_eq!(balance(&app, &admin, seller).await.0, "28.00");
    let key: String = sqlx::query_scalar(
        "SELECT idempotency_key FROM ledger_transactions WHERE reason = 'quest'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("bonus");
    assert_eq!(key, format!("quest:{quest_id}:{seller}:all"));
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_streak_pays_after_consecutive_days() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let daily = create_task(
        &app,
        &admin,
        json!({ "title": "Daily briefing", "recurrence": "daily", "points": "1.00", "spec": { "kind": "training", "course": "Briefing" } }),
    )
    .await;
    let id = task_id(&daily);
    expect_status(
        app.post(
            "/api/v1/quests",
            Some(&admin),
            &json!({ "title": "Three days in a row", "kind": "streak", "task_ids": [id], "bonus": "10.00", "streak_length": 3, "streak_unit": "day" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = app.login("seller9", "demo").await;
    let seller = app.user_id("seller9").await;
    // Start at local noon, so a day's step never straddles midnight.
    let end = my_task(&app, &token, id).await.expect("listed")["period"]["end_ms"]
        .as_i64()
        .expect("end");
    let now = app.clock.now_ms();
    app.clock
        .advance(Duration::from_millis((end + 12 * 3_600_000 - now) as u64));
    for day in 1..=3 {
        submitted(&app, &token, id, json!({ "completed": true })).await;
        let streak = my_tasks(&app, &token).await["quests"][0].clone();
        assert_eq!(streak["done"], day, "{streak}");
        assert_eq!(streak["completed"], day == 3);
        app.clock.advance(Duration::from_secs(24 * 3600));
    }
    // A day skipped breaks the run.
    app.clock.advance(Duration::from_secs(24 * 3600));
    submitted(&app, &token, id, json!({ "completed": true })).await;
    assert_eq!(my_tasks(&app, &token).await["quests"][0]["done"], 1);
    assert_eq!(balance(&app, &admin, seller).await.0, "14.00");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn sellers_only_see_and_submit_tasks_of_their_audience() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let demo2 = app.store_id("DEMO-2").await;
    let petersburg_only = create_task(
        &app,
        &admin,
        json!({ "title": "Nevsky display", "points": "1.00", "audience": { "stores": [demo2] }, "spec": { "kind": "training", "course": "Display" } }),
    )
    .await;
    let owners_only = create_task(
        &app,
        &admin,
        json!({ "title": "Owners' survey", "points": "1.00", "audience": { "roles": ["owner"] }, "spec": { "kind": "training", "course": "Owners" } }),
    )
    .await;
    let gold_only = create_task(
        &app,
        &admin,
        json!({ "title": "Gold club", "points": "1.00", "audience": { "levels": [2] }, "spec": { "kind": "training", "course": "Gold" } }),
    )
    .await;
    let seller1 = app.login("seller1", "demo").await;
    let seller11 = app.login("seller11", "demo").await;
    let owner1 = app.login("owner1", "demo").await;
    for task in [&petersburg_only, &owners_only, &gold_only] {
        assert!(my_task(&app, &seller1, task_id(task)).await.is_none());
        expect_problem(
            submit(&app, &seller1, task_id(task), json!({ "completed": true })).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert!(
        my_task(&app, &seller11, task_id(&petersburg_only))
            .await
            .is_some()
    );
    assert!(
        my_task(&app, &owner1, task_id(&owners_only))
            .await
            .is_some()
    );
    assert!(my_task(&app, &owner1, task_id(&gold_only)).await.is_none());
    // Staff have no tasks of their own.
    expect_problem(
        app.get("/api/v1/me/tasks", Some(&admin)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn bad_task_input_is_refused_clearly_and_changes_nothing() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller10", "demo").await;
    let tasks_before = app.count("tasks").await;
    let audit_before = app.count("audit_log").await;

    let problem = expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": " ", "points": "-1", "max_completions": 0,
                     "spec": { "kind": "quiz", "pass_mark": 3, "questions": [{ "text": "Q", "options": ["a"], "correct": [4] }] } }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in [
        "title",
        "points",
        "max_completions",
        "spec.questions[0].options",
        "spec.questions[0].correct",
        "spec.pass_mark",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Shelf", "points": "5.00", "requires_moderation": false, "spec": { "kind": "shelf_photo" } }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Numbers", "points": 5, "spec": { "kind": "training", "course": "x" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Unknown", "points": "5.00", "spec": { "kind": "dance" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({ "title": "Nowhere", "points": "5.00", "audience": { "regions": [999999] }, "spec": { "kind": "training", "course": "x" } }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/tasks",
            Some(&seller),
            &json!({ "title": "Mine", "points": "5.00", "spec": { "kind": "training", "course": "x" } }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("tasks").await, tasks_before);
    assert_eq!(app.count("audit_log").await, audit_before);

    let quiz = demo_task(&app, "Quiz: AquaLine mixers").await;
    let shelf = demo_task(&app, "Photograph the AquaLine shelf").await;
    let problem = expect_problem(
        submit(
            &app,
            &seller,
            quiz,
            json!({ "answers": [{ "options": [9] }, { "options": [] }, { "options": [0] }] }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "answers[0].options");
    expect_problem(
        submit(&app, &seller, quiz, json!({ "answers": "all of them" })).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    expect_problem(
        submit_with_photos(
            &app,
            &seller,
            shelf,
            &json!({ "checklist": [true, true] }),
            &[b"GIF89a not a photo".to_vec()],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        submit_with_photos(&app, &seller, quiz, &json!({ "answers": [] }), &[photo(1)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let plain = app
        .http
        .post(app.url(&format!("/api/v1/tasks/{quiz}/submissions")))
        .bearer_auth(&seller)
        .header("content-type", "text/plain")
        .body("answers")
        .send()
        .await
        .expect("sent");
    expect_problem(
        plain,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    expect_problem(
        submit(&app, &seller, 999_999, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_status(
        app.patch(
            &format!("/api/v1/tasks/{quiz}"),
            Some(&admin),
            &json!({ "active": false }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        submit(
            &app,
            &seller,
            quiz,
            json!({ "answers": [{ "options": [0] }, { "options": [2] }, { "options": [0, 2] }] }),
        )
        .await,
        StatusCode::CONFLICT,
        "task_unavailable",
    )
    .await;
    assert_eq!(app.count("task_submissions").await, 0);
    assert_eq!(app.count("photos").await, 0);
    assert_eq!(app.count("ledger_transactions").await, 0);
}

#[actix_web::test]
async fn task_changes_are_audited_and_a_retried_submission_records_once() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let task = create_task(
        &app,
        &admin,
        json!({ "title": "Survey", "points": "2.00", "spec": { "kind": "survey", "questions": [{ "text": "Why?" }] } }),
    )
    .await;
    let id = task_id(&task);
    let updated = expect_status(
        app.patch(
            &format!("/api/v1/tasks/{id}"),
            Some(&admin),
            &json!({ "points": "3.00", "max_attempts": 2, "ends_at": null }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (updated["points"].as_str(), updated["max_attempts"].as_i64()),
        (Some("3.00"), Some(2))
    );
    assert_eq!(updated["title"], "Survey");
    let (before, after): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT before, after FROM audit_log WHERE action = 'task.update' AND subject = $1",
    )
    .bind(format!("task:{id}"))
    .fetch_one(&app.state.db.pool)
    .await
    .expect("audited");
    let before: Value = serde_json::from_str(&before.unwrap_or_default()).unwrap_or_default();
    let after: Value = serde_json::from_str(&after.unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        (before["points"].as_str(), after["points"].as_str()),
        (Some("2.00"), Some("3.00"))
    );
    let listed = expect_status(
        app.get("/api/v1/tasks?kind=survey", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    let token = app.login("seller12", "demo").await;
    let path = format!("/api/v1/tasks/{id}/submissions");
    let body = json!({ "answers": [{ "text": "Because" }] });
    let first = expect_status(
        app.post_idempotent(&path, Some(&token), &body, "submit-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let retry = app
        .post_idempotent(&path, Some(&token), &body, "submit-1")
        .await;
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        expect_status(retry, StatusCode::CREATED).await["id"],
        first["id"]
    );
    assert_eq!(app.count("task_submissions").await, 1);
    assert_eq!(
        balance(&app, &admin, app.user_id("seller12").await).await.0,
        "3.00"
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn trusted_participants_low_risk_submissions_skip_the_queue_when_enabled() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let moderator = app.login("moderator", "demo").await;
    let settings = expect_status(
        app.get("/api/v1/task-settings", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settings["enabled"], false, "trust is off by default");
    let shelf = create_task(
        &app,
        &admin,
        json!({ "title": "Endcap photo", "points": "5.00", "max_completions": 5, "spec": { "kind": "shelf_photo" } }),
    )
    .await;
    let id = task_id(&shelf);
    let token = app.login("seller13", "demo").await;
    let seller = app.user_id("seller13").await;
    for n in 0..2 {
        let answer = expect_status(
            submit_with_photos(&app, &token, id, &json!({}), &[photo(100 + n)]).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(answer["status"], "pending");
        let item = take_submission(&app, &moderator).await;
        decide(
            &app,
            &moderator,
            item["id"].as_i64().expect("item"),
            json!({ "decision": "approve" }),
        )
        .await;
    }
    expect_problem(
        app.send(reqwest::Method::PUT, "/api/v1/task-settings", Some(&admin),
            &json!({ "enabled": true, "threshold": 101, "min_decisions": 2, "max_points": "10.00", "spot_check_percent": 0 }), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_status(
        app.send(reqwest::Method::PUT, "/api/v1/task-settings", Some(&admin),
            &json!({ "enabled": true, "threshold": 50, "min_decisions": 2, "max_points": "10.00", "spot_check_percent": 0 }), None).await,
        StatusCode::OK,
    )
    .await;
    // Two approvals of two decisions: 2 / (2 + 2) = 50 %.
    let answer = expect_status(
        submit_with_photos(&app, &token, id, &json!({}), &[photo(200)]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            answer["status"].as_str(),
            answer["auto_approved"].as_bool(),
            answer["credited"].as_str()
        ),
        (Some("approved"), Some(true), Some("5.00"))
    );
    assert_eq!(
        balance(&app, &admin, seller).await,
        ("15.00".into(), "0.00".into())
    );
    // Someone without a history still goes to a moderator.
    let newcomer = app.login("seller14", "demo").await;
    let answer = expect_status(
        submit_with_photos(&app, &newcomer, id, &json!({}), &[photo(201)]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(answer["status"], "pending");
    // With spot checks at 100 %, the trusted seller's low-risk answer goes to a
    // moderator too (every roll draws one), and waits as any other.
    expect_status(
        app.send(reqwest::Method::PUT, "/api/v1/task-settings", Some(&admin),
            &json!({ "enabled": true, "threshold": 50, "min_decisions": 2, "max_points": "10.00", "spot_check_percent": 100 }), None).await,
        StatusCode::OK,
    )
    .await;
    let checked = expect_status(
        submit_with_photos(&app, &token, id, &json!({}), &[photo(202)]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(checked["status"], "pending", "{checked}");
    assert_ne!(checked["auto_approved"], true);
    assert_eq!(
        balance(&app, &admin, seller).await.0,
        "15.00",
        "nothing is credited before the check"
    );
    app.assert_ledger_sound().await;
}
