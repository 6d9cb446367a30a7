//! Form handlers: create and edit an agreement (with its contract terms), a party's address, a document's signed copy, the actions on an agreement, generating a
//! document, API tokens and user administration. Each reads its form into a struct (input names
//! are field paths: `decision.date`, `options[1].months`), parses that into the registry's own
//! input and calls the same use case as the JSON API; a refusal re-shows the form with each
//! broken rule in Swedish next to its input, keeping what the user typed.
//!
//! Repeating groups of the agreement form (goals, activities, contributions, signatories,
//! social clauses, subcontractors, options, reports) show their rows plus a blank one; the "Lägg till rad"
//! button re-shows the form with one more blank row, keeping everything typed. Blank rows are
//! left out when the form is saved.

pub mod actions;
pub mod agreement;
mod agreement_build;
mod agreement_form;
mod body;
pub mod organisation;
pub mod signed;
mod terms_form;
pub mod tokens;
pub mod users;
