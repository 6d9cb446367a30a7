//! The demo: the sample agreements (see [`crate::samples`]) parsed for an import, and the demo
//! accounts.

use crate::domain::access::Role;
use crate::format::RegistryFile;
use crate::registry::accounts;
use crate::registry::transfer::ImportError;
use crate::registry::{Registry, RegistryError, StoreError};
pub use crate::samples::{EXAMPLES, SAMPLE_TODAY};

/// Parses every example file.
pub fn example_files() -> Result<Vec<(String, RegistryFile)>, ImportError> {
    crate::format::example_files().map_err(ImportError::Invalid)
}

/// The demo accounts, one of each role: e-mail address, role, organisation. The officer works
/// for Haninge kommun (the buyer of AGR-2025-0004 and AGR-2026-0009), the enterprise contact
/// for Ljusglimt, the supplier of AGR-2025-0004.
pub const DEMO_USERS: &[(&str, Role, Option<&str>)] = &[
    ("admin@avtal.example", Role::Admin, None),
    (
        "sara.nystrom@haninge.example",
        Role::Officer,
        Some("212900-0028"),
    ),
    ("revisor@avtal.example", Role::Auditor, None),
    (
        "fatima@ljusglimt.example",
        Role::Enterprise,
        Some("769990-0051"),
    ),
];

/// Creates the demo accounts that do not exist yet, each with a generated password; returns
/// the ones created with their passwords (to print, never to log).
pub async fn create_users(
    registry: &Registry,
) -> Result<Vec<(String, Role, String)>, RegistryError> {
    let mut out = Vec::new();
    for (email, role, org) in DEMO_USERS {
        let password = accounts::generate_password()?;
        match accounts::create_user(
            registry,
            accounts::NewUser {
                email: (*email).to_owned(),
                role: *role,
                org: org.map(str::to_owned),
                password: password.clone(),
            },
        )
        .await
        {
            Ok(_) => out.push(((*email).to_owned(), *role, password)),
            Err(RegistryError::Store(StoreError::Duplicate { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
