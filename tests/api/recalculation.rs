//! Retroactive recalculation: a changed rule for a past period previewed (nothing
//! posted), confirmed into one compensating transaction per participant with the
//! owner's share recomputed, never twice for one key or one change, a loss beyond the
//! balance kept as a debt that the next income pays off first; and a second
//! recalculation of another kind priced on what the first one set. Every test ends
//! with the ledger invariants.

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app};

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a decimal string, got {value}"))
}

async fn available(app: &TestApp, admin: &str, user: i64) -> Decimal {
    decimal(&app.standing(admin, user).await["balance"]["available"])
}

/// Today in the program's zone (Moscow), as the period's day.
fn today(app: &TestApp) -> String {
    chrono::DateTime::from_timestamp_millis(app.clock.now_ms())
        .expect("now")
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive()
        .to_string()
}

async fn task(app: &TestApp, admin: &str, points: &str) -> i64 {
    expect_status(
        app.post(
            "/api/v1/tasks",
            Some(admin),
            &json!({ "title": "Is the 40 mm mixer in stock?", "points": points,
                     "spec": { "kind": "stock_check", "product": "AquaLine mixer 40 mm" } }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("task id")
}

async fn complete(app: &TestApp, seller: &str, task: i64, n: u64) {
    let code = stimul_actors::rules::codes::ProductCode::from_value(n)
        .expect("a code")
        .qr_payload();
    let answer = expect_status(
        app.post(
            &format!("/api/v1/tasks/{task}/submissions"),
            Some(seller),
            &json!({ "code": code }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(answer["status"], "approved", "{answer}");
}

async fn recalculated(app: &TestApp, admin: &str, body: &Value, key: &str) -> Value {
    let confirmed = expect_status(
        app.post_idempotent("/api/v1/recalculations", Some(admin), body, key)
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let id = confirmed["id"].as_i64().expect("recalculation id");
    // Posting runs on the effect queue: wait for it to finish.
    for _ in 0..200 {
        let now = expect_status(
            app.get(&format!("/api/v1/recalculations/{id}"), Some(admin))
                .await,
            StatusCode::OK,
        )
        .await;
        if now["status"] == "finished" {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("recalculation {id} did not finish");
}

/// What the compensating transactions of `recalculation` moved for participants and
/// their owners, from the postings (the participant's balance and debt together).
async fn posted_changes(app: &TestApp, recalculation: i64) -> (i64, i64) {
    let rows: Vec<(i64, i64, i64, String, i64)> = sqlx::query_as(
        "SELECT t.participant_id, d.owner_id, c.owner_id, d.kind || '>' || c.kind, p.amount
         FROM ledger_transactions t JOIN postings p ON p.transaction_id = t.id
         JOIN accounts d ON d.id = p.debit_account JOIN accounts c ON c.id = p.credit_account
         WHERE t.source_type = 'recalculation' AND t.source_id = $1",
    )
    .bind(recalculation.to_string())
    .fetch_all(&app.state.db.pool)
    .await
    .expect("postings");
    let (mut sellers, mut owners) = (0, 0);
    for (participant, debit_owner, credit_owner, kinds, amount) in rows {
        let signed = match kinds.as_str() {
            "participant>campaign_fund"
            | "participant>issued"
            | "debt>campaign_fund"
            | "debt>issued" => -amount,
            "campaign_fund>participant" | "issued>participant" => amount,
            other => panic!("unexpected movement {other}"),
        };
        let person = if signed < 0 {
            debit_owner
        } else {
            credit_owner
        };
        if person == participant {
            sellers += signed;
        } else {
            owners += signed;
        }
    }
    (sellers, owners)
}

#[actix_web::test]
async fn a_recalculation_posts_its_preview_once_and_debts_are_paid_off_first() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let sellers = ["seller1", "seller2", "seller3"];
    let mut ids = Vec::new();
    let task = task(&app, &admin, "10.00").await;
    for (n, login) in sellers.iter().enumerate() {
        let token = app.login(login, "demo").await;
        complete(&app, &token, task, n as u64 + 1).await;
        ids.push(app.user_id(login).await);
    }
    let owner = app.user_id("owner1").await;
    // seller3 keeps 3.00 of their points: a loss of 8.00 leaves 5.00 owed.
    let keep = available(&app, &admin, ids[2]).await - Decimal::from(3);
    expect_status(
        app.post(
            &format!("/api/v1/participants/{}/adjustments", ids[2]),
            Some(&admin),
            &json!({ "amount": format!("-{keep}"), "comment": "spent elsewhere" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let before: Vec<Decimal> = {
        let mut list = Vec::new();
        for id in ids.iter().chain([&owner]) {
            list.push(available(&app, &admin, *id).await);
        }
        list
    };
    let transactions = app.count("ledger_transactions").await;

    // The task should have paid 2.00: each seller loses 8.00, the owner 5 % of it.
    let body = json!({ "rule": { "kind": "task_points", "task_id": task, "points": "2.00" },
                       "from": today(&app), "to": today(&app), "comment": "the task was priced wrong" });
    let preview = expect_status(
        app.post("/api/v1/recalculations/preview", Some(&admin), &body)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            &preview["transactions"],
            &preview["participants"],
            &preview["losers"],
            &preview["gainers"]
        ),
        (&json!(3), &json!(3), &json!(3), &json!(0)),
        "{preview}"
    );
    assert_eq!(
        (
            &preview["losses"],
            &preview["net"],
            &preview["owner_losses"]
        ),
        (&json!("24.00"), &json!("-24.00"), &json!("1.20")),
        "{preview}"
    );
    let third = preview["lines"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["participant_id"] == ids[2]))
        .expect("seller3's line");
    assert_eq!(
        (
            &third["paid"],
            &third["recalculated"],
            &third["difference"],
            &third["debt_after"]
        ),
        (
            &json!("10.00"),
            &json!("2.00"),
            &json!("-8.00"),
            &json!("5.00")
        ),
        "{third}"
    );
    assert_eq!(
        app.count("ledger_transactions").await,
        transactions,
        "a preview posts nothing"
    );

    // Confirming needs a key; with one it posts exactly the preview, once.
    expect_problem(
        app.post("/api/v1/recalculations", Some(&admin), &body)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    )
    .await;
    let done = recalculated(&app, &admin, &body, "recalc-1").await;
    let id = done["id"].as_i64().expect("id");
    assert_eq!(
        (&done["posted"], &done["failed"]),
        (&json!(3), &json!(0)),
        "{done}"
    );
    assert_eq!(
        posted_changes(&app, id).await,
        (-2_400, -120),
        "what is posted is what the preview showed"
    );
    let again = recalculated(&app, &admin, &body, "recalc-1").await;
    assert_eq!(again["id"], done["id"]);
    assert_eq!(app.count("ledger_transactions").await, transactions + 3);
    // The same change under a new key finds nothing left to compensate.
    let repeat = recalculated(&app, &admin, &body, "recalc-2").await;
    assert_eq!(
        (&repeat["participants"], &repeat["posted"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(app.count("ledger_transactions").await, transactions + 3);

    let after: Vec<Decimal> = {
        let mut list = Vec::new();
        for id in ids.iter().chain([&owner]) {
            list.push(available(&app, &admin, *id).await);
        }
        list
    };
    assert_eq!(after[0], before[0] - Decimal::from(8));
    assert_eq!(after[1], before[1] - Decimal::from(8));
    assert_eq!(after[2], Decimal::ZERO);
    assert_eq!(after[3], before[3] - Decimal::new(120, 2));
    let seller3 = app.login("seller3", "demo").await;
    let me = expect_status(app.get("/api/v1/me", Some(&seller3)).await, StatusCode::OK).await;
    assert_eq!(me["debt"], "5.00", "{me}");
    let debts = expect_status(app.get("/api/v1/debts", Some(&admin)).await, StatusCode::OK).await;
    assert_eq!(debts["items"][0]["participant_id"], ids[2], "{debts}");
    assert_eq!(debts["items"][0]["amount"], "5.00");
    app.assert_ledger_sound().await;

    // Income pays the debt off before anything reaches the balance.
    let mut ws = app.ws(&seller3).await;
    ws.subscribe("me").await;
    app.award(&admin, ids[2], "3.00").await;
    let pushed = ws.next_event("balance_changed").await;
    assert_eq!(
        (
            &pushed["data"]["balance"]["available"],
            &pushed["data"]["debt"]
        ),
        (&json!("0.00"), &json!("2.00")),
        "{pushed}"
    );
    app.award(&admin, ids[2], "10.00").await;
    assert_eq!(available(&app, &admin, ids[2]).await, Decimal::from(8));
    let me = expect_status(app.get("/api/v1/me", Some(&seller3)).await, StatusCode::OK).await;
    assert_eq!(me["debt"], "0.00", "{me}");

    // Audited with its preview; listed.
    assert_eq!(app.audited("recalculation.apply").await, 2);
    let list = expect_status(
        app.get("/api/v1/recalculations", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn a_level_recalculation_starts_from_what_an_earlier_one_set() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let task = task(&app, &admin, "10.00").await;
    let seller = app.login("seller4", "demo").await;
    let id = app.user_id("seller4").await;
    complete(&app, &seller, task, 9).await;
    let day = today(&app);
    let points = json!({ "rule": { "kind": "task_points", "task_id": task, "points": "20.00" },
                         "from": day, "to": day, "comment": "the task pays double" });
    let before = available(&app, &admin, id).await;
    recalculated(&app, &admin, &points, "points").await;
    assert_eq!(
        available(&app, &admin, id).await,
        before + Decimal::from(10)
    );

    // The first level's multiplier was 1.5: 20.00 × 1.5 = 30.00, 10.00 more.
    let level = json!({ "rule": { "kind": "level_multiplier", "level": 0, "multiplier": "1.5" },
                        "from": day, "to": day, "comment": "launch bonus" });
    let preview = expect_status(
        app.post("/api/v1/recalculations/preview", Some(&admin), &level)
            .await,
        StatusCode::OK,
    )
    .await;
    let line = preview["lines"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["participant_id"] == id))
        .expect("seller4's line");
    assert_eq!(
        (&line["paid"], &line["recalculated"], &line["difference"]),
        (&json!("20.00"), &json!("30.00"), &json!("10.00")),
        "{line}"
    );
    recalculated(&app, &admin, &level, "level").await;
    assert_eq!(
        available(&app, &admin, id).await,
        before + Decimal::from(20)
    );
    app.assert_ledger_sound().await;
}

#[actix_web::test]
async fn bad_recalculations_are_refused_clearly() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let seller = app.login("seller1", "demo").await;
    let day = today(&app);
    let cases = [
        json!({ "rule": { "kind": "bonus" }, "from": day, "to": day, "comment": "x" }),
        json!({ "rule": { "kind": "level_multiplier", "level": 0, "multiplier": "0" }, "from": day, "to": day, "comment": "x" }),
        json!({ "rule": { "kind": "level_multiplier", "level": 9, "multiplier": "2" }, "from": day, "to": day, "comment": "x" }),
        json!({ "rule": { "kind": "task_points", "task_id": 1, "points": "1.00" }, "from": "2026-01-02", "to": "2026-01-01", "comment": "x" }),
        json!({ "rule": { "kind": "task_points", "task_id": 1, "points": "1.00" }, "from": day, "to": "2999-01-01", "comment": "x" }),
        json!({ "rule": { "kind": "task_points", "task_id": 1, "points": "1.00" }, "from": day, "to": day, "comment": " " }),
    ];
    for body in cases {
        expect_problem(
            app.post("/api/v1/recalculations/preview", Some(&admin), &body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let fine = json!({ "rule": { "kind": "level_multiplier", "level": 0, "multiplier": "2" }, "from": day, "to": day, "comment": "x" });
    expect_problem(
        app.post("/api/v1/recalculations/preview", Some(&seller), &fine)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("recalculations").await, 0);
    app.assert_ledger_sound().await;
}
