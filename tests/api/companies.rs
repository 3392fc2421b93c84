//! Company lookup by tax number against a local fake of a DaData-style register: the
//! INN is checked by its digits before anything is asked, a found company fills name
//! and address (and is kept, so the register is asked once), an unknown one is 404,
//! a failing register is 503 with nothing kept.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{expect_problem, expect_status, spawn_app_with};

#[derive(Default)]
struct Register {
    asked: Vec<(String, String)>,
}

async fn find(
    state: web::Data<Arc<Mutex<Register>>>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let inn = body["query"].as_str().unwrap_or_default().to_string();
    let token = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    state
        .lock()
        .expect("register")
        .asked
        .push((inn.clone(), token));
    match inn.as_str() {
        "7707083893" => HttpResponse::Ok().json(json!({ "suggestions": [{
            "value": "ПАО СБЕРБАНК",
            "data": {
                "inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195",
                "name": { "full_with_opf": "ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО \"СБЕРБАНК РОССИИ\"", "short_with_opf": "ПАО СБЕРБАНК" },
                "address": { "value": "г Москва, ул Вавилова, д 19" },
                "state": { "status": "ACTIVE" }
            }
        }] })),
        "7736207543" => HttpResponse::InternalServerError().finish(),
        _ => HttpResponse::Ok().json(json!({ "suggestions": [] })),
    }
}

#[actix_web::test]
async fn a_tax_number_fills_the_company_from_the_register() {
    let register = Arc::new(Mutex::new(Register::default()));
    let data = web::Data::new(register.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/findById/party", web::post().to(find))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    let app = spawn_app_with(|settings| {
        settings.companies.provider = stimul::config::ProviderKind::Http;
        settings.companies.url = Some(format!("http://127.0.0.1:{port}"));
        settings.companies.api_key = Some(stimul::config::Secret::new("register-key".to_string()));
    })
    .await;
    let asked = || register.lock().expect("register").asked.clone();

    // A wrong check digit is refused before the register hears of it.
    expect_problem(
        app.get("/api/v1/companies/7707083894", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(asked().is_empty());

    let company = expect_status(
        app.get("/api/v1/companies/7707083893", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(company["short_name"], "ПАО СБЕРБАНК", "{company}");
    assert_eq!(company["address"], "г Москва, ул Вавилова, д 19");
    assert_eq!(
        (&company["kpp"], &company["status"]),
        (&json!("773601001"), &json!("active"))
    );
    assert_eq!(
        asked(),
        vec![("7707083893".to_string(), "Token register-key".to_string())]
    );
    // Kept: the register is not asked again.
    expect_status(
        app.get("/api/v1/companies/7707083893", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(asked().len(), 1);

    expect_problem(
        app.get("/api/v1/companies/500100732259", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let unavailable = app.get("/api/v1/companies/7736207543", None).await;
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable.headers().get("Retry-After").is_some());
    // A failure is not kept: the next look asks again.
    app.get("/api/v1/companies/7736207543", None).await;
    assert_eq!(
        asked()
            .iter()
            .filter(|(inn, _)| inn == "7736207543")
            .count(),
        2
    );
}
