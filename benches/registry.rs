//! `cargo bench --bench registry -- <list|import> ...`: reproducible measurements of the registry
//! (see BENCHMARKS.md). Run with no arguments (as `cargo test --all-targets` does) it does nothing.
//!
//! - `list`: seed N synthetic agreements (once per database), then time three list filter mixes
//!   through the real HTTP router, reporting p50 / p99 / max per mix.
//! - `import`: generate a YAML registry file with N agreements and time parse + import into an empty database.
//! - `notify`: seed N synthetic agreements (a yearly and a quarterly report each) into a fresh
//!   database, then time the reminder sweep into an empty outbox, a repeated sweep (everything
//!   already queued) and one send pass over SMTP to a loopback sink; then the same messages with
//!   a new SMTP connection each, and through lettre's pooled transport.
//! - `export`: seed (once, the same databases as `list`) N agreements for each N given, then run the
//!   real CLI (`avtal export`) under `/usr/bin/time` per format, reporting time and peak memory.
//! - `outcomes`: seed (once) N agreements with targets and ten reported values each (the follow-up
//!   index filled as the store fills it), then time the follow-up page by buyer and year, other
//!   groupings, its CSV, and one agreement's page with its charts, through the real HTTP router.
//! - `search`: seed (once) N agreements into its own database, then time free-text searches
//!   (`q` alone and with filters) through the real HTTP router, beside the substring scan that
//!   `q` was before (its SQL run on the same database), each through a server that counts the
//!   matches every time and one that keeps the count until the next write (as `avtal serve`
//!   does); with `--wrk`, also the 50-row list page,
//!   a search and `/health` under wrk (64 connections) against one `avtal serve`.
//! - `pages`: seed (once) N agreements with a yearly and a quarterly report each, a twentieth of
//!   them bought by one organisation and one in two hundred naming one reporting contact, the
//!   reports due more than a month before the bench's day accepted, then
//!   time that organisation's officer's start page and that contact's calendar feed through the
//!   real HTTP router; a digest of each body (the feed without its time stamps) shows whether two
//!   builds answer the same.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use avtal::config::{Secret, Settings};
use avtal::domain::agreement::*;
use avtal::domain::codes::*;
use avtal::domain::dates::add_months;
use avtal::domain::money::Sek;
use avtal::domain::org_number::{OrgNumber, luhn_check_digit};
use avtal::domain::party::{Contact, EmailAddress, Organisation};
use avtal::registry::Registry;
use avtal::registry::transfer::{self, RegistryFile};
use avtal::web::{self, AppState};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use common::api_client;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait, TransactionTrait};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Seed (once) and time the agreement list.
    List {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[arg(long, default_value_t = 300)]
        runs: usize,
        /// Where the SQLite benchmark database lives.
        #[arg(long, default_value = "/opt/avtal-bench")]
        dir: std::path::PathBuf,
    },
    /// Time the YAML import of N agreements into an empty database.
    Import {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value = "/opt/avtal-bench")]
        dir: std::path::PathBuf,
    },
    /// Time `avtal export` (CSV and OCDS) and its peak memory over each count of agreements.
    Export {
        #[arg(long, value_enum)]
        backend: Backend,
        /// Agreement counts to compare, e.g. `--counts 100000,1000000`.
        #[arg(long, value_delimiter = ',', default_values_t = [100_000u64, 1_000_000])]
        counts: Vec<u64>,
        /// Formats to time.
        #[arg(long, value_delimiter = ',', default_values_t = ["csv".to_owned(), "ocds".to_owned()])]
        formats: Vec<String>,
        /// `cli` (`avtal export` under /usr/bin/time) and/or `http` (`GET /api/v1/export` from
        /// `avtal serve`, its VmHWM read from /proc after the download).
        #[arg(long, value_delimiter = ',', default_values_t = ["cli".to_owned(), "http".to_owned()])]
        via: Vec<String>,
        /// Export only the agreements in force on this day (default: all).
        #[arg(long)]
        active_on: Option<String>,
        #[arg(long, default_value = "/opt/avtal-bench")]
        dir: std::path::PathBuf,
    },
    /// Seed (once) and time the free-text search, sequentially and optionally under wrk.
    Search {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[arg(long, default_value_t = 300)]
        runs: usize,
        #[arg(long, default_value = "/opt/avtal-bench-search")]
        dir: std::path::PathBuf,
        /// Also run wrk (installed with apt-get if missing) for this many seconds per URL.
        #[arg(long)]
        wrk: Option<u64>,
    },
    /// Seed (once) N agreements with targets and ten reported values each, then time the
    /// follow-up page (by buyer and year) and one agreement's chart page.
    Outcomes {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value_t = 300)]
        runs: usize,
        #[arg(long, default_value = "/opt/avtal-bench-outcomes")]
        dir: std::path::PathBuf,
    },
    /// Time the reminder sweep over N agreements (about ten report occurrences each), and one
    /// send pass to a loopback SMTP sink, pooled against one connection per message.
    Notify {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Messages sent again a new SMTP connection each, and through lettre's pool, to compare.
        #[arg(long, default_value_t = 500)]
        compare: usize,
        #[arg(long, default_value = "/opt/avtal-bench")]
        dir: std::path::PathBuf,
        /// Only the sweeps: no send pass, no SMTP comparison.
        #[arg(long)]
        no_send: bool,
    },
    /// Seed (once) and time an officer's start page and a contact's calendar feed.
    Pages {
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value_t = 200)]
        runs: usize,
        #[arg(long, default_value = "/opt/bench-pages")]
        dir: std::path::PathBuf,
    },
}

const PG: &str = "postgres://postgres@127.0.0.1:5432";
const ORGS: u64 = 2_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        eprintln!("registry bench: no command given (see BENCHMARKS.md); nothing to do");
        return Ok(());
    }
    match Cli::parse_from(std::iter::once("registry".to_owned()).chain(args)).command {
        Cmd::List {
            backend,
            count,
            runs,
            dir,
        } => list(backend, count, runs, &dir).await,
        Cmd::Import {
            backend,
            count,
            dir,
        } => import(backend, count, &dir).await,
        Cmd::Notify {
            backend,
            count,
            compare,
            dir,
            no_send,
        } => notify(backend, count, compare, &dir, no_send).await,
        Cmd::Export {
            backend,
            counts,
            formats,
            via,
            active_on,
            dir,
        } => export(backend, &counts, &formats, &via, active_on.as_deref(), &dir).await,
        Cmd::Outcomes {
            backend,
            count,
            runs,
            dir,
        } => outcomes(backend, count, runs, &dir).await,
        Cmd::Search {
            backend,
            count,
            runs,
            dir,
            wrk,
        } => search(backend, count, runs, &dir, wrk).await,
        Cmd::Pages {
            backend,
            count,
            runs,
            dir,
        } => pages(backend, count, runs, &dir).await,
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
}

async fn settings_for(
    backend: Backend,
    dir: &std::path::Path,
    name: &str,
    fresh: bool,
) -> anyhow::Result<Settings> {
    let mut s = Settings {
        data_dir: dir.join(name),
        today: Some(today()),
        ..Settings::default()
    };
    match backend {
        Backend::Sqlite => {
            if fresh {
                let _ = std::fs::remove_dir_all(&s.data_dir);
            }
            std::fs::create_dir_all(&s.data_dir)?;
        }
        Backend::Postgres => {
            let admin = Database::connect(format!("{PG}/postgres")).await?;
            if fresh {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await?;
            }
            let exists = admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
                ))
                .await?
                .is_some();
            if !exists {
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await?;
            }
            s.database_url = Some(Secret::new(format!("{PG}/{name}")));
        }
    }
    Ok(s)
}

fn org_number(i: u64, first: u64) -> OrgNumber {
    // first digit: 2 public, 7 ekonomisk förening, 8 ideell förening, 5 AB; third digit 9.
    let nine = [
        first as u8,
        1,
        9,
        ((i / 100_000) % 10) as u8,
        ((i / 10_000) % 10) as u8,
        ((i / 1000) % 10) as u8,
        ((i / 100) % 10) as u8,
        ((i / 10) % 10) as u8,
        (i % 10) as u8,
    ];
    let check = luhn_check_digit(&nine);
    let digits: String = nine
        .iter()
        .chain(std::iter::once(&check))
        .map(|d| char::from(b'0' + d))
        .collect();
    OrgNumber::parse(&digits).unwrap_or_else(unreachable_org)
}

