//! Campaigns: their life cycle, who may earn in them, what a registered code pays, which
//! campaign pays for a product, and the anti-fraud verdict on a code registration.
//!
//! A campaign pays points per unit of its products within a date range, for an
//! audience, out of a prize fund. A code on a package of `pack_size` units pays
//! `points_per_unit × pack_size` base points (before the level multiplier).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::points::Points;

crate::stored_enum! {
    /// Where a campaign is in its life.
    pub enum CampaignStatus {
        /// Being set up: nothing is paid, products and audience may change freely.
        Draft = "draft",
        /// Pays for registrations between its dates.
        Active = "active",
        /// Stopped for a while (a fraud wave, a printing error); may resume.
        Paused = "paused",
        /// Over for good; its history stays.
        Finished = "finished",
    }
}

impl CampaignStatus {
    /// Whether a campaign may move from `self` to `next`. A finished campaign stays
    /// finished (its leaderboards and payouts are history); nothing returns to draft
    /// once it has paid.
    pub fn can_become(self, next: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, next),
            (Draft, Active)
                | (Draft, Finished)
                | (Active, Paused)
                | (Active, Finished)
                | (Paused, Active)
                | (Paused, Finished)
        ) || self == next
    }
}

/// Why a campaign does not pay right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    NotActive(CampaignStatus),
    NotStarted,
    Ended,
}

impl Closed {
    pub fn describe(self) -> String {
        match self {
            Closed::NotActive(status) => format!("the campaign is {}", status.as_str()),
            Closed::NotStarted => "the campaign has not started yet".into(),
            Closed::Ended => "the campaign is over".into(),
        }
    }
}

/// Whether a campaign with this status and span `[starts_at, ends_at)` pays at `now`.
pub fn open_at(
    status: CampaignStatus,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<(), Closed> {
    if status != CampaignStatus::Active {
        return Err(Closed::NotActive(status));
    }
    if now < starts_at {
        return Err(Closed::NotStarted);
    }
    if now >= ends_at {
        return Err(Closed::Ended);
    }
    Ok(())
}

/// Who may earn in a campaign. Each non-empty list must contain the participant's
/// value; empty lists filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CampaignAudience {
    #[serde(default)]
    pub regions: Vec<i64>,
    #[serde(default)]
    pub stores: Vec<i64>,
    #[serde(default)]
    pub partners: Vec<i64>,
    /// Level indices (0 is the first level).
    #[serde(default)]
    pub levels: Vec<u32>,
}

/// A participant as a campaign's audience sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudienceMember {
    pub region: Option<i64>,
    pub store: Option<i64>,
    /// The participant's own partner or their store's.
    pub partners: BTreeSet<i64>,
    pub level: u32,
}

/// Entries one audience list may hold.
pub const MAX_AUDIENCE: usize = 1000;

impl CampaignAudience {
    /// Why `earner` is outside the audience, or `Ok` when inside.
    pub fn admits(&self, earner: &AudienceMember) -> Result<(), &'static str> {
        fn within(list: &[i64], value: Option<i64>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.contains(&v))
        }
        if !within(&self.regions, earner.region) {
            return Err("your region does not take part in this campaign");
        }
        if !within(&self.stores, earner.store) {
            return Err("your store does not take part in this campaign");
        }
        if !self.partners.is_empty() && !self.partners.iter().any(|p| earner.partners.contains(p)) {
            return Err("your partner does not take part in this campaign");
        }
        if !self.levels.is_empty() && !self.levels.contains(&earner.level) {
            return Err("your level does not take part in this campaign");
        }
        Ok(())
    }

    /// Size problems, as `(field, message)`.
    pub fn validate(&self) -> Vec<(String, String)> {
        let lists = [
            ("audience.regions", self.regions.len()),
            ("audience.stores", self.stores.len()),
            ("audience.partners", self.partners.len()),
            ("audience.levels", self.levels.len()),
        ];
        lists
            .into_iter()
            .filter(|(_, len)| *len > MAX_AUDIENCE)
            .map(|(field, _)| (field.to_string(), format!("at most {MAX_AUDIENCE} entries")))
            .collect()
    }
}

