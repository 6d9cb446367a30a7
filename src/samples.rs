//! The sample registry files of `contracts/examples/` as text, compiled into the binary so
//! `serve --demo` and the tests have them anywhere. Parsing them is [`crate::format`]'s.

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
];

/// "Today" in the sample data.
pub const SAMPLE_TODAY: (i32, u32, u32) = (2026, 11, 22);