fn unreachable_org(e: avtal::domain::org_number::OrgNumberError) -> OrgNumber {
    eprintln!("generated an invalid organisation number: {e}");
    std::process::exit(2)
}

fn email(s: String) -> EmailAddress {
    EmailAddress::parse(&s).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}

/// Organisations: buyers are 0..200, suppliers the rest.
fn organisations() -> (Vec<Organisation>, Vec<Contact>) {
    let mut orgs = Vec::new();
    let mut contacts = Vec::new();
    for i in 0..ORGS {
        let buyer = i < 200;
        let o = Organisation {
            org_number: org_number(
                i,
                if buyer {
                    2
                } else if i % 2 == 0 {
                    7
                } else {
                    8
                },
            ),
            name: if buyer {
                format!("Kommun {i} socialförvaltning")
            } else {
                format!("Förening {i} ekonomisk förening")
            },
            legal_form: if buyer {
                LegalForm::Kommun
            } else if i % 2 == 0 {
                LegalForm::EkonomiskForening
            } else {
                LegalForm::IdeellForening
            },
            address: None,
            kind: if buyer {
                OrganisationKind::PublicBuyer
            } else if i % 2 == 0 {
                OrganisationKind::WorkIntegrationSocialEnterprise
            } else {
                OrganisationKind::IdeaBasedOrganisation
            },
            parent: None,
            registered_idea_based_on: None,
            // Every supplier may take a contract reserved for work integration (LOU 4 kap.
            // 18 § 1 p.), which some synthetic agreements are.
            work_integration: !buyer,
            idea_based: false,
            members: Vec::new(),
        };
        contacts.push(Contact {
            email: email(format!("kontakt{i}@org{i}.example")),
            name: format!("Kontakt {i}"),
            organisation: o.org_number.clone(),
            role: if buyer {
                ContactRole::ContractOwner
            } else {
                ContactRole::PartnerContact
            },
            active: true,
        });
        orgs.push(o);
    }
    (orgs, contacts)
}

/// A deterministic synthetic agreement number `n`: a mix of kinds, dates from 2019 to 2030,
/// about a third with social objective `opp`.
fn agreement(n: u64) -> Agreement {
    let h = n.wrapping_mul(2_654_435_761) % 1_000_003;
    let buyer = n % 200;
    let supplier = 200 + (h % (ORGS - 200));
    let iop = supplier % 2 == 1 && h.is_multiple_of(3);
    let start =
        NaiveDate::from_ymd_opt(2019 + (h % 10) as i32, 1 + (h % 12) as u32, 1).unwrap_or_default();
    let months = 12 + 12 * (h % 3) as u32;
    let original_end = add_months(start, months as i32) - chrono::Duration::days(1);
    let opp = h % 3 == 1;
    let reserved = h.is_multiple_of(7);
    let kind = if iop {
        AgreementKind::Iop
    } else if h.is_multiple_of(5) {
        AgreementKind::FrameworkAgreement
    } else {
        AgreementKind::ProcurementContract
    };
    let legal_basis = if iop {
        LegalBasis::Iop
    } else if reserved {
        LegalBasis::Lou4_18_1
    } else if opp {
        LegalBasis::Lou17_1
    } else {
        LegalBasis::Lou
    };
    Agreement {
        reference: Reference::parse(&format!("GEN-{n:08}"))
            .unwrap_or_else(|_| std::process::exit(2)),
        kind,
        status: if h.is_multiple_of(50) {
            AgreementStatus::Draft
        } else {
            AgreementStatus::Active
        },
        title: format!("Syntetiskt avtal {n} om arbetsträning och lokalvård"),
        diarienummer: Some(format!("DNR {}/{n}", start.format("%Y"))),
        decision: Some(Decision {
            body: "Socialnämnden".into(),
            date: start - chrono::Duration::days(30),
            paragraph: Some("§ 1".into()),
        }),
        legal_basis,
        procedure_type: if iop { None } else { Some(ProcedureType::Open) },
        signed_on: Some(start),
        value: Some(Value {
            amount_sek: Sek::from_ore(((h % 5000) as i64 + 100) * 100_000),
            basis: ValueBasis::FixedTotal,
            estimated_total_sek: None,
        }),
        parties: vec![
            Party {
                org: org_number(buyer, 2),
                role: PartyRole::Buyer,
                unit: None,
            },
            Party {
                org: org_number(supplier, if supplier.is_multiple_of(2) { 7 } else { 8 }),
                role: if iop {
                    PartyRole::IopPartner
                } else {
                    PartyRole::Supplier
                },
                unit: None,
            },
        ],
        contacts: AgreementContacts {
            owner: Some(email(format!("kontakt{buyer}@org{buyer}.example"))),
            ..AgreementContacts::default()
        },
        period: Period {
            start,
            original_end,
            current_end: original_end,
            outer_limit: Some(add_months(original_end, 12)),
        },
        framework: None,
        framework_special_reasons: None,
        eligibility_exception: None,
        eforms: Eforms {
            bt_71: reserved.then_some(ReservedParticipation::ShelteredWorkshop),
            bt_06: if opp || reserved {
                vec![StrategicProcurement::Social]
            } else {
                vec![]
            },
            bt_775: if opp || reserved {
                vec![SocialObjective::Employment]
            } else {
                vec![]
            },
            ..Eforms::default()
        },
        share_requirement_percent: reserved.then_some(30),
        social_clauses: vec![],
        indicators: vec![],
        iop: iop.then(|| IopDetails {
            purpose: Some("Arbetsträning".into()),
            legal_assessment: Some(LegalAssessment {
                date: start - chrono::Duration::days(40),
                by: "Juristen".into(),
                conclusion: "Ej upphandlingspliktigt".into(),
            }),
            ..IopDetails::default()
        }),
        options: vec![ExtensionOption {
            seq: 1,
            months: 12,
            decided_by: OptionDecider::Buyer,
            notice_months: Some(3),
            decide_by: None,
            state: OptionState::Available,
            decided_on: None,
        }],
        tacit_renewal: None,
        renewal_dialogue: None,
        termination: Some(Termination {
            notice_months: 6,
            form: None,
            effective: NoticeEffect::Exact,
            notice: None,
        }),
        amendments: vec![],
        reporting: vec![ReportingObligation {
            kind: "annual_report".into(),
            description: None,
            recurrence: Recurrence::Yearly,
            first_period_end: Some(
                NaiveDate::from_ymd_opt(start.year_ce().1 as i32, 12, 31).unwrap_or_default(),
            ),
            due: None,
            due_offset_days: 60,
            grace_days: 14,
            escalation_days: 14,
            responsible: org_number(supplier, if supplier.is_multiple_of(2) { 7 } else { 8 }),
            recipient: None,
            escalation: None,
            indicators: vec![],
            occurrences: vec![],
        }],
        reminder_days: Vec::new(),
        terms: Default::default(),
        notes: None,
    }
}

use chrono::Datelike;

