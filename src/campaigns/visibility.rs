//! Who sees which campaign: staff by scope; a participant the running campaigns whose
//! audience includes them (drafts and others do not exist for them).

use std::sync::Arc;

use serde::Deserialize;
use stimul_actors::live::RealtimeCore;
use stimul_actors::rules::campaigns::{AudienceMember, CampaignStatus};
use utoipa::IntoParams;

use super::Campaign;
use super::rows::{CAMPAIGN_COLUMNS, CAMPAIGN_FROM, campaign_from_row, get, load_products};
use crate::access::scoped::{ScopeColumns, restrict_to};
use crate::access::{Permission, Section};
use crate::auth::Principal;
use crate::db::{Db, Sql};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::paging::{Page, page_of};
use crate::tasks::settings::program_zone;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignFilter {
    /// `draft`, `active`, `paused` or `finished`.
    pub status: Option<String>,
}

/// The campaigns the caller may see (`listCampaigns`): staff see those in their
/// scope; a participant sees the running campaigns (active or paused) whose audience
/// includes them.
#[tracing::instrument(skip_all, fields(after = ?after, limit = ?limit))]
pub async fn list(
    db: &Db,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    filter: &CampaignFilter,
    after: i64,
    limit: i64,
) -> ApiResult<Page<Campaign>> {
    let program_id = caller.program_id();
    let mut sql = Sql::default();
    let participant = caller.account.kind.is_participant();
    if participant {
        let p = sql.placeholder(program_id);
        sql.and_where(format!(
            "c.program_id = {p} AND c.status IN ('active', 'paused')"
        ));
    } else {
        let visibility = caller
            .access
            .visibility(Permission::view(Section::Campaigns));
        restrict_to(
            &mut sql,
            program_id,
            &visibility,
            &ScopeColumns {
                program: "c.program_id",
                region: None,
                partner: None,
                brand: Some("c.brand_id"),
                store: None,
            },
        );
    }
    let after_p = sql.placeholder(after);
    sql.and_where(format!("c.id > {after_p}"));
    if let Some(status) = &filter.status {
        let status = CampaignStatus::parse(status).map_err(|e| ApiError::field("status", e))?;
        let p = sql.placeholder(status.as_str());
        sql.and_where(format!("c.status = {p}"));
    }
    // A participant's page is filtered by audience after reading; read in pages of
    // the same size until one is full or the table ends.
    // The audience asks the participant's actor: ask before taking a connection.
    let earner = if participant {
        Some(audience_member(db, live, caller.id()).await?)
    } else {
        None
    };
    let mut conn = db.pool.acquire().await?;
    let zone = program_zone(&mut *conn, program_id).await?;
    let limit_p = sql.placeholder(limit + 1);
    sql.push(&format!("SELECT {CAMPAIGN_COLUMNS} FROM {CAMPAIGN_FROM}"))
        .push_where()
        .push(&format!(" ORDER BY c.id LIMIT {limit_p}"));
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let campaigns = rows
        .iter()
        .map(|row| campaign_from_row(row, zone))
        .collect::<Result<Vec<_>, _>>()?;
    // The cursor names the last campaign read, so the audience filter below may leave
    // a page short without skipping or repeating one.
    let mut page = page_of(campaigns, limit, |c| c.id);
    if let Some(earner) = &earner {
        page.items.retain(|c| c.audience.admits(earner).is_ok());
    }
    load_products(&mut conn, &mut page.items).await?;
    Ok(page)
}

/// A campaign the caller may see: staff by scope, a participant one they take part in
/// (drafts and campaigns outside their audience do not exist for them).
#[tracing::instrument(skip_all, fields(id = ?id))]
pub async fn visible(
    db: &Db,
    live: &Arc<RealtimeCore>,
    caller: &Principal,
    id: i64,
) -> ApiResult<Campaign> {
    let mut conn = db.pool.acquire().await?;
    let campaign = get(&mut conn, caller.program_id(), id).await?;
    drop(conn);
    if caller.account.kind.is_participant() {
        let earner = audience_member(db, live, caller.id()).await?;
        if campaign.status == CampaignStatus::Draft || campaign.audience.admits(&earner).is_err() {
            return Err(ApiError::not_found(format!("campaign {id}")));
        }
    } else {
        caller.require(Permission::view(Section::Campaigns), &campaign.target())?;
    }
    Ok(campaign)
}

/// Where a participant works, and the partners of them and of their store.
#[derive(sqlx::FromRow)]
struct MemberRow {
    store_id: Option<i64>,
    region_id: Option<i64>,
    user_partner_id: Option<i64>,
    store_partner_id: Option<i64>,
}

/// A participant as campaign audiences see them: region, store, partners and level.
#[tracing::instrument(skip_all, fields(user_id = ?user_id))]
pub async fn audience_member(
    db: &Db,
    live: &Arc<RealtimeCore>,
    user_id: i64,
) -> ApiResult<AudienceMember> {
    let row: MemberRow = sqlx::query_as(
        "SELECT u.store_id, s.region_id, u.partner_id AS user_partner_id, s.partner_id AS store_partner_id FROM users u LEFT JOIN stores s ON s.id = u.store_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?;
    let view = live.participant_view(user_id).await.map_err(|e| {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!("the participant's live state is unavailable: {e}"),
        )
    })?;
    let partners: [Option<i64>; 2] = [row.user_partner_id, row.store_partner_id];
    Ok(AudienceMember {
        store: row.store_id,
        region: row.region_id,
        partners: partners.into_iter().flatten().collect(),
        level: u32::try_from(view.level.index).unwrap_or(u32::MAX),
    })
}
