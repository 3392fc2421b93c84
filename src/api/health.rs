//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Answers 200 as soon as the server accepts requests.
#[utoipa::path(operation_id = "healthz", tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Answers 200 when the database answers; 503 otherwise, so a load balancer stops
/// sending traffic to a node that cannot serve it.
#[utoipa::path(operation_id = "readyz", tag = "operations", responses((status = 200, body = Health), (status = 503, body = Health)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(Health { status: "ready" }),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "database unavailable",
            })
        }
    }
}

/// Prometheus text format (not part of the public API document).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match state.metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(text),
        Err(err) => {
            tracing::error!(error = ?err, "rendering metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
