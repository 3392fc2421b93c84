//! Reports: CSV with a byte order mark and headings in the asked language, .xlsx that
//! holds the rows, the caller's scope and the filters narrowing what is listed, and
//! clear refusals.

use std::io::Read;

use reqwest::StatusCode;

use serde_json::json;

use crate::helpers::{TestApp, expect_problem, expect_status, spawn_app};

/// A period around today that holds whatever the test just did, in any time zone.
fn around_today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let today = chrono::DateTime::from_timestamp_millis(now)
        .expect("a moment")
        .date_naive();
    let from = today.pred_opt().expect("yesterday");
    let to = today.succ_opt().expect("tomorrow");
    format!("from={from}&to={to}")
}

async fn seller_of_store(app: &TestApp, store_code: &str) -> (i64, String) {
    let store = app.store_id(store_code).await;
    sqlx::query_as(
        "SELECT id, name FROM users WHERE store_id = $1 AND login LIKE 'seller%' ORDER BY id LIMIT 1",
    )
    .bind(store)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("a seller of the store")
}

pub(crate) async fn download(app: &TestApp, token: &str, path: &str) -> (String, Vec<u8>) {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.bytes().await.expect("report body").to_vec();
    (content_type, body)
}

pub(crate) fn csv_lines(body: &[u8]) -> Vec<String> {
    assert!(
        body.starts_with(b"\xEF\xBB\xBF"),
        "CSV starts with the byte order mark"
    );
    std::str::from_utf8(&body[3..])
        .expect("UTF-8")
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every text in the workbook's parts, to look for a value.
pub(crate) fn xlsx_text(body: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).expect("an .xlsx is a zip");
    let mut text = String::new();
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).expect("a part");
        if part.name().is_ok_and(|name| name.ends_with(".xml")) {
            part.read_to_string(&mut text).expect("XML part");
        }
    }
    text
}

#[actix_web::test]
async fn transactions_download_as_csv_and_xlsx_within_scope_and_filters() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let (moscow_seller, moscow_name) = seller_of_store(&app, "DEMO-1").await;
    let (petersburg_seller, petersburg_name) = seller_of_store(&app, "DEMO-2").await;
    app.award(&admin, moscow_seller, "12.50").await;
    app.award(&admin, petersburg_seller, "7.00").await;
    let period = around_today();

    let (content_type, body) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/transactions?{period}"),
    )
    .await;
    assert!(content_type.starts_with("text/csv"));
    let lines = csv_lines(&body);
    assert!(
        lines[0].starts_with("ID операции,Дата и время,Основание"),
        "Russian headings by default: {}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "a heading and two transactions: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&moscow_name) && l.contains(",12.50,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&petersburg_name) && l.contains(",7.00,"))
    );

    let (_, english) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/transactions?{period}&lang=en"),
    )
    .await;
    assert!(csv_lines(&english)[0].starts_with("Transaction ID,Date and time,Reason"));

    // A filter narrows the rows.
    let petersburg = app.store_id("DEMO-2").await;
    let (_, filtered) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/transactions?{period}&store_id={petersburg}"),
    )
    .await;
    let filtered = csv_lines(&filtered);
    assert_eq!(filtered.len(), 2, "{filtered:?}");
    assert!(filtered[1].contains(&petersburg_name));

    // The Moscow manager sees Moscow only, whatever they ask for.
    let manager = app.login("manager", "demo").await;
    let (_, scoped) = download(
        &app,
        &manager,
        &format!("/api/v1/reports/transactions?{period}"),
    )
    .await;
    let scoped = csv_lines(&scoped);
    assert_eq!(scoped.len(), 2, "{scoped:?}");
    assert!(scoped[1].contains(&moscow_name));
    let (_, outside) = download(
        &app,
        &manager,
        &format!("/api/v1/reports/transactions?{period}&store_id={petersburg}"),
    )
    .await;
    assert_eq!(csv_lines(&outside).len(), 1, "only the heading");

    // The same report as a workbook.
    let (content_type, workbook) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/transactions?{period}&format=xlsx"),
    )
    .await;
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let text = xlsx_text(&workbook);
    assert!(text.contains("ID операции"));
    assert!(text.contains(&moscow_name) && text.contains(&petersburg_name));
    assert!(text.contains("12.5"), "amounts are numbers");
}