/// Seeds `count` agreements straight into the tables (the same columns the store writes), in big batches.
async fn seed(
    db: &sea_orm::DatabaseConnection,
    count: u64,
    make: fn(u64) -> Agreement,
) -> anyhow::Result<()> {
    use avtal::db::entities::{agreement as ag, agreement_party as ap, organisation as org};
    let (orgs, contacts) = organisations();
    let reg = Registry::new(db.clone(), Arc::new(Settings::default()));
    if org::Entity::find().count(db).await? == 0 {
        let mut quiet = |_: usize, _: usize| {};
        transfer::import(
            &reg,
            vec![(
                "orgs".into(),
                RegistryFile {
                    organisations: orgs.clone(),
                    contacts,
                    agreements: vec![],
                },
            )],
            &mut quiet,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let ids: std::collections::HashMap<String, i64> = org::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.org_number, m.id))
        .collect();
    let already = ag::Entity::find().count(db).await?;
    let started = Instant::now();
    let batch = 500u64;
    let mut n = already;
    while n < count {
        let tx = db.begin().await?;
        for _ in 0..40 {
            if n >= count {
                break;
            }
            let end = (n + batch).min(count);
            let mut ins = Query::insert();
            ins.into_table(ag::Entity).columns([
                ag::Column::Id,
                ag::Column::Reference,
                ag::Column::Kind,
                ag::Column::Status,
                ag::Column::Title,
                ag::Column::TitleLower,
                ag::Column::LegalBasis,
                ag::Column::ValueOre,
                ag::Column::StartDate,
                ag::Column::OriginalEnd,
                ag::Column::CurrentEnd,
                ag::Column::OuterLimit,
                ag::Column::Reservation,
                ag::Column::Objectives,
                ag::Column::Document,
                ag::Column::Version,
                ag::Column::CreatedAt,
                ag::Column::UpdatedAt,
            ]);
            let mut parties = Query::insert();
            parties.into_table(ap::Entity).columns([
                ap::Column::AgreementId,
                ap::Column::OrganisationId,
                ap::Column::Role,
            ]);
            // The follow-up index rows, as `store` derives them from each agreement.
            let mut values: Vec<[sea_orm::Value; 6]> = Vec::new();
            let now = Utc::now();
            for i in n..end {
                let a = make(i);
                let id = i as i64 + 1;
                ins.values([
                    id.into(),
                    a.reference.to_string().into(),
                    a.kind.code().into(),
                    a.status.code().into(),
                    a.title.clone().into(),
                    a.title.to_lowercase().into(),
                    a.legal_basis.code().into(),
                    a.value.as_ref().map(|v| v.amount_sek.ore()).into(),
                    a.period.start.into(),
                    a.period.original_end.into(),
                    a.period.current_end.into(),
                    a.period.outer_limit.into(),
                    a.reservation().map(str::to_owned).into(),
                    a.social_objective_bits().into(),
                    serde_json::to_string(&a)?.into(),
                    1i32.into(),
                    now.into(),
                    now.into(),
                ])?;
                for p in &a.parties {
                    let org_id = ids
                        .get(p.org.as_str())
                        .copied()
                        .context("seed org missing")?;
                    parties.values([id.into(), org_id.into(), p.role.code().into()])?;
                }
                for r in avtal::domain::outcomes::index_rows(&a) {
                    values.push([
                        id.into(),
                        r.indicator.to_string().into(),
                        r.year.into(),
                        r.gender.code().into(),
                        r.value.centi().into(),
                        (r.periods as i32).into(),
                    ]);
                }
            }
            tx.execute(&ins).await?;
            tx.execute(&parties).await?;
            // Chunks keep each statement under the backends' bind-parameter limits.
            for chunk in values.chunks(2_000) {
                use avtal::db::entities::outcome_value as ov;
                let mut q = Query::insert();
                q.into_table(ov::Entity).columns([
                    ov::Column::AgreementId,
                    ov::Column::Indicator,
                    ov::Column::Year,
                    ov::Column::Gender,
                    ov::Column::ValueCenti,
                    ov::Column::Periods,
                ]);
                for row in chunk {
                    q.values(row.iter().cloned().map(Expr::value))?;
                }
                tx.execute(&q).await?;
            }
            n = end;
        }
        tx.commit().await?;
        eprintln!(
            "seeded {n}/{count} ({:.0}/s)",
            (n - already) as f64 / started.elapsed().as_secs_f64()
        );
    }
    // The rows went in around the use cases: index them for the free-text search as
    // `avtal migrate` does for agreements stored before the index existed.
    let started = Instant::now();
    avtal::db::sweep::backfill(db).await?;
    let indexed = avtal::db::search::backfill(db).await?;
    if indexed > 0 {
        eprintln!(
            "indexed {indexed} agreements for search in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("SELECT setval(pg_get_serial_sequence('agreement', 'id'), (SELECT MAX(id) FROM agreement))").await?;
        // The state autovacuum reaches after a bulk load: statistics and a visibility map, so
        // that the covering indexes answer index-only.
        db.execute_unprepared("VACUUM ANALYZE").await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn list(
    backend: Backend,
    count: u64,
    runs: usize,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let name = format!("avtal_bench_{count}");
    let settings = settings_for(backend, dir, &name, false).await?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    seed(&db, count, agreement).await?;
    let registry = Registry::new(db, Arc::new(settings));
    let client = api_client(&registry).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, web::router(AppState { registry })).await;
    });
    // A supplier that is party to about count / ORGS agreements.
    let party = org_number(1009, 8);
    let mixes = [
        "active_on=2026-11-22&social_objective=opp&limit=50".to_owned(),
        "active_on=2026-11-22&kind=framework_agreement&reserved=participation&limit=50&sort=-end"
            .to_owned(),
        format!("party={party}&status=active&sort=-end&limit=50"),
        "q=avtal%2012345&limit=50".to_owned(),
    ];
    println!("| backend | agreements | query | runs | p50 ms | p99 ms | max ms | total |");
    println!("|---|---|---|---|---|---|---|---|");
    for mix in &mixes {
        let url = format!("{base}/api/v1/agreements?{mix}");
        let mut total = serde_json::Value::Null;
        for _ in 0..10 {
            let r: serde_json::Value = client.get(&url).send().await?.json().await?;
            total = r["total"].clone();
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let resp = client.get(&url).send().await?;
            anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
            let _ = resp.bytes().await?;
            times.push(t.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {backend:?} | {count} | `{mix}` | {runs} | {:.2} | {:.2} | {:.2} | {total} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
        );
    }
    Ok(())
}

async fn import(backend: Backend, count: u64, dir: &std::path::Path) -> anyhow::Result<()> {
    let name = format!("avtal_bench_import_{count}");
    let settings = settings_for(backend, dir, &name, true).await?;
    let (organisations, contacts) = organisations();
    let file = RegistryFile {
        organisations,
        contacts,
        agreements: (0..count).map(agreement).collect(),
    };
    let t = Instant::now();
    let yaml = serde_saphyr::to_string(&file)?;
    let to_yaml = t.elapsed();
    let path = dir.join(format!("import-{count}.yaml"));
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, &yaml)?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    let registry = Registry::new(db, Arc::new(settings));
    let t = Instant::now();
    let parsed = transfer::parse_file("bench.yaml", &yaml).map_err(|p| anyhow::anyhow!("{p}"))?;
    let parse = t.elapsed();
    let t = Instant::now();
    let mut progress = |done: usize, total: usize| {
        if done.is_multiple_of(20_000) {
            eprintln!("imported {done}/{total}");
        }
    };
    let s = transfer::import(
        &registry,
        vec![("bench.yaml".into(), parsed)],
        &mut progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let write = t.elapsed();
    println!(
        "| backend | agreements | YAML size MB | parse s | validate + write s | total s | agreements/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {backend:?} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
        s.agreements_created,
        yaml.len() as f64 / 1e6,
        parse.as_secs_f64(),
        write.as_secs_f64(),
        (parse + write).as_secs_f64(),
        s.agreements_created as f64 / (parse + write).as_secs_f64()
    );
    eprintln!(
        "(generating the YAML took {:.1} s, not counted; file at {})",
        to_yaml.as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// The synthetic agreement with a quarterly report besides the yearly one: about ten report
/// occurrences per agreement, as the "100,000 agreements, 1,000,000 occurrences" asks.
fn agreement_with_reports(n: u64) -> Agreement {
    let mut a = agreement(n);
    let start = a.period.start;
    let quarter_end = NaiveDate::from_ymd_opt(start.year(), 3 * start.month().div_ceil(3), 1)
        .map(|d| add_months(d, 1) - chrono::Duration::days(1))
        .unwrap_or(start);
    let mut quarterly = a.reporting[0].clone();
    quarterly.kind = "social_clause_report".into();
    quarterly.recurrence = Recurrence::Quarterly;
    quarterly.first_period_end = Some(quarter_end);
    quarterly.due_offset_days = 20;
    quarterly.grace_days = 10;
    a.reporting.push(quarterly);
    a
}

async fn notify(
    backend: Backend,
    count: u64,
    compare: usize,
    dir: &std::path::Path,
    no_send: bool,
) -> anyhow::Result<()> {
    use avtal::config::{SmtpSettings, SmtpTls};
    use avtal::db::outbox;
    use avtal::domain::deadlines::{DeadlineKind, deadlines};
    use avtal::notify::{Composer, mailer, sweep};
    use lettre::AsyncTransport;
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;
    // Named after --dir, so runs with their own directory get their own PostgreSQL database
    // (the default dir /opt/avtal-bench gives avtal_bench_notify_N).
    let stem = dir
        .file_name()
        .and_then(|s| s.to_str())
        .map(|s| s.replace('-', "_"))
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| "avtal_bench".to_owned());
    let name = format!("{stem}_notify_{count}");
    let mut settings = settings_for(backend, dir, &name, true).await?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    seed(&db, count, agreement_with_reports).await?;
    let mut occurrences = 0usize;
    avtal::db::store::for_each_agreement(
        &db,
        &avtal::db::store::AgreementFilter::default(),
        1000,
        |a| {
            occurrences += deadlines(&a.data, today(), &settings.reminders)
                .iter()
                .filter(|d| d.kind == DeadlineKind::Report)
                .count();
            Ok(())
        },
    )
    .await?;
    let sink = sink::Sink::start().await?;
    settings.notify.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        tls: SmtpTls::None,
        username: None,
        password: None,
        ca_file: None,
    });
    settings.notify.batch_size = 500;
    let composer = Composer::new(&settings)?;
    let mailer = mailer::Mailer::from_settings(&settings)?;
    let t = Instant::now();
    let first = sweep(&db, &settings, &composer, today(), Utc::now()).await?;
    let first_time = t.elapsed();
    let t = Instant::now();
    let again = sweep(&db, &settings, &composer, today(), Utc::now()).await?;
    let again_time = t.elapsed();
    // The next day's sweep: the daily case, reading only agreements with a reminder day then.
    let t = Instant::now();
    let tomorrow = sweep(
        &db,
        &settings,
        &composer,
        today() + chrono::Days::new(1),
        Utc::now(),
    )
    .await?;
    let tomorrow_time = t.elapsed();
    // The full sweep after the ladders changed (every agreement read again, nearly every
    // reminder already queued): what a deploy with new ladders costs.
    let mut changed = settings.clone();
    changed.reminders.catch_up_days += 1;
    let t = Instant::now();
    let resweep = sweep(
        &db,
        &changed,
        &composer,
        today() + chrono::Days::new(1),
        Utc::now(),
    )
    .await?;
    let resweep_time = t.elapsed();
    // Where a full sweep's time goes: its parts one after another on one core (the sweep itself
    // overlaps reading with the engine on every core).
    let phases = sweep_phases(&db, &changed).await?;
    println!(
        "{backend:?}: first sweep {:.2} s ({} read, {} queued); repeated {:.2} s ({} read); next day {:.2} s ({} read, {} queued); after a ladder change {:.2} s ({} read, {} queued)",
        first_time.as_secs_f64(),
        first.read,
        first.queued,
        again_time.as_secs_f64(),
        again.read,
        tomorrow_time.as_secs_f64(),
        tomorrow.read,
        tomorrow.queued,
        resweep_time.as_secs_f64(),
        resweep.read,
        resweep.queued,
    );
    let parts = |s: &avtal::notify::SweepSummary| {
        let p = s.phases;
        format!(
            "{:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}",
            p.prepare.as_secs_f64(),
            p.plan.as_secs_f64(),
            p.lookups.as_secs_f64(),
            p.queue.as_secs_f64(),
            p.render.as_secs_f64(),
            p.store_days.as_secs_f64()
        )
    };
    println!(
        "\nThe sweeps' own parts:\n\n| sweep | prepare s | read and plan s | look up queued keys s | render and queue s | of which rendering s | store next days s |\n|---|---|---|---|---|---|---|\n| first | {} |\n| repeated | {} |\n| next day | {} |\n| after a ladder change | {} |",
        parts(&first),
        parts(&again),
        parts(&tomorrow),
        parts(&resweep)
    );
    println!("{phases}");
    // The sweep's reading and engine on one worker and on more (the machine's cores by default).
    let mut workers_line =
        String::from("\n| workers | read and plan the full sweep s |\n|---|---|");
    for workers in [1, 2, 4] {
        // Every stored day cleared (another fingerprint), so every agreement is read.
        avtal::db::sweep::prepare(
            &db,
            today() + chrono::Days::new(1),
            &format!("bench {workers}"),
        )
        .await?;
        let t = Instant::now();
        let p = avtal::notify::plan_for_sweep_in_chunks(
            &db,
            today() + chrono::Days::new(1),
            &changed.reminders,
            avtal::notify::SWEEP_CHUNK,
            workers,
        )
        .await?;
        anyhow::ensure!(p.agreements == count, "{} read", p.agreements);
        workers_line.push_str(&format!(
            "\n| {workers} | {:.2} |",
            t.elapsed().as_secs_f64()
        ));
    }
    println!("{workers_line}");
    if no_send {
        return Ok(());
    }
    let t = Instant::now();
    let sent = mailer::send_due(&db, &mailer, &settings.notify, Utc::now()).await?;
    let send_time = t.elapsed();
    let received = sink.count();

    // The same messages two other ways: a new connection (TCP_NODELAY) for each, and lettre's
    // own pooled transport (Nagle's algorithm on), which the service used before.
    let rows = outbox::list(&db, None, compare as u64).await?;
    let messages = rows
        .iter()
        .map(|row| {
            mailer::OutgoingMessage::from_row(row)
                .and_then(|m| mailer.build(&m))
                .map_err(|e| anyhow::anyhow!(e))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t = Instant::now();
    for msg in &messages {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", sink.port)).await?;
        tcp.set_nodelay(true)?;
        let mut conn =
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default())
                .await?;
        conn.send(msg.envelope(), &msg.formatted()).await?;
        conn.quit().await?;
    }
    let per_message = t.elapsed();
    let lettre_pool =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(sink.port)
            .build();
    let t = Instant::now();
    for msg in &messages {
        lettre_pool.send(msg.clone()).await?;
    }
    let lettre_time = t.elapsed();
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "| backend | agreements | report occurrences | reminders due | agreements read (first, again, next day) | first sweep s | repeated sweep s | next-day sweep s (queued) | send pass (kept-open connection): messages, s, messages/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {backend:?} | {count} | {occurrences} | {} (queued {}, again {}) | {}, {}, {} | {:.2} | {:.2} | {:.2} ({}) | {} ({} received), {:.2}, {:.0} |",
        first.due,
        first.queued,
        again.queued,
        first.read,
        again.read,
        tomorrow.read,
        first_time.as_secs_f64(),
        again_time.as_secs_f64(),
        tomorrow_time.as_secs_f64(),
        tomorrow.queued,
        sent.sent,
        received,
        send_time.as_secs_f64(),
        rate(sent.sent, send_time),
    );
    println!(
        "\nThe same {} messages (SMTP only, no database): a new connection each {:.2} s = {:.0} messages/s; lettre's pooled transport (Nagle on) {:.2} s = {:.0} messages/s",
        messages.len(),
        per_message.as_secs_f64(),
        rate(messages.len(), per_message),
        lettre_time.as_secs_f64(),
        rate(messages.len(), lettre_time),
    );
    Ok(())
}

