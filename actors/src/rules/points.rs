//! Points, the only money type, and the one rounding rule.
//!
//! An amount of points is an integer number of hundredths (1 point = 1 rouble, so one
//! hundredth is a kopeck). Integers keep the double-entry ledger exact: postings sum to
//! zero with no drift, and floats never touch an amount. On the wire an amount is a
//! decimal string such as `"12.50"`, never a JSON number, because many clients would read
//! a number into a float.
//!
//! Rates and percents (level multipliers, the owner's share, cashback) are
//! [`rust_decimal::Decimal`]. [`Points::apply_rate`] is the single place where a rate
//! meets an amount, so the whole platform has exactly one rounding rule:
//!
//! > multiply exactly, then round to the nearest hundredth, half away from zero
//! > (`RoundingStrategy::MidpointAwayFromZero`).
//!
//! Half away from zero (rather than banker's rounding) is what people and accountants
//! expect on a statement, and it is symmetric: a reversal of a credit rounds to exactly
//! the negated credit, so a credit and its reversal always cancel in the ledger.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// An amount of points, stored as integer hundredths of a point.
///
/// Construct it with [`Points::parse`] at the edge or [`Points::from_hundredths`] from
/// storage. Arithmetic is checked: an overflow is a `None`, never a wrapped balance.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(i64);

/// Why a decimal string is not an acceptable amount, percent or rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseDecimalError {
    #[error("the value is empty")]
    Empty,
    /// Anything but an optional `-`, digits, and an optional `.` followed by digits:
    /// whitespace, `+`, exponents, thousands separators, a bare `.5` or `5.`.
    #[error(
        "the value must be written as digits with an optional leading '-' and '.', e.g. \"12.50\""
    )]
    Malformed,
    #[error("the value has more than {max} digits after the decimal point")]
    TooManyFractionDigits { max: u32 },
    #[error("the value is out of range")]
    OutOfRange,
}

impl Points {
    pub const ZERO: Points = Points(0);

    /// Digits an amount may have after the decimal point.
    pub const FRACTION_DIGITS: u32 = 2;

    pub const fn from_hundredths(hundredths: i64) -> Self {
        Points(hundredths)
    }

    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// Parses `"12"`, `"12.5"`, `"12.50"`, `"-0.05"`.
    ///
    /// Strict on purpose: an amount is money, so `" 12"`, `"+12"`, `"1e3"`, `"12.505"` and
    /// `"1,5"` are rejected rather than guessed at.
    pub fn parse(input: &str) -> Result<Points, ParseDecimalError> {
        let parts = DecimalParts::split(input)?;
        if parts.fraction.len() > Self::FRACTION_DIGITS as usize {
            return Err(ParseDecimalError::TooManyFractionDigits {
                max: Self::FRACTION_DIGITS,
            });
        }
        // "5" after the point means fifty hundredths, so the fraction is right-padded.
        let fraction_padded = parts
            .fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(Self::FRACTION_DIGITS as usize);
        let magnitude = parts
            .integer
            .bytes()
            .chain(fraction_padded)
            .try_fold(0_u64, |acc, digit| {
                acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
            })
            .ok_or(ParseDecimalError::OutOfRange)?;
        let hundredths = if parts.negative {
            // Accepts i64::MIN, whose magnitude does not fit in a positive i64.
            0_i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        hundredths.map(Points).ok_or(ParseDecimalError::OutOfRange)
    }

    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    pub fn checked_sub(self, other: Points) -> Option<Points> {
        self.0.checked_sub(other.0).map(Points)
    }

    pub fn checked_neg(self) -> Option<Points> {
        self.0.checked_neg().map(Points)
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Multiplies by `rate` and rounds with the platform's one rule: to the nearest
    /// hundredth, half away from zero. `1.5 × 0.03 = 0.045 → 0.05`; `-0.005 → -0.01`.
    ///
    /// The product is exact before the single rounding for every rate with up to 26
    /// fraction digits (all parsed rates and percents have far fewer), so there is no
    /// double rounding. Returns `None` only when the result does not fit an amount.
    ///
    /// Returns `Option` rather than a bare `Points` because a rate is configuration and an
    /// amount can be large: their product can overflow, and money must not saturate or
    /// wrap silently.
    pub fn apply_rate(self, rate: Decimal) -> Option<Points> {
        let exact = Decimal::new(self.0, Self::FRACTION_DIGITS).checked_mul(rate)?;
        let rounded = exact.round_dp_with_strategy(
            Self::FRACTION_DIGITS,
            RoundingStrategy::MidpointAwayFromZero,
        );
        rounded
            .checked_mul(Decimal::ONE_HUNDRED)?
            .to_i64()
            .map(Points)
    }

    /// `percent` of this amount, e.g. an owner's 12.5% share of a seller's credit, rounded
    /// by the same rule as [`Points::apply_rate`].
    pub fn apply_percent(self, percent: Percent) -> Option<Points> {
        self.apply_rate(percent.as_rate())
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        // unsigned_abs: i64::MIN has no positive counterpart.
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl fmt::Debug for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Points({self})")
    }
}

impl FromStr for Points {
    type Err = ParseDecimalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Points::parse(s)
    }
}

impl serde::Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::deserialize_from_str(
            deserializer,
            "an amount of points as a string, e.g. \"12.50\"",
        )
    }
}

