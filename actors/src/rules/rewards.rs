//! Spending points: what a reward costs, who may order it, and how an order moves from
//! placed to its end. Points leave a participant only by ledger postings: checkout
//! reserves the total (participant → order hold), a fulfilled order captures it (hold →
//! redeemed), a failed or cancelled one returns it (hold → participant).

use serde::{Deserialize, Serialize};

use super::points::Points;

/// What kind of reward, which decides how it is fulfilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// A retail network's gift certificate, bought from the certificate provider.
    GiftCertificate,
    /// Goods shipped to a delivery address by staff.
    Goods,
    /// A virtual payment card, bought from the certificate provider.
    VirtualCard,
    /// A phone top-up, through the top-up provider.
    PhoneTopup,
    /// Money to a bank card: requested as a payout, never ordered from the showcase.
    CardPayout,
    /// The program's merchandise, shipped by staff.
    Merch,
}

impl RewardKind {
    pub const ALL: [RewardKind; 6] = [
        RewardKind::GiftCertificate,
        RewardKind::Goods,
        RewardKind::VirtualCard,
        RewardKind::PhoneTopup,
        RewardKind::CardPayout,
        RewardKind::Merch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RewardKind::GiftCertificate => "gift_certificate",
            RewardKind::Goods => "goods",
            RewardKind::VirtualCard => "virtual_card",
            RewardKind::PhoneTopup => "phone_topup",
            RewardKind::CardPayout => "card_payout",
            RewardKind::Merch => "merch",
        }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == input)
            .ok_or_else(|| {
                format!(
                    "{input:?} is not a reward kind; one of {}",
                    Self::ALL.map(RewardKind::as_str).join(", ")
                )
            })
    }

    /// Shipped by staff (needs a delivery address), rather than bought from a provider.
    pub fn is_shipped(self) -> bool {
        matches!(self, RewardKind::Goods | RewardKind::Merch)
    }
}

/// What a reward costs: a fixed price, or an amount the participant chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    Fixed(Points),
    Chosen { min: Points, max: Points },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("this reward has a fixed price; do not send an amount")]
    AmountNotWanted,
    #[error("choose an amount between {min} and {max}")]
    AmountMissing { min: Points, max: Points },
    #[error("the amount must be between {min} and {max}")]
    AmountOutOfRange { min: Points, max: Points },
    #[error("the quantity must be between 1 and {max}")]
    Quantity { max: i64 },
    #[error("the total is too large")]
    Overflow,
}

/// Most units of one reward in one order line: a showcase, not a wholesaler.
pub const MAX_QUANTITY: i64 = 100;

impl Pricing {
    /// The unit price of a line: the fixed price, or the chosen amount within bounds.
    pub fn unit_price(self, chosen: Option<Points>) -> Result<Points, PriceError> {
        match (self, chosen) {
            (Pricing::Fixed(price), None) => Ok(price),
            (Pricing::Fixed(_), Some(_)) => Err(PriceError::AmountNotWanted),
            (Pricing::Chosen { min, max }, None) => Err(PriceError::AmountMissing { min, max }),
            (Pricing::Chosen { min, max }, Some(amount)) => {
                if amount.hundredths() < min.hundredths() || amount.hundredths() > max.hundredths()
                {
                    Err(PriceError::AmountOutOfRange { min, max })
                } else {
                    Ok(amount)
                }
            }
        }
    }

    /// The price of `quantity` units.
    pub fn line_total(self, chosen: Option<Points>, quantity: i64) -> Result<Points, PriceError> {
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(PriceError::Quantity { max: MAX_QUANTITY });
        }
        let unit = self.unit_price(chosen)?;
        unit.hundredths()
            .checked_mul(quantity)
            .map(Points::from_hundredths)
            .ok_or(PriceError::Overflow)
    }
}

/// Sums line totals without overflow.
pub fn order_total(lines: impl IntoIterator<Item = Points>) -> Option<Points> {
    lines
        .into_iter()
        .try_fold(Points::ZERO, |total, line| total.checked_add(line))
}

/// Who may order a reward: empty lists admit everyone; a window bounds it in time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardAudience {
    pub regions: Vec<i64>,
    /// Level indexes (0 = the first level).
    pub levels: Vec<u32>,
    /// Role names (`seller`, `owner`).
    pub roles: Vec<String>,
}