/// Base points a code on a package of `pack_size` units pays, or `None` on overflow.
pub fn code_points(points_per_unit: Points, pack_size: i64) -> Option<Points> {
    points_per_unit
        .hundredths()
        .checked_mul(pack_size)
        .map(Points::from_hundredths)
}

/// A campaign that offers a product, as registration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub campaign_id: i64,
    pub status: CampaignStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub audience: CampaignAudience,
}

/// Why no campaign pays for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoOffer {
    /// No campaign offering the product is open now.
    Inactive(String),
    /// Open campaigns exist, but the participant is outside all their audiences.
    NotEligible(String),
}

/// Chooses the campaign that pays for a product registered at `now` by `earner`: among
/// the open campaigns whose audience admits them, the one ending first (its fund is
/// spent while it can still be), then the oldest. The refusal names the closest miss.
pub fn choose_offer(offers: &[Offer], earner: &AudienceMember, now: i64) -> Result<i64, NoOffer> {
    let open: Vec<&Offer> = offers
        .iter()
        .filter(|o| open_at(o.status, o.starts_at, o.ends_at, now).is_ok())
        .collect();
    if open.is_empty() {
        let why = offers
            .iter()
            .map(|o| open_at(o.status, o.starts_at, o.ends_at, now))
            .find_map(Result::err)
            .map(Closed::describe)
            .unwrap_or_else(|| "the product takes part in no campaign".into());
        return Err(NoOffer::Inactive(why));
    }
    let mut refusal = None;
    let chosen = open
        .iter()
        .filter(|o| match o.audience.admits(earner) {
            Ok(()) => true,
            Err(why) => {
                refusal.get_or_insert(why);
                false
            }
        })
        .min_by_key(|o| (o.ends_at, o.campaign_id));
    match chosen {
        Some(offer) => Ok(offer.campaign_id),
        None => Err(NoOffer::NotEligible(
            refusal
                .unwrap_or("you do not take part in this campaign")
                .into(),
        )),
    }
}

/// Limits the anti-fraud rules apply to code registrations. Defaults suit a seller
/// registering a delivery's worth of packages by hand: tens a minute is a busy
/// afternoon, hundreds is a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FraudLimits {
    /// Attempts one participant may make per minute; more are refused as rate limited.
    pub participant_per_minute: u32,
    /// Attempts one store's participants together may make per minute.
    pub store_per_minute: u32,
    /// Failed attempts (mistyped, unknown, someone else's code) per hour after which a
    /// successful registration is held for review: guessing looks like this.
    pub failures_to_hold: u32,
    /// Failed attempts per hour after which the participant is blocked from
    /// registering for the rest of the hour: brute force.
    pub failures_to_block: u32,
    /// A registration hour this many times the participant's usual hourly rate is a
    /// burst, held for review...
    pub burst_factor: u32,
    /// ...once it is at least this many registrations (a new seller's first busy hour
    /// is not a burst).
    pub burst_minimum: u32,
}

impl Default for FraudLimits {
    fn default() -> Self {
        Self {
            participant_per_minute: 30,
            store_per_minute: 120,
            failures_to_hold: 5,
            failures_to_block: 20,
            burst_factor: 10,
            burst_minimum: 40,
        }
    }
}

/// What the rules count about a participant before deciding on their attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptHistory {
    /// The participant's attempts in the last minute (this one not included).
    pub participant_last_minute: u32,
    /// Their store's attempts in the last minute.
    pub store_last_minute: u32,
    /// The participant's refused attempts in the last hour.
    pub failures_last_hour: u32,
    /// The participant's successful registrations in the last hour.
    pub registered_last_hour: u32,
    /// Their successful registrations in the 7 days before that hour.
    pub registered_last_week: u32,
    /// Other participants who tried the same code before (any is enough: stores may
    /// stop counting at one).
    pub others_tried_code: u32,
}