/// A percentage in `0..=100`, e.g. an owner's share of their sellers' income or a
/// cashback rate, with at most [`Percent::FRACTION_DIGITS`] digits after the point.
///
/// Kept apart from a bare `Decimal` so that "12.5" can never be mistaken for a rate of
/// 12.5×: [`Percent::as_rate`] is the one conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(Decimal);

impl Percent {
    /// Enough for "12.3456%"; more would only invite rounding questions.
    pub const FRACTION_DIGITS: u32 = 4;

    pub fn parse(input: &str) -> Result<Percent, ParseDecimalError> {
        Percent::new(parse_decimal(input, Self::FRACTION_DIGITS)?)
    }

    /// A whole percent, for defaults written in code; above 100 is 100.
    pub fn whole(value: u32) -> Percent {
        Percent(Decimal::from(value.min(100)))
    }

    /// Validates a percent read from storage or configuration.
    pub fn new(mut value: Decimal) -> Result<Percent, ParseDecimalError> {
        if value.is_zero() {
            // "-0" is zero; without this it would display as "-0".
            value.set_sign_positive(true);
        }
        if value.scale() > Self::FRACTION_DIGITS {
            return Err(ParseDecimalError::TooManyFractionDigits {
                max: Self::FRACTION_DIGITS,
            });
        }
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(ParseDecimalError::OutOfRange);
        }
        Ok(Percent(value))
    }

    /// The percent as written: `12.5` for 12.5%.
    pub const fn value(self) -> Decimal {
        self.0
    }

    /// The percent as a rate: `0.125` for 12.5%. Exact (a division by 100 only moves the
    /// decimal point).
    pub fn as_rate(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Percent {
    type Err = ParseDecimalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Percent::parse(s)
    }
}

impl serde::Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::deserialize_from_str(
            deserializer,
            "a percent from 0 to 100 as a string, e.g. \"12.5\"",
        )
    }
}

/// Digits a rate (a multiplier such as a level's `1.25`) may have after the point.
pub const RATE_FRACTION_DIGITS: u32 = 6;

/// Parses a non-negative rate such as a level multiplier (`"1.25"`) with the same strict
/// syntax as amounts and at most [`RATE_FRACTION_DIGITS`] fraction digits.
pub fn parse_rate(input: &str) -> Result<Decimal, ParseDecimalError> {
    let rate = parse_decimal(input, RATE_FRACTION_DIGITS)?;
    if rate < Decimal::ZERO {
        return Err(ParseDecimalError::OutOfRange);
    }
    Ok(rate)
}

/// Strict decimal syntax shared by amounts, percents and rates, then `Decimal`.
fn parse_decimal(input: &str, max_fraction_digits: u32) -> Result<Decimal, ParseDecimalError> {
    let parts = DecimalParts::split(input)?;
    if parts.fraction.len() > max_fraction_digits as usize {
        return Err(ParseDecimalError::TooManyFractionDigits {
            max: max_fraction_digits,
        });
    }
    // The syntax is already checked, so the only failure left is a value too large for a
    // Decimal; from_str_exact refuses to round it away.
    let mut value = Decimal::from_str_exact(input).map_err(|_| ParseDecimalError::OutOfRange)?;
    if value.is_zero() {
        // "-0" is zero; without this it would display as "-0".
        value.set_sign_positive(true);
    }
    Ok(value)
}

/// A syntactically valid decimal string taken apart: `-12.50` is
/// `{ negative: true, integer: "12", fraction: "50" }`. Both digit strings are ASCII
/// digits only; `integer` is never empty.
struct DecimalParts<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
}

