//! Product codes: the letter code printed on every promo package, its check letter, its
//! QR payload, and sharded random generation.
//!
//! A seller types the code from the package (or scans the QR code next to it) and gets
//! points at once, so the format is built for people with a phone in one hand:
//!
//! - **Alphabet**: the 23 uppercase Latin letters `ABCDEFGHJKLMNPRSTUVWXYZ`. `I`, `O` and
//!   `Q` are left out because they are confused with `1`, `0` and `O`; there are no digits
//!   at all. 23 is prime, which the check letter relies on.
//! - **Length**: 10 data letters + 1 check letter, shown as `ABCD-EFGH-JKL`. The data
//!   letters carry 23^10 ≈ 4.14 × 10^13 ≈ 2^45.2 values (more than 40 bits).
//! - **Check letter**: with letter values `v_1..v_11` (position in the alphabet) and
//!   weights `1..=11`, the check letter makes `Σ i·v_i ≡ 0 (mod 23)`. A single wrong letter
//!   at position `i` changes the sum by `i·d` with `d ≢ 0`; since 23 is prime and
//!   `1 ≤ i ≤ 11 < 23`, that is never `≡ 0`, so **every single-letter substitution is
//!   caught**. Swapping the letters at `i` and `i+1` changes the sum by `(v_i − v_{i+1})`,
//!   nonzero for unequal letters, so **every adjacent transposition is caught** (in fact
//!   every transposition at distance `k ≤ 10`, as the weights differ by `k`).
//! - **Unguessability**: codes are drawn uniformly at random. With 15 million live codes in
//!   a space of 4.14 × 10^13, a guessed code that passes the check letter is live with
//!   probability ≈ 3.6 × 10^-7, before any rate limit.
//!
//! Generation is split into shards ([`CodeShard`]) with disjoint value sets, so several
//! workers can fill a pool at once and never produce the same code, while each shard's
//! codes stay uniformly random.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// The code alphabet, in value order: a letter's value is its index here.
pub const ALPHABET: [u8; 23] = *b"ABCDEFGHJKLMNPRSTUVWXYZ";

/// Letters of random data in a code.
pub const DATA_LEN: usize = 10;

/// Letters in a code: the data letters and the check letter.
pub const CODE_LEN: usize = DATA_LEN + 1;

/// Number of distinct codes: 23^10 = 41,426,511,213,649 ≈ 2^45.2.
pub const VALUE_SPACE: u64 = RADIX.pow(DATA_LEN as u32);

/// What a QR code on a package holds before the code itself: `STIMUL:C:ABCDEFGHJKL`. The
/// prefix lets the scanner tell our codes from any other QR code on the package.
pub const QR_PREFIX: &str = "STIMUL:C:";

const RADIX: u64 = ALPHABET.len() as u64;

/// The inverse of the check letter's weight (11) modulo 23: 11 × 21 = 231 = 10 × 23 + 1.
const INVERSE_OF_CHECK_WEIGHT: u64 = 21;

/// Value of each letter `A..=Z` by its offset from `A`; `NOT_A_LETTER` for I, O, Q.
const LETTER_VALUES: [u8; 26] = {
    let mut table = [NOT_A_LETTER; 26];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[(ALPHABET[value] - b'A') as usize] = value as u8;
        value += 1;
    }
    table
};
const NOT_A_LETTER: u8 = u8::MAX;

/// A well-formed product code: 11 letters of the alphabet whose check letter matches.
///
/// Stored as its 11 ASCII letters (what the database stores and what [`ProductCode::as_str`]
/// returns); [`fmt::Display`] adds the dashes people read. Serialises as the 11 letters
/// without dashes; deserialises through [`ProductCode::parse`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductCode([u8; CODE_LEN]);

/// Why input is not a product code. The API reports all three as "mistyped", but they are
/// kept apart so the UI can point at a bad letter and metrics can tell typos from probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// After dropping spaces and dashes the input does not have exactly 11 letters.
    #[error("a code has {CODE_LEN} letters, this has {found}")]
    WrongLength { found: usize },
    /// `ch` (as typed) is not one of the code letters; `position` is its 0-based index
    /// among the letters, not counting spaces and dashes.
    #[error("{ch:?} at position {} is not a code letter", position + 1)]
    InvalidCharacter { position: usize, ch: char },
    /// Every letter is valid but the check letter does not match: a typo.
    #[error("the code does not check out; it is probably mistyped")]
    CheckFailed,
}

