//! Pure domain types and rules: agreements, organisations, codes, money, dates and deadlines. No I/O here.

pub mod access;
pub mod actions;
pub mod agreement;
pub mod audit;
pub mod clock;
pub mod codes;
pub mod dates;
pub mod deadlines;
pub mod indicators;
pub mod limits;
pub mod money;
pub mod ocds;
pub mod org_number;
pub mod outcomes;
pub mod party;
pub mod reports;
pub mod rules;
#[cfg(test)]
pub(crate) mod samples;
pub mod search;
pub mod signing;
pub mod terms;
