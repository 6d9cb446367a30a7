//! Amounts in Swedish kronor, held as whole öre (never floating point).

use serde::{Deserialize, Serialize};

/// An amount in SEK, stored as a whole number of öre.
///
/// Parsed from text, `"1234567"`, `"1234567.50"`, `"1 234 567,50"`, `"960 000 kr"` (see
/// [`Sek::parse`]), or a JSON/YAML whole number (kronor); a number with decimals is refused with
/// the advice to write it as text, so no amount ever passes through binary floating point.
/// Serialised as a string with two decimals, `"1234567.50"`, so no client rounds it through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(into = "String")]
pub struct Sek(i64);

/// The largest amount, in whole kronor (the most öre a 64-bit integer holds, in kronor).
pub const MAX_KRONOR: i64 = i64::MAX / 100;

/// Why a value is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SekError {
    /// Not an amount at all.
    #[error(
        "\"{0}\" is not an amount in kronor (write e.g. \"1450000\", \"1450000.50\", \"1 450 000,50\" or \"960 000 kr\")"
    )]
    NotAnAmount(String),
    /// More than the registry can hold.
    #[error("{0} is too large: an amount is at most 92 233 720 368 547 758 kr")]
    TooLarge(String),
    /// A number with decimals, which JSON and YAML readers hold as binary floating point.
    #[error(
        "the number {0} has decimals: write the amount as text, e.g. \"{0}\" in quotes, so that every öre is kept exactly (a plain number is read as whole kronor)"
    )]
    Fraction(String),
}

impl Sek {
    /// An amount of whole öre.
    pub const fn from_ore(ore: i64) -> Self {
        Self(ore)
    }

    /// An amount of whole kronor, `None` on overflow.
    pub fn from_kronor(kr: i64) -> Option<Self> {
        kr.checked_mul(100).map(Self)
    }

    /// The amount in öre.
    pub const fn ore(self) -> i64 {
        self.0
    }

    /// Adds two amounts, `None` on overflow.
    pub fn checked_add(self, other: Sek) -> Option<Sek> {
        self.0.checked_add(other.0).map(Sek)
    }

    /// Parses the forms listed on the type.
    pub fn parse(s: &str) -> Result<Self, SekError> {
        let err = || SekError::NotAnAmount(s.to_owned());
        let too_large = || SekError::TooLarge(s.trim().to_owned());
        let cleaned: String = s
            .trim()
            .trim_end_matches("kr")
            .trim_end_matches("SEK")
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '_'))
            .collect();
        let (negative, body) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let body = body.replace(',', ".");
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body.as_str(), ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
            return Err(err());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let kr: i64 = whole.parse().map_err(|_| too_large())?;
        let ore: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let total = kr
            .checked_mul(100)
            .and_then(|v| v.checked_add(ore))
            .ok_or_else(too_large)?;
        Ok(Self(if negative { -total } else { total }))
    }

    /// Swedish display: `1 234 567 kr`, or `1 234 567,50 kr` when there are öre.
    pub fn format_swedish(self) -> String {
        let sign = if self.0 < 0 { "−" } else { "" };
        let abs = self.0.unsigned_abs();
        let (kr, ore) = (abs / 100, abs % 100);
        let digits = kr.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push('\u{a0}');
            }
            grouped.push(ch);
        }
        if ore == 0 {
            format!("{sign}{grouped}\u{a0}kr")
        } else {
            format!("{sign}{grouped},{ore:02}\u{a0}kr")
        }
    }
}

impl std::fmt::Display for Sek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl From<Sek> for String {
    fn from(v: Sek) -> String {
        v.to_string()
    }
}

impl<'de> Deserialize<'de> for Sek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SekVisitor)
    }
}

/// Reads what the wire may carry for an amount: kronor as a whole number, or text.
struct SekVisitor;

