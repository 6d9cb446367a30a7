//! Closed code lists: agreement kinds and statuses, legal bases, eForms and OCDS codes.
//!
//! Every enum serialises to the code users and exports see (eForms codes keep their hyphens).

use serde::{Deserialize, Serialize};

/// Declares a closed code list: the serde code of each variant, and `code()` / `ALL`.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }
        impl $name {
            /// Every code of this list, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The code as stored and exported.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }
            /// Parses a code, or says which codes are allowed.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($code => Ok(Self::$variant),)+
                    other => Err(format!(
                        "\"{other}\" is not one of: {}",
                        Self::ALL.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_list!(
    /// What kind of agreement this is.
    AgreementKind {
        Iop = "iop",
        ProcurementContract = "procurement_contract",
        FrameworkAgreement = "framework_agreement",
        CallOff = "call_off",
        DirectAward = "direct_award",
    }
);

impl AgreementKind {
    /// Whether the agreement was procured under LOU (everything but an IOP).
    pub fn is_procurement(self) -> bool {
        !matches!(self, Self::Iop)
    }
}

code_list!(
    /// Where the agreement stands in its life.
    AgreementStatus {
        Draft = "draft",
        PendingDecision = "pending_decision",
        Active = "active",
        NoticeGiven = "notice_given",
        Expired = "expired",
        Terminated = "terminated",
        Cancelled = "cancelled",
    }
);

impl AgreementStatus {
    /// The statuses this one may move to.
    pub fn allowed_next(self) -> &'static [AgreementStatus] {
        use AgreementStatus::*;
        match self {
            Draft => &[PendingDecision, Active, Cancelled],
            PendingDecision => &[Draft, Active, Cancelled],
            Active => &[NoticeGiven, Expired, Terminated],
            NoticeGiven => &[Active, Terminated, Expired],
            Expired | Terminated | Cancelled => &[],
        }
    }

    /// Whether the agreement ever came into force (counts for "active on a date").
    pub fn came_into_force(self) -> bool {
        use AgreementStatus::*;
        matches!(self, Active | NoticeGiven | Expired | Terminated)
    }
}

code_list!(
    /// The legal basis the agreement rests on.
    LegalBasis {
        /// LOU 4 kap. 18 § 1 p.: reserved participation (sheltered workshops, ASF).
        Lou4_18_1 = "lou_4_18_1",
        /// LOU 4 kap. 18 § 2 p.: reserved execution within sheltered employment programmes.
        Lou4_18_2 = "lou_4_18_2",
        /// LOU 19 kap. 6 a §: welfare services reserved for idea-based organisations.
        Lou19_6a = "lou_19_6a",
        /// LOU 17 kap. 1 §: special contract conditions (e.g. employment requirements).
        Lou17_1 = "lou_17_1",
        /// LOU without a social reservation or special condition.
        Lou = "lou",
        /// Direct award below the threshold (LOU 19 a kap.).
        DirectAward = "direct_award",
        /// IOP, outside procurement.
        Iop = "iop",
    }
);

impl LegalBasis {
    /// The citation shown to users.
    pub fn citation(self) -> &'static str {
        match self {
            Self::Lou4_18_1 => "LOU 4 kap. 18 § 1 p.",
            Self::Lou4_18_2 => "LOU 4 kap. 18 § 2 p.",
            Self::Lou19_6a => "LOU 19 kap. 6 a §",
            Self::Lou17_1 => "LOU 17 kap. 1 §",
            Self::Lou => "LOU (2016:1145)",
            Self::DirectAward => "LOU 19 a kap. (direktupphandling)",
            Self::Iop => "IOP utanför upphandling",
        }
    }
}

code_list!(
    /// Procedure type: eForms BT-105 plus the national direct award and simplified procedure.
    ProcedureType {
        Open = "open",
        Restricted = "restricted",
        NegWithCall = "neg-w-call",
        NegWithoutCall = "neg-wo-call",
        CompetitiveDialogue = "comp-dial",
        Innovation = "innovation",
        OtherSingle = "oth-single",
        OtherMultiple = "oth-mult",
        DirectAward = "direct-award",
        Simplified = "simplified",
    }
);

code_list!(
    /// eForms BT-71, reserved participation.
    ReservedParticipation { None = "none", ShelteredWorkshop = "res-ws", PublicServiceMission = "res-pub-ser" }
);

code_list!(
    /// eForms BT-736, reserved execution.
    ReservedExecution { Yes = "yes", No = "no", NotKnown = "not-known" }
);

code_list!(
    /// eForms BT-06, strategic procurement.
    StrategicProcurement { None = "none", Environmental = "env-imp", Social = "soc-obj", Innovation = "inn-pur" }
);

code_list!(
    /// eForms BT-775, social objective.
    SocialObjective {
        Accessibility = "acc-all",
        EthnicEquality = "et-eq",
        GenderEquality = "gen-eq",
        HumanRights = "hum-right",
        Employment = "opp",
        WorkConditions = "work-cond",
        Other = "other",
    }
);

impl SocialObjective {
    /// This objective's bit in the stored bit set: its position in [`Self::ALL`].
    pub fn bit(self) -> i64 {
        let position = Self::ALL.iter().position(|o| *o == self).unwrap_or(0);
        1 << position
    }

    /// The OCDS sustainability goal that carries this objective, where one exists.
    pub fn ocds_goal(self) -> Option<&'static str> {
        match self {
            Self::Employment => Some("social.disadvantagedEmploymentOpportunities"),
            Self::Accessibility => Some("social.accessibility"),
            Self::GenderEquality => Some("social.genderEquality"),
            Self::EthnicEquality => Some("social.ethnicEquality"),
            Self::WorkConditions => Some("social.laborRightsPromotion"),
            Self::HumanRights => Some("social.humanRightsInSupplyChains"),
            Self::Other => None,
        }
    }
}

