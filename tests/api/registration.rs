//! Joining the program: pending registrations, group registrations, invitations.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{DEMO_USERS, expect_problem, expect_status, spawn_app};

#[actix_web::test]
async fn pending_participants_cannot_act_until_approved() {
    let app = spawn_app().await;
    app.load_demo().await;
    let store = app.store_id("DEMO-1").await;
    let registered = app
        .post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550001", "name": "New Seller", "store_id": store }),
        )
        .await;
    let registered = expect_status(registered, StatusCode::CREATED).await;
    assert_eq!(registered["status"], "pending");
    let id = registered["participant_id"].as_i64().expect("id");

    // They can log in and see that they wait, but nothing else.
    let token = app.otp_login("+79005550001").await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["status"], "pending");
    expect_problem(
        app.get("/api/v1/program", Some(&token)).await,
        StatusCode::FORBIDDEN,
        "account_pending",
    )
    .await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{id}"), Some(&token))
            .await,
        StatusCode::FORBIDDEN,
        "account_pending",
    )
    .await;

    // A seller cannot approve; the moderator can; approving twice is refused.
    let seller = app.login("seller1", "demo").await;
    expect_problem(
        app.post(
            &format!("/api/v1/participants/{id}/approve"),
            Some(&seller),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let moderator = app.login("moderator", "demo").await;
    let approved = expect_status(
        app.post(
            &format!("/api/v1/participants/{id}/approve"),
            Some(&moderator),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["user_ids"], json!([id]));
    expect_problem(
        app.post(
            &format!("/api/v1/participants/{id}/approve"),
            Some(&moderator),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;

    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["status"], "active");
    expect_status(
        app.get("/api/v1/program", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
}

#[actix_web::test]
async fn a_store_registers_as_a_group_and_is_approved_as_one() {
    let app = spawn_app().await;
    app.load_demo().await;
    let body = json!({
        "phone": "+79005550100", "name": "Group Owner", "login": "groupowner", "password": "long enough secret",
        "store": { "name": "Kran i Truba", "address": "Kazan, Baumana 5", "members": [
            { "phone": "+79005550101", "name": "Member One" }, { "phone": "+79005550102", "name": "Member Two" }
        ] }
    });
    let registered = expect_status(
        app.post("/api/v1/registrations", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let owner = registered["participant_id"].as_i64().expect("owner id");
    let store = registered["store_id"].as_i64().expect("store id");
    assert_eq!(registered["member_ids"].as_array().map(Vec::len), Some(2));
    let admin = app.login("admin", "demo").await;
    let pending_store = expect_status(
        app.get(&format!("/api/v1/stores/{store}"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending_store["status"], "pending");
    assert_eq!(pending_store["owner_user_id"], owner);

    let moderator = app.login("moderator", "demo").await;
    let decided = expect_status(
        app.post(
            &format!("/api/v1/participants/{owner}/approve"),
            Some(&moderator),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(decided["user_ids"].as_array().map(Vec::len), Some(3));
    let store_now = expect_status(
        app.get(&format!("/api/v1/stores/{store}"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(store_now["status"], "connected");

    // The owner now sees the store and its sellers.
    let owner_token = app.login("groupowner", "long enough secret").await;
    let people = expect_status(
        app.get(
            &format!("/api/v1/participants?store_id={store}"),
            Some(&owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        people["items"].as_array().map(Vec::len),
        Some(2),
        "{people}"
    );
}

#[actix_web::test]
async fn rejected_registrations_are_blocked() {
    let app = spawn_app().await;
    app.load_demo().await;
    let store = app.store_id("DEMO-2").await;
    let registered = expect_status(
        app.post("/api/v1/registrations", None, &json!({ "phone": "+79005550200", "name": "Doubtful", "login": "doubtful", "password": "long enough secret", "store_id": store })).await,
        StatusCode::CREATED,
    )
    .await;
    let id = registered["participant_id"].as_i64().expect("id");
    let moderator = app.login("moderator", "demo").await;
    let missing_reason = app
        .post(
            &format!("/api/v1/participants/{id}/reject"),
            Some(&moderator),
            &json!({}),
        )
        .await;
    expect_problem(missing_reason, StatusCode::BAD_REQUEST, "invalid_json").await;
    let rejected = app
        .post(
            &format!("/api/v1/participants/{id}/reject"),
            Some(&moderator),
            &json!({ "reason": "not an employee of this store" }),
        )
        .await;
    assert_eq!(
        expect_status(rejected, StatusCode::OK).await["status"],
        "blocked"
    );
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "doubtful", "password": "long enough secret" }),
        )
        .await;
    expect_problem(login, StatusCode::FORBIDDEN, "account_blocked").await;
}

#[actix_web::test]
async fn invitations_admit_at_once_and_run_out() {
    let app = spawn_app().await;
    app.load_demo().await;
    let manager = app.login("manager", "demo").await;
    let store = app.store_id("DEMO-1").await;
    let invitation = expect_status(
        app.post(
            &format!("/api/v1/stores/{store}/invitations"),
            Some(&manager),
            &json!({ "max_uses": 1 }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let code = invitation["code"].as_str().expect("code").to_string();

    // Typed in lower case without the dash: still accepted.
    let typed = code.to_lowercase().replace('-', "");
    let joined = expect_status(
        app.post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550300", "name": "Invited", "invitation_code": typed }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(joined["status"], "active");
    assert_eq!(joined["store_id"], store);

    let again = app
        .post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550301", "name": "Late", "invitation_code": code }),
        )
        .await;
    expect_problem(
        again,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_invitation",
    )
    .await;
    assert_eq!(
        app.count("users").await,
        DEMO_USERS + 1,
        "the refused registration created nobody"
    );

    // A manager of Moscow cannot invite into the Saint Petersburg store.
    let other = app.store_id("DEMO-2").await;
    expect_problem(
        app.post(
            &format!("/api/v1/stores/{other}/invitations"),
            Some(&manager),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn registration_is_idempotent_and_duplicates_are_named() {
    let app = spawn_app().await;
    app.load_demo().await;
    let store = app.store_id("DEMO-1").await;
    let body = json!({ "phone": "+79005550400", "name": "Retrying Phone", "store_id": store });
    let first = expect_status(
        app.post_idempotent("/api/v1/registrations", None, &body, "reg-key-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let retry = app
        .post_idempotent("/api/v1/registrations", None, &body, "reg-key-1")
        .await;
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(expect_status(retry, StatusCode::CREATED).await, first);
    assert_eq!(app.count("users").await, DEMO_USERS + 1);

    let other_body = json!({ "phone": "+79005550401", "name": "Other", "store_id": store });
    expect_problem(
        app.post_idempotent("/api/v1/registrations", None, &other_body, "reg-key-1")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    let duplicate = app
        .post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550400", "name": "Again", "store_id": store }),
        )
        .await;
    let problem = expect_problem(duplicate, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["errors"][0]["field"], "phone");
}

#[actix_web::test]
async fn registration_input_is_checked_field_by_field() {
    let app = spawn_app().await;
    app.load_demo().await;
    let response = app
        .post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "12", "name": " ", "login": "a b", "password": "short" }),
        )
        .await;
    let problem = expect_problem(
        response,
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
    assert_eq!(fields, ["phone", "name", "login", "password", "store"]);
    let unknown_store = app
        .post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550500", "name": "X", "store_id": 999_999 }),
        )
        .await;
    expect_problem(
        unknown_store,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("users").await, DEMO_USERS);
}

/// Every operation that changes something, called by a participant still waiting for
/// approval, is refused with `account_pending` before it reads its input; so is the
/// WebSocket. Only logging out is left to them (and reading `getMe`).
#[actix_web::test]
async fn a_pending_participant_is_refused_on_every_write_and_on_the_websocket() {
    let app = spawn_app().await;
    app.load_demo().await;
    let store = app.store_id("DEMO-1").await;
    expect_status(
        app.post(
            "/api/v1/registrations",
            None,
            &json!({ "phone": "+79005550009", "name": "Waiting Seller", "store_id": store }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = app.otp_login("+79005550009").await;
    let document = expect_status(app.get("/api/v1/openapi.json", None).await, StatusCode::OK).await;
    let paths = document["paths"].as_object().expect("paths");
    let mut tried = 0;
    let mut wrong = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("operations") {
            let writes = matches!(method.as_str(), "post" | "put" | "patch" | "delete");
            let signed_in = operation["security"].is_array();
            let id = operation["operationId"].as_str().unwrap_or_default();
            if !writes || !signed_in || id == "logout" {
                continue;
            }
            // Any id will do: the refusal comes before anything is looked up.
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { "1" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            let response = app
                .http
                .request(
                    method.to_uppercase().parse().expect("method"),
                    app.url(&concrete),
                )
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("pending-{tried}"))
                .json(&json!({}))
                .send()
                .await
                .expect("answered");
            tried += 1;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status != StatusCode::FORBIDDEN || body["code"] != "account_pending" {
                wrong.push(format!(
                    "{} {path} ({id}): {status} {}",
                    method.to_uppercase(),
                    body["code"]
                ));
            }
        }
    }
    assert!(tried > 40, "only {tried} writes found in the contract");
    assert!(
        wrong.is_empty(),
        "not refused as pending:\n{}",
        wrong.join("\n")
    );
    // Seeing themselves still works.
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["status"], "pending");

    let refused = crate::ws_client::WsClient::connect(&app.address, &token).await;
    assert_eq!(
        refused.err(),
        Some(403),
        "the WebSocket refuses a pending account"
    );
}