#[actix_web::test]
async fn every_report_downloads_and_a_period_outside_holds_no_rows() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let (seller, name) = seller_of_store(&app, "DEMO-2").await;
    app.award(&admin, seller, "3.00").await;
    // A receipt (a sale) and a quiz answer (a task completion) by seller1, of DEMO-1.
    let seller1 = app.login("seller1", "demo").await;
    let mixer: i64 = sqlx::query_scalar("SELECT id FROM products WHERE sku = 'AQ-MIX-100'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("the demo mixer");
    expect_status(
        app.post_multipart(
            "/api/v1/receipts",
            &seller1,
            &json!({ "receipt_number": "r 77", "product_id": mixer, "quantity": 2 }),
            "photo",
            &[crate::helpers::test_photo(1)],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let quiz: i64 = sqlx::query_scalar("SELECT id FROM tasks WHERE kind = 'quiz'")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("the demo quiz");
    expect_status(
        app.post(
            &format!("/api/v1/tasks/{quiz}/submissions"),
            Some(&seller1),
            &json!({ "answers": [{ "options": [0] }, { "options": [2] }, { "options": [0, 2] }] }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let period = around_today();
    for report in [
        "participants",
        "transactions",
        "sales",
        "task_completions",
        "orders",
    ] {
        for format in ["csv", "xlsx"] {
            let (_, body) = download(
                &app,
                &admin,
                &format!("/api/v1/reports/{report}?{period}&format={format}"),
            )
            .await;
            assert!(!body.is_empty(), "{report} {format}");
        }
    }
    let (_, participants) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/participants?{period}"),
    )
    .await;
    let lines = csv_lines(&participants);
    let line = lines
        .iter()
        .find(|l| l.contains(&name))
        .expect("the seller is listed");
    assert!(
        line.contains(",3.00,3.00"),
        "earned in the period and balance: {line}"
    );
    let (_, sales) = download(&app, &admin, &format!("/api/v1/reports/sales?{period}")).await;
    let sales = csv_lines(&sales);
    assert_eq!(sales.len(), 2, "{sales:?}");
    assert!(
        sales[1].starts_with("receipt,") && sales[1].contains(",R77,pending,"),
        "{}",
        sales[1]
    );
    assert!(
        sales[1].contains("AQ-MIX-100") && sales[1].ends_with(",2,50.00"),
        "{}",
        sales[1]
    );
    let (_, answers) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/task_completions?{period}"),
    )
    .await;
    let answers = csv_lines(&answers);
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[1].contains("Quiz: AquaLine mixers,quiz,approved,"),
        "{}",
        answers[1]
    );
    let brand: i64 = sqlx::query_scalar("SELECT brand_id FROM products WHERE id = $1")
        .bind(mixer)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("the mixer's brand");
    let (_, of_brand) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/sales?{period}&brand_id={brand}&format=xlsx"),
    )
    .await;
    assert!(xlsx_text(&of_brand).contains("R77"));
    let (_, of_other_brand) = download(
        &app,
        &admin,
        &format!("/api/v1/reports/sales?{period}&brand_id={}", brand + 1000),
    )
    .await;
    assert_eq!(csv_lines(&of_other_brand).len(), 1);
    // Long ago: the participants are still listed, but earned nothing then.
    let (_, old) = download(
        &app,
        &admin,
        "/api/v1/reports/participants?from=2020-01-01&to=2020-01-31",
    )
    .await;
    let old = csv_lines(&old);
    let line = old.iter().find(|l| l.contains(&name)).expect("listed");
    assert!(line.contains(",0.00,3.00"), "{line}");
    let (_, none) = download(
        &app,
        &admin,
        "/api/v1/reports/transactions?from=2020-01-01&to=2020-01-31",
    )
    .await;
    assert_eq!(csv_lines(&none).len(), 1);
}

#[actix_web::test]
async fn bad_report_requests_are_refused_clearly() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let period = around_today();
    expect_problem(
        app.get(&format!("/api/v1/reports/salaries?{period}"), Some(&admin))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for (query, field) in [
        ("from=2026-13-01&to=2026-12-31", "from"),
        ("from=2026-12-31&to=2026-12-01", "to"),
        (&format!("{period}&format=pdf") as &str, "format"),
        (&format!("{period}&lang=de") as &str, "lang"),
        (&format!("{period}&brand_id=1") as &str, "brand_id"),
    ] {
        let problem = expect_problem(
            app.get(&format!("/api/v1/reports/orders?{query}"), Some(&admin))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let moderator = app.login("moderator", "demo").await;
    expect_problem(
        app.get(
            &format!("/api/v1/reports/orders?{period}"),
            Some(&moderator),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get(&format!("/api/v1/reports/orders?{period}"), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}
