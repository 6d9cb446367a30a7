//! Free-text search as text rules: how an agreement becomes searchable text, and how a typed
//! search becomes words. Both sides are folded the same way (lower case, every character that
//! is not a letter or a digit a space), so the storage layer's indexes (FTS5 on SQLite, the
//! `swedish` text search and `pg_trgm` on PostgreSQL) see one vocabulary on both backends.

use crate::domain::agreement::Agreement;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::EmailAddress;

/// At most this many words of a search are used; the rest are ignored.
pub const MAX_WORDS: usize = 8;

/// A word shorter than this (in characters) matches only as the start of a word; from this
/// length on it also matches inside words and numbers (trigram matching).
pub const PARTIAL_FROM: usize = 3;

/// Lower case, every run of characters other than letters and digits one space, no space at
/// either end: `"AGR-2025-0001 Lokalvård"` becomes `"agr 2025 0001 lokalvård"`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for ch in s.chars() {
        if ch.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(ch.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The searchable text of one agreement, in three parts weighted from high to low.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    /// Reference, title and diarienummer.
    pub head: String,
    /// Each party's name and organisation number (with and without its hyphen).
    pub parties: String,
    /// The contact persons' names.
    pub contacts: String,
}

impl SearchDoc {
    /// The text of `a`, with the parties' names from `org_name` and the contacts' names from
    /// `contact_name` (an unknown one is left out).
    pub fn of(
        a: &Agreement,
        org_name: impl Fn(&OrgNumber) -> Option<String>,
        contact_name: impl Fn(&EmailAddress) -> Option<String>,
    ) -> Self {
        let mut head = a.reference.to_string();
        head.push(' ');
        head.push_str(&a.title);
        if let Some(d) = &a.diarienummer {
            head.push(' ');
            head.push_str(d);
        }
        let mut parties = String::new();
        for p in &a.parties {
            if let Some(name) = org_name(&p.org) {
                parties.push_str(&name);
                parties.push(' ');
            }
            parties.push_str(p.org.as_str());
            parties.push(' ');
            // Also the ten digits in one word, as the number is often typed without its hyphen.
            parties.extend(p.org.as_str().chars().filter(char::is_ascii_digit));
            parties.push(' ');
        }
        let mut contacts = String::new();
        let mut seen: Vec<&EmailAddress> = Vec::new();
        for (_, email) in a.contacts.all() {
            if seen.contains(&email) {
                continue;
            }
            seen.push(email);
            if let Some(name) = contact_name(email) {
                contacts.push_str(&name);
                contacts.push(' ');
            }
        }
        SearchDoc {
            head: fold(&head),
            parties: fold(&parties),
            contacts: fold(&contacts),
        }
    }
}

/// A typed search: its words, folded. A word typed with hyphens or slashes (`AGR-2025-00`,
/// `556677-8899`, `KS 2025/123`) stays one word of several parts that must follow each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    words: Vec<String>,
}

impl SearchText {
    /// The words of `text`, or `None` when it has no letter or digit.
    pub fn parse(text: &str) -> Option<Self> {
        let mut words: Vec<String> = Vec::new();
        for w in text.split_whitespace().map(fold).filter(|w| !w.is_empty()) {
            if !words.contains(&w) {
                words.push(w);
            }
            if words.len() == MAX_WORDS {
                break;
            }
        }
        (!words.is_empty()).then_some(SearchText { words })
    }

    /// The folded words; each holds only letters, digits and single spaces.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The words long enough to match inside words and numbers.
    pub fn partial_words(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .filter(|w| w.chars().count() >= PARTIAL_FROM)
            .map(String::as_str)
    }

    /// The words that match only as the start of a word.
    pub fn short_words(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .filter(|w| w.chars().count() < PARTIAL_FROM)
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::samples;

    #[test]
    fn folding_keeps_swedish_letters_and_splits_on_punctuation() {
        assert_eq!(fold("AGR-2025-0001"), "agr 2025 0001");
        assert_eq!(
            fold("  Lokalvård i ÖSTRA Göinge "),
            "lokalvård i östra göinge"
        );
        assert_eq!(fold("KS 2025/123"), "ks 2025 123");
        assert_eq!(fold("--"), "");
    }

    #[test]
    fn a_search_is_words_without_duplicates_and_at_most_eight() {
        let s = SearchText::parse("Städ städ 5566-77 ab").unwrap();
        assert_eq!(s.words(), ["städ", "5566 77", "ab"]);
        assert_eq!(s.partial_words().collect::<Vec<_>>(), ["städ", "5566 77"]);
        assert_eq!(s.short_words().collect::<Vec<_>>(), ["ab"]);
        assert_eq!(SearchText::parse(" - / "), None);
        let many = SearchText::parse("a b c d e f g h i j").unwrap();
        assert_eq!(many.words().len(), MAX_WORDS);
    }

    #[test]
    fn the_text_of_an_agreement_names_its_parties_and_contacts() {
        let all = samples::agreements();
        let a = all.iter().find(|a| !a.contacts.all().is_empty()).unwrap();
        let doc = SearchDoc::of(
            a,
            |o| Some(format!("Org {}", o.as_str())),
            |e| Some(format!("Person {}", e.as_str().len())),
        );
        assert!(doc.head.starts_with(&fold(a.reference.as_str())));
        assert!(doc.head.contains(&fold(&a.title)));
        let first = &a.parties[0].org;
        assert!(doc.parties.contains(&fold(first.as_str())));
        let digits: String = first
            .as_str()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert!(doc.parties.contains(&digits));
        assert!(doc.contacts.starts_with("person "));
        assert!(!doc.head.chars().any(|c| c.is_uppercase()));
    }
}
