//! Amounts in Swedish kronor, held as whole öre (never floating point).

use serde::{Deserialize, Serialize};

/// An amount in SEK, stored as a whole number of öre.
///
/// Parsed from `"1234567"`, `"1234567.50"`, `"1 234 567,50"` or a JSON/YAML integer (kronor);
/// serialised as a string with two decimals, `"1234567.50"`, so no client rounds it through a float.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "SekInput", into = "String")]
pub struct Sek(i64);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an amount in kronor (write e.g. 1234567 or 1234567.50)")]
pub struct SekError(pub String);

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
        let err = || SekError(s.to_owned());
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
        let kr: i64 = whole.parse().map_err(|_| err())?;
        let ore: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let total = kr
            .checked_mul(100)
            .and_then(|v| v.checked_add(ore))
            .ok_or_else(err)?;
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

/// What the wire may carry for an amount: kronor as an integer, or text.
#[derive(Deserialize)]
#[serde(untagged)]
enum SekInput {
    Kronor(i64),
    Text(String),
}

impl TryFrom<SekInput> for Sek {
    type Error = SekError;
    fn try_from(v: SekInput) -> Result<Self, SekError> {
        match v {
            SekInput::Kronor(kr) => Sek::from_kronor(kr).ok_or_else(|| SekError(kr.to_string())),
            SekInput::Text(s) => Sek::parse(&s),
        }
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
