//! Free-text search (`q` of the list, the page's search box and the exports): Swedish words,
//! prefixes, parts of names and numbers, ranking and its tie-break, every list filter beside it,
//! and the index kept in step with every write.

use std::collections::BTreeSet;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// The references `query` lists, in order (one page of up to 100).
async fn refs(app: &TestApp, query: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/v1/agreements?{query}&limit=100"))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    let items = crate::helpers::references(&r.body);
    assert_eq!(
        r.body["total"].as_u64(),
        Some(items.len() as u64),
        "total of {query}"
    );
    items
}

/// `q=text` percent-encoded.
fn q(text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("q", text)
        .finish()
}

/// Posts a copy of AGR-2025-0004 as `reference` with `title`.
async fn add_copy(app: &TestApp, reference: &str, title: &str) {
    let mut a = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    a["reference"] = json!(reference);
    a["title"] = json!(title);
    let r = app.post("/api/v1/agreements", &a).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Fills in the search rows of agreements that have none (`db::search::backfill`); how many.
async fn fill(db: &sea_orm::DatabaseConnection) -> u64 {
    avtal::db::search::backfill(db)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The stored record without its bookkeeping fields.
fn bare(record: &Value) -> Value {
    let mut doc = record.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        doc.as_object_mut().map(|o| o.remove(k));
    }
    doc
}

async fn swedish_words_names_and_numbers_are_found(app: TestApp) {
    app.load_examples().await;
    let cases: &[(&str, &[&str])] = &[
        // Title words with å, ä, ö, in any case; a and o are other letters.
        ("Lokalvård", &["AGR-2025-0004"]),
        ("LOKALVÅRD", &["AGR-2025-0004"]),
        ("lokalvard", &[]),
        ("grönytor", &["AGR-2025-0013"]),
        ("gronytor", &[]),
        // Prefixes while typing.
        ("lokalv", &["AGR-2025-0004"]),
        ("Städkoop", &["AGR-2025-0004"]),
        // A party's name, its organisation number with and without the hyphen, and part of it.
        ("Ljusglimt", &["AGR-2025-0004"]),
        ("769990-0051", &["AGR-2025-0004"]),
        ("7699900051", &["AGR-2025-0004"]),
        ("990005", &["AGR-2025-0004"]),
        // A contact's name, and part of a party's name inside a compound word.
        ("Fatima", &["AGR-2025-0004"]),
        ("Nyström", &["AGR-2025-0004", "AGR-2026-0009"]),
        ("glimt", &["AGR-2025-0004"]),
        // The diarienummer, typed with its slash.
        ("HAN 2024/0312", &["AGR-2025-0004"]),
        // Several words: each must match.
        ("lokalvård haninge", &["AGR-2025-0004"]),
        ("lokalvård botkyrka", &[]),
        ("100%", &[]),
        ("zz", &[]),
    ];
    for (text, expected) in cases {
        let got = refs(&app, &format!("{}&sort=reference", q(text))).await;
        assert_eq!(&got, expected, "q={text}");
    }
    // The reference, in parts; sorted by reference when asked.
    assert_eq!(
        refs(&app, &format!("{}&sort=reference", q("agr-2026-00"))).await,
        [
            "AGR-2026-0002",
            "AGR-2026-0006",
            "AGR-2026-0009",
            "AGR-2026-0011"
        ]
    );
    // Inflected forms: PostgreSQL's swedish configuration stems them; SQLite matches words and
    // their beginnings only.
    let definite = refs(&app, &q("fritidsgården")).await;
    match app.backend {
        Backend::Postgres => assert_eq!(definite, ["AGR-2025-0004", "AGR-2026-0011"]),
        Backend::Sqlite => assert_eq!(definite, Vec::<String>::new()),
    }
}

async fn whole_words_rank_first_and_ties_go_by_reference(app: TestApp) {
    app.load_examples().await;
    // Created in reverse order of their references, so the id order differs from the expected.
    add_copy(&app, "AGR-2030-0009", "Vägsnöröjning i Kärna").await;
    add_copy(&app, "AGR-2030-0005", "Snöröjning i Ytterby").await;
    add_copy(&app, "AGR-2030-0002", "Snöröjning i Ytterby").await;
    // The two whole-word matches tie and go by reference; the match inside a word comes last
    // although its reference sorts between them.
    let got = refs(&app, &q("snöröjning")).await;
    assert_eq!(got, ["AGR-2030-0002", "AGR-2030-0005", "AGR-2030-0009"]);
    // The same while typing.
    let got = refs(&app, &q("snöröj")).await;
    assert_eq!(got, ["AGR-2030-0002", "AGR-2030-0005", "AGR-2030-0009"]);
    // Paging keeps the order.
    let first = app
        .get(&format!(
            "/api/v1/agreements?{}&limit=2&page=1",
            q("snöröjning")
        ))
        .await;
    let r = app
        .get(&format!(
            "/api/v1/agreements?{}&limit=2&page=2",
            q("snöröjning")
        ))
        .await;
    assert_eq!(first.body["items"][0]["reference"], "AGR-2030-0002");
    assert_eq!(first.body["items"][1]["reference"], "AGR-2030-0005");
    assert_eq!(r.body["items"][0]["reference"], "AGR-2030-0009");
    // Another order when asked for.
    let got = refs(&app, &format!("{}&sort=-reference", q("snöröjning"))).await;
    assert_eq!(got, ["AGR-2030-0009", "AGR-2030-0005", "AGR-2030-0002"]);
    // A word in the title outranks the same word only among the parties.
    add_copy(&app, "AGR-2030-0001", "Ljusglimt i parken").await;
    let got = refs(&app, &q("ljusglimt")).await;
    assert_eq!(got[0], "AGR-2030-0001", "{got:?}");
}

async fn the_search_combines_with_every_filter(app: TestApp) {
    app.load_examples().await;
    let filters = [
        "active_on=2026-11-22",
        "kind=iop",
        "status=active",
        "legal_basis=iop",
        "social_objective=opp",
        "reserved=true",
        "party=212900-0044",
        "ends_before=2027-06-30",
    ];
    for text in ["stad", "ekonomisk förening", "IOP", "2129"] {
        let found: BTreeSet<String> = refs(&app, &q(text)).await.into_iter().collect();
        assert!(!found.is_empty(), "q={text} finds something");
        for filter in filters {
            let filtered: BTreeSet<String> = refs(&app, filter).await.into_iter().collect();
            let both: BTreeSet<String> = refs(&app, &format!("{}&{filter}", q(text)))
                .await
                .into_iter()
                .collect();
            let expected: BTreeSet<String> = found.intersection(&filtered).cloned().collect();
            assert_eq!(both, expected, "q={text}&{filter}");
        }
        // Two filters at once.
        let two: BTreeSet<String> = refs(&app, "kind=iop&active_on=2026-11-22")
            .await
            .into_iter()
            .collect();
        let both: BTreeSet<String> =
            refs(&app, &format!("{}&kind=iop&active_on=2026-11-22", q(text)))
                .await
                .into_iter()
                .collect();
        let expected: BTreeSet<String> = found.intersection(&two).cloned().collect();
        assert_eq!(both, expected, "q={text} with two filters");
    }
    // The page's search box is the same search.
    let r = app
        .client
        .get(format!("{}/agreements?{}", app.address, q("Ljusglimt")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap_or_default();
    assert!(page.contains("AGR-2025-0004"), "{page}");
    assert!(!page.contains("AGR-2025-0013"), "{page}");
    // And the export's.
    let r = app.get("/api/v1/export?format=json&q=Ljusglimt").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let exported = r.body.to_string();
    assert!(exported.contains("AGR-2025-0004"));
    assert!(!exported.contains("AGR-2025-0013"));
}

async fn the_index_follows_updates_renames_and_deletes(app: TestApp) {
    app.load_examples().await;
    // The title changes.
    let r = app.agreement("AGR-2025-0004").await;
    let mut a = r.body["agreement"].clone();
    a["title"] = json!("Fönsterputs i kommunala fritidsgårdar");
    let r = app
        .put(
            "/api/v1/agreements/AGR-2025-0004",
            &json!({"version": r.body["version"], "agreement": a}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(refs(&app, &q("lokalvård")).await, Vec::<String>::new());
    assert_eq!(refs(&app, &q("fönsterputs")).await, ["AGR-2025-0004"]);

    // A party is renamed: its agreements are found by the new name only.
    let r = app.get("/api/v1/organisations/769990-0051").await;
    let mut org = bare(&r.body);
    org["name"] = json!("Glansgruppen ekonomisk förening");
    let r = app
        .put(
            "/api/v1/organisations/769990-0051",
            &json!({"version": r.body["version"], "organisation": org}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(refs(&app, &q("ljusglimt")).await, Vec::<String>::new());
    assert_eq!(refs(&app, &q("glansgrupp")).await, ["AGR-2025-0004"]);

    // A contact is renamed.
    let r = app
        .get("/api/v1/contacts/sara.nystrom@haninge.example")
        .await;
    let mut contact = bare(&r.body);
    contact["name"] = json!("Sara Åkesson");
    let r = app
        .put(
            "/api/v1/contacts/sara.nystrom@haninge.example",
            &json!({"version": r.body["version"], "contact": contact}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(refs(&app, &q("nyström")).await, Vec::<String>::new());
    assert_eq!(
        refs(&app, &format!("{}&sort=reference", q("åkesson"))).await,
        ["AGR-2025-0004", "AGR-2026-0009"]
    );

    // A row deleted in the database leaves the index with it (no write path deletes an
    // agreement; the index must not keep a ghost if one ever does).
    add_copy(&app, "AGR-2030-0001", "Snöröjning i Ytterby").await;
    assert_eq!(refs(&app, &q("snöröjning")).await, ["AGR-2030-0001"]);
    let db = &app.registry.db;
    db.execute_unprepared(
        "DELETE FROM agreement_party WHERE agreement_id = \
         (SELECT id FROM agreement WHERE reference = 'AGR-2030-0001')",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    db.execute_unprepared("DELETE FROM agreement WHERE reference = 'AGR-2030-0001'")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Deletes in SQL leave no audit entry: the list's kept counts cannot see them by themselves.
    app.registry.lists.clear();
    assert_eq!(refs(&app, &q("snöröjning")).await, Vec::<String>::new());
    let left = match app.backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM agreement_words WHERE agreement_words MATCH 'snöröjning'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM agreement_search WHERE body LIKE '%snöröjning%'"
        }
    };
    let n: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            left,
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.try_get("", "n").unwrap_or(-1))
        .unwrap_or(-1);
    assert_eq!(n, 0, "the index keeps no row of the deleted agreement");
}

async fn agreements_stored_before_the_index_are_filled_in(app: TestApp) {
    app.load_examples().await;
    // Words, word starts and parts of words (the trigram index) of every column.
    let queries = [
        "lokalvård",
        "lokalv",
        "Ljusglimt",
        "990005",
        "Fatima",
        "Nyström",
        "glimt",
        "HAN 2024/0312",
        "agr-2026-00",
        "tädkoop",
    ];
    let mut before = Vec::new();
    for text in queries {
        before.push(refs(&app, &format!("{}&sort=reference", q(text))).await);
    }
    assert!(before.iter().all(|r| !r.is_empty()), "{before:?}");
    let db = &app.registry.db;
    let search_rows = |app: &TestApp| {
        let db = app.registry.db.clone();
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM agreement_search",
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|r| r.try_get::<i64>("", "n").unwrap_or(-1))
            .unwrap_or(-1)
        }
    };
    db.execute_unprepared("DELETE FROM agreement_search")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Writes in SQL and the fill-in (run by `migrate`, before a registry serves) leave no audit
    // entry: the list's kept counts are forgotten by hand.
    app.registry.lists.clear();
    assert_eq!(refs(&app, &q("lokalvård")).await, Vec::<String>::new());
    // Every agreement is missing: on SQLite the FTS5 indexes are rebuilt in one pass.
    let n = fill(db).await;
    assert_eq!(n, 15);
    assert_eq!(search_rows(&app).await, 15);
    app.registry.lists.clear();
    for (text, expected) in queries.iter().zip(&before) {
        let got = refs(&app, &format!("{}&sort=reference", q(text))).await;
        assert_eq!(&got, expected, "q={text} after the fill");
    }
    // Nothing is left to fill in.
    let n = fill(db).await;
    assert_eq!(n, 0);
    // The index still follows each write: a new agreement's words and parts of words are found.
    add_copy(&app, "AGR-2031-0001", "Fönsterputs i Kärna").await;
    assert_eq!(refs(&app, &q("fönsterputs")).await, ["AGR-2031-0001"]);
    assert_eq!(refs(&app, &q("nsterpu")).await, ["AGR-2031-0001"]);
    // One agreement missing among many: filled in row by row.
    db.execute_unprepared(
        "DELETE FROM agreement_search WHERE agreement_id = \
         (SELECT id FROM agreement WHERE reference = 'AGR-2025-0004')",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.registry.lists.clear();
    assert_eq!(refs(&app, &q("lokalvård")).await, Vec::<String>::new());
    let n = fill(db).await;
    assert_eq!(n, 1);
    app.registry.lists.clear();
    assert_eq!(refs(&app, &q("lokalvård")).await, ["AGR-2025-0004"]);
    assert_eq!(search_rows(&app).await, 16);
}

async fn a_refused_write_leaves_the_index_as_it_was(app: TestApp) {
    app.load_examples().await;
    let r = app.agreement("AGR-2025-0004").await;
    let mut a = r.body["agreement"].clone();
    a["title"] = json!("Fönsterputs");
    // A stale version: refused, nothing changes.
    let r = app
        .put(
            "/api/v1/agreements/AGR-2025-0004",
            &json!({"version": 99, "agreement": a}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(refs(&app, &q("fönsterputs")).await, Vec::<String>::new());
    assert_eq!(refs(&app, &q("lokalvård")).await, ["AGR-2025-0004"]);
}

/// The total the list reports for `query`.
async fn total(app: &TestApp, query: &str) -> u64 {
    let r = app
        .get(&format!("/api/v1/agreements?{query}&limit=5"))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body["total"].as_u64().unwrap_or(u64::MAX)
}

/// Words in more agreements than the index looks up for a search (more than a thousand) are
/// checked on the candidates a rarer word finds instead; the answers are the same as for rare
/// words: every word must match, whole words first, filters combine.
async fn common_words_are_checked_on_the_candidates_of_a_rarer_one(app: TestApp) {
    app.load_examples().await;
    let base = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    let mut agreements = Vec::new();
    for i in 1..=1050 {
        let mut a = base.clone();
        a["reference"] = json!(format!("AGR-2031-{i:04}"));
        a["title"] = json!(format!("Vinterväghållning område {i}"));
        agreements.push(a);
    }
    let file: avtal::format::RegistryFile =
        serde_json::from_value(json!({ "agreements": agreements }))
            .unwrap_or_else(|e| panic!("{e}"));
    let mut quiet = |_: usize, _: usize| {};
    avtal::registry::transfer::import(&app.registry, vec![("bulk".into(), file)], &mut quiet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Every word common: all of them match, counted exactly.
    assert_eq!(total(&app, &q("vinterväghållning område")).await, 1050);
    assert_eq!(total(&app, &q("vinterväg")).await, 1050);
    // A rare number beside common words, as words and inside a word.
    assert_eq!(
        refs(&app, &q("vinterväghållning område 517")).await,
        ["AGR-2031-0517"]
    );
    assert_eq!(refs(&app, &q("hållning 517")).await, ["AGR-2031-0517"]);
    assert_eq!(
        refs(&app, &q("vinterväghållning 1049")).await,
        ["AGR-2031-1049"]
    );
    // A common word that is not there, beside a rare one: nothing.
    assert_eq!(refs(&app, &q("lokalvård 517")).await, Vec::<String>::new());
    assert_eq!(
        refs(&app, &q("sommarväghållning 517")).await,
        Vec::<String>::new()
    );
    // Whole words rank first: `område 10` matches 10 as a word in AGR-2031-0010 and as the
    // start of 100-109 and 1000-1050, ranked after it and by reference among themselves.
    let got = refs(&app, &q("vinterväghållning 10")).await;
    assert_eq!(got.len(), 1 + 10 + 51, "{got:?}");
    assert_eq!(got[0], "AGR-2031-0010", "{got:?}");
    assert_eq!(got[1], "AGR-2031-0100", "{got:?}");
    assert_eq!(got[61], "AGR-2031-1050", "{got:?}");
    // A word inside another ranks after whole words, with the common word checked per row.
    let got = refs(&app, &q("område 51")).await;
    assert_eq!(got[0], "AGR-2031-0051", "{got:?}");
    // Filters combine with the checked words.
    let status = base["status"].as_str().unwrap_or_default().to_owned();
    let other = if status == "draft" { "active" } else { "draft" };
    assert_eq!(
        refs(
            &app,
            &format!("{}&status={status}", q("vinterväghållning 517"))
        )
        .await,
        ["AGR-2031-0517"]
    );
    assert_eq!(
        refs(
            &app,
            &format!("{}&status={other}", q("vinterväghållning 517"))
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        total(&app, &format!("{}&status={other}", q("vinterväghållning"))).await,
        0
    );
    // Inflected forms: PostgreSQL finds the definite form by its stem; SQLite by text only.
    let inflected = refs(&app, &q("vinterväghållningen 517")).await;
    match app.backend {
        Backend::Postgres => assert_eq!(inflected, ["AGR-2031-0517"]),
        Backend::Sqlite => assert_eq!(inflected, Vec::<String>::new()),
    }
}

crate::on_both_backends!(
    swedish_words_names_and_numbers_are_found,
    whole_words_rank_first_and_ties_go_by_reference,
    the_search_combines_with_every_filter,
    the_index_follows_updates_renames_and_deletes,
    agreements_stored_before_the_index_are_filled_in,
    a_refused_write_leaves_the_index_as_it_was,
    common_words_are_checked_on_the_candidates_of_a_rarer_one,
);
