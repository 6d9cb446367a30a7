//! Streamed exports of the agreements matching the list filters: the registry file (YAML, JSON),
//! CSV for Excel and an OCDS release package.
//!
//! Agreements are read a page at a time (keyset on the id) and written as they are read, into a
//! buffer that goes to the sink every [`FLUSH_AT`] bytes: a file or stdout for the CLI, a bounded
//! channel feeding the HTTP body for the API. Memory is one page plus one buffer, whatever the
//! number of agreements.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::config::Settings;
use crate::db::store::{self, AgreementFilter, StoreError, Stored};
use crate::domain::agreement::Agreement;
use crate::domain::clock;
use crate::domain::codes::*;
use crate::domain::deadlines::{DeadlineState, ReminderLadders, deadlines};
use crate::domain::money::Sek;
use crate::domain::ocds::{self, PackageMeta, ReleaseContext, ReleaseMeta};
use crate::domain::org_number::OrgNumber;
use crate::domain::party::Organisation;
use crate::format::RegistryFile;

/// Agreements read from the database at a time.
pub const PAGE: u64 = 500;

/// Bytes collected before they go to the sink.
pub const FLUSH_AT: usize = 64 * 1024;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The YAML import format (organisations, contacts, agreements).
    Yaml,
    /// The same registry file as JSON.
    Json,
    /// One row per agreement for Excel: UTF-8 with BOM, `;`, CRLF.
    Csv,
    /// An OCDS 1.1 release package.
    Ocds,
}

impl Format {
    /// Parses the `format` parameter.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "yaml" => Ok(Self::Yaml),
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            "ocds" => Ok(Self::Ocds),
            other => Err(format!("\"{other}\" is not one of: csv, json, yaml, ocds")),
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Yaml => "application/yaml; charset=utf-8",
            Self::Json | Self::Ocds => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name a download is offered under.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Yaml => "avtal.yaml",
            Self::Json => "avtal.json",
            Self::Csv => "avtal.csv",
            Self::Ocds => "avtal-ocds.json",
        }
    }
}

/// What an export needs besides the filter.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The day option states, report states and the next deadline are derived for.
    pub today: NaiveDate,
    /// Reminder ladders for the deadline engine.
    pub ladders: ReminderLadders,
    /// OCDS ocid prefix.
    pub ocid_prefix: String,
    /// OCDS publisher name.
    pub publisher: String,
    /// The OCDS package's URI.
    pub package_uri: String,
    /// The OCDS package's publication time.
    pub published: DateTime<Utc>,
}

impl ExportOptions {
    /// Options from the settings, for a package published at `uri`.
    pub fn from_settings(s: &Settings, uri: &str) -> Self {
        Self {
            today: s.today(),
            ladders: s.reminders.clone(),
            ocid_prefix: s.ocds.prefix.clone(),
            publisher: s.ocds.publisher.clone(),
            package_uri: uri.to_owned(),
            published: Utc::now(),
        }
    }

    fn release_context<'a>(
        &'a self,
        organisations: &'a HashMap<OrgNumber, Organisation>,
    ) -> ReleaseContext<'a> {
        ReleaseContext {
            ocid_prefix: &self.ocid_prefix,
            today: self.today,
            ladders: &self.ladders,
            organisations,
        }
    }
}

/// Where an export goes.
pub enum Sink<'a> {
    /// A file or standard output.
    Writer(&'a mut (dyn Write + Send)),
    /// A bounded channel that feeds an HTTP body; the export waits while it is full.
    Channel(tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>),
}

impl std::fmt::Debug for Sink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Writer(_) => "Sink::Writer",
            Sink::Channel(_) => "Sink::Channel",
        })
    }
}

impl Sink<'_> {
    async fn put(&mut self, chunk: Vec<u8>) -> Result<(), ExportError> {
        match self {
            Sink::Writer(w) => w.write_all(&chunk).map_err(ExportError::Io),
            Sink::Channel(tx) => tx.send(Ok(chunk)).await.map_err(|_| {
                ExportError::Io(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the client went away",
                ))
            }),
        }
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding failed.
    #[error("cannot encode the export: {0}")]
    Encode(String),
}

impl From<serde_json::Error> for ExportError {
    fn from(e: serde_json::Error) -> Self {
        Self::Encode(e.to_string())
    }
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        Self::Encode(e.to_string())
    }
}

/// A buffer in front of the sink.
struct Out<'s, 'a> {
    buf: Vec<u8>,
    sink: &'s mut Sink<'a>,
}

