//! Organisations and contact persons, with their validated identifiers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{ContactRole, LegalForm, OrganisationKind};
use super::org_number::OrgNumber;

/// A syntactically valid e-mail address, lower-cased for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an e-mail address (name@domain)")]
pub struct EmailError(pub String);

impl EmailAddress {
    /// Accepts `local@domain.tld` without spaces, control characters, angle brackets or commas,
    /// so an address can never smuggle a second header or recipient.
    pub fn parse(s: &str) -> Result<Self, EmailError> {
        let t = s.trim();
        let err = || EmailError(s.to_owned());
        if t.len() > 254
            || t.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c))
        {
            return Err(err());
        }
        let (local, domain) = t.split_once('@').ok_or_else(err)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(err());
        }
        Ok(Self(t.to_lowercase()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, EmailError> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

/// An organisation: a public buyer, a funder, or a supplier / partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The organisation number, the natural key.
    pub org_number: OrgNumber,
    /// Registered name.
    pub name: String,
    /// Legal form.
    pub legal_form: LegalForm,
    /// Role in the field.
    pub kind: OrganisationKind,
    /// Name of the parent organisation (e.g. the municipality of a district administration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Postal address, printed on contracts and letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    /// Date of entry in Kammarkollegiet's register of idea-based organisations (lag 2022:900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_idea_based_on: Option<NaiveDate>,
}

/// A Swedish postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street address or box, e.g. "Rudsjöterrassen 2".
    pub street: String,
    /// Postal code, five digits written `NNN NN`.
    pub postal_code: String,
    /// Post town.
    pub city: String,
}

/// Whether `s` is a Swedish postal code, `NNN NN` or `NNNNN`.
pub fn is_postal_code(s: &str) -> bool {
    let digits: Vec<char> = s.chars().filter(|c| *c != ' ').collect();
    digits.len() == 5
        && digits.iter().all(char::is_ascii_digit)
        && (s.len() == 5 || (s.len() == 6 && s.as_bytes().get(3) == Some(&b' ')))
}

/// A person at an organisation who receives or sends something about agreements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// E-mail address, the natural key.
    pub email: EmailAddress,
    /// Full name.
    pub name: String,
    /// The organisation the person works for.
    pub organisation: OrgNumber,
    /// The person's usual role.
    pub role: ContactRole,
    /// Whether the person still receives messages.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A broken rule on one field: which field, which value, which rule, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Path of the field, e.g. `period.current_end`.
    pub field: String,
    /// The offending value as text.
    pub value: String,
    /// A short stable rule identifier, e.g. `period_order`.
    pub rule: &'static str,
    /// What is wrong and how to fix it, in English.
    pub message: String,
}

impl Violation {
    /// Builds a violation.
    pub fn new(
        field: impl Into<String>,
        value: impl ToString,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: value.to_string(),
            rule,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (rule {}, value \"{}\")",
            self.field, self.message, self.rule, self.value
        )
    }
}

/// Checks the text fields of an organisation.
pub fn validate_organisation(o: &Organisation) -> Vec<Violation> {
    let mut v = Vec::new();
    if o.name.trim().is_empty() {
        v.push(Violation::new(
            "name",
            &o.name,
            "required",
            "an organisation needs a name",
        ));
    }
    if o.name.chars().count() > 300 {
        v.push(Violation::new(
            "name",
            "…",
            "max_length",
            "a name has at most 300 characters",
        ));
    }
    if let Some(a) = &o.address {
        for (field, text) in [("address.street", &a.street), ("address.city", &a.city)] {
            if text.trim().is_empty() || text.chars().count() > 200 {
                v.push(Violation::new(
                    field,
                    text,
                    "address_text",
                    "an address line has 1 to 200 characters",
                ));
            }
        }
        if !is_postal_code(&a.postal_code) {
            v.push(Violation::new(
                "address.postal_code",
                &a.postal_code,
                "postal_code",
                "a Swedish postal code has five digits, written NNN NN",
            ));
        }
    }
    if o.registered_idea_based_on.is_some() && o.kind != OrganisationKind::IdeaBasedOrganisation {
        v.push(Violation::new(
            "registered_idea_based_on",
            o.kind,
            "idea_based_register",
            "only an idea-based organisation can be in Kammarkollegiet's register",
        ));
    }
    super::limits::add_text_violations(o, &mut v);
    v
}

/// Checks the text fields of a contact.
pub fn validate_contact(c: &Contact) -> Vec<Violation> {
    let mut v = Vec::new();
    if c.name.trim().is_empty() {
        v.push(Violation::new(
            "name",
            &c.name,
            "required",
            "a contact needs a name",
        ));
    }
    if c.name.chars().count() > 200 {
        v.push(Violation::new(
            "name",
            "…",
            "max_length",
            "a name has at most 200 characters",
        ));
    }
    super::limits::add_text_violations(c, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_codes_have_five_digits() {
        assert!(is_postal_code("136 81"));
        assert!(is_postal_code("13681"));
        for bad in ["1368", "136 8a", "13 681", "136  81", ""] {
            assert!(!is_postal_code(bad), "{bad}");
        }
    }

    #[test]
    fn email_parsing_accepts_normal_addresses_and_rejects_header_tricks() {
        assert_eq!(
            EmailAddress::parse(" Maria.L@Farsta.example ").map(|e| e.0),
            Ok("maria.l@farsta.example".into())
        );
        for bad in [
            "",
            "no-at",
            "a@b",
            "a@@b.se",
            "a b@c.se",
            "a@c.se\r\nBcc: x@y.se",
            "<a@b.se>",
            "a@b.se,c@d.se",
            "@b.se",
            "a@.se",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