code_list!(
    /// eForms BT-765, framework agreement.
    FrameworkType { None = "none", WithoutReopening = "fa-wo-rc", WithReopening = "fa-w-rc", Mixed = "fa-mix" }
);

code_list!(
    /// eForms BT-23, main nature of the contract.
    ContractNature { Works = "works", Services = "services", Supplies = "supplies" }
);

code_list!(
    /// OCDS sustainability strategy (sustainability extension).
    SustainabilityStrategy {
        AwardCriteria = "awardCriteria",
        ContractPerformanceConditions = "contractPerformanceConditions",
        SelectionCriteria = "selectionCriteria",
        TechnicalSpecifications = "technicalSpecifications",
        MarginOfPreference = "marginOfPreference",
    }
);

code_list!(
    /// LOU 17 kap. ground for an amendment.
    AmendmentGround {
        /// 17 kap. 9 §: de minimis.
        DeMinimis = "17:9",
        /// 17 kap. 10 §: option or review clause.
        ReviewClause = "17:10",
        /// 17 kap. 11 §: additional works, services or supplies.
        Additional = "17:11",
        /// 17 kap. 12 §: unforeseeable circumstances.
        Unforeseeable = "17:12",
        /// 17 kap. 13 §: replacement of the contractor.
        Replacement = "17:13",
        /// 17 kap. 14 §: non-substantial change.
        NonSubstantial = "17:14",
    }
);

impl AmendmentGround {
    /// The eForms BT-200 modification reason code.
    pub fn bt200(self) -> &'static str {
        match self {
            Self::DeMinimis => "mod-minv",
            Self::ReviewClause => "mod-rev",
            Self::Additional => "add-wss",
            Self::Unforeseeable => "mod-cir",
            Self::Replacement => "mod-repl",
            Self::NonSubstantial => "mod-nons",
        }
    }
}

code_list!(
    /// The role a party plays in an agreement.
    PartyRole { Buyer = "buyer", Supplier = "supplier", Funder = "funder", IopPartner = "iop_partner" }
);

code_list!(
    /// What kind of organisation this is.
    OrganisationKind {
        PublicBuyer = "public_buyer",
        Funder = "funder",
        WorkIntegrationSocialEnterprise = "work_integration_social_enterprise",
        IdeaBasedOrganisation = "idea_based_organisation",
        OtherSupplier = "other_supplier",
    }
);

code_list!(
    /// Legal form of an organisation.
    LegalForm {
        Kommun = "kommun",
        Region = "region",
        Stat = "stat",
        Samordningsforbund = "samordningsforbund",
        Aktiebolag = "aktiebolag",
        AktiebolagSvb = "aktiebolag_svb",
        EkonomiskForening = "ekonomisk_forening",
        IdeellForening = "ideell_forening",
        Stiftelse = "stiftelse",
        Handelsbolag = "handelsbolag",
        Other = "other",
    }
);

