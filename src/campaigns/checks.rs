//! A campaign input checked in full before it is stored: names, budget, the span of
//! days in the program's zone, the audience and products that must exist.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use stimul_actors::campaign::Ranking;
use stimul_actors::rules::campaigns::CampaignAudience;
use stimul_actors::rules::points::Points;
use stimul_actors::rules::windows::start_of_local_day;

use super::{CampaignInput, Description, MAX_BUDGET_HUNDREDTHS, MAX_PRODUCTS};
use crate::db::Tx;
use crate::domain::Title;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::tasks::checks::{check_ids_exist, positive_points, push};

pub(super) struct ValidCampaign {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) starts_at: i64,
    pub(super) ends_at: i64,
    pub(super) audience: CampaignAudience,
    pub(super) budget: Points,
    pub(super) allow_overdraft: bool,
    pub(super) ranking: Ranking,
    pub(super) products: Vec<(i64, Points)>,
    pub(super) brand_id: Option<i64>,
}

/// Epoch ms of the first moment of `day` in `zone`.
fn day_start(day: NaiveDate, zone: Tz) -> Result<i64, String> {
    start_of_local_day(day, zone).map_err(|e| e.to_string())
}

#[tracing::instrument(skip_all, fields(program_id = ?program_id))]
pub(super) async fn validate(
    tx: &mut Tx,
    program_id: i64,
    zone: Tz,
    input: &CampaignInput,
) -> ApiResult<ValidCampaign> {
    let mut errors: Vec<FieldError> = Vec::new();
    let name = Title::parse(&input.name)
        .map_err(|e| push(&mut errors, "name", e))
        .ok();
    let description = Description::parse_optional(&input.description)
        .map_err(|e| push(&mut errors, "description", e))
        .ok();
    let budget = Points::parse(&input.budget)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            if b.is_negative() {
                Err("must not be negative".into())
            } else if b.hundredths() > MAX_BUDGET_HUNDREDTHS {
                Err(format!(
                    "at most {}",
                    Points::from_hundredths(MAX_BUDGET_HUNDREDTHS)
                ))
            } else {
                Ok(b)
            }
        })
        .map_err(|e| push(&mut errors, "budget", e))
        .ok();
    let starts_at = day_start(input.starts_on, zone)
        .map_err(|e| push(&mut errors, "starts_on", e))
        .ok();
    let ends_at = input
        .ends_on
        .succ_opt()
        .ok_or_else(|| "beyond the calendar".to_string())
        .and_then(|next| day_start(next, zone))
        .map_err(|e| push(&mut errors, "ends_on", e))
        .ok();
    if input.ends_on < input.starts_on {
        push(&mut errors, "ends_on", "must not be before starts_on");
    }
    for (field, message) in input.audience.validate() {
        push(&mut errors, &field, message);
    }
    for (field, table, ids) in [
        ("audience.regions", "regions", &input.audience.regions),
        ("audience.stores", "stores", &input.audience.stores),
        ("audience.partners", "partners", &input.audience.partners),
    ] {
        check_ids_exist(tx, program_id, field, table, ids, &mut errors).await?;
    }
    if input.products.len() > MAX_PRODUCTS {
        push(
            &mut errors,
            "products",
            format!("at most {MAX_PRODUCTS} products"),
        );
    }
    let mut products = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, product) in input.products.iter().enumerate() {
        if !seen.insert(product.product_id) {
            push(
                &mut errors,
                &format!("products[{i}].product_id"),
                "listed twice",
            );
        }
        match positive_points(&product.points_per_unit) {
            Ok(points) => products.push((product.product_id, points)),
            Err(e) => push(&mut errors, &format!("products[{i}].points_per_unit"), e),
        }
    }
    let listed: Vec<i64> = seen.iter().copied().collect();
    check_ids_exist(tx, program_id, "products", "products", &listed, &mut errors).await?;
    if let Some(brand) = input.brand_id
        && !crate::org::stores::exists_in_program(&mut **tx, "brands", program_id, brand).await?
    {
        push(
            &mut errors,
            "brand_id",
            format!("there is no brand {brand} in this program"),
        );
    }
    match (name, description, budget, starts_at, ends_at) {
        (Some(name), Some(description), Some(budget), Some(starts_at), Some(ends_at))
            if errors.is_empty() =>
        {
            Ok(ValidCampaign {
                name: name.into_string(),
                description: description.into_string(),
                starts_at,
                ends_at,
                audience: input.audience.clone(),
                budget,
                allow_overdraft: input.allow_overdraft,
                ranking: input.ranking,
                products,
                brand_id: input.brand_id,
            })
        }
        _ => Err(ApiError::fields(errors)),
    }
}
