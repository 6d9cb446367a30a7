//! The sample agreements of `contracts/examples/`, compiled into the binary so `serve --demo` works
//! anywhere, and the demo accounts.

use crate::accounts;
use crate::domain::access::Role;
use crate::registry::{Registry, RegistryError};
use crate::transfer::{ImportError, ImportProblem, RegistryFile, parse_file};

/// The example files, registry first.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "registry.yaml",
        include_str!("../contracts/examples/registry.yaml"),
    ),
    (
        "AGR-2025-0001.yaml",
        include_str!("../contracts/examples/AGR-2025-0001.yaml"),
    ),
    (
        "AGR-2026-0002.yaml",
        include_str!("../contracts/examples/AGR-2026-0002.yaml"),
    ),
    (
        "AGR-2024-0003.yaml",
        include_str!("../contracts/examples/AGR-2024-0003.yaml"),
    ),
    (
        "AGR-2025-0004.yaml",
        include_str!("../contracts/examples/AGR-2025-0004.yaml"),
    ),
    (
        "AGR-2025-0005.yaml",
        include_str!("../contracts/examples/AGR-2025-0005.yaml"),
    ),
    (
        "AGR-2026-0006.yaml",
        include_str!("../contracts/examples/AGR-2026-0006.yaml"),
    ),
    (
        "AGR-2025-0007.yaml",
        include_str!("../contracts/examples/AGR-2025-0007.yaml"),
    ),
    (
        "AGR-2024-0008.yaml",
        include_str!("../contracts/examples/AGR-2024-0008.yaml"),
    ),
    (
        "AGR-2026-0009.yaml",
        include_str!("../contracts/examples/AGR-2026-0009.yaml"),
    ),
    (
        "AGR-2024-0010.yaml",
        include_str!("../contracts/examples/AGR-2024-0010.yaml"),
    ),
    (
        "AGR-2026-0011.yaml",
        include_str!("../contracts/examples/AGR-2026-0011.yaml"),
    ),
    (
        "AGR-2027-0012.yaml",
        include_str!("../contracts/examples/AGR-2027-0012.yaml"),
    ),
    (
        "AGR-2025-0013.yaml",
        include_str!("../contracts/examples/AGR-2025-0013.yaml"),
    ),
    (
        "AGR-2025-0014.yaml",
        include_str!("../contracts/examples/AGR-2025-0014.yaml"),
    ),
    (
        "AGR-2024-0015.yaml",
        include_str!("../contracts/examples/AGR-2024-0015.yaml"),
    ),
];

/// "Today" in the sample data.
pub const SAMPLE_TODAY: (i32, u32, u32) = (2026, 11, 22);

/// Parses every example file.
pub fn example_files() -> Result<Vec<(String, RegistryFile)>, ImportError> {
    let mut out = Vec::new();
    let mut problems: Vec<ImportProblem> = Vec::new();
    for (name, text) in EXAMPLES {
        match parse_file(name, text) {
            Ok(f) => out.push(((*name).to_owned(), f)),
            Err(p) => problems.push(*p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::Invalid(problems))
    }
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
            Err(RegistryError::Store(crate::db::store::StoreError::Duplicate { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
