//! Tasks and quests over HTTP: admins and brands define them (`tasks.edit`), sellers
//! see theirs (`listMyTasks`) and submit (`submitTask`, JSON or multipart with photos),
//! staff read the history of submissions. Decisions go through the moderation queue.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use stimul_actors::rules::tasks::trust::TrustPolicy;
use utoipa::{IntoParams, ToSchema};

use crate::access::{Permission, Section};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::idempotency::{self, IdempotencyKey, Reply};
use crate::paging::{Page, PageParams, page_of};
use crate::state::AppState;
use crate::tasks::my_tasks::{self, MyTasks};
use crate::tasks::quests::{self, Quest, QuestInput, QuestPatch};
use crate::tasks::submissions::{self, Submission, SubmissionRequest};
use crate::tasks::visibility::{self, TaskFilter};
use crate::tasks::{self, Task, TaskInput, TaskPatch};

/// Creates a task.
#[utoipa::path(
    operation_id = "createTask", tag = "tasks", security(("bearer" = [])), request_body = TaskInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Task), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/tasks")]
pub async fn create_task(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<TaskInput>,
) -> ApiResult<HttpResponse> {
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createTask", &*body),
        || async { Reply::created(&tasks::create(&state.db, &state.clock, &caller, &body).await?) },
    )
    .await
}

/// Changes a task: present fields replace stored ones; the result is checked like a
/// new task. Deactivate with `"active": false` (submissions keep their history).
#[utoipa::path(
    operation_id = "updateTask", tag = "tasks", security(("bearer" = [])), request_body = TaskPatch,
    params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/tasks/{id}")]
pub async fn update_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<TaskPatch>,
) -> ApiResult<HttpResponse> {
    let task = tasks::update(
        &state.db,
        &state.clock,
        &caller,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(task))
}

/// The tasks you may see (the program's, or your brand's), oldest first.
#[utoipa::path(
    operation_id = "listTasks", tag = "tasks", security(("bearer" = [])), params(TaskFilter, PageParams),
    responses((status = 200, body = Page<Task>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/tasks")]
pub async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<TaskFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (after, limit) = page.resolve()?;
    Ok(HttpResponse::Ok().json(visibility::list(&state.db, &caller, &filter, after, limit).await?))
}

async fn visible_task(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Task> {
    let task = tasks::rows::get(&state.db.pool, caller.program_id(), id).await?;
    caller.require(Permission::view(Section::Tasks), &task.target())?;
    Ok(task)
}

/// A task with everything (a quiz's right answers included).
#[utoipa::path(
    operation_id = "getTask", tag = "tasks", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/tasks/{id}")]
pub async fn get_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(visible_task(&state, &caller, id.into_inner()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionFilter {
    /// `pending`, `approved`, `rejected`, `rework`, `resubmitted` or `failed`.
    pub status: Option<String>,
}

/// Every submission of a task, oldest first: attempts, answers, decisions.
#[utoipa::path(
    operation_id = "listTaskSubmissions", tag = "tasks", security(("bearer" = [])), params(("id" = i64, Path), SubmissionFilter, PageParams),
    responses((status = 200, body = Page<Submission>), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/tasks/{id}/submissions")]
pub async fn list_task_submissions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    filter: web::Query<SubmissionFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let task = visible_task(&state, &caller, id.into_inner()).await?;
    let (after, limit) = page.resolve()?;
    let mut sql = submissions::select_where();
    sql.push("task_id = ")
        .bind(task.id)
        .push(" AND id > ")
        .bind(after);
    if let Some(status) = &filter.status {
        let status = crate::tasks::submissions::SubmissionStatus::parse(status)
            .map_err(|why| ApiError::field("status", why))?;
        sql.push(" AND status = ").bind(status.as_str());
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit + 1);
    let rows = submissions::fetch(&state.db, &sql).await?;
    Ok(HttpResponse::Ok().json(page_of(rows, limit, |s| s.id)))
}

/// A submission's body and photos, from JSON or a multipart form (`data`: the JSON,
/// `photos`: the images).
async fn read_submission(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<(SubmissionRequest, Vec<Vec<u8>>)> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if super::is_multipart(request) {
        let upload = crate::photos::read_upload(Multipart::new(request.headers(), payload)).await?;
        let body = match upload.field("data") {
            Some(data) => super::json_from_slice(data.as_bytes())?,
            None => SubmissionRequest::default(),
        };
        Ok((body, upload.photos))
    } else if content_type.starts_with("application/json") {
        let limit = state.settings.limits.json_body_bytes;
        let bytes = payload
            .to_bytes_limited(limit)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the body is larger than {limit} bytes"),
                )
            })?
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("the body broke off: {e}"),
                )
            })?;
        Ok((super::json_from_slice(&bytes)?, Vec::new()))
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the answer as application/json, or as multipart/form-data with a `data` JSON part and `photos` parts",
        ))
    }
}

/// A multipart submission, as documented (the server reads it by hand).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SubmissionUpload {
    /// The `SubmissionRequest` as JSON.
    data: String,
    /// JPEG, PNG or WebP images, up to 10 of at most 10 MB.
    #[schema(value_type = Vec<String>, format = Binary)]
    photos: Vec<Vec<u8>>,
}