/// The participant as a reward's audience sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub region: Option<i64>,
    pub level: u32,
    pub roles: Vec<String>,
}

impl RewardAudience {
    /// Why `customer` may not order, if they may not.
    pub fn admits(&self, customer: &Customer) -> Result<(), &'static str> {
        if !self.regions.is_empty() && !customer.region.is_some_and(|r| self.regions.contains(&r)) {
            return Err("this reward is not offered in your region");
        }
        if !self.levels.is_empty() && !self.levels.contains(&customer.level) {
            return Err("this reward is for other levels");
        }
        if !self.roles.is_empty() && !customer.roles.iter().any(|r| self.roles.contains(r)) {
            return Err("this reward is for other roles");
        }
        Ok(())
    }
}

/// Whether `now` lies in a reward's active window (either bound may be open).
pub fn on_offer(active_from: Option<i64>, active_to: Option<i64>, now_ms: i64) -> bool {
    active_from.is_none_or(|from| now_ms >= from) && active_to.is_none_or(|to| now_ms < to)
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Points reserved for part of the total; the rest waits for a card payment the
    /// payment provider has not confirmed yet. Nothing is delivered on a payment not
    /// seen confirmed.
    AwaitingPayment,
    /// Points reserved (and any card part paid), nothing asked of anyone yet.
    Placed,
    /// A provider is working on it, or staff are preparing the goods.
    Processing,
    /// Goods on their way (set by staff).
    Shipped,
    /// Goods received (set by staff): final, points captured.
    Delivered,
    /// Delivered by the provider: final, points captured.
    Fulfilled,
    /// The provider could not deliver: final, points returned.
    Failed,
    /// Cancelled by staff or the participant before fulfilment: final, points returned.
    Cancelled,
}

impl TryFrom<String> for OrderStatus {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        OrderStatus::parse(&stored)
    }
}

/// Where the card payment of an order's shortfall stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardPaymentStatus {
    /// Asked, not confirmed: the buyer pays on the provider's page.
    Pending,
    /// The provider confirmed the amount asked.
    Succeeded,
    /// Never paid: declined, expired, or the order ended first.
    Cancelled,
    /// Paid, but the order ended undelivered: the money is on its way back.
    RefundPending,
    Refunded,
}

impl CardPaymentStatus {
    pub const ALL: [CardPaymentStatus; 5] = [
        CardPaymentStatus::Pending,
        CardPaymentStatus::Succeeded,
        CardPaymentStatus::Cancelled,
        CardPaymentStatus::RefundPending,
        CardPaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardPaymentStatus::Pending => "pending",
            CardPaymentStatus::Succeeded => "succeeded",
            CardPaymentStatus::Cancelled => "cancelled",
            CardPaymentStatus::RefundPending => "refund_pending",
            CardPaymentStatus::Refunded => "refunded",
        }
    }

    /// Whether a confirmed payment for it is still news: not yet recorded as taken.
    pub fn awaits_confirmation(self) -> bool {
        matches!(
            self,
            CardPaymentStatus::Pending | CardPaymentStatus::Cancelled
        )
    }
}

impl TryFrom<String> for CardPaymentStatus {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == stored)
            .ok_or_else(|| format!("{stored:?} is not a card payment status"))
    }
}

/// Where a payout to a bank card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Waiting for a moderator; the amount is reserved.
    Review,
    /// Approved, being paid by the provider.
    Approved,
    /// Paid: the points are captured.
    Paid,
    /// Rejected by a moderator: the points are returned.
    Rejected,
    /// The provider could not pay: the points are returned.
    Failed,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 5] = [
        PayoutStatus::Review,
        PayoutStatus::Approved,
        PayoutStatus::Paid,
        PayoutStatus::Rejected,
        PayoutStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Review => "review",
            PayoutStatus::Approved => "approved",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Rejected => "rejected",
            PayoutStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for PayoutStatus {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == stored)
            .ok_or_else(|| format!("{stored:?} is not a payout status"))
    }
}

