//! The SQL of the expiry area: the program's rule, runs and their pages, forecasts and
//! warnings. The lots themselves are written by the ledger's commit
//! (`ledger::lots`); this side only reads them, outside any lock.

use sqlx::FromRow;
use stimul_actors::rules::expiry::RunStatus;

use crate::db::{Db, Sql, Tx};

/// The program's expiry settings as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    /// JSON of [`stimul_actors::rules::expiry::ExpiryRule`].
    pub expiry_rule: String,
    pub expiry_warn_days: i64,
    pub expiry_rule_since: Option<i64>,
    pub timezone: String,
}

#[tracing::instrument(skip_all)]
pub async fn rule<'e, E>(executor: E, program_id: i64) -> sqlx::Result<RuleRow>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT expiry_rule, expiry_warn_days, expiry_rule_since, timezone FROM programs WHERE id = $1",
    )
    .bind(program_id)
    .fetch_one(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn set_rule(
    tx: &mut Tx,
    program_id: i64,
    rule: &str,
    warn_days: i64,
    since: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE programs SET expiry_rule = $1, expiry_warn_days = $2, expiry_rule_since = $3 WHERE id = $4",
    )
    .bind(rule)
    .bind(warn_days)
    .bind(since)
    .bind(program_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Programs whose rule is not `never`, for the nightly start.
#[tracing::instrument(skip_all)]
pub async fn programs_with_rules(db: &Db) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM programs WHERE expiry_rule <> $1 ORDER BY id")
        .bind(r#"{"kind":"never"}"#)
        .fetch_all(&db.pool)
        .await
}

/// Whether the nightly run of `on` (a local date) exists.
#[tracing::instrument(skip_all)]
pub async fn nightly_exists(db: &Db, program_id: i64, on: &str) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM expiry_runs WHERE program_id = $1 AND nightly_on = $2")
            .bind(program_id)
            .bind(on)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// The time zone of a participant's program.
#[tracing::instrument(skip_all)]
pub async fn timezone_of(db: &Db, participant_id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "SELECT p.timezone FROM users u JOIN programs p ON p.id = u.program_id WHERE u.id = $1",
    )
    .bind(participant_id)
    .fetch_one(&db.pool)
    .await
}

/// How much is due at a moment: participants and points.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct DueTotals {
    pub participants: i64,
    pub points: Option<i64>,
}

#[tracing::instrument(skip_all)]
pub async fn due_totals(tx: &mut Tx, program_id: i64, cutoff: i64) -> sqlx::Result<DueTotals> {
    sqlx::query_as(
        "SELECT COUNT(DISTINCT participant_id) AS participants, CAST(SUM(remaining) AS BIGINT) AS points
         FROM point_lots WHERE program_id = $1 AND remaining > 0 AND expires_at <= $2",
    )
    .bind(program_id)
    .bind(cutoff)
    .fetch_one(&mut **tx)
    .await
}

pub const RUN_COLUMNS: &str = "id, program_id, cutoff, local_date, nightly_on, started_by, status, participants_due, points_due, participants_done, points_expired, warnings, after_participant, created_at, finished_at";

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub program_id: i64,
    pub cutoff: i64,
    pub local_date: String,
    pub nightly_on: Option<String>,
    pub started_by: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub participants_due: i64,
    pub points_due: i64,
    pub participants_done: i64,
    pub points_expired: i64,
    pub warnings: i64,
    pub after_participant: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A run to write.
pub struct NewRun<'a> {
    pub program_id: i64,
    pub cutoff: i64,
    pub local_date: &'a str,
    pub nightly_on: Option<&'a str>,
    pub started_by: Option<i64>,
    pub due: DueTotals,
}