impl Out<'_, '_> {
    async fn flush(&mut self) -> Result<(), ExportError> {
        if !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(FLUSH_AT + 4096));
            self.sink.put(chunk).await?;
        }
        Ok(())
    }

    async fn maybe_flush(&mut self) -> Result<(), ExportError> {
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }
}

/// A read-only transaction for an export, so that it is one consistent snapshot however long it
/// runs: `REPEATABLE READ` on PostgreSQL; on SQLite (WAL) a read transaction is a snapshot anyway.
pub async fn snapshot(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        _ => db.begin().await,
    }
}

impl super::Registry {
    /// Exports the agreements matching `filter` in `format` to `sink` from one consistent
    /// snapshot (see [`export`]). Returns the number of agreements written.
    pub async fn export(
        &self,
        format: Format,
        filter: &AgreementFilter,
        opts: &ExportOptions,
        sink: &mut Sink<'_>,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64, ExportError> {
        let tx = snapshot(&self.db).await.map_err(StoreError::from)?;
        export(&tx, format, filter, opts, sink, progress).await
    }
}

/// Writes the agreements matching `filter` in `format` to `sink`, a page at a time, calling
/// `progress(agreements written)` after each page. Returns the number of agreements written.
pub async fn export(
    db: &impl ConnectionTrait,
    format: Format,
    filter: &AgreementFilter,
    opts: &ExportOptions,
    sink: &mut Sink<'_>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, ExportError> {
    let mut out = Out {
        buf: Vec::with_capacity(FLUSH_AT + 4096),
        sink,
    };
    let csv = csv_for_excel();
    match format {
        Format::Yaml => {
            let (organisations, contacts) = store::all_parties(db).await?;
            let head = RegistryFile {
                organisations,
                contacts,
                agreements: Vec::new(),
            };
            let text =
                serde_saphyr::to_string(&head).map_err(|e| ExportError::Encode(e.to_string()))?;
            // The empty `agreements: []` line closes the head; the agreements follow as a block list.
            out.buf
                .extend_from_slice(text.replace("agreements: []\n", "").as_bytes());
            out.buf.extend_from_slice(b"agreements:\n");
        }
        Format::Json => {
            let (organisations, contacts) = store::all_parties(db).await?;
            out.buf.extend_from_slice(b"{\"organisations\":");
            serde_json::to_writer(&mut out.buf, &organisations)?;
            out.buf.extend_from_slice(b",\"contacts\":");
            serde_json::to_writer(&mut out.buf, &contacts)?;
            out.buf.extend_from_slice(b",\"agreements\":[");
        }
        Format::Csv => {
            out.buf.extend_from_slice("\u{feff}".as_bytes());
            write_csv_record(&csv, CSV_COLUMNS, &mut out.buf)?;
        }
        Format::Ocds => {
            let head = ocds::package_head(&PackageMeta {
                uri: &opts.package_uri,
                publisher: &opts.publisher,
                published: opts.published,
            });
            let head = serde_json::to_string(&serde_json::Value::Object(head))?;
            // `{...}` without its closing brace, then the releases array.
            let open = head.strip_suffix('}').unwrap_or(&head);
            out.buf.extend_from_slice(open.as_bytes());
            out.buf.extend_from_slice(b",\"releases\":[");
        }
    }
    out.flush().await?;

    let resolved = store::resolve_filter(db, filter).await?;
    let mut last_id = 0i64;
    let mut n = 0u64;
    loop {
        let page = store::agreements_after(db, filter, &resolved, last_id, PAGE).await?;
        let Some(last) = page.last() else { break };
        last_id = last.id;
        let organisations = match format {
            Format::Csv | Format::Ocds => {
                let numbers: Vec<OrgNumber> = page
                    .iter()
                    .flat_map(|s| s.data.parties.iter().map(|p| p.org.clone()))
                    .collect();
                store::organisations_by_number(db, &numbers).await?
            }
            Format::Yaml | Format::Json => HashMap::new(),
        };
        for s in &page {
            write_one(format, s, n == 0, opts, &organisations, &mut out.buf, &csv)?;
            n += 1;
            out.maybe_flush().await?;
        }
        progress(n);
    }
    match format {
        Format::Yaml | Format::Csv => {}
        Format::Json => out.buf.extend_from_slice(b"]}\n"),
        Format::Ocds => out.buf.extend_from_slice(b"]}\n"),
    }
    out.flush().await?;
    Ok(n)
}