/// What reaching a status does to the order's reserved points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Nothing yet: the points stay reserved.
    Keep,
    /// Hold → redeemed.
    Capture,
    /// Hold → participant.
    Release,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::Placed,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Fulfilled,
        OrderStatus::Failed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Placed => "placed",
            OrderStatus::Processing => "processing",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == input)
            .ok_or_else(|| {
                format!(
                    "{input:?} is not an order status; one of {}",
                    Self::ALL.map(OrderStatus::as_str).join(", ")
                )
            })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Delivered
                | OrderStatus::Fulfilled
                | OrderStatus::Failed
                | OrderStatus::Cancelled
        )
    }

    pub fn settlement(self) -> Settlement {
        match self {
            OrderStatus::Delivered | OrderStatus::Fulfilled => Settlement::Capture,
            OrderStatus::Failed | OrderStatus::Cancelled => Settlement::Release,
            _ => Settlement::Keep,
        }
    }

    /// Whether an order may move from `self` to `next`. `shipped` orders hold goods: they
    /// are delivered, never cancelled (a return is a new correction).
    pub fn may_become(self, next: OrderStatus, shipped_goods: bool) -> bool {
        use OrderStatus::*;
        match (self, next) {
            (AwaitingPayment, Placed | Cancelled | Failed) => true,
            (Placed, Processing) => true,
            (Placed | Processing, Cancelled | Failed) => true,
            (Placed | Processing, Fulfilled) => !shipped_goods,
            (Processing, Shipped) => shipped_goods,
            (Shipped, Delivered) => shipped_goods,
            _ => false,
        }
    }
}

/// How an order's total is paid: points always, a card for what they do not cover
/// when the program takes card payments and the buyer asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentSplit {
    /// Reserved from the participant's available points.
    pub points: Points,
    /// Asked of the buyer's card; zero when the points cover the total.
    pub card: Points,
}

/// Why an order's total cannot be paid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShortfallError {
    #[error("the order costs {total} points, more than the {available} available")]
    NotEnoughPoints { total: Points, available: Points },
    #[error(
        "this program does not take card payments; the order costs {total} points, more than the {available} available"
    )]
    CardsNotTaken { total: Points, available: Points },
    #[error(
        "a card pays only the rest of an order paid partly with points; there are none available"
    )]
    NoPoints,
}