impl ProductCode {
    /// Parses a typed code: surrounding and inner spaces and dashes are ignored, lower case
    /// is accepted, and Cyrillic letters that look exactly like code letters (А В Е К М Н
    /// Р С Т У Х) are read as those letters, because sellers on a Russian keyboard layout
    /// type what they see. The check letter makes that folding safe: a wrong guess fails.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let mut letters = [0_u8; CODE_LEN];
        let mut found = 0_usize;
        for ch in input.chars().filter(|&ch| !is_separator(ch)) {
            let value =
                letter_value(fold_to_code_letter(ch)).ok_or(CodeError::InvalidCharacter {
                    position: found,
                    ch,
                })?;
            if let Some(slot) = letters.get_mut(found) {
                *slot = ALPHABET[usize::from(value)];
            }
            found += 1;
        }
        if found != CODE_LEN {
            return Err(CodeError::WrongLength { found });
        }
        let code = ProductCode(letters);
        if !code.weighted_sum().is_multiple_of(RADIX) {
            return Err(CodeError::CheckFailed);
        }
        Ok(code)
    }

    /// Parses what a scanner or a pasted link delivers: the QR payload `STIMUL:C:<code>`
    /// (prefix in any case), a URL whose `c=` query value or last path segment is the code
    /// (`https://host/c/ABCDEFGHJKL`, `https://host/scan?c=ABCD-EFGH-JKL`), or a typed
    /// code.
    pub fn parse_scanned(input: &str) -> Result<Self, CodeError> {
        let input = input.trim();
        if let Some(code) = strip_prefix_ignore_ascii_case(input, QR_PREFIX) {
            return Self::parse(code);
        }
        if let Some(code) = code_in_url(input) {
            return Self::parse(code);
        }
        Self::parse(input)
    }

    /// The code for `value` in `0..VALUE_SPACE`: its 10 data letters are `value` in base
    /// 23, most significant first, followed by the check letter. `None` outside the range.
    pub fn from_value(value: u64) -> Option<Self> {
        (value < VALUE_SPACE).then(|| Self::encode(value))
    }

    /// The number the data letters encode; `from_value(code.value()) == Some(code)`.
    pub fn value(&self) -> u64 {
        self.letter_values()
            .iter()
            .take(DATA_LEN)
            .fold(0, |acc, &v| acc * RADIX + u64::from(v))
    }

    /// The 11 letters without dashes, as stored.
    pub fn as_str(&self) -> &str {
        // unwrap: every byte is a letter of ALPHABET (the only constructors are `parse`,
        // which copies from ALPHABET, and `encode`, which indexes it), so this is ASCII.
        std::str::from_utf8(&self.0).expect("product code letters are ASCII")
    }

    /// What the QR code on the package holds: `STIMUL:C:<11 letters>`.
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.as_str())
    }

    /// Callers guarantee `value < VALUE_SPACE`; larger values would lose their top digits.
    fn encode(value: u64) -> Self {
        let mut letters = [0_u8; CODE_LEN];
        let mut rest = value;
        for slot in letters[..DATA_LEN].iter_mut().rev() {
            *slot = ALPHABET[(rest % RADIX) as usize];
            rest /= RADIX;
        }
        let mut code = ProductCode(letters);
        // With the check slot still at 'A' (value 0) the sum covers the data letters only;
        // the check value c must satisfy data + 11·c ≡ 0, so c = −data · 11⁻¹.
        let data_sum = code.weighted_sum() % RADIX;
        let check = (RADIX - data_sum) % RADIX * INVERSE_OF_CHECK_WEIGHT % RADIX;
        code.0[DATA_LEN] = ALPHABET[check as usize];
        code
    }

    fn letter_values(&self) -> [u8; CODE_LEN] {
        self.0
            .map(|letter| letter_value(char::from(letter)).unwrap_or(0))
    }

    /// Σ (position + 1) · value over all 11 letters; a valid code has this ≡ 0 (mod 23).
    fn weighted_sum(&self) -> u64 {
        self.letter_values()
            .iter()
            .zip(1_u64..)
            .map(|(&value, weight)| weight * u64::from(value))
            .sum()
    }
}

impl fmt::Display for ProductCode {
    /// `ABCD-EFGH-JKL`: groups of 4, 4 and 3 are easier to read off a package and type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_str();
        write!(f, "{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }
}

impl fmt::Debug for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProductCode({self})")
    }
}

impl FromStr for ProductCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProductCode::parse(s)
    }
}

