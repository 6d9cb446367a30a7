//! Swedish organisation numbers: parsing, the Luhn check digit and the normalised `NNNNNN-NNNN` form.

use serde::{Deserialize, Serialize};

/// A validated organisation number, `NNNNNN-NNNN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgNumber(String);

/// Why a text is not an organisation number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNumberError {
    /// Wrong shape.
    #[error("\"{0}\" is not an organisation number in the form NNNNNN-NNNN")]
    Format(String),
    /// Third digit below 2.
    #[error("\"{0}\" has third digit {1}; an organisation number has a third digit of 2 or more")]
    ThirdDigit(String, u32),
    /// Check digit wrong.
    #[error("\"{value}\" fails the check digit: the last digit should be {expected}")]
    CheckDigit {
        /// Input.
        value: String,
        /// Expected digit.
        expected: u32,
    },
}

/// Luhn check digit over nine digits.
pub fn luhn_check_digit(nine: &[u8; 9]) -> u8 {
    let sum: u32 = nine
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl OrgNumber {
    /// Parses `NNNNNN-NNNN` or `NNNNNNNNNN`, also with the century-style prefix `16`
    /// that some systems write before an organisation number (`16NNNNNN-NNNN`).
    pub fn parse(s: &str) -> Result<Self, OrgNumberError> {
        let t = s.trim();
        let t = match t.strip_prefix("16") {
            Some(rest) if rest.len() == 10 || rest.len() == 11 => rest,
            _ => t,
        };
        let digits: String = match t.len() {
            11 if t.as_bytes()[6] == b'-' => t.chars().filter(|c| *c != '-').collect(),
            10 => t.to_owned(),
            _ => return Err(OrgNumberError::Format(s.to_owned())),
        };
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OrgNumberError::Format(s.to_owned()));
        }
        let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        if d[2] < 2 {
            return Err(OrgNumberError::ThirdDigit(s.to_owned(), u32::from(d[2])));
        }
        let mut nine = [0u8; 9];
        nine.copy_from_slice(&d[..9]);
        let expected = luhn_check_digit(&nine);
        if expected != d[9] {
            return Err(OrgNumberError::CheckDigit {
                value: s.to_owned(),
                expected: u32::from(expected),
            });
        }
        Ok(Self(format!("{}-{}", &digits[..6], &digits[6..])))
    }

    /// Parses a number to look an organisation up by (a path key, a filter): like
    /// [`Self::parse`], except that a wrong check digit is kept, since no stored organisation
    /// has one, so the lookup finds nothing (404, an empty list) instead of refusing the request.
    /// Never use it for a number that is stored.
    pub fn for_lookup(s: &str) -> Result<Self, OrgNumberError> {
        match Self::parse(s) {
            Err(OrgNumberError::CheckDigit { .. }) => {
                let digits: String = s.trim().chars().filter(char::is_ascii_digit).collect();
                let digits = digits
                    .strip_prefix("16")
                    .filter(|d| d.len() == 10)
                    .unwrap_or(&digits);
                Ok(Self(format!("{}-{}", &digits[..6], &digits[6..])))
            }
            other => other,
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrgNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for OrgNumber {
    type Error = OrgNumberError;
    fn try_from(s: String) -> Result<Self, OrgNumberError> {
        Self::parse(&s)
    }
}

impl From<OrgNumber> for String {
    fn from(o: OrgNumber) -> String {
        o.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(nine: [u8; 9]) -> String {
        let c = luhn_check_digit(&nine);
        nine.iter()
            .chain(std::iter::once(&c))
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    fn nine_digits() -> impl Strategy<Value = [u8; 9]> {
        (proptest::array::uniform9(0u8..10), 2u8..10).prop_map(|(mut d, third)| {
            d[2] = third;
            d
        })
    }

    #[test]
    fn the_sample_numbers_are_valid_and_normalised() {
        for s in [
            "212900-0010",
            "2129000010",
            "16212900-0010",
            "162129000010",
            " 802990-0035 ",
        ] {
            let n = OrgNumber::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(
                ["212900-0010", "802990-0035"].contains(&n.as_str()),
                "{s} -> {n}"
            );
        }
    }

    #[test]
    fn wrong_shapes_third_digits_and_check_digits_are_named() {
        assert!(matches!(
            OrgNumber::parse("21290-00010"),
            Err(OrgNumberError::Format(_))
        ));
        assert!(matches!(
            OrgNumber::parse("212900-001"),
            Err(OrgNumberError::Format(_))
        ));
        assert!(matches!(
            OrgNumber::parse("21290O-0010"),
            Err(OrgNumberError::Format(_))
        ));
        assert!(matches!(
            OrgNumber::parse("1621290000100"),
            Err(OrgNumberError::Format(_))
        ));
        assert!(matches!(
            OrgNumber::parse("551900-0015"),
            Err(OrgNumberError::ThirdDigit(_, 1))
        ));
        assert!(matches!(
            OrgNumber::parse("212900-0011"),
            Err(OrgNumberError::CheckDigit { expected: 0, .. })
        ));
    }

    proptest! {
        #[test]
        fn every_number_with_its_luhn_digit_parses_in_every_accepted_form(nine in nine_digits()) {
            let digits = with_check(nine);
            let dashed = format!("{}-{}", &digits[..6], &digits[6..]);
            let n = OrgNumber::parse(&digits).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(n.as_str(), dashed.as_str());
            prop_assert_eq!(OrgNumber::parse(&dashed).ok(), Some(n.clone()));
            prop_assert_eq!(OrgNumber::parse(&format!("16{dashed}")).ok(), Some(n.clone()));
            // Serde goes through the same parse and writes the normalised form.
            let json = serde_json::to_string(&n).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(json, format!("\"{dashed}\""));
        }

        #[test]
        fn every_other_check_digit_is_refused_with_the_right_one(nine in nine_digits(), wrong in 0u8..10) {
            let right = luhn_check_digit(&nine);
            prop_assume!(wrong != right);
            let mut digits = with_check(nine);
            digits.pop();
            digits.push(char::from(b'0' + wrong));
            let refused = matches!(
                OrgNumber::parse(&digits),
                Err(OrgNumberError::CheckDigit { expected, .. }) if expected == u32::from(right)
            );
            prop_assert!(refused, "{} was not refused", digits);
        }

        #[test]
        fn a_single_mistyped_digit_is_always_caught(nine in nine_digits(), pos in 0usize..9, delta in 1u8..10) {
            let good = with_check(nine);
            let mut typo = nine;
            typo[pos] = (typo[pos] + delta) % 10;
            prop_assume!(typo[2] >= 2);
            let mut bad: Vec<u8> = typo.to_vec();
            bad.push(good.as_bytes()[9] - b'0');
            let text: String = bad.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(OrgNumber::parse(&text).is_err(), "{} accepted", text);
        }

        #[test]
        fn a_third_digit_below_two_is_refused(nine in proptest::array::uniform9(0u8..10), third in 0u8..2) {
            let mut nine = nine;
            nine[2] = third;
            let refused = matches!(OrgNumber::parse(&with_check(nine)), Err(OrgNumberError::ThirdDigit(..)));
            prop_assert!(refused);
        }

        #[test]
        fn any_text_gives_a_number_or_an_error_never_a_panic(s in "\\PC{0,20}") {
            if let Ok(n) = OrgNumber::parse(&s) {
                prop_assert_eq!(n.as_str().len(), 11);
            }
        }
    }
}