fn write_one(
    format: Format,
    s: &Stored<Agreement>,
    first: bool,
    opts: &ExportOptions,
    organisations: &HashMap<OrgNumber, Organisation>,
    buf: &mut Vec<u8>,
    csv: &csv::WriterBuilder,
) -> Result<(), ExportError> {
    // Every format shows the agreement as it stands on the export's day (the one date source).
    let (now, _) = clock::as_on(&s.data, opts.today);
    let data = now.as_ref();
    match format {
        Format::Yaml => {
            let item =
                serde_saphyr::to_string(&[data]).map_err(|e| ExportError::Encode(e.to_string()))?;
            buf.extend_from_slice(item.as_bytes());
        }
        Format::Json => {
            buf.extend_from_slice(if first { b"\n" } else { b",\n" });
            serde_json::to_writer(&mut *buf, data)?;
        }
        Format::Csv => {
            let row = csv_row(data, organisations, opts.today, &opts.ladders);
            write_csv_record(csv, &row, buf)?;
        }
        Format::Ocds => {
            if !first {
                buf.push(b',');
            }
            buf.push(b'\n');
            let release = ocds::release(
                data,
                ReleaseMeta {
                    version: s.version,
                    updated_at: s.updated_at,
                },
                &opts.release_context(organisations),
            );
            serde_json::to_writer(&mut *buf, &release)?;
        }
    }
    Ok(())
}

// ---------- CSV ----------

/// The CSV columns, in order (headers in Swedish, as the people opening the file read them).
pub const CSV_COLUMNS: &[&str] = &[
    "Referens",
    "Typ",
    "Status",
    "Titel",
    "Diarienummer",
    "Rättslig grund",
    "Förfarande",
    "Värde (kr)",
    "Värdebas",
    "Uppskattat totalvärde (kr)",
    "Köpare",
    "Köpare org.nr",
    "Leverantör/partner",
    "Leverantör/partner org.nr",
    "Finansiär",
    "Finansiär org.nr",
    "Start",
    "Ursprungligt slut",
    "Aktuellt slut",
    "Yttersta slut",
    "Automatiska förlängningar",
    "Sociala klausuler (LOU)",
    "Sociala mål (BT-775)",
    "Reserverat deltagande (BT-71)",
    "Reserverat genomförande (BT-736)",
    "Reservation",
    "Andel ur målgruppen (%)",
    "Optioner kvar",
    "Nästa tidsfrist",
    "Tidsfristen avser",
];

/// Separates several values in one cell (parties, codes).
pub const CSV_LIST_SEPARATOR: &str = " | ";

/// RFC 4180 as Excel in Sweden reads it: `;` between fields, CRLF after each record, fields
/// quoted when they hold `;`, `"` or a line break.
pub fn csv_for_excel() -> csv::WriterBuilder {
    let mut b = csv::WriterBuilder::new();
    b.delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .buffer_capacity(4096);
    b
}

/// Appends one CSV record to `buf`.
pub fn write_csv_record<T: AsRef<[u8]>>(
    csv: &csv::WriterBuilder,
    record: &[T],
    buf: &mut Vec<u8>,
) -> Result<(), ExportError> {
    let mut w = csv.from_writer(buf);
    w.write_record(record)?;
    w.flush()?;
    Ok(())
}