/// Seeds (once) a database of each count, then runs `avtal export` on it per format under
/// `/usr/bin/time`: wall time and peak resident memory of the whole CLI process. Output goes to
/// /dev/null; the CLI reports the bytes it wrote.
async fn export(
    backend: Backend,
    counts: &[u64],
    formats: &[String],
    via: &[String],
    active_on: Option<&str>,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let exe = env!("CARGO_BIN_EXE_avtal");
    let filter = active_on
        .map(|d| format!(" active_on={d}"))
        .unwrap_or_default();
    let mut rows = Vec::new();
    for &count in counts {
        let name = format!("avtal_bench_{count}");
        let settings = settings_for(backend, dir, &name, false).await?;
        {
            let db = avtal::db::connect(&settings).await?;
            avtal::db::migrate(&db).await?;
            seed(&db, count, agreement).await?;
            db.close().await?;
        }
        for format in formats {
            // Agreements the filter matches: all of them, or what the CLI counted.
            let mut matched = active_on.is_none().then_some(count as f64);
            if via.iter().any(|v| v == "cli") {
                let mut cmd = std::process::Command::new("/usr/bin/time");
                cmd.args(["-f", "time: %e s, peak %M KB"])
                    .arg(exe)
                    .arg("--data-dir")
                    .arg(&settings.data_dir)
                    .args(["export", "--format", format, "-o", "/dev/null"])
                    .args(active_on.map(|d| ["--active-on", d]).into_iter().flatten())
                    .env("AVTAL_TODAY", today().to_string())
                    .env("RUST_LOG", "warn");
                if let Some(url) = &settings.database_url {
                    cmd.env("DATABASE_URL", url.expose());
                }
                eprintln!("exporting {count} agreements as {format}{filter} with the CLI");
                let out = cmd.output()?;
                let stderr = String::from_utf8_lossy(&out.stderr);
                anyhow::ensure!(out.status.success(), "avtal export failed: {stderr}");
                let num = |after: &str, upto: &str| -> f64 {
                    stderr
                        .lines()
                        .rev()
                        .find_map(|l| {
                            let rest = &l[l.find(after)? + after.len()..];
                            rest[..rest.find(upto)?].trim().parse().ok()
                        })
                        .unwrap_or(f64::NAN)
                };
                let secs = num("time:", " s,");
                let peak_kb = num("peak", "KB");
                let mb = num("agreements (", " MB)");
                let exported = num("exported", " agreements (");
                matched = Some(exported);
                rows.push(format!(
                    "| {backend:?} | {count} | {exported:.0} | {format}{filter} | cli | {mb:.1} | {secs:.1} | {:.0} | {:.0} |",
                    exported / secs,
                    peak_kb / 1024.0
                ));
            }
            if via.iter().any(|v| v == "http") {
                eprintln!("exporting {count} agreements as {format}{filter} over HTTP");
                let (secs, bytes, peak_kb) =
                    export_over_http(exe, &settings, format, active_on).await?;
                let m = matched.unwrap_or(f64::NAN);
                rows.push(format!(
                    "| {backend:?} | {count} | {m:.0} | {format}{filter} | http | {:.1} | {secs:.1} | {:.0} | {:.0} |",
                    bytes as f64 / 1e6,
                    m / secs,
                    peak_kb as f64 / 1024.0
                ));
            }
        }
    }
    println!(
        "| backend | in the database | exported | format | via | output MB | wall s | agreements/s | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}

/// Peak resident memory (VmHWM) of a running process, in KB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Starts `avtal serve` on the database, downloads `GET /api/v1/export?format=F` chunk by chunk,
/// then reads the server's peak memory and stops it. Returns seconds, bytes and peak KB.
async fn export_over_http(
    exe: &str,
    settings: &Settings,
    format: &str,
    active_on: Option<&str>,
) -> anyhow::Result<(f64, u64, u64)> {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?
        .port();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--data-dir")
        .arg(&settings.data_dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("AVTAL_TODAY", today().to_string())
        .env("AVTAL_NOTIFY__INTERVAL_SECONDS", "0")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = &settings.database_url {
        cmd.env("DATABASE_URL", url.expose());
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().context("avtal serve has no pid")?;
    // Every API route needs a token: make one in the bench database before asking.
    let client = {
        let db = avtal::db::connect(settings).await?;
        let registry = Registry::new(db, Arc::new(settings.clone()));
        api_client(&registry).await?
    };
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..600 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(up, "avtal serve did not start");
    let t = Instant::now();
    let mut resp = client
        .get(format!(
            "{base}/api/v1/export?format={format}{}",
            active_on
                .map(|d| format!("&active_on={d}"))
                .unwrap_or_default()
        ))
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "export: {}", resp.status());
    let mut bytes = 0u64;
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len() as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    let peak = vm_hwm_kb(pid).unwrap_or_default();
    child.kill().await?;
    Ok((secs, bytes, peak))
}

/// A minimal SMTP server on loopback that accepts every message and counts it (the subset
/// lettre speaks without TLS), as in `tests/api/helpers.rs`.
mod sink {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    pub struct Sink {
        pub port: u16,
        received: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Sink {
        pub async fn start() -> anyhow::Result<Self> {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
            let port = listener.local_addr()?.port();
            let received = Arc::new(AtomicUsize::new(0));
            let count = Arc::clone(&received);
            let task = tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(session(stream, Arc::clone(&count)));
                }
            });
            Ok(Self {
                port,
                received,
                task,
            })
        }

        pub fn count(&self) -> usize {
            self.received.load(Ordering::Relaxed)
        }
    }

    impl Drop for Sink {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn session(stream: tokio::net::TcpStream, count: Arc<AtomicUsize>) {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r);
        if w.write_all(b"220 sink.localhost ESMTP bench sink\r\n")
            .await
            .is_err()
        {
            return;
        }
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let upper = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-sink.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            } else if upper == "DATA" {
                if w.write_all(b"354 end with .\r\n").await.is_err() {
                    return;
                }
                loop {
                    let mut l = Vec::new();
                    match lines.read_until(b'\n', &mut l).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if l == b".\r\n" {
                        break;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                b"250 OK queued\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n").await;
                return;
            } else {
                b"250 OK\r\n"
            };
            if w.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

/// Times `url` `runs` times after 10 warm-up requests: sorted latencies and the last `total`.
async fn time_url(
    client: &reqwest::Client,
    url: &str,
    runs: usize,
) -> anyhow::Result<(Vec<Duration>, serde_json::Value)> {
    let mut total = serde_json::Value::Null;
    for _ in 0..10 {
        let r: serde_json::Value = client.get(url).send().await?.json().await?;
        total = r["total"].clone();
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let resp = client.get(url).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
        let _ = resp.bytes().await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times, total))
}

/// Times the SQL the agreement list ran for `q` before the search index: a count (capped at
/// 10,001) and the page's ids, both with a substring `LIKE` over every title and reference.
async fn legacy_substring(
    db: &sea_orm::DatabaseConnection,
    text: &str,
    and_where: &str,
    runs: usize,
) -> anyhow::Result<(Vec<Duration>, i64)> {
    let lower = format!("%{}%", text.to_lowercase());
    let upper = format!("%{}%", text.to_uppercase());
    let cond = format!(
        "(title_lower LIKE '{lower}' ESCAPE '\\' OR reference LIKE '{upper}' ESCAPE '\\'){and_where}"
    );
    let backend = db.get_database_backend();
    let count = format!(
        "SELECT COUNT(*) AS n FROM (SELECT id FROM agreement WHERE {cond} LIMIT 10001) AS capped"
    );
    let ids =
        format!("SELECT id FROM agreement WHERE {cond} ORDER BY reference, id LIMIT 50 OFFSET 0");
    let mut n = 0;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 2 {
        let t = Instant::now();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(backend, count.clone()))
            .await?;
        n = row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        db.query_all_raw(sea_orm::Statement::from_string(backend, ids.clone()))
            .await?;
        if i >= 2 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    Ok((times, n))
}

async fn search(
    backend: Backend,
    count: u64,
    runs: usize,
    dir: &std::path::Path,
    wrk: Option<u64>,
) -> anyhow::Result<()> {
    let name = format!("avtal_bench_search_{count}");
    let settings = settings_for(backend, dir, &name, false).await?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    seed(&db, count, agreement).await?;
    let registry = Registry::new(db.clone(), Arc::new(settings.clone()));
    let (client, token) = common::api_client_and_token(&registry).await?;
    // Two servers on the database: one as `avtal serve` runs (the list keeps each filter's count
    // in memory until the next write), and one that counts every time, which is what a list
    // costs the first time its filter is asked for.
    let uncached = Registry {
        lists: Arc::new(avtal::registry::list_cache::ListCache::disabled()),
        ..registry.clone()
    };
    let mut bases = Vec::new();
    for registry in [uncached, registry] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        tokio::spawn(async move {
            let _ = axum::serve(listener, web::router(AppState { registry })).await;
        });
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| backend | agreements | query | runs | p50 ms | p99 ms | max ms | total |");
    println!("|---|---|---|---|---|---|---|---|");
    // What `q` was before: the same two texts as a substring scan, on the same database.
    let legacy = [
        ("avtal 12345", ""),
        (
            "avtal 12345",
            " AND kind = 'procurement_contract' AND status = 'active'",
        ),
    ];
    for (text, and_where) in legacy {
        let (times, n) = legacy_substring(&db, text, and_where, runs.min(30)).await?;
        println!(
            "| {backend:?} | {count} | before: substring `{text}`{and_where} (SQL only) | {} | {:.2} | {:.2} | {:.2} | {n} |",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
        );
    }
    let mixes = [
        "q=avtal%2012345&limit=50",
        "q=avtal%2012345&kind=procurement_contract&status=active&limit=50",
        "q=F%C3%B6rening%201009&limit=50",
        "q=lokalv%C3%A5rd%204242&active_on=2026-11-22&social_objective=opp&limit=50",
        "q=kontakt%2017&status=active&kind=framework_agreement&limit=50",
        "q=99012&limit=50",
        "q=syntetiskt%20avtal%2098765&limit=50",
        "q=lokalv%C3%A5rd&limit=50",
        "active_on=2026-11-22&social_objective=opp&limit=50",
        "party=819001-0093&status=active&sort=-end&limit=50",
        "active_on=2026-11-22&kind=framework_agreement&reserved=participation&limit=50&sort=-end",
        // One agreement (not a list): `GET /api/v1/agreements/{reference}`.
        "/GEN-00042424",
    ];
    for mix in mixes {
        for (base, counted) in bases.iter().zip(["counted each time", "count kept"]) {
            let url = match mix.strip_prefix('/') {
                Some(reference) => format!("{base}/api/v1/agreements/{reference}"),
                None => format!("{base}/api/v1/agreements?{mix}"),
            };
            let (times, total) = time_url(&client, &url, runs).await?;
            println!(
                "| {backend:?} | {count} | `{mix}` ({counted}) | {runs} | {:.2} | {:.2} | {:.2} | {total} |",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(*times.last().unwrap_or(&Duration::ZERO)),
            );
        }
    }
    if let Some(seconds) = wrk {
        under_wrk(&settings, &token, seconds).await?;
    }
    Ok(())
}

/// Runs `avtal serve` on the bench database and measures `/health` without a token, the 50-row
/// list page and a search with wrk (2 threads, 64 connections), one after the other.
async fn under_wrk(settings: &Settings, token: &str, seconds: u64) -> anyhow::Result<()> {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("installing wrk");
        let ok = std::process::Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .status()?
            .success();
        anyhow::ensure!(ok, "apt-get install -y wrk failed");
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let exe = std::env::var("AVTAL_BIN").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/release/avtal")
    });
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.arg("--data-dir")
        .arg(&settings.data_dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if let Some(url) = &settings.database_url {
        cmd.env("DATABASE_URL", url.expose());
    }
    let mut child = cmd.spawn().with_context(|| format!("starting {exe}"))?;
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let urls = [
        ("/health, no token", format!("{base}/health"), false),
        ("/health, API token", format!("{base}/health"), true),
        (
            "list, 50 rows",
            format!("{base}/api/v1/agreements?active_on=2026-11-22&social_objective=opp&limit=50"),
            true,
        ),
        (
            "search",
            format!("{base}/api/v1/agreements?q=lokalv%C3%A5rd%204242&limit=50"),
            true,
        ),
        (
            "search, two filters",
            format!(
                "{base}/api/v1/agreements?q=avtal%2012345&kind=procurement_contract&status=active&limit=50"
            ),
            true,
        ),
    ];
    println!();
    println!("| wrk -t2 -c64 -d{seconds}s | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|");
    for (label, url, auth) in urls {
        let mut wrk = tokio::process::Command::new("wrk");
        wrk.args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency"]);
        if auth {
            wrk.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let out = wrk.arg(&url).output().await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |prefix: &str| -> String {
            text.lines()
                .find(|l| l.trim_start().starts_with(prefix))
                .map(|l| l.trim().to_owned())
                .unwrap_or_default()
        };
        let errors = text
            .lines()
            .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "| {label} | {} | {} | {} | {} |",
            field("Requests/sec:"),
            field("50%"),
            field("99%"),
            if errors.is_empty() {
                "0".into()
            } else {
                errors
            },
        );
    }
    child.kill().await?;
    Ok(())
}

/// The organisation (a buyer) whose officer's start page `pages` times: party to every
/// twentieth agreement.
const PAGES_ORG: u64 = 0;
/// The contact (of a supplier) whose calendar feed `pages` times: the reporting contact of one
/// agreement in two hundred.
const PAGES_CONTACT: u64 = 1999;

/// [`agreement_with_reports`], bought by organisation [`PAGES_ORG`] for every twentieth `n` (by
/// others otherwise), with contact [`PAGES_CONTACT`] reporting on one in two hundred.
fn agreement_for_pages(n: u64) -> Agreement {
    let mut a = agreement_with_reports(n);
    let buyer = if n.is_multiple_of(20) {
        PAGES_ORG
    } else {
        1 + n % 199
    };
    a.parties[0].org = org_number(buyer, 2);
    a.contacts.owner = Some(email(format!("kontakt{buyer}@org{buyer}.example")));
    if n % 200 == 7 {
        let c = PAGES_CONTACT;
        a.contacts.reporting = Some(email(format!("kontakt{c}@org{c}.example")));
    }
    // Reports due more than a month ago were handed in and accepted, as in a registry in use.
    let ladders = avtal::domain::deadlines::ReminderLadders::default();
    let handed_in = today() - chrono::Duration::days(30);
    for d in avtal::domain::deadlines::deadlines(&a, today(), &ladders) {
        let Some(r) = d.report.filter(|r| r.due < handed_in) else {
            continue;
        };
        if let Some(ob) = a.reporting.iter_mut().find(|o| o.kind == r.kind) {
            ob.occurrences.push(OccurrenceRecord {
                state: OccurrenceState::Accepted,
                submitted_on: Some(r.due),
                decided_on: Some(r.due),
                ..OccurrenceRecord::open(r.period_end)
            });
        }
    }
    a
}

/// The title [`agreement`] gives the synthetic agreement with this reference.
fn seeded_title(key: &Reference) -> String {
    let n: u64 = key
        .as_str()
        .trim_start_matches("GEN-")
        .parse()
        .unwrap_or_default();
    agreement(n).title
}

/// Hex SHA-256 of a page body, without the lines that change with every request.
fn body_digest(body: &str) -> String {
    use sha2::Digest as _;
    let kept: String = body
        .lines()
        .filter(|l| !l.starts_with("DTSTAMP"))
        .map(|l| format!("{l}\n"))
        .collect();
    hex::encode(sha2::Sha256::digest(kept.as_bytes()))
}

async fn pages(
    backend: Backend,
    count: u64,
    runs: usize,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let name = format!("bench_pages_{count}");
    let settings = settings_for(backend, dir, &name, false).await?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    seed(&db, count, agreement_for_pages).await?;
    // The rows went in around the use cases: plan them as `Registry::open` does.
    let started = Instant::now();
    let planned = plans::refresh(&db, today()).await?;
    if planned > 0 {
        eprintln!(
            "planned the deadlines of {planned} agreements in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        db.execute_unprepared("ANALYZE").await?;
    }
    let registry = Registry::new(db.clone(), Arc::new(settings.clone()));
    let officer_email = format!("officer-{}@avtal.example", std::process::id());
    let officer = avtal::db::users::insert_user(
        &registry.db,
        &officer_email,
        "!",
        avtal::domain::access::Role::Officer,
        Some(&org_number(PAGES_ORG, 2)),
    )
    .await?;
    let token = format!("avt_{}", avtal::registry::accounts::new_secret()?);
    avtal::db::users::insert_token(
        &registry.db,
        officer.id,
        "bench",
        &avtal::registry::accounts::secret_hash(&token),
    )
    .await?;
    let c = PAGES_CONTACT;
    let contact = email(format!("kontakt{c}@org{c}.example"));
    let feed = registry.create_calendar_feed(&contact).await?;
    let feed_path = feed
        .url
        .split_once("/calendar/")
        .map(|(_, t)| format!("/calendar/{t}"))
        .context("feed URL")?;
    // Two servers on the database: one that reads the deadlines for every request, which is
    // what a page costs after any write, and one as `avtal serve` runs (a page read again with
    // nothing written since comes from memory).
    let computed = Registry {
        pages: Arc::new(avtal::registry::page_cache::PageCache::disabled()),
        ..registry.clone()
    };
    let computed_reads = computed.clone();
    // The third way: the kept server, with another agreement (in neither page's scope: bought
    // by another organisation, without the contact) renamed before each request, so each one
    // finds a new data version and checks its plans' fingerprint.
    let writer = registry.clone();
    let elsewhere = Reference::parse(&format!("GEN-{:08}", 1))?;
    let mut bases = Vec::new();
    for (how, registry) in [("computed", computed), ("kept", registry)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        bases.push((how, base.clone(), None));
        if how == "kept" {
            bases.push((
                "kept, another agreement written before each",
                base.clone(),
                Some(false),
            ));
            bases.push((
                "kept, one of the page's own agreements written before each",
                base,
                Some(true),
            ));
        }
        tokio::spawn(async move {
            let _ = axum::serve(listener, web::router(AppState { registry })).await;
        });
    }
    let officer_client = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?,
            )]
            .into_iter()
            .collect(),
        )
        .build()?;
    let anonymous = reqwest::Client::new();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| backend | agreements | page | deadlines | runs | p50 ms | p99 ms | max ms | rows | digest |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // Each page's own agreement to write: one the officer's organisation buys (every twentieth),
    // one the contact reports on (one in two hundred, from the seventh).
    let pages = [
        (
            "start page of an officer (`GET /`)",
            &officer_client,
            "/".to_owned(),
            "<tr",
            Reference::parse(&format!("GEN-{:08}", 20))?,
        ),
        (
            "calendar feed of a contact",
            &anonymous,
            feed_path.clone(),
            "BEGIN:VEVENT",
            Reference::parse(&format!("GEN-{:08}", 7))?,
        ),
    ];
    for ((what, client, path, row, own), (how, base, write)) in
        pages.iter().flat_map(|p| bases.iter().map(move |b| (p, b)))
    {
        let url = format!("{base}{path}");
        let mut body = String::new();
        for _ in 0..5 {
            let resp = client.get(&url).send().await?;
            anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
            body = resp.text().await?;
        }
        let mut times = Vec::with_capacity(runs);
        for run in 0..runs {
            if let Some(own_agreement) = write {
                let key = if *own_agreement { own } else { &elsewhere };
                let current = writer.agreement(key).await?;
                let mut a = current.data.clone();
                a.title = format!("Avtal ändrat {run} gånger");
                writer
                    .update_agreement(key, current.version, a)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            }
            let t = Instant::now();
            let resp = client.get(&url).send().await?;
            anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
            let _ = resp.bytes().await?;
            times.push(t.elapsed());
        }
        if let Some(own_agreement) = write {
            // The title as seeded again, so the page's digest stays comparable between runs.
            let key = if *own_agreement { own } else { &elsewhere };
            let current = writer.agreement(key).await?;
            let mut a = current.data.clone();
            a.title = seeded_title(key);
            writer
                .update_agreement(key, current.version, a)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let resp = client.get(&url).send().await?;
            body = resp.text().await?;
        }
        times.sort();
        println!(
            "| {backend:?} | {count} | {what} | {how} | {runs} | {:.2} | {:.2} | {:.2} | {} | {} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            body.matches(*row).count(),
            // The page names the signed-in user, whose address changes with each run.
            &body_digest(&body.replace(&officer_email, ""))[..16],
        );
    }
    // Where a computed page's time goes, without HTTP: reading and deriving the deadlines (the
    // use case, its cache off), then for the calendar making the iCalendar text.
    let officer_org = org_number(PAGES_ORG, 2);
    let today = computed_reads.settings.today();
    let horizon = today + chrono::Duration::days(90);
    let mut read_start = Vec::with_capacity(runs);
    let mut read_feed = Vec::with_capacity(runs);
    let mut make_feed = Vec::with_capacity(runs);
    // The statements of a computed page, one at a time (each in its own snapshot).
    use avtal::db::plans::{self, Scope, Wanted};
    let party = avtal::db::store::party_filter_id(
        &db,
        &avtal::db::store::AgreementFilter {
            party: Some(officer_org.clone()),
            ..Default::default()
        },
    )
    .await?
    .context("the officer's organisation")?;
    let mut statements: Vec<(&str, Vec<Duration>)> = [
        "start page: `plans::survey` (fingerprint, unplanned, targets)",
        "start page: `plans::rows` (the window)",
        "calendar: `plans::survey`",
        "calendar: `plans::rows` (naming the contact)",
    ]
    .into_iter()
    .map(|w| (w, Vec::with_capacity(runs)))
    .collect();
    let mut found_rows = [0usize; 2];
    for _ in 0..runs {
        let scopes = [Scope::Party(party), Scope::Contact(contact.as_str())];
        let wanted = [Wanted::Window(today, horizon), Wanted::Naming(&contact)];
        for (i, (scope, wanted)) in scopes.into_iter().zip(wanted).enumerate() {
            let t = Instant::now();
            plans::survey(&db, scope, today).await?;
            statements[2 * i].1.push(t.elapsed());
            let t = Instant::now();
            found_rows[i] = plans::rows(&db, scope, today, wanted).await?.len();
            statements[2 * i + 1].1.push(t.elapsed());
        }
    }
    eprintln!(
        "rows read: start page {}, calendar {}",
        found_rows[0], found_rows[1]
    );
    for _ in 0..runs {
        let t = Instant::now();
        let found = computed_reads
            .start_deadlines(Some(&officer_org), today, horizon)
            .await?;
        read_start.push(t.elapsed());
        anyhow::ensure!(
            !found.deadlines.is_empty(),
            "no deadlines on the start page"
        );
        let t = Instant::now();
        let mine = computed_reads.contact_deadlines(&contact, today).await?;
        read_feed.push(t.elapsed());
        let t = Instant::now();
        let shown: Vec<_> = mine
            .iter()
            .map(|d| avtal::links::feed::Shown::as_it_is(&d.deadline, &d.title))
            .collect();
        let ics = avtal::links::feed::calendar(&shown, Utc::now())?;
        make_feed.push(t.elapsed());
        anyhow::ensure!(ics.contains("BEGIN:VEVENT"), "an empty calendar");
    }
    // The first read of a calendar and of a start page on a new day, each day after the reminder
    // run's re-planning (`plans::refresh`, untimed): by an instance that kept the page the day
    // before, and by one that keeps nothing, one day after another.
    let token = feed_path
        .trim_start_matches("/calendar/")
        .trim_end_matches(".ics")
        .to_owned();
    let days = runs.min(60);
    let mut new_day: [Vec<Duration>; 4] = Default::default();
    let carried_pages = Arc::new(avtal::registry::page_cache::PageCache::default());
    let mut bodies = [0usize; 2];
    for k in 0..=days {
        let day = today + chrono::Duration::days(i64::try_from(k)?);
        plans::refresh(&db, day).await?;
        let mut settings = (*computed_reads.settings).clone();
        settings.today = Some(day);
        let settings = Arc::new(settings);
        let carried = Registry {
            settings: settings.clone(),
            pages: carried_pages.clone(),
            ..computed_reads.clone()
        };
        let scratch = Registry {
            settings,
            ..computed_reads.clone()
        };
        for (i, r) in [&carried, &scratch].iter().enumerate() {
            let t = Instant::now();
            let body = r.feed_calendar(&token).await?.context("no calendar")?;
            // Day 0 only fills the kept calendar.
            if k > 0 {
                new_day[i].push(t.elapsed());
            }
            bodies[i] = body.matches("BEGIN:VEVENT").count();
        }
        anyhow::ensure!(bodies[0] == bodies[1], "carried {bodies:?} on {day}");
        // The officer's start page likewise, with its horizon 90 days on.
        let mut shown = [0usize; 2];
        for (i, r) in [&carried, &scratch].iter().enumerate() {
            let t = Instant::now();
            let found = r
                .start_deadlines(Some(&officer_org), day, day + chrono::Duration::days(90))
                .await?;
            if k > 0 {
                new_day[2 + i].push(t.elapsed());
            }
            shown[i] = found.deadlines.len();
        }
        anyhow::ensure!(shown[0] == shown[1], "carried {shown:?} on {day}");
    }
    let [
        mut carried_day,
        mut scratch_day,
        mut carried_start,
        mut scratch_start,
    ] = new_day;
    println!();
    println!("| backend | computed page, phase | runs | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for (what, times) in [
        ("start page: `Registry::start_deadlines`", &mut read_start),
        ("calendar: `Registry::contact_deadlines`", &mut read_feed),
        (
            "calendar: `links::feed::calendar` (events and iCalendar text)",
            &mut make_feed,
        ),
        (
            "calendar on a new day (`feed_calendar`): kept the day before",
            &mut carried_day,
        ),
        (
            "calendar on a new day (`feed_calendar`): made from scratch",
            &mut scratch_day,
        ),
        (
            "start page on a new day (`start_deadlines`): kept the day before",
            &mut carried_start,
        ),
        (
            "start page on a new day (`start_deadlines`): made from scratch",
            &mut scratch_start,
        ),
    ]
    .into_iter()
    .chain(statements.iter_mut().map(|(w, t)| (*w, t)))
    {
        times.sort();
        println!(
            "| {backend:?} | {what} | {} | {:.2} | {:.2} |",
            times.len(),
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99)),
        );
    }
    Ok(())
}

