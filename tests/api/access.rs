//! Access: each built-in role is denied what it must not see, and a custom role built
//! from permissions works within its scope only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{expect_problem, expect_status, spawn_app};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"].as_i64())
        .collect()
}

#[actix_web::test]
async fn seller_sees_only_itself() {
    let app = spawn_app().await;
    app.load_demo().await;
    let seller = app.login("seller1", "demo").await;
    let me = app.user_id("seller1").await;
    let neighbour = app.user_id("seller2").await;
    expect_problem(
        app.get("/api/v1/stores", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/participants", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{neighbour}"), Some(&seller))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_status(
        app.get(&format!("/api/v1/participants/{me}"), Some(&seller))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.post("/api/v1/stores", Some(&seller), &json!({ "name": "Mine" }))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/roles", Some(&seller)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn owner_sees_only_its_store_and_sellers() {
    let app = spawn_app().await;
    app.load_demo().await;
    let owner = app.login("owner1", "demo").await;
    let own = app.store_id("DEMO-1").await;
    let other = app.store_id("DEMO-2").await;
    let stores = expect_status(
        app.get("/api/v1/stores", Some(&owner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&stores), [own]);
    expect_problem(
        app.get(&format!("/api/v1/stores/{other}"), Some(&owner))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let people = expect_status(
        app.get("/api/v1/participants?limit=200", Some(&owner))
            .await,
        StatusCode::OK,
    )
    .await;
    let logins: Vec<&str> = people["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["login"].as_str())
        .collect();
    assert!(
        logins.contains(&"seller1") && logins.contains(&"seller10"),
        "{logins:?}"
    );
    assert!(
        !logins.contains(&"seller11"),
        "another store's seller leaked: {logins:?}"
    );
    let stranger = app.user_id("seller11").await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{stranger}"), Some(&owner))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Owners watch; they do not edit.
    expect_problem(
        app.patch(
            &format!("/api/v1/stores/{own}"),
            Some(&owner),
            &json!({ "name": "Renamed" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let seller = app.user_id("seller1").await;
    expect_problem(
        app.post(
            &format!("/api/v1/participants/{seller}/status"),
            Some(&owner),
            &json!({ "status": "blocked" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn manager_works_only_in_its_region_and_cannot_block() {
    let app = spawn_app().await;
    app.load_demo().await;
    let manager = app.login("manager", "demo").await;
    let moscow_store = app.store_id("DEMO-1").await;
    let spb_store = app.store_id("DEMO-2").await;
    let stores = expect_status(
        app.get("/api/v1/stores", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&stores), [moscow_store]);

    let regions = expect_status(
        app.get("/api/v1/regions", Some(&manager)).await,
        StatusCode::OK,
    )
    .await;
    let region_id = |name: &str| {
        regions
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_i64())
            .expect("region")
    };
    let created = app
        .post(
            "/api/v1/stores",
            Some(&manager),
            &json!({ "name": "New Moscow shop", "region_id": region_id("Moscow") }),
        )
        .await;
    expect_status(created, StatusCode::CREATED).await;
    let elsewhere = app
        .post(
            "/api/v1/stores",
            Some(&manager),
            &json!({ "name": "Not mine", "region_id": region_id("Saint Petersburg") }),
        )
        .await;
    expect_problem(elsewhere, StatusCode::FORBIDDEN, "forbidden").await;
    let moved = app
        .patch(
            &format!("/api/v1/stores/{moscow_store}"),
            Some(&manager),
            &json!({ "region_id": region_id("Saint Petersburg") }),
        )
        .await;
    expect_problem(moved, StatusCode::FORBIDDEN, "forbidden").await;

    let disconnected = app
        .post(
            &format!("/api/v1/stores/{moscow_store}/status"),
            Some(&manager),
            &json!({ "status": "disconnected" }),
        )
        .await;
    assert_eq!(
        expect_status(disconnected, StatusCode::OK).await["status"],
        "disconnected"
    );
    let blocked = app
        .post(
            &format!("/api/v1/stores/{moscow_store}/status"),
            Some(&manager),
            &json!({ "status": "blocked" }),
        )
        .await;
    expect_problem(blocked, StatusCode::FORBIDDEN, "forbidden").await;
    expect_problem(
        app.post(
            &format!("/api/v1/stores/{spb_store}/status"),
            Some(&manager),
            &json!({ "status": "disconnected" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/roles",
            Some(&manager),
            &json!({ "name": "x", "permissions": [] }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Admins block; blocked stores stay blocked until an admin lifts it.
    let admin = app.login("admin", "demo").await;
    expect_status(
        app.post(
            &format!("/api/v1/stores/{moscow_store}/status"),
            Some(&admin),
            &json!({ "status": "blocked", "reason": "fraud" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let unblock = app
        .post(
            &format!("/api/v1/stores/{moscow_store}/status"),
            Some(&manager),
            &json!({ "status": "connected" }),
        )
        .await;
    expect_problem(unblock, StatusCode::FORBIDDEN, "forbidden").await;
    let audit: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'store.status'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap_or(0);
    assert_eq!(audit, 2, "every status change is audited");
}

#[actix_web::test]
async fn partner_sees_only_its_participants() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let partner = expect_status(
        app.post(
            "/api/v1/partners",
            Some(&admin),
            &json!({ "name": "Santekh Group" }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let partner_id = partner["id"].as_i64().expect("partner id");
    let store = expect_status(
        app.post(
            "/api/v1/stores",
            Some(&admin),
            &json!({ "name": "Partner shop", "partner_id": partner_id }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let store_id = store["id"].as_i64().expect("store id");
    let member = expect_status(
        app.post(
            "/api/v1/participants",
            Some(&admin),
            &json!({ "phone": "+79007770001", "name": "Partner seller", "store_id": store_id }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (_, token) = app
        .staff_with_role(
            &admin,
            "partneruser",
            json!({ "partner_id": partner_id }),
            "partner",
            json!({ "kind": "partner", "id": partner_id }),
        )
        .await;

    let people = expect_status(
        app.get("/api/v1/participants", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&people), [member["id"].as_i64().expect("member id")]);
    let stores = expect_status(
        app.get("/api/v1/stores", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&stores), [store_id]);
    let demo_seller = app.user_id("seller1").await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{demo_seller}"), Some(&token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/participants",
            Some(&token),
            &json!({ "phone": "+79007770002", "name": "Sneaky", "store_id": store_id }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn manufacturer_sees_no_people_or_stores() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let brands = expect_status(
        app.get("/api/v1/brands", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let brand_id = brands[0]["id"].as_i64().expect("demo brand");
    let (_, token) = app
        .staff_with_role(
            &admin,
            "branduser",
            json!({ "brand_id": brand_id }),
            "manufacturer",
            json!({ "kind": "brand", "id": brand_id }),
        )
        .await;
    expect_problem(
        app.get("/api/v1/stores", Some(&token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/participants", Some(&token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let seller = app.user_id("seller1").await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{seller}"), Some(&token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/participants/{seller}/approve"),
            Some(&token),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let me = expect_status(app.get("/api/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert!(
        me["permissions"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("campaigns.edit")))
    );
}

#[actix_web::test]
async fn moderator_approves_but_does_not_administer() {
    let app = spawn_app().await;
    app.load_demo().await;
    let moderator = app.login("moderator", "demo").await;
    expect_status(
        app.get("/api/v1/participants", Some(&moderator)).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.post("/api/v1/stores", Some(&moderator), &json!({ "name": "x" }))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let seller = app.user_id("seller1").await;
    expect_problem(
        app.patch(
            &format!("/api/v1/participants/{seller}"),
            Some(&moderator),
            &json!({ "name": "Renamed" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin_role = app
        .role_id(&app.login("admin", "demo").await, "admin")
        .await;
    let me = app.user_id("moderator").await;
    let escalate = app
        .post(
            &format!("/api/v1/users/{me}/roles"),
            Some(&moderator),
            &json!({ "role_id": admin_role, "scope": { "kind": "program", "id": 1 } }),
        )
        .await;
    expect_problem(escalate, StatusCode::FORBIDDEN, "forbidden").await;
    expect_problem(
        app.post(
            "/api/v1/users",
            Some(&moderator),
            &json!({ "login": "x123", "password": "long password", "name": "x" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn admin_is_confined_to_its_program() {
    let app = spawn_app().await;
    app.load_demo().await;
    stimul::org::people::create_admin(
        &app.state.db,
        &app.clock,
        "rival",
        "rivaladmin",
        "rival password",
        "Rival",
    )
    .await
    .expect("second program");
    let rival = app.login("rivaladmin", "rival password").await;
    let demo_store = app.store_id("DEMO-1").await;
    expect_problem(
        app.get(&format!("/api/v1/stores/{demo_store}"), Some(&rival))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let stores = expect_status(
        app.get("/api/v1/stores", Some(&rival)).await,
        StatusCode::OK,
    )
    .await;
    assert!(ids(&stores).is_empty());
    let seller = app.user_id("seller1").await;
    expect_problem(
        app.get(&format!("/api/v1/participants/{seller}"), Some(&rival))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let admin_role = app.role_id(&rival, "admin").await;
    let rival_id = app.user_id("rivaladmin").await;
    let cross = app
        .post(
            &format!("/api/v1/users/{rival_id}/roles"),
            Some(&rival),
            &json!({ "role_id": admin_role, "scope": { "kind": "store", "id": demo_store } }),
        )
        .await;
    expect_problem(cross, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[actix_web::test]
async fn custom_role_works_within_its_scope() {
    let app = spawn_app().await;
    app.load_demo().await;
    let admin = app.login("admin", "demo").await;
    let permissions = expect_status(
        app.get("/api/v1/permissions", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        permissions
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x["permission"] == "stores.view"))
    );
    let bad = app
        .post(
            "/api/v1/roles",
            Some(&admin),
            &json!({ "name": "auditor", "permissions": ["stores.delete"] }),
        )
        .await;
    expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let role = app.post("/api/v1/roles", Some(&admin), &json!({ "name": "auditor", "description": "reads stores and people", "permissions": ["stores.view", "participants.view"] })).await;
    let role = expect_status(role, StatusCode::CREATED).await;
    assert_eq!(role["builtin"], false);
    let regions = expect_status(
        app.get("/api/v1/regions", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let spb = regions
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == "Saint Petersburg")
        .and_then(|r| r["id"].as_i64())
        .expect("region");
    let (auditor_id, auditor) = app
        .staff_with_role(
            &admin,
            "auditor1",
            json!({}),
            "auditor",
            json!({ "kind": "region", "id": spb }),
        )
        .await;

    let stores = expect_status(
        app.get("/api/v1/stores", Some(&auditor)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&stores), [app.store_id("DEMO-2").await]);
    let moscow = app.store_id("DEMO-1").await;
    expect_problem(
        app.get(&format!("/api/v1/stores/{moscow}"), Some(&auditor))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let spb_store = app.store_id("DEMO-2").await;
    expect_problem(
        app.patch(
            &format!("/api/v1/stores/{spb_store}"),
            Some(&auditor),
            &json!({ "name": "x" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let people = expect_status(
        app.get("/api/v1/participants?limit=200", Some(&auditor))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&people).len(), 11, "owner2 and sellers 11-20: {people}");

    // Changing the role changes what its holders may do at once; built-ins are fixed.
    let role_id = role["id"].as_i64().expect("role id");
    expect_status(
        app.patch(
            &format!("/api/v1/roles/{role_id}"),
            Some(&admin),
            &json!({ "permissions": ["participants.view"] }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get("/api/v1/stores", Some(&auditor)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let builtin = app.role_id(&admin, "seller").await;
    expect_problem(
        app.patch(
            &format!("/api/v1/roles/{builtin}"),
            Some(&admin),
            &json!({ "permissions": ["stores.edit"] }),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;
    expect_problem(
        app.delete(&format!("/api/v1/roles/{role_id}"), Some(&admin))
            .await,
        StatusCode::CONFLICT,
        "invalid_state",
    )
    .await;

    let assignments = expect_status(
        app.get(&format!("/api/v1/users/{auditor_id}/roles"), Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    let assignment = assignments[0]["id"].as_i64().expect("assignment");
    expect_status(
        app.delete(
            &format!("/api/v1/users/{auditor_id}/roles/{assignment}"),
            Some(&admin),
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect_problem(
        app.get("/api/v1/participants", Some(&auditor)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_status(
        app.delete(&format!("/api/v1/roles/{role_id}"), Some(&admin))
            .await,
        StatusCode::NO_CONTENT,
    )
    .await;
}
