//! What a batch commit applies per program besides moving points: the expiry rule
//! (lots, `ledger::lots`) and the tax rule (`ledger::tax`), read once per batch inside
//! its transaction, so a rule changed a moment ago applies to the next credit.

use std::collections::{BTreeSet, HashMap};

use chrono::Datelike;
use chrono_tz::Tz;
use sqlx::FromRow;
use stimul_actors::rules::expiry::ExpiryRule;
use stimul_actors::rules::levels::{Level, LevelScale};
use stimul_actors::rules::tax::TaxRule;

use crate::db::{Sql, Tx};

/// A program's terms as the commit applies them.
#[derive(Debug, Clone)]
pub(super) struct ProgramTerms {
    /// `None`: points never expire, no lots are formed.
    pub expiry: Option<ExpiryRule>,
    /// `None`: the program is not a tax agent (its rule is off).
    pub tax: Option<TaxRule>,
    pub timezone: Tz,
    /// The level scale, to tell who reached a new level (`None` if unreadable).
    pub levels: Option<LevelScale>,
}

impl ProgramTerms {
    /// The program's calendar year and month (1 to 12) at `at_ms`.
    pub fn year_month(&self, at_ms: i64) -> (i64, i64) {
        chrono::DateTime::from_timestamp_millis(at_ms)
            .map(|at| at.with_timezone(&self.timezone))
            .map_or((1970, 1), |at| {
                (i64::from(at.year()), i64::from(at.month()))
            })
    }
}

#[derive(FromRow)]
struct TermsRow {
    id: i64,
    expiry_rule: String,
    tax_rule: String,
    timezone: String,
    levels: String,
}

/// The terms of `programs`. A rule that cannot be read is logged and treated as off:
/// a bad setting must not stop credits.
#[tracing::instrument(skip_all)]
pub(super) async fn of(
    tx: &mut Tx,
    programs: &BTreeSet<i64>,
) -> Result<HashMap<i64, ProgramTerms>, sqlx::Error> {
    if programs.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql =
        Sql::new("SELECT id, expiry_rule, tax_rule, timezone, levels FROM programs WHERE id IN ");
    sql.bind_list(programs.iter().copied());
    let rows: Vec<TermsRow> = sql.query_as().fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let expiry = match serde_json::from_str::<ExpiryRule>(&row.expiry_rule) {
                Ok(ExpiryRule::Never) => None,
                Ok(rule) => Some(rule),
                Err(err) => {
                    tracing::error!(program = row.id, error = %err, "unreadable expiry rule; no lots formed");
                    None
                }
            };
            let tax = match serde_json::from_str::<TaxRule>(&row.tax_rule) {
                Ok(rule) if rule.enabled => Some(rule),
                Ok(_) => None,
                Err(err) => {
                    tracing::error!(program = row.id, error = %err, "unreadable tax rule; no tax recorded");
                    None
                }
            };
            let timezone = row.timezone.parse().unwrap_or_else(|_| {
                tracing::error!(program = row.id, "unreadable time zone; Moscow time used");
                chrono_tz::Europe::Moscow
            });
            let levels = serde_json::from_str::<Vec<Level>>(&row.levels)
                .ok()
                .and_then(|levels| LevelScale::new(levels).ok());
            (
                row.id,
                ProgramTerms {
                    expiry,
                    tax,
                    timezone,
                    levels,
                },
            )
        })
        .collect())
}