/// The synthetic agreement with a target and two accepted yearly reports of ten values in all:
/// people by gender (total, women, men, other) and one figure without a breakdown, per period.
/// An IOP agreement's goal counts participants and volunteer hours; a procurement's social
/// clause (an employment requirement) people employed and wage costs.
fn agreement_with_outcomes(n: u64) -> Agreement {
    use avtal::domain::indicators::{IndicatorId, Quantity};
    use avtal::domain::outcomes::{Figure, Target};
    let mut a = agreement(n);
    let h = n.wrapping_mul(2_654_435_761) % 1_000_003;
    let id = |s: &str| IndicatorId::parse(s).unwrap_or_else(|_| std::process::exit(2));
    let iop = a.kind == AgreementKind::Iop;
    let (people, other) = if iop {
        ("participants", "volunteer_hours")
    } else {
        ("req_employed", "wage_costs")
    };
    let target = Target {
        indicator: id(people),
        value: Quantity::whole(4 + (h % 9) as i64),
        direction: Direction::AtLeast,
        per: TargetPer::Year,
    };
    if let Some(details) = a.iop.as_mut() {
        details.goals.push(Goal {
            text: "Fler i arbetsträning".into(),
            indicator: None,
            targets: vec![target],
        });
    } else {
        a.social_clauses.push(SocialClause {
            lou_basis: LegalBasis::Lou17_1,
            objective: SocialObjective::Employment,
            strategy: SustainabilityStrategy::ContractPerformanceConditions,
            target: "Sysselsättningskrav".into(),
            target_value: None,
            target_unit: None,
            follow_up: None,
            targets: vec![target],
        });
    }
    let ob = &mut a.reporting[0];
    ob.indicators = vec![id(people), id(other)];
    let first = ob.first_period_end.unwrap_or(a.period.start);
    ob.occurrences = (0..2)
        .map(|k| {
            let period_end = add_months(first, 12 * k);
            let women = ((h >> k) % 6) as i64;
            let men = ((h >> (k + 3)) % 6) as i64;
            let others = i64::from(h.is_multiple_of(11));
            OccurrenceRecord {
                period_end,
                state: OccurrenceState::Accepted,
                submitted_on: Some(period_end + chrono::Duration::days(30)),
                escalated_on: None,
                acknowledged_on: None,
                decided_on: Some(period_end + chrono::Duration::days(40)),
                rejection_reason: None,
                file_sha256: None,
                figures: vec![
                    Figure {
                        indicator: id(people),
                        total: Quantity::whole(women + men + others),
                        women: Some(Quantity::whole(women)),
                        men: Some(Quantity::whole(men)),
                        other: Some(Quantity::whole(others)),
                    },
                    Figure {
                        indicator: id(other),
                        total: Quantity::whole(if iop {
                            100 + (h % 400) as i64
                        } else {
                            250_000 + (h % 90) as i64 * 10_000
                        }),
                        women: None,
                        men: None,
                        other: None,
                    },
                ],
                rejected_figures: Vec::new(),
            }
        })
        .collect();
    a
}