/// Writes a run; `None` when a nightly run of that date already exists (another node
/// or an earlier tick started it).
#[tracing::instrument(skip_all)]
pub async fn insert_run(tx: &mut Tx, run: &NewRun<'_>, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO expiry_runs (program_id, cutoff, local_date, nightly_on, started_by, status, participants_due, points_due, created_at)
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8)
         ON CONFLICT (program_id, nightly_on) DO NOTHING RETURNING id",
    )
    .bind(run.program_id)
    .bind(run.cutoff)
    .bind(run.local_date)
    .bind(run.nightly_on)
    .bind(run.started_by)
    .bind(run.due.participants)
    .bind(run.due.points.unwrap_or(0))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn run<'e, E>(executor: E, program_id: i64, id: i64) -> sqlx::Result<Option<RunRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM expiry_runs WHERE id = $1 AND program_id = $2"
    )))
    .bind(id)
    .bind(program_id)
    .fetch_optional(executor)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn run_by_id(db: &Db, id: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM expiry_runs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// A program's runs, newest first, before `before` (an id).
#[tracing::instrument(skip_all)]
pub async fn runs(db: &Db, program_id: i64, before: i64, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM expiry_runs WHERE program_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(program_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// One participant's due remainder.
#[derive(Debug, Clone, FromRow)]
pub struct DueParticipant {
    pub participant_id: i64,
    pub store_id: Option<i64>,
    pub amount: i64,
}

/// The next page of participants with lots due at `cutoff`, by participant id after
/// `after`.
#[tracing::instrument(skip_all)]
pub async fn due_page(
    db: &Db,
    program_id: i64,
    cutoff: i64,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<DueParticipant>> {
    sqlx::query_as(
        "SELECT l.participant_id, u.store_id, l.amount
         FROM (SELECT participant_id, CAST(SUM(remaining) AS BIGINT) AS amount FROM point_lots
               WHERE program_id = $1 AND participant_id > $2 AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $3
               GROUP BY participant_id ORDER BY participant_id LIMIT $4) l
         JOIN users u ON u.id = l.participant_id
         ORDER BY l.participant_id",
    )
    .bind(program_id)
    .bind(after)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Records a page done: who was last, how many and how much.
#[tracing::instrument(skip_all)]
pub async fn page_done(
    tx: &mut Tx,
    run_id: i64,
    after: i64,
    participants: i64,
    points: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE expiry_runs SET after_participant = $1, participants_done = participants_done + $2,
                points_expired = points_expired + $3
         WHERE id = $4 AND after_participant < $1",
    )
    .bind(after)
    .bind(participants)
    .bind(points)
    .bind(run_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip_all)]
pub async fn finish(tx: &mut Tx, run_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE expiry_runs SET status = 'finished', finished_at = $1 WHERE id = $2 AND status = 'running'",
    )
    .bind(now)
    .bind(run_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Writes, for run `run_id`, one warning per participant and expiry moment in
/// `(after, until]` not warned before, and answers how many it wrote.
#[tracing::instrument(skip_all)]
pub async fn warn(
    tx: &mut Tx,
    run_id: i64,
    program_id: i64,
    after: i64,
    until: i64,
    now: i64,
) -> sqlx::Result<i64> {
    let done = sqlx::query(
        "INSERT INTO expiry_warnings (participant_id, run_id, expires_at, amount, created_at)
         SELECT participant_id, $1, expires_at, SUM(remaining), $2 FROM point_lots
         WHERE program_id = $3 AND remaining > 0 AND expires_at > $4 AND expires_at <= $5
         GROUP BY participant_id, expires_at
         ON CONFLICT (participant_id, expires_at) DO NOTHING",
    )
    .bind(run_id)
    .bind(now)
    .bind(program_id)
    .bind(after)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    Ok(i64::try_from(done.rows_affected()).unwrap_or(i64::MAX))
}

/// The warnings run `run_id` wrote.
#[tracing::instrument(skip_all)]
pub async fn warnings_of(db: &Db, run_id: i64) -> sqlx::Result<Vec<Warning>> {
    sqlx::query_as(
        "SELECT participant_id, expires_at, amount FROM expiry_warnings WHERE run_id = $1 ORDER BY participant_id",
    )
    .bind(run_id)
    .fetch_all(&db.pool)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Warning {
    pub participant_id: i64,
    pub expires_at: i64,
    pub amount: i64,
}

#[tracing::instrument(skip_all)]
pub async fn count_warnings(tx: &mut Tx, run_id: i64, warnings: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE expiry_runs SET warnings = $1 WHERE id = $2")
        .bind(warnings)
        .bind(run_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Points that expire at one moment: how much and for how many.
#[derive(Debug, Clone, FromRow)]
pub struct ExpiryMoment {
    pub expires_at: i64,
    pub amount: i64,
    pub participants: i64,
}

/// The next `limit` expiry moments after `now` with what expires then, for the whole
/// program or one participant.
#[tracing::instrument(skip_all)]
pub async fn upcoming(
    db: &Db,
    program_id: i64,
    participant_id: Option<i64>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<ExpiryMoment>> {
    let mut sql = Sql::new(
        "SELECT expires_at, CAST(SUM(remaining) AS BIGINT) AS amount, COUNT(DISTINCT participant_id) AS participants FROM point_lots",
    );
    let program = sql.placeholder(program_id);
    sql.and_where(format!("program_id = {program}"));
    if let Some(participant_id) = participant_id {
        let participant = sql.placeholder(participant_id);
        sql.and_where(format!("participant_id = {participant}"));
    }
    let now = sql.placeholder(now);
    sql.and_where(format!(
        "remaining > 0 AND expires_at IS NOT NULL AND expires_at > {now}"
    ));
    sql.push_where()
        .push(" GROUP BY expires_at ORDER BY expires_at LIMIT ")
        .bind(limit);
    sql.query_as().fetch_all(&db.pool).await
}

/// A participant's next expiry (moment and amount), if any.
#[tracing::instrument(skip_all)]
pub async fn next_expiry(
    db: &Db,
    participant_id: i64,
    now: i64,
) -> sqlx::Result<Option<(i64, i64)>> {
    #[derive(FromRow)]
    struct Next {
        expires_at: i64,
        amount: i64,
    }
    let next: Option<Next> = sqlx::query_as(
        "SELECT expires_at, CAST(SUM(remaining) AS BIGINT) AS amount FROM point_lots
         WHERE participant_id = $1 AND remaining > 0 AND expires_at = (
             SELECT MIN(expires_at) FROM point_lots
             WHERE participant_id = $1 AND remaining > 0 AND expires_at > $2)
         GROUP BY expires_at",
    )
    .bind(participant_id)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(next.map(|n| (n.expires_at, n.amount)))
}