impl serde::Serialize for ProductCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ProductCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::deserialize_from_str(deserializer, "a product code such as \"ABCD-EFGH-JKL\"")
    }
}

/// One worker's share of the code space: the values `v` with `v mod count == index`.
///
/// Shards with the same `count` and different `index` can never produce the same code, so
/// workers fill a pool in parallel without coordinating; the database's unique key only
/// has to catch repeats within a shard (and earlier refills).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeShard {
    index: u64,
    count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeShardError {
    #[error("a shard count must be between 1 and the number of codes")]
    BadCount,
    #[error("shard index {index} is not below the shard count {count}")]
    IndexOutOfRange { index: u64, count: u64 },
}

impl CodeShard {
    /// The whole code space as one shard.
    pub const WHOLE: CodeShard = CodeShard { index: 0, count: 1 };

    pub fn new(index: u64, count: u64) -> Result<Self, CodeShardError> {
        if count == 0 || count > VALUE_SPACE {
            return Err(CodeShardError::BadCount);
        }
        if index >= count {
            return Err(CodeShardError::IndexOutOfRange { index, count });
        }
        Ok(CodeShard { index, count })
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Codes this shard can produce: ⌊23^10 / count⌋. The last `23^10 mod count` values
    /// belong to no shard, which keeps every shard the same size and so equally random
    /// (with 16 shards each still has ≈ 2^41.2 codes).
    pub fn capacity(&self) -> u64 {
        VALUE_SPACE / self.count
    }

    pub fn contains(&self, code: &ProductCode) -> bool {
        let value = code.value();
        value % self.count == self.index && value / self.count < self.capacity()
    }

    /// A uniformly random code of this shard: `r` uniform in `0..capacity()`, value
    /// `r · count + index`. Pass a cryptographically secure generator (`rand::rng()`) in
    /// production: codes are bearer tokens for points.
    pub fn random_code<R: Rng + ?Sized>(&self, rng: &mut R) -> ProductCode {
        let r = rng.random_range(0..self.capacity());
        // r < ⌊V / count⌋, so r · count + index < ⌊V / count⌋ · count ≤ V: in range.
        ProductCode::encode(r * self.count + self.index)
    }
}

fn letter_value(ch: char) -> Option<u8> {
    let offset = u32::from(ch).checked_sub(u32::from('A'))?;
    let value = *LETTER_VALUES.get(usize::try_from(offset).ok()?)?;
    (value != NOT_A_LETTER).then_some(value)
}

fn is_separator(ch: char) -> bool {
    // Phones turn "--" into dashes of other widths; all of them are only grouping.
    ch.is_whitespace()
        || matches!(
            ch,
            '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}'
        )
}

/// Upper-cases ASCII and maps Cyrillic look-alikes of code letters to those letters.
fn fold_to_code_letter(ch: char) -> char {
    match ch {
        'А' | 'а' => 'A',
        'В' | 'в' => 'B',
        'Е' | 'е' => 'E',
        'К' | 'к' => 'K',
        'М' | 'м' => 'M',
        'Н' | 'н' => 'H',
        'Р' | 'р' => 'P',
        'С' | 'с' => 'C',
        'Т' | 'т' => 'T',
        'У' | 'у' => 'Y',
        'Х' | 'х' => 'X',
        other => other.to_ascii_uppercase(),
    }
}

fn strip_prefix_ignore_ascii_case<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    let head = input.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &input[prefix.len()..])
}

/// The code candidate inside a URL: the `c` query parameter if present, else the last
/// non-empty path segment. `None` when `input` is not a URL.
fn code_in_url(input: &str) -> Option<&str> {
    let (_scheme, rest) = input.split_once("://")?;
    let without_fragment = rest.split('#').next().unwrap_or(rest);
    let (host_and_path, query) = match without_fragment.split_once('?') {
        Some((host_and_path, query)) => (host_and_path, Some(query)),
        None => (without_fragment, None),
    };
    let from_query = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.eq_ignore_ascii_case("c").then_some(value)
        });
    from_query.or_else(|| {
        let (_host, path) = host_and_path.split_once('/')?;
        path.rsplit('/').find(|segment| !segment.is_empty())
    })
}

crate::stored_enum! {
    /// Where a product code stands.
    pub enum CodeStatus {
        /// Generated, waiting in its product's pool.
        Pool = "pool",
        /// Printed in a batch, waiting for a seller.
        Issued = "issued",
        /// Registered, its points held for a check (anti-fraud).
        Held = "held",
        /// Registered and paid.
        Registered = "registered",
    }
}

