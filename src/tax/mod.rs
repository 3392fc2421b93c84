//! The program as tax agent (see [`stimul_actors::rules::tax`] for the arithmetic and
//! `ledger::tax` for how each taxable event is recorded and withheld as part of the
//! transaction that causes it).
//!
//! This area holds the rest: the rule (`getTaxRule`, `updateTaxRule`: audited; it
//! applies to events from the change on, the year's running totals carry over), a
//! participant's tax number (`setMyTaxId`, checked by its check digits), and a
//! person's certificate of income for a year (`getTaxCertificate`: by month, income,
//! tax, withheld and not withheld). The yearly per-person report for the tax office is
//! the `tax` report of the reports area.

pub mod repo;

use serde::Serialize;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::tax::TaxRule;
use utoipa::ToSchema;

use crate::db::{Clock, Db};
use crate::domain::TaxId;
use crate::error::{ApiError, ApiResult};

fn rule_of(text: &str) -> ApiResult<TaxRule> {
    serde_json::from_str(text)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("stored tax rule unreadable: {err}")))
}

/// The program's tax rule.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn rule(db: &Db, program_id: i64) -> ApiResult<TaxRule> {
    rule_of(&repo::rule(&db.pool, program_id).await?)
}

/// Replaces the program's tax rule (checked by the caller); audited.
#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub async fn update(
    db: &Db,
    clock: &Clock,
    program_id: i64,
    actor_id: i64,
    rule: &TaxRule,
) -> ApiResult<TaxRule> {
    let now = clock.now_ms();
    let text = serde_json::to_string(rule)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("tax rule: {err}")))?;
    let mut tx = db.begin().await?;
    let before = rule_of(&repo::rule(&mut *tx, program_id).await?)?;
    repo::set_rule(&mut tx, program_id, &text).await?;
    crate::audit::record(
        &mut tx,
        program_id,
        Some(actor_id),
        "tax.rule",
        &format!("program:{program_id}"),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(rule).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(rule.clone())
}

/// Records a participant's tax number.
#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn set_tax_id(db: &Db, clock: &Clock, user_id: i64, tax_id: &TaxId) -> ApiResult<()> {
    let mut tx = db.begin().await?;
    repo::set_tax_id(&mut tx, user_id, tax_id.as_str(), clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// One month of a certificate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateMonth {
    /// 1 to 12, in the program's time zone.
    pub month: i64,
    #[schema(value_type = String)]
    pub income: Points,
    #[schema(value_type = String)]
    pub tax: Points,
    /// Tax withheld from the person's points or paid by the organiser.
    #[schema(value_type = String)]
    pub paid: Points,
}

/// A person's certificate of income for a year: what the tax agent reports for them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxCertificate {
    pub participant_id: i64,
    pub name: String,
    pub phone: Option<String>,
    /// The person's tax number (INN), if they gave it.
    pub tax_id: Option<String>,
    pub year: i64,
    /// Months with taxable income, in order.
    pub months: Vec<CertificateMonth>,
    #[schema(value_type = String)]
    pub income: Points,
    #[schema(value_type = String)]
    pub tax: Points,
    #[schema(value_type = String)]
    pub paid: Points,
    /// Tax the person's points could not cover, which the agent reports as not
    /// withheld.
    #[schema(value_type = String)]
    pub not_withheld: Points,
}

/// The certificate of `user_id` for `year`.
#[tracing::instrument(skip_all, fields(user_id = ?user_id, year = ?year))]
pub async fn certificate(
    db: &Db,
    program_id: i64,
    user_id: i64,
    year: i64,
) -> ApiResult<TaxCertificate> {
    let person = repo::person(db, program_id, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("participant {user_id}")))?;
    let months = repo::months(db, user_id, year).await?;
    let sum = |of: fn(&repo::MonthRow) -> i64| months.iter().map(of).sum::<i64>();
    let (income, tax, paid) = (sum(|m| m.income), sum(|m| m.tax), sum(|m| m.paid));
    Ok(TaxCertificate {
        participant_id: person.id,
        name: person.name,
        phone: person.phone,
        tax_id: person.tax_id,
        year,
        months: months
            .iter()
            .map(|m| CertificateMonth {
                month: m.month,
                income: Points::from_hundredths(m.income),
                tax: Points::from_hundredths(m.tax),
                paid: Points::from_hundredths(m.paid),
            })
            .collect(),
        income: Points::from_hundredths(income),
        tax: Points::from_hundredths(tax),
        paid: Points::from_hundredths(paid),
        not_withheld: Points::from_hundredths(tax - paid),
    })
}
