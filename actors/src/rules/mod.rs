//! The pure domain rules of Stimul.
//!
//! Everything here is deterministic, synchronous and free of I/O: the actors that own live
//! state call these functions, the server uses the same types at its edge (a handler turns
//! a request body into [`points::Points`] or [`codes::ProductCode`] first, so code past the
//! edge never re-checks). One module per topic:
//!
//! | module | owns |
//! | --- | --- |
//! | [`notifications`] | what causes a message, the variables its template may name, rendering in Russian or English |
//! | [`points`] | the money type and the single rounding rule for rates and percents |
//! | [`levels`] | a program's level scale: which level progress reaches, and its multiplier |
//! | [`campaigns`] | campaign life cycle, audiences, what a code pays, which campaign pays, anti-fraud verdicts |
//! | [`codes`] | product code format, check letter, QR payload, sharded random generation |
//! | [`rewards`] | reward kinds and prices, reward audiences, the order life cycle and what each status does to reserved points |
//! | [`refill`] | when a code pool is refilled (watermark, nightly window) and how a refill is split |
//! | [`leaderboard`] | an order-statistics board: rank, top-N and around-me in O(log n) |
//! | [`windows`] | leaderboard time windows (day, ISO week, month) in the program's zone |
//! | [`routing`] | moderation queue order and which moderator takes an item |
//! | [`stored`] | the one declaration of statuses and kinds stored as text (`stored_enum!`) |
//! | [`expiry`] | when credited points expire, and the order lots are spent in |
//! | [`recalculation`] | a changed rule priced against past earnings, and the compensations per participant |
//! | [`support`] | where a support request stands after each side writes |
//! | [`tax`] | the tax agent: when bonus income arises, the yearly scale, withholding or grossing up |
//! | [`tasks`] | task kinds, answer checking and quiz scoring, recurrence, limits, audiences, quests, streaks, trust |

pub mod campaigns;
pub mod codes;
pub mod expiry;
pub mod leaderboard;
pub mod levels;
pub mod notifications;
pub mod points;
pub mod recalculation;
pub mod refill;
pub mod rewards;
pub mod routing;
pub mod stored;
pub mod support;
pub mod tasks;
pub mod tax;
pub mod windows;

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// Deserialises a value from a JSON string through its `FromStr`, and from nothing else.
///
/// Amounts and codes are strings on the wire on purpose: a JSON number would pass through
/// a float in many clients and lose hundredths, so a number is a type error, not a
/// convenience.
pub(crate) fn deserialize_from_str<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    struct FromStrVisitor<T> {
        expecting: &'static str,
        target: PhantomData<T>,
    }

    impl<T> serde::de::Visitor<'_> for FromStrVisitor<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
            value.parse().map_err(E::custom)
        }
    }

    deserializer.deserialize_str(FromStrVisitor {
        expecting,
        target: PhantomData,
    })
}