/// Splits `total` between the participant's `available` points and a card. The card
/// pays only a shortfall (so an order always spends points: the program is a reward
/// scheme, not a shop), only when the buyer asked (`pay_shortfall`) and the program
/// takes cards (`cards_taken`).
pub fn split_payment(
    total: Points,
    available: Points,
    pay_shortfall: bool,
    cards_taken: bool,
) -> Result<PaymentSplit, ShortfallError> {
    if available >= total {
        return Ok(PaymentSplit {
            points: total,
            card: Points::ZERO,
        });
    }
    if !pay_shortfall {
        return Err(ShortfallError::NotEnoughPoints { total, available });
    }
    if !cards_taken {
        return Err(ShortfallError::CardsNotTaken { total, available });
    }
    if available <= Points::ZERO {
        return Err(ShortfallError::NoPoints);
    }
    Ok(PaymentSplit {
        points: available,
        card: Points::from_hundredths(total.hundredths() - available.hundredths()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_pays_only_the_shortfall_when_asked_and_taken() {
        let total = p("500");
        assert_eq!(
            split_payment(total, p("800"), true, true),
            Ok(PaymentSplit {
                points: total,
                card: Points::ZERO
            })
        );
        assert_eq!(
            split_payment(total, p("300"), true, true),
            Ok(PaymentSplit {
                points: p("300"),
                card: p("200")
            })
        );
        assert!(matches!(
            split_payment(total, p("300"), false, true),
            Err(ShortfallError::NotEnoughPoints { .. })
        ));
        assert!(matches!(
            split_payment(total, p("300"), true, false),
            Err(ShortfallError::CardsNotTaken { .. })
        ));
        assert_eq!(
            split_payment(total, Points::ZERO, true, true),
            Err(ShortfallError::NoPoints)
        );
    }

    #[test]
    fn an_order_waiting_for_its_payment_is_placed_or_ends_without_delivery() {
        use OrderStatus::*;
        assert!(AwaitingPayment.may_become(Placed, false));
        assert!(AwaitingPayment.may_become(Cancelled, true));
        assert!(!AwaitingPayment.may_become(Processing, false));
        assert!(!AwaitingPayment.may_become(Fulfilled, false));
        assert!(!AwaitingPayment.is_final());
        assert_eq!(AwaitingPayment.settlement(), Settlement::Keep);
    }

    fn p(s: &str) -> Points {
        Points::parse(s).expect("points")
    }

    #[test]
    fn a_fixed_price_takes_no_amount_and_multiplies_by_quantity() {
        let fixed = Pricing::Fixed(p("500"));
        assert_eq!(fixed.line_total(None, 3), Ok(p("1500")));
        assert_eq!(
            fixed.line_total(Some(p("10")), 1),
            Err(PriceError::AmountNotWanted)
        );
        assert_eq!(
            fixed.line_total(None, 0),
            Err(PriceError::Quantity { max: MAX_QUANTITY })
        );
        assert_eq!(
            fixed.line_total(None, MAX_QUANTITY + 1),
            Err(PriceError::Quantity { max: MAX_QUANTITY })
        );
    }

    #[test]
    fn a_chosen_amount_must_lie_within_its_bounds() {
        let chosen = Pricing::Chosen {
            min: p("100"),
            max: p("5000"),
        };
        assert_eq!(chosen.line_total(Some(p("100")), 1), Ok(p("100")));
        assert_eq!(chosen.line_total(Some(p("5000")), 2), Ok(p("10000")));
        assert!(matches!(
            chosen.line_total(Some(p("99.99")), 1),
            Err(PriceError::AmountOutOfRange { .. })
        ));
        assert!(matches!(
            chosen.line_total(None, 1),
            Err(PriceError::AmountMissing { .. })
        ));
    }

    #[test]
    fn totals_never_overflow_silently() {
        let huge = Pricing::Fixed(Points::from_hundredths(i64::MAX / 2));
        assert_eq!(huge.line_total(None, 3), Err(PriceError::Overflow));
        assert_eq!(
            order_total([Points::from_hundredths(i64::MAX), p("1")]),
            None
        );
        assert_eq!(order_total([p("1"), p("2.50")]), Some(p("3.50")));
    }

    #[test]
    fn an_audience_admits_by_region_level_and_role() {
        let everyone = RewardAudience::default();
        let seller = Customer {
            region: Some(1),
            level: 0,
            roles: vec!["seller".into()],
        };
        assert!(everyone.admits(&seller).is_ok());
        let moscow_gold_owners = RewardAudience {
            regions: vec![1],
            levels: vec![2],
            roles: vec!["owner".into()],
        };
        assert!(moscow_gold_owners.admits(&seller).is_err());
        let gold_owner = Customer {
            region: Some(1),
            level: 2,
            roles: vec!["seller".into(), "owner".into()],
        };
        assert!(moscow_gold_owners.admits(&gold_owner).is_ok());
        let elsewhere = Customer {
            region: None,
            ..gold_owner
        };
        assert!(moscow_gold_owners.admits(&elsewhere).is_err());
    }

    #[test]
    fn the_window_is_half_open() {
        assert!(on_offer(None, None, 5));
        assert!(on_offer(Some(5), Some(10), 5));
        assert!(!on_offer(Some(5), Some(10), 10));
        assert!(!on_offer(Some(5), None, 4));
    }

    #[test]
    fn orders_move_forward_only_and_settle_once_final() {
        use OrderStatus::*;
        assert!(Placed.may_become(Processing, false));
        assert!(Processing.may_become(Fulfilled, false));
        assert!(!Processing.may_become(Fulfilled, true));
        assert!(Processing.may_become(Shipped, true));
        assert!(Shipped.may_become(Delivered, true));
        assert!(!Shipped.may_become(Cancelled, true));
        assert!(!Fulfilled.may_become(Cancelled, false));
        assert!(!Failed.may_become(Fulfilled, false));
        assert!(!Cancelled.may_become(Processing, false));
        for status in OrderStatus::ALL {
            assert_eq!(status.is_final(), status.settlement() != Settlement::Keep);
            assert_eq!(OrderStatus::parse(status.as_str()), Ok(status));
        }
        assert!(OrderStatus::parse("lost").is_err());
        assert_eq!(RewardKind::parse("goods"), Ok(RewardKind::Goods));
        assert!(RewardKind::Merch.is_shipped());
        assert!(!RewardKind::GiftCertificate.is_shipped());
    }
}

/// A bank card number as typed, checked: 13 to 19 digits (spaces and dashes allowed)
/// with a valid Luhn check digit. Only ever handed to the payout provider; what is
/// kept is [`CardNumber::masked`].
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl std::fmt::Debug for CardNumber {
    // A card number never reaches a log through a `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

impl CardNumber {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(13..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a card number is 13 to 19 digits");
        }
        let sum: u32 = digits
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    let doubled = d * 2;
                    if doubled > 9 { doubled - 9 } else { doubled }
                } else {
                    d
                }
            })
            .sum();
        if !sum.is_multiple_of(10) {
            return Err("the card number has a typo (its check digit does not match)");
        }
        Ok(Self(digits))
    }

    /// The digits, for the provider only.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// First six and last four, the rest hidden: `411111******1111`.
    pub fn masked(&self) -> String {
        let len = self.0.len();
        format!(
            "{}{}{}",
            &self.0[..6],
            "*".repeat(len - 10),
            &self.0[len - 4..]
        )
    }
}