impl serde::de::Visitor<'_> for SekVisitor {
    type Value = Sek;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an amount in kronor as text (\"1450000.50\") or a whole number (1450000)")
    }

    fn visit_i64<E: serde::de::Error>(self, kr: i64) -> Result<Sek, E> {
        Sek::from_kronor(kr).ok_or_else(|| E::custom(SekError::TooLarge(kr.to_string())))
    }

    fn visit_u64<E: serde::de::Error>(self, kr: u64) -> Result<Sek, E> {
        i64::try_from(kr)
            .ok()
            .and_then(Sek::from_kronor)
            .ok_or_else(|| E::custom(SekError::TooLarge(kr.to_string())))
    }

    fn visit_i128<E: serde::de::Error>(self, kr: i128) -> Result<Sek, E> {
        i64::try_from(kr)
            .ok()
            .and_then(Sek::from_kronor)
            .ok_or_else(|| E::custom(SekError::TooLarge(kr.to_string())))
    }

    fn visit_u128<E: serde::de::Error>(self, kr: u128) -> Result<Sek, E> {
        i64::try_from(kr)
            .ok()
            .and_then(Sek::from_kronor)
            .ok_or_else(|| E::custom(SekError::TooLarge(kr.to_string())))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Sek, E> {
        // The reader has already made the number binary: it is never used as an amount, only
        // named in the refusal.
        if !v.is_finite() || v.abs() >= MAX_KRONOR as f64 {
            Err(E::custom(SekError::TooLarge(v.to_string())))
        } else {
            Err(E::custom(SekError::Fraction(v.to_string())))
        }
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Sek, E> {
        Sek::parse(s).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_usual_forms() {
        let cases = [
            ("1234567", 123_456_700),
            ("1234567.50", 123_456_750),
            ("1 234 567,5", 123_456_750),
            ("960 000 kr", 96_000_000),
            ("-24800", -2_480_000),
            ("0.07", 7),
        ];
        for (input, ore) in cases {
            assert_eq!(Sek::parse(input), Ok(Sek::from_ore(ore)), "input {input:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        for bad in [
            "",
            "abc",
            "1.234",
            "12,3,4",
            "1e6",
            "--5",
            "9999999999999999999",
            ".5",
        ] {
            assert!(Sek::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn formats_swedish_with_grouping() {
        assert_eq!(
            Sek::from_ore(123_456_700).format_swedish(),
            "1\u{a0}234\u{a0}567\u{a0}kr"
        );
        assert_eq!(Sek::from_ore(50).format_swedish(), "0,50\u{a0}kr");
        assert_eq!(
            Sek::from_ore(100_000).format_swedish(),
            "1\u{a0}000\u{a0}kr"
        );
    }

    #[test]
    fn serde_accepts_integer_kronor_and_writes_a_string() {
        let v: Sek = serde_json::from_str("960000").unwrap_or_default();
        assert_eq!(v.ore(), 96_000_000);
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            "\"960000.00\""
        );
    }

    #[test]
    fn a_number_with_decimals_is_refused_with_the_way_to_write_it() {
        let e = serde_json::from_str::<Sek>("12.5")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("\"12.5\" in quotes"), "{e}");
        let e = serde_saphyr::from_str::<Sek>("12.5")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("\"12.5\" in quotes"), "{e}");
        // As text it is exact, in either reader.
        assert_eq!(
            serde_json::from_str::<Sek>("\"12.5\"").ok(),
            Some(Sek(1250))
        );
        assert_eq!(
            serde_saphyr::from_str::<Sek>("\"12,5\"").ok(),
            Some(Sek(1250))
        );
        assert_eq!(
            serde_saphyr::from_str::<Sek>("1450000").ok(),
            Some(Sek(145_000_000))
        );
    }

    #[test]
    fn a_value_too_large_says_so() {
        for input in ["99999999999999999999", "92233720368547759", "1e300"] {
            let e = serde_json::from_str::<Sek>(input)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("too large"), "{input}: {e}");
        }
        assert_eq!(
            Sek::parse("99999999999999999999"),
            Err(SekError::TooLarge("99999999999999999999".into()))
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(ore in -1_000_000_000_000i64..1_000_000_000_000) {
            let v = Sek::from_ore(ore);
            prop_assert_eq!(Sek::parse(&v.to_string()), Ok(v));
            prop_assert_eq!(Sek::parse(&v.format_swedish().replace('−', "-")), Ok(v));
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Sek::parse(&s);
        }
    }
}