/// Submits a task: a quiz, survey, stock check, training or met sales plan is credited
/// at once; photo tasks (and others set to need it) wait for a moderator with their
/// points pending. A task with work sent back takes the fix as a resubmission. The
/// answer is pushed on `me` as `task_submission`, quest progress as `quest_progress`.
#[utoipa::path(
    operation_id = "submitTask", tag = "tasks", security(("bearer" = [])),
    request_body(content((SubmissionRequest = "application/json"), (SubmissionUpload = "multipart/form-data"))),
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer and records nothing")),
    responses(
        (status = 201, body = Submission),
        (status = 404, description = "no such task for you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "task_unavailable, completion_limit_reached, attempts_exhausted, plan_not_met, conflict (package already scanned)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/tasks/{id}/submissions")]
pub async fn submit_task(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<i64>,
    request: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (body, photos) = read_submission(&state, &request, payload).await?;
    let photo_hashes: Vec<String> = photos
        .iter()
        .map(|p| hex::encode(Sha256::digest(p)))
        .collect();
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("submitTask", id, &body, &photo_hashes),
        || async {
            Reply::created(
                &submissions::submit(
                    submissions::Submitting {
                        db: &state.db,
                        clock: &state.clock,
                        live: &state.live,
                        effects: &state.effects,
                    },
                    &state.settings.data_dir,
                    &caller,
                    id,
                    &body,
                    &photos,
                )
                .await?,
            )
        },
    )
    .await
}

/// Your tasks open now, with their state this period, and your quests.
#[utoipa::path(
    operation_id = "listMyTasks", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = MyTasks), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/me/tasks")]
pub async fn list_my_tasks(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(my_tasks::my_tasks(&state.db, &state.clock, &state.live, &caller).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MySubmissionFilter {
    /// Only this task's submissions.
    pub task_id: Option<i64>,
}

/// Your submissions, newest first, with their decisions.
#[utoipa::path(
    operation_id = "listMySubmissions", tag = "tasks", security(("bearer" = [])), params(MySubmissionFilter, PageParams),
    responses((status = 200, body = Page<Submission>))
)]
#[get("/api/v1/me/submissions")]
pub async fn list_my_submissions(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<MySubmissionFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (before, limit) = page.resolve()?;
    let mut sql = submissions::select_where();
    sql.push("participant_id = ").bind(caller.id());
    if before > 0 {
        sql.push(" AND id < ").bind(before);
    }
    if let Some(task_id) = filter.task_id {
        sql.push(" AND task_id = ").bind(task_id);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit + 1);
    let rows = submissions::fetch(&state.db, &sql).await?;
    Ok(HttpResponse::Ok().json(page_of(rows, limit, |s| s.id)))
}

/// Creates a quest: a chain or set of tasks, or a streak, with a bonus.
#[utoipa::path(
    operation_id = "createQuest", tag = "tasks", security(("bearer" = [])), request_body = QuestInput,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Quest), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/api/v1/quests")]
pub async fn create_quest(
    state: web::Data<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: web::Json<QuestInput>,
) -> ApiResult<HttpResponse> {
    idempotency::run(
        &state.idempotency,
        &idempotency::owner_user(caller.id()),
        &key,
        &("createQuest", &*body),
        || async {
            Reply::created(&quests::create(&state.db, &state.clock, &caller, &body).await?)
        },
    )
    .await
}

/// Changes a quest (not its kind).
#[utoipa::path(
    operation_id = "updateQuest", tag = "tasks", security(("bearer" = [])), request_body = QuestPatch,
    params(("id" = i64, Path)),
    responses((status = 200, body = Quest), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[patch("/api/v1/quests/{id}")]
pub async fn update_quest(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<QuestPatch>,
) -> ApiResult<HttpResponse> {
    let quest = quests::update(
        &state.db,
        &state.clock,
        &caller,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(quest))
}

/// Every quest of the program.
#[utoipa::path(
    operation_id = "listQuests", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Quest>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/quests")]
pub async fn list_quests(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(quests::list(&state.db, &caller).await?))
}

/// The program's task settings: automatic approval of trusted participants' low-risk
/// submissions (off by default).
#[utoipa::path(
    operation_id = "getTaskSettings", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = TrustPolicy), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/api/v1/task-settings")]
pub async fn get_task_settings(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    caller.require_program_wide(Permission::view(Section::Tasks))?;
    Ok(HttpResponse::Ok()
        .json(tasks::settings::trust_policy(&state.db.pool, caller.program_id()).await?))
}

/// Replaces the program's task settings. With `enabled`, a moderated submission of a
/// task paying at most `max_points` by a participant with at least `min_decisions`
/// moderator decisions and a trust score of at least `threshold` is approved at once,
/// except `spot_check_percent` of them, drawn at random, which a moderator still sees.
#[utoipa::path(
    operation_id = "updateTaskSettings", tag = "tasks", security(("bearer" = [])), request_body = TrustPolicy,
    responses((status = 200, body = TrustPolicy), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/api/v1/task-settings")]
pub async fn update_task_settings(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<TrustPolicy>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(tasks::settings::set_trust_policy(&state.db, &state.clock, &caller, &body).await?))
}