/// Refusals decided before the code is even looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Too many attempts by the participant (`store: false`) or their store.
    RateLimited {
        store: bool,
    },
    /// Too many failures: brute force.
    Blocked,
}

/// Why a valid registration is held for a moderator instead of credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Other participants tried this code first.
    SharedCode,
    /// Far more registrations this hour than the participant's usual.
    Burst,
    /// Many failed attempts just before: guessing.
    AfterFailures,
}

impl HoldReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::SharedCode => "shared_code",
            HoldReason::Burst => "burst",
            HoldReason::AfterFailures => "after_failures",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            HoldReason::SharedCode => "other participants tried this code before",
            HoldReason::Burst => "far more registrations this hour than usual",
            HoldReason::AfterFailures => "many failed attempts just before",
        }
    }
}

impl FraudLimits {
    /// Whether an attempt may proceed to the lookup at all.
    pub fn gate(&self, history: &AttemptHistory) -> Gate {
        if history.failures_last_hour >= self.failures_to_block {
            Gate::Blocked
        } else if history.participant_last_minute >= self.participant_per_minute {
            Gate::RateLimited { store: false }
        } else if history.store_last_minute >= self.store_per_minute {
            Gate::RateLimited { store: true }
        } else {
            Gate::Open
        }
    }