/// Times a page (HTML or CSV) `runs` times after ten warm-up requests; returns the sorted
/// times and the size of the last answer in bytes.
async fn time_page(
    client: &reqwest::Client,
    url: &str,
    runs: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut size = 0;
    for _ in 0..10 {
        let resp = client.get(url).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
        size = resp.bytes().await?.len();
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let resp = client.get(url).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
        size = resp.bytes().await?.len();
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times, size))
}

/// Seeds (once) `count` agreements with ten reported values each, then times through the real
/// router over HTTP: the follow-up page grouped by buyer for a year (the target), other
/// groupings and filters, its CSV, and one agreement's page with its charts.
async fn outcomes(
    backend: Backend,
    count: u64,
    runs: usize,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    use avtal::db::entities::outcome_value;
    let name = format!("avtal_bench_outcomes_{count}");
    let settings = settings_for(backend, dir, &name, false).await?;
    let db = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&db).await?;
    seed(&db, count, agreement_with_outcomes).await?;
    let index_rows = outcome_value::Entity::find().count(&db).await?;
    let reported: usize = (0..count)
        .map(|n| {
            agreement_with_outcomes(n).reporting[0]
                .occurrences
                .iter()
                .flat_map(|o| o.figures.iter())
                .map(|f| 1 + [f.women, f.men, f.other].iter().flatten().count())
                .sum::<usize>()
        })
        .sum();
    eprintln!("{count} agreements, {reported} reported values, {index_rows} index rows");
    let registry = Registry::new(db, Arc::new(settings));
    let client = api_client(&registry).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, web::router(AppState { registry })).await;
    });
    // An agreement of 2023 with both reports in the past.
    let chart = (0..count)
        .find(|n| {
            let a = agreement_with_outcomes(*n);
            a.period.start.year() == 2023 && a.status == AgreementStatus::Active
        })
        .map(|n| format!("GEN-{n:08}"))
        .context("no agreement of 2023")?;
    let buyer = org_number(17, 2);
    let pages = [
        "/outcomes?group=buyer&year=2025".to_owned(),
        "/outcomes?group=buyer".to_owned(),
        "/outcomes?group=buyer&year=2025&kind=iop".to_owned(),
        "/outcomes?group=supplier&year=2025".to_owned(),
        "/outcomes?group=objective&year=2025".to_owned(),
        format!("/outcomes?group=buyer&party={buyer}"),
        "/outcomes?group=buyer&year=2025&format=csv".to_owned(),
        format!("/agreements/{chart}"),
    ];
    println!(
        "{count} agreements, {reported} reported values ({index_rows} rows in the follow-up index)\n"
    );
    println!("| backend | page | runs | p50 ms | p99 ms | max ms | KB |");
    println!("|---|---|---|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for page in pages {
        let (times, size) = time_page(&client, &format!("{base}{page}"), runs).await?;
        println!(
            "| {backend:?} | `{page}` | {runs} | {:.2} | {:.2} | {:.2} | {:.0} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            size as f64 / 1024.0,
        );
    }
    Ok(())
}

