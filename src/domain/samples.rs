//! The agreements of the sample files of [`crate::samples`], for the domain's tests. Only the
//! agreements are read here; the registry file format itself is [`crate::format`], above the
//! domain.

use serde::Deserialize;

use super::agreement::Agreement;

#[derive(Deserialize)]
struct AgreementsOnly {
    #[serde(default)]
    agreements: Vec<Agreement>,
}

/// Every sample agreement, in the order of the sample files.
pub(crate) fn agreements() -> Vec<Agreement> {
    crate::samples::EXAMPLES
        .iter()
        .filter_map(|(_, text)| serde_saphyr::from_str::<AgreementsOnly>(text).ok())
        .flat_map(|f| f.agreements)
        .collect()
}