/// Why a payout is refused before it is queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutRefusal {
    #[error("a payout is at least {minimum}")]
    BelowMinimum { minimum: Points },
    #[error("payouts are limited to {limit} a day; {left} left today")]
    DailyLimit { limit: Points, left: Points },
    #[error("payouts are limited to {limit} in 30 days; {left} left")]
    MonthlyLimit { limit: Points, left: Points },
}

/// A program's payout limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutLimits {
    pub minimum: Points,
    pub per_day: Points,
    pub per_month: Points,
}

impl PayoutLimits {
    /// Whether `amount` may be paid out on top of what was paid (or is on its way) in
    /// the last day and the last 30 days.
    pub fn check(
        &self,
        amount: Points,
        last_day: Points,
        last_month: Points,
    ) -> Result<(), PayoutRefusal> {
        if amount.hundredths() < self.minimum.hundredths() {
            return Err(PayoutRefusal::BelowMinimum {
                minimum: self.minimum,
            });
        }
        let left = |limit: Points, used: Points| {
            Points::from_hundredths((limit.hundredths() - used.hundredths()).max(0))
        };
        if last_day.hundredths().saturating_add(amount.hundredths()) > self.per_day.hundredths() {
            return Err(PayoutRefusal::DailyLimit {
                limit: self.per_day,
                left: left(self.per_day, last_day),
            });
        }
        if last_month.hundredths().saturating_add(amount.hundredths()) > self.per_month.hundredths()
        {
            return Err(PayoutRefusal::MonthlyLimit {
                limit: self.per_month,
                left: left(self.per_month, last_month),
            });
        }
        Ok(())
    }
}

crate::stored_enum! {
    /// Whether a reward is in the catalogue.
    pub enum RewardStatus {
        Active = "active",
        /// Withdrawn by staff: not on offer, kept for the orders that name it.
        Inactive = "inactive",
    }
}

#[cfg(test)]
mod payout_tests {
    use super::*;

    fn p(s: &str) -> Points {
        Points::parse(s).expect("points")
    }

    #[test]
    fn card_numbers_are_luhn_checked_and_masked() {
        let card = CardNumber::parse("4111 1111 1111 1111").expect("valid");
        assert_eq!(card.digits(), "4111111111111111");
        assert_eq!(card.masked(), "411111******1111");
        assert!(!format!("{card:?}").contains("4111111111111111"));
        assert!(CardNumber::parse("4111 1111 1111 1112").is_err());
        assert!(CardNumber::parse("4111").is_err());
        assert!(CardNumber::parse("4111-1111-1111-111a").is_err());
        assert_eq!(
            CardNumber::parse("2200-7000-0000-0000-004")
                .map(|c| c.masked())
                .ok(),
            None
        );
        assert!(CardNumber::parse("5555555555554444").is_ok());
    }

    #[test]
    fn payouts_respect_the_minimum_and_both_limits() {
        let limits = PayoutLimits {
            minimum: p("500"),
            per_day: p("15000"),
            per_month: p("50000"),
        };
        assert_eq!(limits.check(p("500"), p("0"), p("0")), Ok(()));
        assert!(matches!(
            limits.check(p("499.99"), p("0"), p("0")),
            Err(PayoutRefusal::BelowMinimum { .. })
        ));
        assert_eq!(
            limits.check(p("6000"), p("10000"), p("10000")),
            Err(PayoutRefusal::DailyLimit {
                limit: p("15000"),
                left: p("5000")
            })
        );
        assert!(matches!(
            limits.check(p("5000"), p("0"), p("46000")),
            Err(PayoutRefusal::MonthlyLimit { .. })
        ));
        assert_eq!(limits.check(p("5000"), p("10000"), p("45000")), Ok(()));
    }
}
