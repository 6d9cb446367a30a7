//! Signed link tokens: what a link may do (one report occurrence, one purpose, an expiry day),
//! signed with HMAC-SHA256. Pure: no I/O; `today` is a parameter.
//!
//! A token is `v1.<payload>.<mac>`, both parts base64url without padding; the payload is the
//! claims as compact JSON and the MAC covers `v1.<payload>`. The MAC is checked (in constant
//! time) before the payload is read, so a changed character never reaches the parser.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::agreement::Reference;

type HmacSha256 = Hmac<Sha256>;

/// The version prefix of every token this code signs.
const VERSION: &str = "v1";

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// See the occurrence and acknowledge the reminder.
    #[serde(rename = "ack")]
    Acknowledge,
    /// See the occurrence, acknowledge, and upload the report.
    #[serde(rename = "report")]
    Report,
}

/// The claims a link carries: one occurrence, a purpose, and the last day it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    /// The agreement.
    #[serde(rename = "r")]
    pub reference: Reference,
    /// The report's label (its kind, or `kind#N`).
    #[serde(rename = "k")]
    pub report: String,
    /// End of the reported period.
    #[serde(rename = "p")]
    pub period_end: NaiveDate,
    /// What the link allows.
    #[serde(rename = "u")]
    pub purpose: Purpose,
    /// Last day the link works.
    #[serde(rename = "e")]
    pub expires: NaiveDate,
}

impl LinkClaims {
    /// The audit log's actor for changes made through the link: `link:<reference>/<report>@<period_end>`.
    pub fn actor(&self) -> String {
        format!(
            "link:{}/{}@{}",
            self.reference, self.report, self.period_end
        )
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this service at all.
    #[error("the link is malformed")]
    Malformed,
    /// The signature does not match: the token was changed or signed with another key.
    #[error("the link's signature does not match")]
    BadSignature,
    /// Valid, but its last day has passed.
    #[error("the link expired on {}", .0.expires)]
    Expired(Box<LinkClaims>),
}

/// The key links are signed with. Its bytes never show in `Debug` output.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

impl LinkKey {
    /// Wraps secret key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac())
    }

    /// Signs the claims into a URL-safe token.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(json));
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// Checks a token's signature (in constant time), then its expiry against `today`.
    pub fn verify(&self, token: &str, today: NaiveDate) -> Result<LinkClaims, TokenError> {
        let (signed, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (version, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if version != VERSION || payload.is_empty() || token.len() > 2048 {
            return Err(TokenError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::BadSignature)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: LinkClaims =
            serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.expires < today {
            return Err(TokenError::Expired(Box::new(claims)));
        }
        Ok(claims)
    }
}

#[expect(
    clippy::panic,
    reason = "HMAC accepts keys of every length, so this is never reached"
)]
fn unreachable_mac() -> HmacSha256 {
    panic!("HMAC-SHA256 refused a key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::domain::dates::parse_iso_date(s).unwrap_or_default()
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            reference: Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}")),
            report: "social_clause_report".into(),
            period_end: d("2026-09-30"),
            purpose: Purpose::Report,
            expires: d("2027-01-21"),
        }
    }

    fn key() -> LinkKey {
        LinkKey::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims_until_its_last_day() {
        let t = key().sign(&claims());
        assert!(t.starts_with("v1."), "{t}");
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "URL-safe: {t}"
        );
        assert_eq!(key().verify(&t, d("2026-11-22")), Ok(claims()));
        assert_eq!(key().verify(&t, d("2027-01-21")), Ok(claims()));
        assert_eq!(
            key().verify(&t, d("2027-01-22")),
            Err(TokenError::Expired(Box::new(claims())))
        );
    }

    #[test]
    fn every_changed_character_is_refused() {
        let t = key().sign(&claims());
        for (i, c) in t.char_indices() {
            for other in ['A', 'x', '-'] {
                if other == c {
                    continue;
                }
                let mut bad = t.clone();
                bad.replace_range(i..i + 1, &other.to_string());
                let got = key().verify(&bad, d("2026-11-22"));
                assert!(
                    got.is_err(),
                    "changing position {i} to {other} passed: {bad}"
                );
            }
        }
    }

    #[test]
    fn claims_signed_with_another_key_or_swapped_between_tokens_are_refused() {
        let other = LinkKey::new(b"another key, just as long as the first".to_vec());
        let t = other.sign(&claims());
        assert_eq!(
            key().verify(&t, d("2026-11-22")),
            Err(TokenError::BadSignature)
        );
        // The payload of a link for another period with the signature of this one.
        let mine = key().sign(&claims());
        let theirs = key().sign(&LinkClaims {
            period_end: d("2026-06-30"),
            ..claims()
        });
        let (_, tag) = mine.rsplit_once('.').unwrap_or_default();
        let (signed, _) = theirs.rsplit_once('.').unwrap_or_default();
        assert_eq!(
            key().verify(&format!("{signed}.{tag}"), d("2026-11-22")),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_crash() {
        for t in [
            "",
            ".",
            "v1",
            "v1..",
            "v2.abc.def",
            "v1.abc",
            "nonsense",
            "v1.!!.!!",
        ] {
            let got = key().verify(t, d("2026-11-22"));
            assert!(
                matches!(got, Err(TokenError::Malformed | TokenError::BadSignature)),
                "{t:?}: {got:?}"
            );
        }
        let long = format!("v1.{}.abc", "a".repeat(5000));
        assert_eq!(
            key().verify(&long, d("2026-11-22")),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        assert!(!format!("{:?}", key()).contains("0123"));
    }

    #[test]
    fn the_actor_names_the_occurrence() {
        assert_eq!(
            claims().actor(),
            "link:AGR-2025-0005/social_clause_report@2026-09-30"
        );
    }
}
