//! Reports over HTTP: `GET /api/v1/reports/{report}` streams a CSV or .xlsx file.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::reports::{self, FileFormat, ReportQuery};
use crate::state::AppState;

/// Downloads a report of a period (`from` to `to`, days in the program's time zone):
/// `participants`, `transactions`, `sales` (codes and receipts), `task_completions` or
/// `orders`, as far as the caller's `reports` permission reaches, optionally narrowed to
/// a region, store, partner or brand. CSV is UTF-8 with a byte order mark (Excel opens
/// Cyrillic right); headings are in `lang`. The file is streamed as it is read.
#[utoipa::path(
    operation_id = "downloadReport", tag = "reports", security(("bearer" = [])),
    params(
        ("report" = String, Path, description = "participants, transactions, sales, task_completions, orders or tax"),
        ReportQuery,
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String, description = "CSV (format=csv)"),
        (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>, description = ".xlsx (format=xlsx)"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such report", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad date, format, language or filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/reports/{report}")]
pub async fn download_report(
    state: web::Data<AppState>,
    caller: Caller,
    report: web::Path<String>,
    query: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    respond(&state, &caller, &report, &query).await
}

/// The tax agent's yearly report (`year=YYYY`): per person with taxable income that
/// year, their name, phone, tax number, store, income, tax computed, tax withheld or
/// paid, and income by month. Same formats, languages and filters as the other reports.
#[utoipa::path(
    operation_id = "getTaxReport", tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, content_type = "text/csv", body = String, description = "CSV (format=csv)"),
        (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>, description = ".xlsx (format=xlsx)"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no year, a bad format, language or filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/reports/tax")]
pub async fn get_tax_report(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    respond(&state, &caller, "tax", &query).await
}

/// Streams the report `report` as `query` asks.
async fn respond(
    state: &AppState,
    caller: &Caller,
    report: &str,
    query: &ReportQuery,
) -> ApiResult<HttpResponse> {
    let plan = reports::plan(&state.db, caller, report, query).await?;
    let mut response = HttpResponse::Ok();
    response.content_type(plan.content_type()).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}\"", plan.file_name()),
    ));
    Ok(match plan.format {
        FileFormat::Csv => response.streaming(reports::csv(state.db.clone(), plan)),
        FileFormat::Xlsx => response.streaming(reports::xlsx(state.db.clone(), plan)),
    })
}
