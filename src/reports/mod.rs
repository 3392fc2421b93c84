//! Reports: participants, transactions, sales (codes and receipts), task completions
//! and orders of a period, as far as the caller's scope reaches, filtered by region,
//! store, partner or brand, downloaded as CSV or .xlsx.
//!
//! A report is streamed: it is read a page at a time by key (a connection is held for
//! one page, never for the download), and written as it is read, so a million rows
//! never sit in memory. An .xlsx file is assembled once its rows are written (they wait
//! in a temporary file), then streamed as it is zipped.

pub mod format;
pub mod repo;
pub mod specs;

use std::io;
use std::sync::Arc;

use actix_web::web::Bytes;
use chrono::NaiveDate;
use chrono_tz::Tz;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::scoped::ScopeColumns;
use crate::access::{Permission, Section, Visibility};
use crate::auth::Principal;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use format::{Cell, XlsxReport};
use specs::ReportSpec;

stimul_actors::stored_enum! {
    /// The reports there are.
    pub enum ReportKind {
        /// Everyone in the program with their store, what they earned in the period
        /// and their balance now.
        Participants = "participants",
        /// Every ledger transaction of the period and what it did to the participant.
        Transactions = "transactions",
        /// Codes registered and receipts reported in the period.
        Sales = "sales",
        /// Task answers of the period with their status and points.
        TaskCompletions = "task_completions",
        /// Reward orders placed in the period.
        Orders = "orders",
        /// The tax agent's yearly figures per person (`year=YYYY`): income, tax,
        /// withheld and not withheld, income by month.
        Tax = "tax",
    }
}

stimul_actors::stored_enum! {
    /// The language of a report's headings and sheet names.
    pub enum Language {
        Ru = "ru",
        En = "en",
    }
}

stimul_actors::stored_enum! {
    /// What the report is downloaded as.
    pub enum FileFormat {
        /// UTF-8 with a byte order mark, so Excel opens Cyrillic right.
        Csv = "csv",
        Xlsx = "xlsx",
    }
}

/// Rows read per statement: large enough that a million rows take a thousand short
/// queries, small enough that a page is a few hundred kilobytes.
const PAGE_ROWS: i64 = 1_000;

/// What a report is asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The first day of the period, `YYYY-MM-DD`, in the program's time zone (every
    /// report but `tax`).
    pub from: Option<String>,
    /// The last day of the period (inclusive).
    pub to: Option<String>,
    /// The calendar year of the `tax` report (its period is the whole year).
    pub year: Option<i64>,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// The headings' language: `ru` (default) or `en`.
    pub lang: Option<String>,
    pub region_id: Option<i64>,
    pub store_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub brand_id: Option<i64>,
}

/// The filters asked for beyond the caller's scope.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    region: Option<i64>,
    store: Option<i64>,
    partner: Option<i64>,
    brand: Option<i64>,
}

/// The column of a part's scope a filter matches.
type ColumnOf = fn(&ScopeColumns) -> Option<&'static str>;

impl Filters {
    /// Each filter with its query field, its value if asked for, and its column.
    fn each(&self) -> [(&'static str, Option<i64>, ColumnOf); 4] {
        [
            ("region_id", self.region, |s| s.region),
            ("store_id", self.store, |s| s.store),
            ("partner_id", self.partner, |s| s.partner),
            ("brand_id", self.brand, |s| s.brand),
        ]
    }

    /// Each filter asked for with the column it matches in a part (parts are checked
    /// to have every such column before the report starts).
    pub fn matched(&self, scope: &ScopeColumns) -> Vec<(&'static str, i64)> {
        self.each()
            .into_iter()
            .filter_map(|(_, value, column)| Some((column(scope)?, value?)))
            .collect()
    }

    /// Refuses a filter the report has no column for (orders have no brand).
    fn check(&self, kind: ReportKind) -> ApiResult<()> {
        for (field, value, column) in self.each() {
            if value.is_some()
                && kind
                    .spec()
                    .parts
                    .iter()
                    .any(|part| column(&part.scope).is_none())
            {
                return Err(ApiError::field(
                    field,
                    format!("the {kind} report cannot be filtered by {field}"),
                ));
            }
        }
        Ok(())
    }
}

/// A report ready to be read: what, for whom, which period.
pub struct Plan {
    pub kind: ReportKind,
    pub spec: &'static ReportSpec,
    pub program_id: i64,
    pub visibility: Visibility,
    pub filters: Filters,
    /// The period, epoch ms, `[since, until)`.
    pub since: i64,
    pub until: i64,
    pub zone: Tz,
    pub language: Language,
    pub format: FileFormat,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Plan {
    /// `participants-2026-11-01-2026-11-30.xlsx`
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.kind.as_str().replace('_', "-"),
            self.from,
            self.to,
            self.format
        )
    }

