//! CSV imports: all rows or none, every bad row reported, repeat uploads update.

use reqwest::StatusCode;

use crate::helpers::{expect_problem, expect_status, spawn_app};

#[actix_web::test]
async fn store_import_is_all_or_nothing_and_repeatable() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let before = app.count("stores").await;

    let broken = "code;name;address;region\nS-1;Shop one;Tverskaya 2;Moscow\nS-2;;Nevsky 3;Saint Petersburg\nS-3;Shop three;;Atlantis\nS-1;Again;;Moscow\n";
    let problem = expect_problem(
        app.post_csv("/api/v1/imports/stores", &admin, broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    let rows: Vec<(i64, String)> = problem["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| {
            row["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |e| {
                    (
                        row["row"].as_i64().unwrap_or(0),
                        e["field"].as_str().unwrap_or_default().to_string(),
                    )
                })
        })
        .collect();
    assert_eq!(
        rows,
        [
            (2, "name".to_string()),
            (3, "region".to_string()),
            (4, "code".to_string())
        ],
        "{problem}"
    );
    assert_eq!(
        app.count("stores").await,
        before,
        "a refused file imports nothing"
    );

    let good = "\u{feff}code,name,address,region\nS-1,Shop one,Tverskaya 2,Moscow\nS-2,Shop two,Nevsky 3,saint petersburg\n";
    let dry = expect_status(
        app.post_csv("/api/v1/imports/stores?dry_run=true", &admin, good)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (dry["created"].as_i64(), dry["dry_run"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(
        app.count("stores").await,
        before,
        "a dry run writes nothing"
    );

    let imported = expect_status(
        app.post_csv("/api/v1/imports/stores", &admin, good).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (imported["created"].as_i64(), imported["updated"].as_i64()),
        (Some(2), Some(0))
    );
    let renamed = good.replace("Shop two", "\"Shop two, renamed\"");
    let again = expect_status(
        app.post_csv("/api/v1/imports/stores", &admin, &renamed)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (again["created"].as_i64(), again["updated"].as_i64()),
        (Some(0), Some(2))
    );
    assert_eq!(app.count("stores").await, before + 2);
    let name: String = sqlx::query_scalar("SELECT name FROM stores WHERE external_ref = 'S-2'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap_or_default();
    assert_eq!(name, "Shop two, renamed");

    // A row with more cells than the header (an unquoted comma) is an error, not a guess.
    let shifted = "code,name,address\nS-3,Shop, three,Main st\n";
    let problem = expect_problem(
        app.post_csv("/api/v1/imports/stores", &admin, shifted)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    assert_eq!(problem["rows"][0]["row"], 1, "{problem}");
}

#[actix_web::test]
async fn imports_respect_scope_and_headers() {
    let app = spawn_app().await;
    app.load_demo().await;
    let manager = app.login("manager", "demo").await;
    let before = app.count("stores").await;
    let mixed = "code,name,region\nM-1,Moscow shop,Moscow\nP-1,Piter shop,Saint Petersburg\n";
    let problem = expect_problem(
        app.post_csv("/api/v1/imports/stores", &manager, mixed)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    assert_eq!(problem["rows"][0]["row"], 2, "{problem}");
    assert_eq!(app.count("stores").await, before);

    let wrong_header = "code,title\nX,Y\n";
    let problem = expect_problem(
        app.post_csv("/api/v1/imports/stores", &manager, wrong_header)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    let fields: Vec<&str> = problem["rows"][0]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["title", "name"]);

    let seller = app.login("seller1", "demo").await;
    expect_problem(
        app.post_csv("/api/v1/imports/stores", &seller, "code,name\nA,B\n")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let json = app
        .http
        .post(app.url("/api/v1/imports/stores"))
        .bearer_auth(&manager)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent");
    expect_problem(
        json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[actix_web::test]
async fn participant_import_creates_updates_and_reports() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let users_before = app.count("users").await;
    let broken = "phone,name,store_code,role\n+79008880001,Imported One,DEMO-1,seller\nnot-a-phone,Bad Phone,DEMO-1,seller\n+79008880003,No Store,NOPE,seller\n+79008880004,Second Owner,DEMO-1,owner\n";
    let problem = expect_problem(
        app.post_csv("/api/v1/imports/participants", &admin, broken)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
    )
    .await;
    let bad_rows: Vec<i64> = problem["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["row"].as_i64())
        .collect();
    assert_eq!(bad_rows, [2, 3, 4], "{problem}");
    assert_eq!(app.count("users").await, users_before);

    let good = "phone,name,store_code\n+79008880001,Imported One,DEMO-1\n+79002000011,Seller Eleven Moved,DEMO-1\n";
    let summary = expect_status(
        app.post_csv("/api/v1/imports/participants", &admin, good)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (summary["created"].as_i64(), summary["updated"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(app.count("users").await, users_before + 1);
    let store: i64 = sqlx::query_scalar("SELECT store_id FROM users WHERE phone = '+79002000011'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap_or(0);
    assert_eq!(store, app.store_id("DEMO-1").await);
    // The imported seller can log in by SMS at once.
    app.otp_login("+79008880001").await;
}