crate::stored_enum! {
    /// Where an ordered batch of printed codes stands.
    pub enum BatchStatus {
        /// Codes still moving out of the pool.
        Issuing = "issuing",
        /// Every code is out: the CSV is ready.
        Issued = "issued",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn code(value: u64) -> ProductCode {
        match ProductCode::from_value(value) {
            Some(code) => code,
            None => panic!("{value} is in range"),
        }
    }

    fn random_codes(seed: u64, n: usize) -> Vec<ProductCode> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| CodeShard::WHOLE.random_code(&mut rng))
            .collect()
    }

    impl ProductCode {
        /// The valid code whose 10 data letters are `data`.
        fn parse_data_for_test(data: &str) -> Option<ProductCode> {
            let value = data.chars().try_fold(0, |acc, ch| {
                Some(acc * RADIX + u64::from(letter_value(ch)?))
            })?;
            ProductCode::from_value(value).filter(|c| c.as_str().starts_with(data))
        }
    }

    fn with_letter(code: &ProductCode, position: usize, letter: u8) -> String {
        let mut letters = code.as_str().as_bytes().to_vec();
        letters[position] = letter;
        String::from_utf8_lossy(&letters).into_owned()
    }

    #[test]
    fn alphabet_is_23_distinct_letters_without_confusables() {
        let letters: HashSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(letters.len(), 23);
        assert!(ALPHABET.iter().all(u8::is_ascii_uppercase));
        for confusable in [b'I', b'O', b'Q'] {
            assert!(!letters.contains(&confusable));
        }
        assert!(
            ALPHABET.windows(2).all(|w| w[0] < w[1]),
            "value order is alphabetical"
        );
    }

    #[test]
    fn value_space_is_23_to_the_10th_about_45_bits() {
        assert_eq!(VALUE_SPACE, 41_426_511_213_649);
        let bits = (VALUE_SPACE as f64).log2();
        assert!(bits > 45.2 && bits < 45.3, "{bits}");
        assert_eq!((11 * INVERSE_OF_CHECK_WEIGHT) % RADIX, 1);
    }

    #[test]
    fn value_round_trips_and_encodes_big_endian() {
        assert_eq!(code(0).as_str(), "AAAAAAAAAAA");
        assert_eq!(&code(1).as_str()[..DATA_LEN], "AAAAAAAAAB");
        assert_eq!(&code(23).as_str()[..DATA_LEN], "AAAAAAAABA");
        assert_eq!(&code(VALUE_SPACE - 1).as_str()[..DATA_LEN], "ZZZZZZZZZZ");
        assert_eq!(ProductCode::from_value(VALUE_SPACE), None);
        assert_eq!(ProductCode::from_value(u64::MAX), None);
        let mut rng = StdRng::seed_from_u64(1);
        for value in [0, 1, 22, 23, 529, VALUE_SPACE / 2, VALUE_SPACE - 1]
            .into_iter()
            .chain((0..1000).map(|_| rng.random_range(0..VALUE_SPACE)))
        {
            assert_eq!(code(value).value(), value);
        }
    }

    #[test]
    fn generated_codes_parse_back_in_every_form() {
        for c in random_codes(2, 1000) {
            assert_eq!(ProductCode::parse(c.as_str()), Ok(c));
            assert_eq!(ProductCode::parse(&c.to_string()), Ok(c));
            assert_eq!(ProductCode::parse_scanned(&c.qr_payload()), Ok(c));
        }
    }

    #[test]
    fn every_single_substitution_is_caught() {
        let mut checked = 0;
        for c in random_codes(3, 200) {
            for position in 0..CODE_LEN {
                for &letter in ALPHABET
                    .iter()
                    .filter(|&&l| l != c.as_str().as_bytes()[position])
                {
                    let typo = with_letter(&c, position, letter);
                    assert_eq!(
                        ProductCode::parse(&typo),
                        Err(CodeError::CheckFailed),
                        "{typo}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 200 * CODE_LEN * 22);
    }

    #[test]
    fn every_adjacent_transposition_is_caught() {
        let mut checked = 0;
        for c in random_codes(4, 2000) {
            for position in 0..CODE_LEN - 1 {
                let mut letters = c.as_str().as_bytes().to_vec();
                if letters[position] == letters[position + 1] {
                    continue;
                }
                letters.swap(position, position + 1);
                let typo = String::from_utf8_lossy(&letters).into_owned();
                assert_eq!(
                    ProductCode::parse(&typo),
                    Err(CodeError::CheckFailed),
                    "{typo}"
                );
                checked += 1;
            }
        }
        assert!(checked > 2000 * 9, "{checked}");
    }

    #[test]
    fn parse_normalises_typing() -> Result<(), CodeError> {
        let c = code(123_456_789_012);
        let compact = c.as_str().to_owned();
        let spaced: String = compact.chars().flat_map(|ch| [ch, ' ']).collect();
        for input in [
            compact.clone(),
            compact.to_lowercase(),
            c.to_string(),
            format!("  {c}\n"),
            spaced,
            format!("{}–{}—{}", &compact[..4], &compact[4..8], &compact[8..]),
        ] {
            assert_eq!(ProductCode::parse(&input)?, c, "{input:?}");
        }
        Ok(())
    }

    #[test]
    fn cyrillic_look_alikes_are_read_as_latin() -> Result<(), CodeError> {
        const LATIN: &str = "ABEKMHPCTYX";
        const CYRILLIC: &str = "АВЕКМНРСТУХ";
        let to_cyrillic = |latin: char| LATIN.find(latin).and_then(|i| CYRILLIC.chars().nth(i));
        // A code made only of letters that have Cyrillic twins: vary two data letters until
        // the check letter has a twin too (11 of 23 check letters do).
        let twin_only = LATIN
            .chars()
            .flat_map(|a| LATIN.chars().map(move |b| format!("{a}BEKMHPCT{b}")))
            .filter_map(|data| ProductCode::parse_data_for_test(&data))
            .find(|c| c.as_str().chars().all(|ch| to_cyrillic(ch).is_some()));
        let Some(code) = twin_only else {
            panic!("some twin-only code exists");
        };
        let upper: String = code.as_str().chars().filter_map(to_cyrillic).collect();
        assert_eq!(upper.chars().count(), CODE_LEN);
        assert_eq!(ProductCode::parse(&upper)?, code, "{upper}");
        assert_eq!(ProductCode::parse(&upper.to_lowercase())?, code);
        Ok(())
    }

    #[test]
    fn errors_tell_length_bad_letters_and_typos_apart() {
        let c = code(987_654_321).as_str().to_owned();
        assert_eq!(
            ProductCode::parse(""),
            Err(CodeError::WrongLength { found: 0 })
        );
        assert_eq!(
            ProductCode::parse(" - "),
            Err(CodeError::WrongLength { found: 0 })
        );
        assert_eq!(
            ProductCode::parse(&c[..10]),
            Err(CodeError::WrongLength { found: 10 })
        );
        assert_eq!(
            ProductCode::parse(&format!("{c}A")),
            Err(CodeError::WrongLength { found: 12 })
        );
        for (bad, position) in [
            ('I', 0),
            ('O', 3),
            ('Q', 10),
            ('0', 5),
            ('1', 7),
            ('Ж', 2),
            ('+', 9),
        ] {
            let mut chars: Vec<char> = c.chars().collect();
            chars[position] = bad;
            let input: String = chars.into_iter().collect();
            assert_eq!(
                ProductCode::parse(&input),
                Err(CodeError::InvalidCharacter { position, ch: bad }),
                "{input}"
            );
        }
        // Positions count letters only, not the dashes of the display form.
        assert_eq!(
            ProductCode::parse("ABCD-EFGH-JK0"),
            Err(CodeError::InvalidCharacter {
                position: 10,
                ch: '0'
            })
        );
        // A bad letter is reported even when the length is also wrong.
        assert_eq!(
            ProductCode::parse("ab1"),
            Err(CodeError::InvalidCharacter {
                position: 2,
                ch: '1'
            })
        );
    }

    #[test]
    fn qr_payload_has_the_prefix_and_no_dashes() {
        let c = code(42);
        assert_eq!(c.qr_payload(), format!("STIMUL:C:{}", c.as_str()));
        assert_eq!(c.qr_payload().len(), QR_PREFIX.len() + CODE_LEN);
    }

    #[test]
    fn parse_scanned_accepts_payloads_urls_and_typed_codes() -> Result<(), CodeError> {
        let c = code(31_337_000_000);
        let s = c.as_str();
        let inputs = [
            format!("STIMUL:C:{s}"),
            format!("stimul:c:{s}"),
            format!("  Stimul:C:{c}  "),
            format!("https://stimul.example/c/{s}"),
            format!("https://stimul.example/c/{s}/"),
            format!("https://stimul.example/c/{}#top", s.to_lowercase()),
            format!("http://host:8080/scan?c={c}"),
            format!("https://host/scan?utm=1&C={s}&x=2"),
            format!("https://host/ignored/path?c={s}"),
            s.to_owned(),
            c.to_string(),
        ];
        for input in inputs {
            assert_eq!(ProductCode::parse_scanned(&input)?, c, "{input}");
        }
        assert_eq!(
            ProductCode::parse_scanned("https://host/"),
            Err(CodeError::InvalidCharacter {
                position: 5,
                ch: ':'
            }),
            "a URL without a code is not a code"
        );
        assert!(matches!(
            ProductCode::parse_scanned("STIMUL:C:ABC"),
            Err(CodeError::WrongLength { found: 3 })
        ));
        Ok(())
    }

    #[test]
    fn serde_is_the_compact_string() -> Result<(), serde_json::Error> {
        let c = code(777);
        let json = serde_json::to_string(&c)?;
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        let back: ProductCode = serde_json::from_str(&format!("\"{c}\""))?;
        assert_eq!(back, c);
        assert!(serde_json::from_str::<ProductCode>("777").is_err());
        Ok(())
    }

    #[test]
    fn shard_validation() {
        assert_eq!(CodeShard::new(0, 0), Err(CodeShardError::BadCount));
        assert_eq!(
            CodeShard::new(0, VALUE_SPACE + 1),
            Err(CodeShardError::BadCount)
        );
        assert_eq!(
            CodeShard::new(4, 4),
            Err(CodeShardError::IndexOutOfRange { index: 4, count: 4 })
        );
        assert!(CodeShard::new(3, 4).is_ok());
        assert!(CodeShard::new(VALUE_SPACE - 1, VALUE_SPACE).is_ok());
    }

    #[test]
    fn shards_draw_from_disjoint_key_spaces() -> Result<(), CodeShardError> {
        let count = 4;
        let shards: Vec<CodeShard> = (0..count)
            .map(|i| CodeShard::new(i, count))
            .collect::<Result<_, _>>()?;
        let mut rng = StdRng::seed_from_u64(5);
        let mut seen: HashSet<ProductCode> = HashSet::new();
        for shard in &shards {
            for _ in 0..10_000 {
                let c = shard.random_code(&mut rng);
                assert_eq!(c.value() % count, shard.index());
                assert!(shard.contains(&c));
                for other in shards.iter().filter(|o| o.index() != shard.index()) {
                    assert!(!other.contains(&c));
                }
                seen.insert(c);
            }
        }
        // 40,000 draws from 2^43 values each: a repeat would point at a broken generator.
        assert_eq!(seen.len(), 40_000);
        Ok(())
    }

    #[test]
    fn shard_capacity_excludes_the_uneven_tail() -> Result<(), CodeShardError> {
        let shard = CodeShard::new(0, 7)?;
        assert_eq!(shard.capacity(), VALUE_SPACE / 7);
        let tail = code(shard.capacity() * 7);
        assert_eq!(tail.value() % 7, 0);
        assert!(
            !shard.contains(&tail),
            "values past capacity·count belong to no shard"
        );
        assert_eq!(CodeShard::WHOLE.capacity(), VALUE_SPACE);
        Ok(())
    }

    #[test]
    fn random_codes_are_uniform_smoke_check() -> Result<(), CodeShardError> {
        const DRAWS: usize = 46_000;
        let shard = CodeShard::new(2, 7)?;
        let mut rng = StdRng::seed_from_u64(6);
        let mut first_letter = [0_usize; 23];
        let mut last_data_letter = [0_usize; 23];
        let mut deciles = [0_usize; 10];
        for _ in 0..DRAWS {
            let c = shard.random_code(&mut rng);
            let values = c.letter_values();
            first_letter[usize::from(values[0])] += 1;
            last_data_letter[usize::from(values[DATA_LEN - 1])] += 1;
            deciles[(c.value() / 7 * 10 / shard.capacity()) as usize] += 1;
        }
        // Expected 2,000 per letter (σ ≈ 44) and 4,600 per decile (σ ≈ 64): ±15% is > 6σ.
        for (name, counts, expected) in [
            ("first letter", &first_letter[..], DRAWS / 23),
            ("last data letter", &last_data_letter[..], DRAWS / 23),
            ("value decile", &deciles[..], DRAWS / 10),
        ] {
            for &n in counts {
                let deviation = n.abs_diff(expected) as f64 / expected as f64;
                assert!(deviation < 0.15, "{name}: {counts:?}");
            }
        }
        Ok(())
    }
}