    /// Whether a registration of a valid, unregistered code should wait for a moderator.
    pub fn hold(&self, history: &AttemptHistory) -> Option<HoldReason> {
        if history.others_tried_code > 0 {
            return Some(HoldReason::SharedCode);
        }
        if history.failures_last_hour >= self.failures_to_hold {
            return Some(HoldReason::AfterFailures);
        }
        // The usual hourly rate over the past week, rounded up so a quiet seller's
        // usual is at least one an hour.
        let usual_per_hour = history.registered_last_week.div_ceil(7 * 24).max(1);
        let this_hour = history.registered_last_hour + 1;
        if this_hour >= self.burst_minimum
            && this_hour >= usual_per_hour.saturating_mul(self.burst_factor)
        {
            return Some(HoldReason::Burst);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn offer(id: i64, ends_at: i64, audience: CampaignAudience) -> Offer {
        Offer {
            campaign_id: id,
            status: CampaignStatus::Active,
            starts_at: 0,
            ends_at,
            audience,
        }
    }

    #[test]
    fn status_moves_forward_only() {
        use CampaignStatus::*;
        assert!(Draft.can_become(Active));
        assert!(Active.can_become(Paused) && Paused.can_become(Active));
        assert!(!Active.can_become(Draft));
        assert!(!Finished.can_become(Active));
        assert!(Finished.can_become(Finished));
        for s in [Draft, Active, Paused, Finished] {
            assert_eq!(CampaignStatus::parse(s.as_str()), Ok(s));
        }
        assert!(CampaignStatus::parse("over").is_err());
    }

    #[test]
    fn open_only_when_active_and_within_dates() {
        use CampaignStatus::*;
        assert_eq!(open_at(Active, 10, 20, 10), Ok(()));
        assert_eq!(open_at(Active, 10, 20, 9), Err(Closed::NotStarted));
        assert_eq!(open_at(Active, 10, 20, 20), Err(Closed::Ended));
        assert_eq!(open_at(Paused, 10, 20, 15), Err(Closed::NotActive(Paused)));
    }

    #[test]
    fn audience_lists_filter_only_when_filled() {
        let earner = AudienceMember {
            region: Some(1),
            store: Some(7),
            partners: [3].into(),
            level: 1,
        };
        assert!(CampaignAudience::default().admits(&earner).is_ok());
        let regions = CampaignAudience {
            regions: vec![2],
            ..Default::default()
        };
        assert!(regions.admits(&earner).is_err());
        let partners = CampaignAudience {
            partners: vec![3, 4],
            levels: vec![1, 2],
            ..Default::default()
        };
        assert!(partners.admits(&earner).is_ok());
        let levels = CampaignAudience {
            levels: vec![2],
            ..Default::default()
        };
        assert!(levels.admits(&earner).is_err());
        let nowhere = AudienceMember::default();
        assert!(
            CampaignAudience {
                stores: vec![7],
                ..Default::default()
            }
            .admits(&nowhere)
            .is_err(),
            "a participant without a store is outside a store list"
        );
    }

    #[test]
    fn code_points_multiply_by_pack_size() {
        assert_eq!(
            code_points(Points::from_hundredths(250), 6),
            Some(Points::from_hundredths(1500))
        );
        assert_eq!(code_points(Points::from_hundredths(i64::MAX), 2), None);
    }

    #[test]
    fn the_open_admitting_campaign_ending_first_pays() {
        let earner = AudienceMember {
            region: Some(1),
            ..Default::default()
        };
        let elsewhere = CampaignAudience {
            regions: vec![9],
            ..Default::default()
        };
        let offers = [
            offer(1, 50 * HOUR, CampaignAudience::default()),
            offer(2, 10 * HOUR, elsewhere.clone()),
            offer(3, 20 * HOUR, CampaignAudience::default()),
        ];
        assert_eq!(choose_offer(&offers, &earner, HOUR), Ok(3));
        assert_eq!(
            choose_offer(&offers, &earner, 30 * HOUR),
            Ok(1),
            "campaign 3 is over by then"
        );
        assert!(matches!(
            choose_offer(&[offer(2, 10 * HOUR, elsewhere)], &earner, HOUR),
            Err(NoOffer::NotEligible(_))
        ));
        assert!(matches!(
            choose_offer(&offers, &earner, 60 * HOUR),
            Err(NoOffer::Inactive(why)) if why.contains("over")
        ));
        assert!(matches!(
            choose_offer(&[], &earner, HOUR),
            Err(NoOffer::Inactive(_))
        ));
    }

    #[test]
    fn gate_blocks_brute_force_before_rate_limits() {
        let limits = FraudLimits::default();
        let calm = AttemptHistory::default();
        assert_eq!(limits.gate(&calm), Gate::Open);
        let fast = AttemptHistory {
            participant_last_minute: limits.participant_per_minute,
            ..calm
        };
        assert_eq!(limits.gate(&fast), Gate::RateLimited { store: false });
        let busy_store = AttemptHistory {
            store_last_minute: limits.store_per_minute,
            ..calm
        };
        assert_eq!(limits.gate(&busy_store), Gate::RateLimited { store: true });
        let guessing = AttemptHistory {
            failures_last_hour: limits.failures_to_block,
            ..fast
        };
        assert_eq!(limits.gate(&guessing), Gate::Blocked);
    }

    #[test]
    fn holds_shared_codes_bursts_and_registrations_after_failures() {
        let limits = FraudLimits::default();
        let calm = AttemptHistory::default();
        assert_eq!(limits.hold(&calm), None);
        assert_eq!(
            limits.hold(&AttemptHistory {
                others_tried_code: 1,
                ..calm
            }),
            Some(HoldReason::SharedCode)
        );
        assert_eq!(
            limits.hold(&AttemptHistory {
                failures_last_hour: limits.failures_to_hold,
                ..calm
            }),
            Some(HoldReason::AfterFailures)
        );
        let new_seller_busy_hour = AttemptHistory {
            registered_last_hour: limits.burst_minimum - 2,
            ..calm
        };
        assert_eq!(limits.hold(&new_seller_busy_hour), None);
        let burst = AttemptHistory {
            registered_last_hour: limits.burst_minimum,
            ..calm
        };
        assert_eq!(limits.hold(&burst), Some(HoldReason::Burst));
        // A seller who usually registers 10 an hour is not bursting at 50.
        let steady = AttemptHistory {
            registered_last_hour: 50,
            registered_last_week: 10 * 7 * 24,
            ..calm
        };
        assert_eq!(limits.hold(&steady), None);
    }
}