impl<'a> DecimalParts<'a> {
    fn split(input: &'a str) -> Result<Self, ParseDecimalError> {
        if input.is_empty() {
            return Err(ParseDecimalError::Empty);
        }
        let (negative, unsigned) = match input.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let (integer, fraction) = match unsigned.split_once('.') {
            Some((integer, fraction)) if !fraction.is_empty() => (integer, fraction),
            Some(_) => return Err(ParseDecimalError::Malformed),
            None => (unsigned, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
            return Err(ParseDecimalError::Malformed);
        }
        Ok(DecimalParts {
            negative,
            integer,
            fraction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(s: &str) -> Points {
        match Points::parse(s) {
            Ok(p) => p,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn dec(s: &str) -> Decimal {
        match s.parse() {
            Ok(d) => d,
            Err(e) => panic!("{s:?} should be a decimal: {e}"),
        }
    }

    #[test]
    fn parses_integer_and_fraction_forms_into_hundredths() {
        assert_eq!(pts("12.50").hundredths(), 1250);
        assert_eq!(pts("12.5").hundredths(), 1250);
        assert_eq!(pts("12").hundredths(), 1200);
        assert_eq!(pts("0.05").hundredths(), 5);
        assert_eq!(pts("-0.05").hundredths(), -5);
        assert_eq!(pts("-12.3").hundredths(), -1230);
        assert_eq!(pts("0").hundredths(), 0);
        assert_eq!(pts("-0").hundredths(), 0);
        assert_eq!(pts("007.10").hundredths(), 710);
    }

    #[test]
    fn parses_the_extremes_of_i64() {
        assert_eq!(pts("92233720368547758.07").hundredths(), i64::MAX);
        assert_eq!(pts("-92233720368547758.08").hundredths(), i64::MIN);
    }

    #[test]
    fn rejects_malformed_amounts_with_typed_errors() {
        use ParseDecimalError::*;
        let cases = [
            ("", Empty),
            ("12.505", TooManyFractionDigits { max: 2 }),
            ("0.001", TooManyFractionDigits { max: 2 }),
            ("1e3", Malformed),
            ("1E3", Malformed),
            ("12.5e1", Malformed),
            (" 12", Malformed),
            ("12 ", Malformed),
            ("1 2", Malformed),
            ("+12", Malformed),
            ("--1", Malformed),
            ("-", Malformed),
            (".5", Malformed),
            ("5.", Malformed),
            (".", Malformed),
            ("1,5", Malformed),
            ("1.2.3", Malformed),
            ("NaN", Malformed),
            ("١٢", Malformed),
            ("92233720368547758.08", OutOfRange),
            ("-92233720368547758.09", OutOfRange),
            ("99999999999999999999999999999", OutOfRange),
        ];
        for (input, expected) in cases {
            assert_eq!(Points::parse(input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn displays_two_fraction_digits_and_sign() {
        assert_eq!(Points::from_hundredths(1250).to_string(), "12.50");
        assert_eq!(Points::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(Points::from_hundredths(0).to_string(), "0.00");
        assert_eq!(Points::from_hundredths(-100).to_string(), "-1.00");
        assert_eq!(Points::from_hundredths(7).to_string(), "0.07");
        assert_eq!(
            Points::from_hundredths(i64::MIN).to_string(),
            "-92233720368547758.08"
        );
        assert_eq!(
            Points::from_hundredths(i64::MAX).to_string(),
            "92233720368547758.07"
        );
        assert_eq!(
            format!("{:?}", Points::from_hundredths(-5)),
            "Points(-0.05)"
        );
    }

    #[test]
    fn display_and_parse_round_trip() {
        for h in [0, 1, -1, 99, -99, 100, 12345, -12345, i64::MAX, i64::MIN] {
            let p = Points::from_hundredths(h);
            assert_eq!(Points::parse(&p.to_string()), Ok(p));
        }
    }

    #[test]
    fn serde_uses_decimal_strings_only() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::to_string(&Points::from_hundredths(1250))?,
            "\"12.50\""
        );
        assert_eq!(
            serde_json::to_string(&Points::from_hundredths(-5))?,
            "\"-0.05\""
        );
        let back: Points = serde_json::from_str("\"12.5\"")?;
        assert_eq!(back, Points::from_hundredths(1250));
        assert!(
            serde_json::from_str::<Points>("12.5").is_err(),
            "a JSON float is refused"
        );
        assert!(
            serde_json::from_str::<Points>("12").is_err(),
            "a JSON integer is refused"
        );
        assert!(serde_json::from_str::<Points>("\"12.505\"").is_err());
        Ok(())
    }

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        let one = Points::from_hundredths(100);
        assert_eq!(one.checked_add(one), Some(Points::from_hundredths(200)));
        assert_eq!(
            one.checked_sub(Points::from_hundredths(150)),
            Some(Points::from_hundredths(-50))
        );
        assert_eq!(
            Points::from_hundredths(i64::MAX).checked_add(Points::from_hundredths(1)),
            None
        );
        assert_eq!(
            Points::from_hundredths(i64::MIN).checked_sub(Points::from_hundredths(1)),
            None
        );
        assert_eq!(Points::from_hundredths(i64::MIN).checked_neg(), None);
        assert_eq!(one.checked_neg(), Some(Points::from_hundredths(-100)));
    }

    #[test]
    fn apply_rate_rounds_half_away_from_zero() {
        let cases = [
            // (amount, rate, expected)
            ("0.01", "0.5", "0.01"),   // 0.005 -> 0.01
            ("-0.01", "0.5", "-0.01"), // -0.005 -> -0.01
            ("0.03", "1.5", "0.05"),   // 0.045 -> 0.05
            ("-0.03", "1.5", "-0.05"),
            ("0.05", "0.5", "0.03"), // 0.025 -> 0.03 (banker's would give 0.02)
            ("0.01", "0.49", "0.00"), // 0.0049 -> 0.00
            ("0.01", "0.51", "0.01"), // 0.0051 -> 0.01
            ("100.00", "1.25", "125.00"),
            ("33.33", "0.1", "3.33"), // 3.333 -> 3.33
            ("10.00", "0", "0.00"),
            ("12.34", "1", "12.34"),
        ];
        for (amount, rate, expected) in cases {
            assert_eq!(
                pts(amount).apply_rate(dec(rate)),
                Some(pts(expected)),
                "{amount} x {rate}"
            );
        }
    }

    #[test]
    fn a_credit_and_its_reversal_cancel() {
        for h in -1000..=1000 {
            let credit = Points::from_hundredths(h).apply_rate(dec("1.15"));
            let reversal = Points::from_hundredths(-h).apply_rate(dec("1.15"));
            assert_eq!(credit.and_then(Points::checked_neg), reversal, "amount {h}");
        }
    }

    #[test]
    fn apply_rate_reports_overflow() {
        assert_eq!(Points::from_hundredths(i64::MAX).apply_rate(dec("2")), None);
        assert_eq!(
            Points::from_hundredths(i64::MAX).apply_rate(Decimal::ONE),
            Some(Points::from_hundredths(i64::MAX))
        );
    }

    #[test]
    fn percent_parses_within_zero_to_hundred() {
        use ParseDecimalError::*;
        assert_eq!(Percent::parse("12.5").map(Percent::value), Ok(dec("12.5")));
        assert_eq!(Percent::parse("0").map(Percent::value), Ok(Decimal::ZERO));
        assert_eq!(
            Percent::parse("100").map(Percent::value),
            Ok(Decimal::ONE_HUNDRED)
        );
        assert_eq!(Percent::parse("100.01"), Err(OutOfRange));
        assert_eq!(Percent::parse("-1"), Err(OutOfRange));
        assert_eq!(
            Percent::parse("1.23456"),
            Err(TooManyFractionDigits { max: 4 })
        );
        assert_eq!(Percent::parse("5%"), Err(Malformed));
        assert_eq!(Percent::parse(""), Err(Empty));
        assert_eq!(Percent::new(dec("150")), Err(OutOfRange));
        assert_eq!(Percent::new(dec("-5")), Err(OutOfRange));
        assert_eq!(
            Percent::parse("-0").map(|p| p.to_string()),
            Ok("0".to_owned())
        );
        assert_eq!(
            parse_rate("-0.00").map(|r| r.to_string()),
            Ok("0.00".to_owned())
        );
    }

    #[test]
    fn percent_applies_as_a_rate_with_the_same_rounding() -> Result<(), ParseDecimalError> {
        assert_eq!(Percent::parse("12.5")?.as_rate(), dec("0.125"));
        // 12.5% of 0.10 = 0.0125 -> 0.01; of 0.20 = 0.025 -> 0.03.
        assert_eq!(
            pts("0.10").apply_percent(Percent::parse("12.5")?),
            Some(pts("0.01"))
        );
        assert_eq!(
            pts("0.20").apply_percent(Percent::parse("12.5")?),
            Some(pts("0.03"))
        );
        assert_eq!(
            pts("250").apply_percent(Percent::parse("10")?),
            Some(pts("25"))
        );
        Ok(())
    }

    #[test]
    fn percent_serde_is_a_string() -> Result<(), serde_json::Error> {
        let p: Percent = serde_json::from_str("\"7.5\"")?;
        assert_eq!(serde_json::to_string(&p)?, "\"7.5\"");
        assert!(serde_json::from_str::<Percent>("7.5").is_err());
        assert!(serde_json::from_str::<Percent>("\"101\"").is_err());
        Ok(())
    }

    #[test]
    fn rate_parsing_is_strict_and_non_negative() {
        use ParseDecimalError::*;
        assert_eq!(parse_rate("1.25"), Ok(dec("1.25")));
        assert_eq!(parse_rate("0"), Ok(Decimal::ZERO));
        assert_eq!(parse_rate("-0.5"), Err(OutOfRange));
        assert_eq!(parse_rate("1e2"), Err(Malformed));
        assert_eq!(
            parse_rate("1.1234567"),
            Err(TooManyFractionDigits { max: 6 })
        );
    }
}
