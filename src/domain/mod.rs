//! Validated values at the edge. A handler turns the request body into these first;
//! code past the edge never re-checks a phone, login or name.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A phone number in E.164 form (`+79001234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts what people type: spaces, dashes, brackets, and the Russian domestic
    /// `8XXXXXXXXXX` form, which is rewritten to `+7XXXXXXXXXX`.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        let has_plus = trimmed.starts_with('+');
        let mut digits = String::with_capacity(16);
        for (i, ch) in trimmed.chars().enumerate() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(format!("unexpected character {ch:?} in a phone number")),
            }
        }
        if !has_plus && digits.len() == 11 && digits.starts_with('8') {
            digits.replace_range(0..1, "7");
        }
        if !(10..=15).contains(&digits.len()) {
            return Err("a phone number has 10 to 15 digits, e.g. +79001234567".into());
        }
        if digits.starts_with('0') {
            return Err("a phone number starts with a country code, e.g. +7".into());
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last digits only, for logs: enough to tell people apart, not to call them.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(4);
        format!("{}{}", "*".repeat(keep), &self.0[keep..])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login: 3 to 64 of `a-z 0-9 . _ -`, compared case-insensitively (stored lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    pub fn parse(input: &str) -> Result<Self, String> {
        let login = input.trim().to_lowercase();
        if !(3..=64).contains(&login.chars().count()) {
            return Err("a login has 3 to 64 characters".into());
        }
        if let Some(ch) = login
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "a login may contain latin letters, digits, '.', '_' and '-', not {ch:?}"
            ));
        }
        Ok(Self(login))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password chosen by a person. Only its length is ruled: long passphrases are
/// better than composition rules (NIST SP 800-63B).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: &str) -> Result<Self, String> {
        let count = input.chars().count();
        if count < Self::MIN_CHARS {
            return Err(format!(
                "a password has at least {} characters",
                Self::MIN_CHARS
            ));
        }
        if count > Self::MAX_CHARS {
            return Err(format!(
                "a password has at most {} characters",
                Self::MAX_CHARS
            ));
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// A trimmed, non-empty display text of bounded length (names, addresses, titles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(text.to_string()))
    }

    /// Like [`Self::parse`] for text of several lines: line breaks and tabs are kept,
    /// other control characters refused.
    pub fn parse_multiline(input: &str) -> Result<Self, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        Ok(Self(text.to_string()))
    }

    /// Like [`Self::parse`] but an empty input is allowed and gives an empty text.
    pub fn parse_optional(input: &str) -> Result<Self, String> {
        if input.trim().is_empty() {
            Ok(Self(String::new()))
        } else {
            Self::parse(input)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

pub type PersonName = Text<200>;
pub type Title = Text<200>;
pub type Address = Text<500>;

/// A program slug: 2 to 40 of `a-z 0-9 -`, used in URLs and logins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, String> {
        let slug = input.trim().to_lowercase();
        let ok_chars = slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(2..=40).contains(&slug.len()) || !ok_chars || slug.starts_with('-') {
            return Err("a slug has 2 to 40 of a-z, 0-9 and '-'".into());
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name, checked against the zone database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim();
        name.parse::<chrono_tz::Tz>()
            .map(|_| Self(name.to_string()))
            .map_err(|_| format!("unknown time zone {name:?}; use an IANA name like Europe/Moscow"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Russian taxpayer number (INN): 10 digits for a company, 12 for a person or a
/// sole trader, whose last one (two) are check digits. Checked before anything is
/// looked up or stored, so a typo is caught where it is typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxId(String);

/// The check digit of `digits` under `weights`: the weighted sum modulo 11, then 10.
fn inn_check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

impl TaxId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let text: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let digits: Vec<u32> = text
            .chars()
            .map(|c| c.to_digit(10))
            .collect::<Option<_>>()
            .ok_or("a tax number (INN) has only digits")?;
        const TEN: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
        const ELEVENTH: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
        const TWELFTH: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
        let valid = match digits.len() {
            10 => inn_check_digit(&digits[..9], &TEN) == digits[9],
            12 => {
                inn_check_digit(&digits[..10], &ELEVENTH) == digits[10]
                    && inn_check_digit(&digits[..11], &TWELFTH) == digits[11]
            }
            _ => {
                return Err("a tax number (INN) has 10 digits (a company) or 12 (a person)".into());
            }
        };
        if !valid {
            return Err("the tax number (INN) does not add up: check its digits".into());
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A company's number (10 digits), as opposed to a person's (12).
    pub fn is_company(&self) -> bool {
        self.0.len() == 10
    }
}

/// Serialises stored hundredths of a point as a decimal string (`1250` → `"12.50"`).
pub fn hundredths_as_decimal<S: serde::Serializer>(
    value: &Option<i64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(hundredths) => serializer.collect_str(
            &stimul_actors::rules::points::Points::from_hundredths(*hundredths),
        ),
        None => serializer.serialize_none(),
    }
}

/// Collects field errors from several parses and returns them all at once, so a form
/// with three mistakes gets three messages, not one per round trip.
///
/// ```ignore
/// validate! {
///     phone = "phone" => Phone::parse(&body.phone),
///     name = "name" => PersonName::parse(&body.name),
/// }
/// ```
#[macro_export]
macro_rules! validate {
    ($($name:ident = $field:expr => $parse:expr),+ $(,)?) => {
        let mut validation_errors: Vec<$crate::error::FieldError> = Vec::new();
        $(
            let $name = match $parse {
                Ok(value) => Some(value),
                Err(message) => {
                    validation_errors.push($crate::error::FieldError {
                        field: ($field).to_string(),
                        message: message.to_string(),
                    });
                    None
                }
            };
        )+
        if !validation_errors.is_empty() {
            return Err($crate::error::ApiError::fields(validation_errors).into());
        }
        // unwrap: every None above pushed an error and returned
        $( let Some($name) = $name else { unreachable!() }; )+
    };
}

/// For `Option<Option<T>>` fields of a patch (with `#[serde(default)]`): an absent
/// field stays `None` (keep), `null` is `Some(None)` (clear), a value `Some(Some(v))`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Parses an optional field: absent or JSON null is `None`, present must be valid.
pub fn optional<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    value.map(parse).transpose()
}

stimul_actors::stored_enum! {
    /// Where a person stands in the program.
    pub enum PersonStatus {
        /// Registered, waiting for a moderator; may log in but not act.
        Pending = "pending",
        Active = "active",
        /// Cannot log in; sessions are revoked.
        Blocked = "blocked",
    }
}

/// What an account is: a participant earns points (sellers and store owners), staff
/// run the program (admins, managers, moderators, brand and partner users).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Participant,
    Staff,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Participant => "participant",
            AccountKind::Staff => "staff",
        }
    }

    pub fn is_participant(self) -> bool {
        self == AccountKind::Participant
    }
}