/// A text cell that Excel will not run as a formula: one starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a leading `'` (OWASP's advice against CSV injection).
pub fn excel_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// An amount as Swedish Excel reads a number: kronor, a decimal comma and no thousands separator
/// (`1234567,00`); a space as separator would make Excel read the cell as text.
pub fn excel_amount(v: Sek) -> String {
    let sign = if v.ore() < 0 { "-" } else { "" };
    let abs = v.ore().unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

fn names(
    a: &Agreement,
    roles: &[PartyRole],
    orgs: &HashMap<OrgNumber, Organisation>,
) -> (String, String) {
    let mut seen: Vec<&OrgNumber> = Vec::new();
    for p in &a.parties {
        if roles.contains(&p.role) && !seen.contains(&&p.org) {
            seen.push(&p.org);
        }
    }
    let names: Vec<String> = seen
        .iter()
        .map(|o| orgs.get(*o).map(|org| org.name.clone()).unwrap_or_default())
        .collect();
    let numbers: Vec<&str> = seen.iter().map(|o| o.as_str()).collect();
    (
        names.join(CSV_LIST_SEPARATOR),
        numbers.join(CSV_LIST_SEPARATOR),
    )
}

/// The CSV cells of one agreement, in [`CSV_COLUMNS`] order; text cells are [`excel_safe`].
pub fn csv_row(
    a: &Agreement,
    orgs: &HashMap<OrgNumber, Organisation>,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Vec<String> {
    let (now, _) = clock::as_on(a, today);
    let a = now.as_ref();
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let (buyers, buyer_numbers) = names(a, &[PartyRole::Buyer], orgs);
    let (partners, partner_numbers) = names(a, &[PartyRole::Supplier, PartyRole::IopPartner], orgs);
    let (funders, funder_numbers) = names(a, &[PartyRole::Funder], orgs);
    let mut clause_bases: Vec<&str> = Vec::new();
    for c in &a.social_clauses {
        if !clause_bases.contains(&c.lou_basis.citation()) {
            clause_bases.push(c.lou_basis.citation());
        }
    }
    let objectives: Vec<&str> = a.social_objectives().iter().map(|o| o.code()).collect();
    let options_left = a
        .options
        .iter()
        .filter(|o| o.state_on(a.option_decide_by(o), today) == OptionState::Available)
        .count();
    let next = deadlines(a, today, ladders)
        .into_iter()
        .find(|d| d.state == DeadlineState::Open && d.date >= today);
    let text = [
        a.reference.to_string(),
        a.kind.code().to_owned(),
        a.status.code().to_owned(),
        a.title.clone(),
        a.diarienummer.clone().unwrap_or_default(),
        a.legal_basis.citation().to_owned(),
        a.procedure_type
            .map(|p| p.code().to_owned())
            .unwrap_or_default(),
    ];
    let mut row: Vec<String> = text.iter().map(|t| excel_safe(t)).collect();
    row.push(
        a.value
            .as_ref()
            .map(|v| excel_amount(v.amount_sek))
            .unwrap_or_default(),
    );
    row.push(
        a.value
            .as_ref()
            .map(|v| v.basis.code().to_owned())
            .unwrap_or_default(),
    );
    row.push(
        a.value
            .as_ref()
            .and_then(|v| v.estimated_total_sek)
            .map(excel_amount)
            .unwrap_or_default(),
    );
    for t in [
        buyers,
        buyer_numbers,
        partners,
        partner_numbers,
        funders,
        funder_numbers,
    ] {
        row.push(excel_safe(&t));
    }
    row.push(date(Some(a.period.start)));
    row.push(date(Some(a.period.original_end)));
    row.push(date(Some(a.period.current_end)));
    row.push(date(a.period.outer_limit));
    row.push(
        a.tacit_renewal
            .as_ref()
            .map(|r| r.renewals_done.to_string())
            .unwrap_or_default(),
    );
    row.push(clause_bases.join(CSV_LIST_SEPARATOR));
    row.push(objectives.join(CSV_LIST_SEPARATOR));
    row.push(
        a.eforms
            .bt_71
            .map(|c| c.code().to_owned())
            .unwrap_or_default(),
    );
    row.push(
        a.eforms
            .bt_736
            .map(|c| c.code().to_owned())
            .unwrap_or_default(),
    );
    row.push(a.reservation().unwrap_or_default().to_owned());
    row.push(
        a.share_requirement_percent
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    row.push(options_left.to_string());
    row.push(date(next.as_ref().map(|d| d.date)));
    row.push(excel_safe(&next.map(|d| d.what_sv()).unwrap_or_default()));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_excel_would_run_as_formulas_get_a_leading_quote() {
        for bad in ["=1+1", "+46", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(excel_safe(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(excel_safe("Lokalvård"), "Lokalvård");
        assert_eq!(excel_safe("a=b"), "a=b");
    }

    #[test]
    fn amounts_have_a_decimal_comma_and_no_grouping() {
        assert_eq!(excel_amount(Sek::from_ore(123_456_750)), "1234567,50");
        assert_eq!(excel_amount(Sek::from_ore(0)), "0,00");
        assert_eq!(excel_amount(Sek::from_ore(-5)), "-0,05");
    }

    #[test]
    fn the_format_parameter_names_the_allowed_formats() {
        assert_eq!(Format::parse("csv"), Ok(Format::Csv));
        assert!(
            Format::parse("xlsx")
                .err()
                .unwrap_or_default()
                .contains("csv, json, yaml, ocds")
        );
    }
}