    pub fn content_type(&self) -> &'static str {
        match self.format {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

fn day(field: &str, text: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::field(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

/// Epoch ms of the start of `day` in `zone` (the earliest moment, so a day that starts
/// in a clock change still has one).
fn start_of(day: NaiveDate, zone: Tz) -> ApiResult<i64> {
    use chrono::TimeZone;
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| ApiError::field("from", "a day without a midnight"))?;
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| ApiError::field("from", format!("{day} has no start in {zone}")))
}

/// The first and last day a report covers: the year of the `tax` report, the asked
/// days of any other.
fn period(kind: ReportKind, query: &ReportQuery) -> ApiResult<(NaiveDate, NaiveDate)> {
    if kind == ReportKind::Tax {
        let year = query
            .year
            .ok_or_else(|| ApiError::field("year", "the tax report is of a year: year=YYYY"))?;
        let first = i32::try_from(year)
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .and_then(|y| {
                Some((
                    NaiveDate::from_ymd_opt(y, 1, 1)?,
                    NaiveDate::from_ymd_opt(y, 12, 31)?,
                ))
            });
        return first.ok_or_else(|| ApiError::field("year", "a year from 2000 to 2100"));
    }
    let required = |field: &str, value: &Option<String>| {
        value
            .as_deref()
            .ok_or_else(|| ApiError::field(field, "required (YYYY-MM-DD)"))
            .and_then(|text| day(field, text))
    };
    Ok((required("from", &query.from)?, required("to", &query.to)?))
}

/// Checks what is asked and what the caller may see: the plan of the report.
#[tracing::instrument(skip_all, fields(program_id = caller.program_id(), report = %kind))]
pub async fn plan(db: &Db, caller: &Principal, kind: &str, query: &ReportQuery) -> ApiResult<Plan> {
    let kind =
        ReportKind::parse(kind).map_err(|_| ApiError::not_found(format!("report {kind:?}")))?;
    let visibility = caller.require_anywhere(Permission::view(Section::Reports))?;
    let format = query
        .format
        .as_deref()
        .map(FileFormat::parse)
        .transpose()
        .map_err(|e| ApiError::field("format", e))?
        .unwrap_or(FileFormat::Csv);
    let language = query
        .lang
        .as_deref()
        .map(Language::parse)
        .transpose()
        .map_err(|e| ApiError::field("lang", e))?
        .unwrap_or(Language::Ru);
    let (from, to) = period(kind, query)?;
    if to < from {
        return Err(ApiError::field("to", format!("{to} is before {from}")));
    }
    let spec = kind.spec();
    let filters = Filters {
        region: query.region_id,
        store: query.store_id,
        partner: query.partner_id,
        brand: query.brand_id,
    };
    filters.check(kind)?;
    let zone = crate::tasks::settings::program_zone(&db.pool, caller.program_id()).await?;
    let after_last = to
        .succ_opt()
        .ok_or_else(|| ApiError::field("to", "beyond the calendar"))?;
    Ok(Plan {
        kind,
        spec,
        program_id: caller.program_id(),
        visibility,
        filters,
        since: start_of(from, zone)?,
        until: start_of(after_last, zone)?,
        zone,
        language,
        format,
        from,
        to,
    })
}

/// Where the walk over a report's parts stands.
enum Cursor {
    At { part: usize, after: i64 },
    End,
}

/// The report's rows a page at a time, part after part.
fn pages(db: Db, plan: Arc<Plan>) -> impl Stream<Item = sqlx::Result<Vec<Vec<Cell>>>> {
    futures_util::stream::try_unfold(Cursor::At { part: 0, after: 0 }, move |mut cursor| {
        let db = db.clone();
        let plan = plan.clone();
        async move {
            loop {
                let Cursor::At { part, after } = cursor else {
                    return Ok(None);
                };
                let Some(spec_part) = plan.spec.parts.get(part) else {
                    return Ok(None);
                };
                let (rows, last) = repo::page(&db, &plan, spec_part, after, PAGE_ROWS).await?;
                let next = match last {
                    Some(last) if rows.len() as i64 == PAGE_ROWS => {
                        Cursor::At { part, after: last }
                    }
                    _ if part + 1 < plan.spec.parts.len() => Cursor::At {
                        part: part + 1,
                        after: 0,
                    },
                    _ => Cursor::End,
                };
                if rows.is_empty() {
                    cursor = next;
                    continue;
                }
                return Ok(Some((rows, next)));
            }
        }
    })
}

fn broken(error: impl std::fmt::Display) -> io::Error {
    tracing::warn!(%error, "report stopped");
    io::Error::other(error.to_string())
}

/// The report as CSV: the byte order mark and headings, then a chunk per page.
pub fn csv(db: Db, plan: Plan) -> impl Stream<Item = io::Result<Bytes>> {
    let plan = Arc::new(plan);
    let header = format::csv_header(plan.spec.columns, plan.language);
    let zone = plan.zone;
    let rows = pages(db, plan).map(move |page| {
        page.map(|rows| Bytes::from(format::csv_rows(&rows, zone)))
            .map_err(broken)
    });
    futures_util::stream::once(async move { Ok(Bytes::from(header)) }).chain(rows)
}

/// Sends what the workbook writes to the response, a chunk at a time.
struct BodyWriter {
    body: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;

impl BodyWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.body
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl io::Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The report as .xlsx. Pages are read on the runtime and written into the workbook
/// on a blocking thread (it writes files), which then zips it into the response.
pub fn xlsx(db: Db, plan: Plan) -> impl Stream<Item = io::Result<Bytes>> {
    let plan = Arc::new(plan);
    let (pages_sender, mut pages_receiver) =
        tokio::sync::mpsc::channel::<sqlx::Result<Vec<Vec<Cell>>>>(2);
    let (body, body_receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let reader_plan = plan.clone();
    tokio::spawn(async move {
        let mut pages = std::pin::pin!(pages(db, reader_plan));
        while let Some(page) = pages.next().await {
            let failed = page.is_err();
            if pages_sender.send(page).await.is_err() || failed {
                return;
            }
        }
    });
    tokio::task::spawn_blocking(move || {
        let mut out = BodyWriter {
            body: body.clone(),
            buffer: Vec::new(),
        };
        let written = (|| -> io::Result<()> {
            let mut report =
                XlsxReport::new(plan.spec.columns, plan.language, plan.zone).map_err(broken)?;
            while let Some(page) = pages_receiver.blocking_recv() {
                report.write_rows(&page.map_err(broken)?).map_err(broken)?;
            }
            report.finish(&mut out).map_err(broken)?;
            io::Write::flush(&mut out)
        })();
        if let Err(error) = written {
            // The client sees the download break instead of a short file that looks whole.
            let _ = body.blocking_send(Err(error));
        }
    });
    tokio_stream_of(body_receiver)
}

fn tokio_stream_of<T>(mut receiver: tokio::sync::mpsc::Receiver<T>) -> impl Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_whole_days_in_the_program_zone() {
        let zone = chrono_tz::Europe::Moscow;
        let from = NaiveDate::from_ymd_opt(2026, 12, 1).expect("in the test");
        // Midnight in Moscow is 21:00 UTC the day before.
        assert_eq!(
            start_of(from, zone).expect("in the test"),
            1_796_072_400_000
        );
    }

    #[test]
    fn a_filter_the_report_has_no_column_for_is_refused() {
        let filters = Filters {
            brand: Some(1),
            ..Filters::default()
        };
        assert!(filters.check(ReportKind::Orders).is_err());
        assert!(filters.check(ReportKind::Sales).is_ok());
        let store = Filters {
            store: Some(3),
            ..Filters::default()
        };
        assert!(store.check(ReportKind::Orders).is_ok());
    }
}
