//! The agreements and organisations of the sample files of [`crate::samples`], for the domain's tests. Only these
//! lists are read here; the registry file format itself is [`crate::format`], above the
//! domain.

use serde::Deserialize;

use super::agreement::Agreement;
use super::party::Organisation;

#[derive(Deserialize)]
struct AgreementsOnly {
    #[serde(default)]
    agreements: Vec<Agreement>,
}

#[derive(Deserialize)]
struct OrganisationsOnly {
    #[serde(default)]
    organisations: Vec<Organisation>,
}

/// Every sample agreement, in the order of the sample files.
pub(crate) fn agreements() -> Vec<Agreement> {
    crate::samples::EXAMPLES
        .iter()
        .filter_map(|(_, text)| serde_saphyr::from_str::<AgreementsOnly>(text).ok())
        .flat_map(|f| f.agreements)
        .collect()
}

/// Every sample organisation, in the order of the sample files.
pub(crate) fn organisations() -> Vec<Organisation> {
    crate::samples::EXAMPLES
        .iter()
        .filter_map(|(_, text)| serde_saphyr::from_str::<OrganisationsOnly>(text).ok())
        .flat_map(|f| f.organisations)
        .collect()
}
