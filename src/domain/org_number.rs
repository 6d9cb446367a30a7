//! Swedish organisation numbers (provisional).

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
    /// Parses `NNNNNN-NNNN` or `NNNNNNNNNN`.
    pub fn parse(s: &str) -> Result<Self, OrgNumberError> {
        let t = s.trim();
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