code_list!(
    /// The role a contact person has.
    ContactRole {
        ContractOwner = "contract_owner",
        Escalation = "escalation",
        PartnerContact = "partner_contact",
        ReportingContact = "reporting_contact",
        Signatory = "signatory",
        FunderContact = "funder_contact",
        Other = "other",
    }
);

code_list!(
    /// Who decides on an extension option.
    OptionDecider { Buyer = "buyer", Mutual = "mutual" }
);

code_list!(
    /// The recorded decision state of an extension option.
    OptionState { Available = "available", Exercised = "exercised", Declined = "declined", Lapsed = "lapsed" }
);

code_list!(
    /// How often a report is due.
    Recurrence {
        Once = "once",
        Monthly = "monthly",
        Quarterly = "quarterly",
        Tertial = "tertial",
        HalfYearly = "half_yearly",
        Yearly = "yearly",
    }
);

impl Recurrence {
    /// Months between two period ends, or `None` for a one-off report.
    pub fn interval_months(self) -> Option<u32> {
        match self {
            Self::Once => None,
            Self::Monthly => Some(1),
            Self::Quarterly => Some(3),
            Self::Tertial => Some(4),
            Self::HalfYearly => Some(6),
            Self::Yearly => Some(12),
        }
    }
}

code_list!(
    /// How a contribution to an IOP is made.
    ContributionKind { Money = "money", Premises = "premises", Staff = "staff", VolunteerHours = "volunteer_hours", Other = "other" }
);

code_list!(
    /// What an amount is counted over.
    ValueBasis { FixedTotal = "fixed_total", PerYear = "per_year", CeilingTotal = "ceiling_total", Estimated = "estimated" }
);

code_list!(
    /// How a generated document went to its signatories.
    SendMethod { Email = "email", Post = "post", ESignature = "e_signature", InPerson = "in_person" }
);

code_list!(
    /// When a notice takes effect.
    NoticeEffect { Exact = "exact", MonthEnd = "month_end" }
);

code_list!(
    /// Where a report occurrence stands.
    OccurrenceState {
        Upcoming = "upcoming",
        Due = "due",
        Submitted = "submitted",
        Accepted = "accepted",
        Rejected = "rejected",
        Late = "late",
        Escalated = "escalated",
    }
);

code_list!(
    /// The unit of an indicator's values.
    Unit {
        People = "people",
        Hours = "hours",
        Months = "months",
        Percent = "percent",
        Kronor = "kronor",
    }
);

code_list!(
    /// How an indicator's values add up over periods.
    Aggregation {
        Sum = "sum",
        Last = "last",
        Average = "average",
    }
);

code_list!(
    /// Which side of a target value is good.
    Direction {
        AtLeast = "at_least",
        AtMost = "at_most",
    }
);

code_list!(
    /// The period a target value is counted over.
    TargetPer {
        Year = "year",
        Term = "term",
        Period = "period",
    }
);

code_list!(
    /// A part of a figure's gender breakdown, or its total.
    Gender {
        Total = "total",
        Women = "women",
        Men = "men",
        Other = "other",
    }
);

code_list!(
    /// How an indicator stands against its target.
    Verdict {
        NoData = "no_data",
        Behind = "behind",
        OnTrack = "on_track",
        Met = "met",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_serde_and_parse() {
        for c in SocialObjective::ALL {
            let json = serde_json::to_string(c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.code()));
            assert_eq!(SocialObjective::parse(c.code()), Ok(*c));
        }
        assert_eq!(AmendmentGround::ReviewClause.bt200(), "mod-rev");
        assert_eq!(AmendmentGround::DeMinimis.bt200(), "mod-minv");
    }

    #[test]
    fn parse_lists_allowed_codes_on_error() {
        let err = ReservedExecution::parse("maybe").err().unwrap_or_default();
        assert!(err.contains("yes, no, not-known"), "{err}");
    }

    #[test]
    fn final_statuses_have_no_way_out() {
        for s in [
            AgreementStatus::Expired,
            AgreementStatus::Terminated,
            AgreementStatus::Cancelled,
        ] {
            assert!(s.allowed_next().is_empty());
        }
        assert!(
            AgreementStatus::Active
                .allowed_next()
                .contains(&AgreementStatus::NoticeGiven)
        );
    }
}
