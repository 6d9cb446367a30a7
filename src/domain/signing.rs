//! The signed copy on record: who signed a generated document and when, and the rules an upload
//! of the signed PDF must meet (a PDF by its bytes, a signing date neither in the future nor
//! before the document was made, at least one named signatory); and the state between, a
//! document sent for signature (the day, how, to whom). Pure: `today` and the day the document
//! was made are parameters.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::agreement::Agreement;
use super::org_number::OrgNumber;
use super::party::Violation;

/// Longest text of whom a document was sent to for signature, in characters.
pub const MAX_SENT_TO: usize = 500;

/// Longest name or role of a signatory, in characters.
pub const MAX_SIGNATORY_TEXT: usize = 200;
/// Most signatories one signed copy names.
pub const MAX_SIGNATORIES: usize = 20;

/// One person who signed, as the officer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    /// The name, e.g. `Anna Andersson`.
    pub name: String,
    /// The role or title, e.g. `kommundirektör` or `firmatecknare`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The party (organisation number) the person signed for; one of the agreement's parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<OrgNumber>,
}

/// Whether `bytes` are a PDF by their magic bytes (`%PDF-`).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

fn text_problem(field: String, s: &str, required: bool) -> Option<Violation> {
    if s.trim().is_empty() {
        return required.then(|| {
            Violation::new(
                field,
                s,
                "required",
                "give the signatory's name (Namn saknas)",
            )
        });
    }
    if s.chars().count() > MAX_SIGNATORY_TEXT {
        return Some(Violation::new(
            field,
            s.chars().take(40).collect::<String>(),
            "max_length",
            format!("at most {MAX_SIGNATORY_TEXT} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Some(Violation::new(
            field,
            s.escape_debug(),
            "plain_text",
            "one line of text without control characters",
        ));
    }
    None
}

/// Every problem of a signed copy's data: `signed_on` (not after `today`, not before
/// `generated_on`, the day the document was made) and `signatories` (one to
/// [`MAX_SIGNATORIES`], each with a name, and a party of `a` when one is named).
pub fn check(
    a: &Agreement,
    signed_on: NaiveDate,
    generated_on: NaiveDate,
    today: NaiveDate,
    signatories: &[Signatory],
) -> Vec<Violation> {
    let mut v = Vec::new();
    if signed_on > today {
        v.push(Violation::new(
            "signed_on",
            signed_on,
            "not_in_future",
            format!("the signing date may not be after today ({today})"),
        ));
    } else if signed_on < generated_on {
        v.push(Violation::new(
            "signed_on",
            signed_on,
            "not_before_document",
            format!(
                "the document was made on {generated_on}: it cannot have been signed before that"
            ),
        ));
    }
    if signatories.is_empty() {
        v.push(Violation::new(
            "signatories",
            "",
            "required",
            "name at least one person who signed (signatories[0].name)",
        ));
    }
    if signatories.len() > MAX_SIGNATORIES {
        v.push(Violation::new(
            "signatories",
            signatories.len(),
            "max_items",
            format!("at most {MAX_SIGNATORIES} signatories"),
        ));
    }
    for (i, s) in signatories.iter().enumerate() {
        v.extend(text_problem(
            format!("signatories[{i}].name"),
            &s.name,
            true,
        ));
        if let Some(role) = &s.role {
            v.extend(text_problem(format!("signatories[{i}].role"), role, false));
        }
        if let Some(org) = &s.party
            && !a.parties.iter().any(|p| p.org == *org)
        {
            v.push(Violation::new(
                format!("signatories[{i}].party"),
                org,
                "party_of_agreement",
                "a signatory signs for one of the agreement's parties",
            ));
        }
    }
    v
}

/// Every problem of recording that a document was sent for signature: `sent_on` (not after
/// `today`, not before `generated_on`) and `sent_to`, whom it went to (one line of text, at
/// most [`MAX_SENT_TO`] characters).
pub fn check_sending(
    sent_on: NaiveDate,
    generated_on: NaiveDate,
    today: NaiveDate,
    sent_to: &str,
) -> Vec<Violation> {
    let mut v = Vec::new();
    if sent_on > today {
        v.push(Violation::new(
            "sent_on",
            sent_on,
            "not_in_future",
            format!("the day it was sent may not be after today ({today})"),
        ));
    } else if sent_on < generated_on {
        v.push(Violation::new(
            "sent_on",
            sent_on,
            "not_before_document",
            format!(
                "the document was made on {generated_on}: it cannot have been sent before that"
            ),
        ));
    }
    if sent_to.trim().is_empty() {
        v.push(Violation::new(
            "sent_to",
            sent_to,
            "required",
            "say whom the document was sent to (names, e-mail or postal addresses)",
        ));
    } else if sent_to.chars().count() > MAX_SENT_TO {
        v.push(Violation::new(
            "sent_to",
            sent_to.chars().take(40).collect::<String>(),
            "max_length",
            format!("at most {MAX_SENT_TO} characters"),
        ));
    } else if sent_to.chars().any(char::is_control) {
        v.push(Violation::new(
            "sent_to",
            sent_to.escape_debug(),
            "plain_text",
            "one line of text without control characters",
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reference: &str) -> Agreement {
        crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn person(name: &str) -> Signatory {
        Signatory {
            name: name.into(),
            role: Some("kommundirektör".into()),
            party: None,
        }
    }

    #[test]
    fn a_signing_date_between_the_document_and_today_passes() {
        let a = sample("AGR-2025-0004");
        let ok = check(
            &a,
            d("2026-11-20"),
            d("2026-11-20"),
            d("2026-11-22"),
            &[person("Anna Andersson")],
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let a = sample("AGR-2025-0004");
        let rules = |signed: &str, people: &[Signatory]| -> Vec<(String, &'static str)> {
            check(&a, d(signed), d("2026-11-20"), d("2026-11-22"), people)
                .into_iter()
                .map(|v| (v.field, v.rule))
                .collect()
        };
        assert_eq!(
            rules("2026-11-23", &[person("A")]),
            [("signed_on".to_owned(), "not_in_future")]
        );
        assert_eq!(
            rules("2026-11-19", &[person("A")]),
            [("signed_on".to_owned(), "not_before_document")]
        );
        assert_eq!(
            rules("2026-11-21", &[]),
            [("signatories".to_owned(), "required")]
        );
        let mut stranger = person("B\nC");
        stranger.party = OrgNumber::parse("212900-0069").ok();
        assert_eq!(
            rules("2026-11-21", &[person(" "), stranger]),
            [
                ("signatories[0].name".to_owned(), "required"),
                ("signatories[1].name".to_owned(), "plain_text"),
                ("signatories[1].party".to_owned(), "party_of_agreement"),
            ]
        );
    }

    #[test]
    fn sending_for_signature_names_each_broken_rule() {
        let rules = |sent: &str, to: &str| -> Vec<(String, &'static str)> {
            check_sending(d(sent), d("2026-11-20"), d("2026-11-22"), to)
                .into_iter()
                .map(|v| (v.field, v.rule))
                .collect()
        };
        assert!(rules("2026-11-21", "Anna Andersson, anna@x.example").is_empty());
        assert_eq!(
            rules("2026-11-23", "A"),
            [("sent_on".to_owned(), "not_in_future")]
        );
        assert_eq!(
            rules("2026-11-19", " "),
            [
                ("sent_on".to_owned(), "not_before_document"),
                ("sent_to".to_owned(), "required")
            ]
        );
        assert_eq!(
            rules("2026-11-20", "A\nB"),
            [("sent_to".to_owned(), "plain_text")]
        );
        assert_eq!(
            rules("2026-11-20", &"x".repeat(MAX_SENT_TO + 1)),
            [("sent_to".to_owned(), "max_length")]
        );
    }

    #[test]
    fn only_pdf_bytes_are_a_pdf() {
        assert!(is_pdf(b"%PDF-1.7\n"));
        assert!(!is_pdf(b"PK\x03\x04"));
        assert!(!is_pdf(b""));
    }
}
