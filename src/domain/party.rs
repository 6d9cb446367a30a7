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
    /// Role in the field. `work_integration_social_enterprise` implies [`Self::work_integration`]
    /// and `idea_based_organisation` implies [`Self::idea_based`].
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
    /// A work-integration social enterprise (arbetsintegrerande socialt företag, ASF): its main
    /// aim is the social and professional integration of disadvantaged persons (LOU 4 kap. 18 §
    /// 1 p.). A property of its own, beside the legal form and beside being idea-based.
    #[serde(default, skip_serializing_if = "is_false")]
    pub work_integration: bool,
    /// An idea-based organisation (idéburen organisation), whether or not it is in
    /// Kammarkollegiet's register; an ekonomisk förening can be both this and an ASF.
    #[serde(default, skip_serializing_if = "is_false")]
    pub idea_based: bool,
    /// A samordningsförbund's member authorities (lag 2003:1210), by organisation number: an
    /// agreement it funds has one of them as the contracting party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<OrgNumber>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Organisation {
    /// Whether it is a work-integration social enterprise (ASF), by its kind or its own mark.
    pub fn is_work_integration(&self) -> bool {
        self.work_integration || self.kind == OrganisationKind::WorkIntegrationSocialEnterprise
    }

    /// Whether it is an idea-based organisation, by its kind, its own mark or its registration.
    pub fn is_idea_based(&self) -> bool {
        self.idea_based
            || self.kind == OrganisationKind::IdeaBasedOrganisation
            || self.registered_idea_based_on.is_some()
    }
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
    if o.registered_idea_based_on.is_some()
        && !o.idea_based
        && o.kind != OrganisationKind::IdeaBasedOrganisation
    {
        v.push(Violation::new(
            "registered_idea_based_on",
            o.kind,
            "idea_based_register",
            "only an idea-based organisation can be in Kammarkollegiet's register: set idea_based: true (an ASF or any other kind can be idea-based too)",
        ));
    }
    let public = matches!(
        o.legal_form,
        LegalForm::Kommun | LegalForm::Region | LegalForm::Stat | LegalForm::Samordningsforbund
    ) || o.kind == OrganisationKind::PublicBuyer;
    for (field, set) in [
        ("work_integration", o.is_work_integration()),
        ("idea_based", o.is_idea_based()),
    ] {
        if set && public {
            v.push(Violation::new(
                field,
                format!("{}/{}", o.legal_form, o.kind),
                "civil_society_only",
                format!(
                    "a public body (legal form {}, kind {}) is neither an ASF nor an idea-based organisation",
                    o.legal_form, o.kind
                ),
            ));
        }
    }
    member_rules(o, &mut v);
    super::limits::add_text_violations(o, &mut v);
    v
}

/// A samordningsförbund's member list: only it has one, each member once, never itself, and
/// every member a public body (organisation number beginning with 2).
fn member_rules(o: &Organisation, v: &mut Vec<Violation>) {
    if o.members.is_empty() {
        return;
    }
    if o.legal_form != LegalForm::Samordningsforbund {
        v.push(Violation::new(
            "members",
            o.legal_form,
            "members_of_samordningsforbund",
            "only a samordningsförbund (legal form samordningsforbund) records member authorities",
        ));
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in o.members.iter().enumerate() {
        let field = format!("members[{i}]");
        if !seen.insert(m) {
            v.push(Violation::new(
                &field,
                m,
                "duplicate_member",
                "the same member authority is listed twice",
            ));
        } else if *m == o.org_number {
            v.push(Violation::new(
                &field,
                m,
                "member_is_other",
                "a samordningsförbund is not its own member",
            ));
        } else if !m.as_str().starts_with('2') {
            v.push(Violation::new(
                &field,
                m,
                "member_is_public_body",
                "a member of a samordningsförbund is a public body (the Swedish Social Insurance Agency, the Public Employment Service, a region or a municipality), whose organisation number begins with 2",
            ));
        }
    }
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

    fn org(json: serde_json::Value) -> Organisation {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rules_of(o: &Organisation) -> Vec<(String, &'static str)> {
        validate_organisation(o)
            .into_iter()
            .map(|v| (v.field, v.rule))
            .collect()
    }

    #[test]
    fn an_ekonomisk_forening_can_be_both_an_asf_and_idea_based() {
        let both = org(serde_json::json!({
            "org_number": "769990-0077", "name": "Solrosen", "legal_form": "ekonomisk_forening",
            "kind": "work_integration_social_enterprise", "idea_based": true,
            "registered_idea_based_on": "2024-01-10"
        }));
        assert_eq!(rules_of(&both), vec![]);
        assert!(both.is_work_integration() && both.is_idea_based());
        let mut unmarked = both.clone();
        unmarked.idea_based = false;
        assert_eq!(
            rules_of(&unmarked),
            vec![("registered_idea_based_on".to_owned(), "idea_based_register")]
        );
        let ibo = org(serde_json::json!({
            "org_number": "802990-0019", "name": "Steget", "legal_form": "ideell_forening",
            "kind": "idea_based_organisation", "work_integration": true
        }));
        assert!(ibo.is_work_integration() && ibo.is_idea_based());
        assert_eq!(rules_of(&ibo), vec![]);
    }

    #[test]
    fn a_public_body_is_neither_asf_nor_idea_based_and_only_a_samordningsforbund_has_members() {
        let kommun = org(serde_json::json!({
            "org_number": "212900-0028", "name": "Haninge", "legal_form": "kommun",
            "kind": "public_buyer", "work_integration": true, "members": ["212900-0010"]
        }));
        assert_eq!(
            rules_of(&kommun),
            vec![
                ("work_integration".to_owned(), "civil_society_only"),
                ("members".to_owned(), "members_of_samordningsforbund"),
            ]
        );
        let forbund = org(serde_json::json!({
            "org_number": "202900-0011", "name": "Förbundet", "legal_form": "samordningsforbund",
            "kind": "funder",
            "members": ["212900-0028", "212900-0028", "202900-0011", "769990-0077"]
        }));
        assert_eq!(
            rules_of(&forbund),
            vec![
                ("members[1]".to_owned(), "duplicate_member"),
                ("members[2]".to_owned(), "member_is_other"),
                ("members[3]".to_owned(), "member_is_public_body"),
            ]
        );
    }
}