impl TryFrom<String> for AccountKind {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        match stored.as_str() {
            "participant" => Ok(AccountKind::Participant),
            "staff" => Ok(AccountKind::Staff),
            other => Err(format!("unknown account kind {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised() {
        assert_eq!(
            Phone::parse("+7 (900) 123-45-67").map(|p| p.0),
            Ok("+79001234567".into())
        );
        assert_eq!(
            Phone::parse("89001234567").map(|p| p.0),
            Ok("+79001234567".into())
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0958").map(|p| p.0),
            Ok("+442079460958".into())
        );
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("+7900abc4567").is_err());
        assert!(Phone::parse("+7 900 123 45 67 89 01 23").is_err());
        assert_eq!(
            Phone::parse("+79001234567").map(|p| p.masked()),
            Ok("********4567".into())
        );
    }

    #[test]
    fn logins_are_lowercase_and_restricted() {
        assert_eq!(Login::parse(" Seller1 ").map(|l| l.0), Ok("seller1".into()));
        assert!(Login::parse("ab").is_err());
        assert!(Login::parse("has space").is_err());
        assert!(Login::parse("кириллица").is_err());
    }

    #[test]
    fn passwords_need_length_and_hide_in_debug() {
        assert!(NewPassword::parse("short").is_err());
        let password = NewPassword::parse("correct horse battery").ok();
        assert!(password.is_some());
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(
            Title::parse("  Shop  ").map(Text::into_string),
            Ok("Shop".into())
        );
        assert!(Title::parse("   ").is_err());
        assert!(Text::<3>::parse("four").is_err());
        assert!(Title::parse("a\u{0}b").is_err());
    }

    #[test]
    fn tax_numbers_are_checked_by_their_digits() {
        // Real, published numbers: a company's and a person's.
        assert!(TaxId::parse("7707083893").is_ok_and(|inn| inn.is_company()));
        assert!(TaxId::parse("500100732259").is_ok_and(|inn| !inn.is_company()));
        assert_eq!(
            TaxId::parse(" 7707 083893 ").map(|inn| inn.as_str().to_string()),
            Ok("7707083893".to_string())
        );
        // One digit off, two swapped, wrong lengths, letters.
        assert!(TaxId::parse("7707083894").is_err());
        assert!(TaxId::parse("500100732295").is_err());
        assert!(TaxId::parse("770708389").is_err());
        assert!(TaxId::parse("77070838931").is_err());
        assert!(TaxId::parse("77070838a3").is_err());
    }

    #[test]
    fn slugs_and_zones() {
        assert!(Slug::parse("demo").is_ok());
        assert!(Slug::parse("Bad Slug").is_err());
        assert!(TimeZoneName::parse("Europe/Moscow").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }
}