/// A full sweep's parts timed one after another, single-threaded, on the agreements of `db`
/// (every one read, as after a ladder change): the due ids, reading the rows, decoding their
/// JSON documents, the deadline engine, and storing the next days.
async fn sweep_phases(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<String> {
    use avtal::domain::deadlines::{deadlines_for_sweep, due_reminders, next_sweep_day};
    use sea_orm::QuerySelect;
    let day = today() + chrono::Days::new(1);
    let t = Instant::now();
    let all: Vec<i64> = avtal::db::entities::agreement::Entity::find()
        .select_only()
        .column(avtal::db::entities::agreement::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let ids_time = t.elapsed();
    let (mut read, mut decode, mut engine) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut bytes, mut deadlines, mut due) = (0usize, 0usize, 0usize);
    let mut next = Vec::with_capacity(all.len());
    for chunk in all.chunks(1000) {
        let t = Instant::now();
        let rows = avtal::db::sweep::load(db, chunk).await?;
        read += t.elapsed();
        bytes += rows.iter().map(|r| r.document.len()).sum::<usize>();
        let t = Instant::now();
        let agreements = avtal::db::sweep::decode(rows)?;
        decode += t.elapsed();
        let t = Instant::now();
        for a in &agreements {
            let found = deadlines_for_sweep(&a.data, day, &settings.reminders);
            deadlines += found.len();
            due += due_reminders(&found, day, &settings.reminders).len();
            next.push((a.id, a.version, next_sweep_day(&found, day)));
        }
        engine += t.elapsed();
    }
    let t = Instant::now();
    avtal::db::sweep::set_next(db, &next).await?;
    let store_time = t.elapsed();
    let s = |d: Duration| d.as_secs_f64();
    Ok(format!(
        "\nA full sweep's parts, one after another on one core ({} agreements, {:.0} MB of documents, {deadlines} deadlines built, {due} reminders due):\n\n| ids s | read rows s | decode JSON s | engine s | store next days s | sum s |\n|---|---|---|---|---|---|\n| {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        all.len(),
        bytes as f64 / 1e6,
        s(ids_time),
        s(read),
        s(decode),
        s(engine),
        s(store_time),
        s(ids_time + read + decode + engine + store_time),
    ))
}
