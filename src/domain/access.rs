//! Who may do what: the four roles and the data scoping of agreements by organisation. Pure; the
//! route policy that uses it is the web edge's `policy` module.

use serde::{Deserialize, Serialize};

use super::agreement::Agreement;
use super::codes::PartyRole;
use super::org_number::OrgNumber;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including accounts.
    Admin,
    /// A procurement officer of a public organisation: reads every agreement, changes those
    /// where the organisation is the buyer or the funder.
    Officer,
    /// Reads everything, changes nothing.
    Auditor,
    /// A contact of a supplier or partner: sees only its organisation's agreements.
    Enterprise,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Officer, Role::Auditor, Role::Enterprise];

    /// The role's code as stored and typed on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Officer => "officer",
            Self::Auditor => "auditor",
            Self::Enterprise => "enterprise",
        }
    }

    /// The role's name in Swedish, for pages.
    pub fn label_sv(self) -> &'static str {
        match self {
            Self::Admin => "Administratör",
            Self::Officer => "Upphandlare",
            Self::Auditor => "Revisor",
            Self::Enterprise => "Leverantör/partner",
        }
    }

    /// Parses a role code.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("\"{s}\" is not one of: admin, officer, auditor, enterprise"))
    }

    /// Whether users of this role belong to an organisation (and must name one).
    pub fn needs_org(self) -> bool {
        matches!(self, Self::Officer | Self::Enterprise)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// User id.
    pub user_id: i64,
    /// E-mail address (never logged).
    pub email: String,
    /// Role.
    pub role: Role,
    /// The organisation of an officer or enterprise user.
    pub org: Option<OrgNumber>,
}

impl Principal {
    /// The actor name in the audit log: `user:<id>`.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }

    /// Whether the user may read agreement `a`: everyone but an enterprise user, who must be a
    /// party to it.
    pub fn may_read(&self, a: &Agreement) -> bool {
        match self.role {
            Role::Admin | Role::Officer | Role::Auditor => true,
            Role::Enterprise => self
                .org
                .as_ref()
                .is_some_and(|o| a.parties.iter().any(|p| &p.org == o)),
        }
    }

    /// Whether the user may change agreement `a`: an admin always, an officer when its
    /// organisation is the buyer or the funder, nobody else.
    pub fn may_edit(&self, a: &Agreement) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Officer => self.org.as_ref().is_some_and(|o| {
                a.parties
                    .iter()
                    .any(|p| &p.org == o && matches!(p.role, PartyRole::Buyer | PartyRole::Funder))
            }),
            Role::Auditor | Role::Enterprise => false,
        }
    }

    /// Whether the role may change anything at all.
    pub fn may_write(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Officer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agreement::Party;

    fn org(s: &str) -> OrgNumber {
        OrgNumber::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn principal(role: Role, o: Option<&str>) -> Principal {
        Principal {
            user_id: 1,
            email: "x@example.se".into(),
            role,
            org: o.map(org),
        }
    }

    #[test]
    fn roles_round_trip_through_their_codes() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn an_enterprise_reads_only_where_it_is_a_party_and_an_officer_edits_only_as_buyer_or_funder() {
        let buyer = "212900-0010";
        let supplier = "769990-0010";
        let mut a: Agreement = crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == "AGR-2025-0001")
            .unwrap_or_else(|| panic!("sample"));
        a.parties = vec![
            Party {
                org: org(buyer),
                role: PartyRole::Buyer,
            },
            Party {
                org: org(supplier),
                role: PartyRole::Supplier,
            },
        ];
        assert!(principal(Role::Enterprise, Some(supplier)).may_read(&a));
        assert!(!principal(Role::Enterprise, Some("802990-0019")).may_read(&a));
        assert!(!principal(Role::Enterprise, None).may_read(&a));
        assert!(principal(Role::Officer, Some(buyer)).may_edit(&a));
        assert!(!principal(Role::Officer, Some(supplier)).may_edit(&a));
        assert!(!principal(Role::Auditor, None).may_edit(&a));
        assert!(principal(Role::Auditor, None).may_read(&a));
        assert!(principal(Role::Admin, None).may_edit(&a));
    }
}
