//! The `avtal` command line: serve, migrate, import, export, render, notify, audit, and backup,
//! restore and check.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use avtal::config::Settings;
use avtal::documents::{DocumentRequest, RenderError};
use avtal::domain::access::Role;
use avtal::domain::agreement::Reference;
use avtal::domain::dates::parse_iso_date;
use avtal::notify::{self, NotifyFormat};
use avtal::registry::Registry;
use avtal::registry::backup;
use avtal::registry::export;
use avtal::registry::transfer::{self, ImportError, parse_file};
use avtal::web::api::AgreementListQuery;
use avtal::web::error::AppError;
use avtal::web::{self, AppState};

/// avtal: registry of procurement contracts with social clauses and IOP agreements.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory for the SQLite database and generated files.
    #[arg(long, global = true, env = "AVTAL_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Configuration file (TOML); default: <data-dir>/avtal.toml when it exists.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web service (migrates the database first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Load the 15 sample agreements into an empty registry and use the samples' "today" (2026-11-22) unless one is configured.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema.
    Migrate,
    /// Import YAML registry files, all or nothing.
    Import {
        /// Files to import, in one transaction.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Export the agreements matching the filters: the registry file (yaml, json), CSV for Excel, or OCDS.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: export::Format,
        /// Only agreements in force on this date (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date_arg)]
        active_on: Option<NaiveDate>,
        /// Only this kind (iop, procurement_contract, framework_agreement, call_off, direct_award).
        #[arg(long)]
        kind: Option<String>,
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this legal basis (e.g. lou_4_18_1, iop).
        #[arg(long)]
        legal_basis: Option<String>,
        /// Only agreements with this BT-775 social objective (e.g. opp).
        #[arg(long)]
        social_objective: Option<String>,
        /// Reservation: true, false, participation, execution or idea_based.
        #[arg(long)]
        reserved: Option<String>,
        /// Only agreements with this organisation number as a party.
        #[arg(long)]
        party: Option<String>,
        /// Only agreements whose current end is before this date (YYYY-MM-DD).
        #[arg(long)]
        ends_before: Option<String>,
        /// Text in the title or reference.
        #[arg(long)]
        q: Option<String>,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Queue the deadline reminders due on a day and send the outbox once (for cron); `--dry-run` only lists them.
    Notify {
        /// Only show what would be sent; queue and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The day to sweep for (YYYY-MM-DD); default: the configured today, else the date in Sweden.
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: NotifyFormat,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for scripts and cron jobs (`Authorization: Bearer ...`).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Look at the reminder e-mail outbox and queue failed messages again.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Render a contract document (PDF/A) from a template, store it with its hash, and write it out.
    Render {
        /// The agreement's reference, e.g. AGR-2025-0001.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        reference: Option<String>,
        /// Template name (see `GET /api/v1/templates`): iop, procurement, extension_notice, termination_notice, amendment, report_request.
        #[arg(long)]
        template: String,
        /// File to write (one agreement); default: the manifest's file name in the current directory.
        #[arg(short, long, conflicts_with = "all")]
        output: Option<PathBuf>,
        /// Render every agreement the template applies to.
        #[arg(long, requires = "out")]
        all: bool,
        /// Directory for `--all`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Option number (extension_notice).
        #[arg(long)]
        option_seq: Option<u32>,
        /// Amendment index from 0 (amendment).
        #[arg(long)]
        amendment_index: Option<usize>,
        /// Report kind, optionally `kind@YYYY-MM-DD` for one period (report_request).
        #[arg(long)]
        report: Option<String>,
    },
    /// Write a consistent backup of the running instance to one archive: the database with its
    /// documents and report files (SQLite: a copy; PostgreSQL: a pg_dump, which must be on
    /// PATH), the link secret and avtal.toml.
    Backup {
        /// The archive to write (tar; it holds the link secret: keep it like one).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Restore a backup archive into an empty data directory (--data-dir) and, for a PostgreSQL
    /// backup, into the empty database of DATABASE_URL (with pg_restore).
    Restore {
        /// The archive `avtal backup` wrote.
        file: PathBuf,
    },
    /// Check every stored document's and report file's SHA-256 and the audit chain; exit 1
    /// naming what is damaged.
    Check,
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List the messages in a state (default: failed), newest first.
    List {
        /// pending, sending, sent or failed.
        #[arg(long, default_value = "failed")]
        state: String,
    },
    /// Queue failed messages again (audited): every failed one, or the one with an id.
    Retry {
        /// Every failed message.
        #[arg(long, required_unless_present = "id", conflicts_with = "id")]
        failed: bool,
        /// One message, by the id `avtal outbox list` shows.
        #[arg(long)]
        id: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user (audited); prints the secret once on standard output.
    Create {
        /// The user's login e-mail address.
        #[arg(long)]
        email: String,
        /// A label for the token, e.g. "nightly export".
        #[arg(long)]
        name: String,
    },
    /// List API tokens (never their secrets): id, user, name, created, last used.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke an API token (audited), by the id `avtal token list` shows.
    Revoke {
        /// The token's id.
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints a generated password unless one is read from standard input.
    Add {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
        /// admin, officer, auditor or enterprise.
        #[arg(long, value_parser = parse_role_arg)]
        role: Role,
        /// Organisation number of an officer's or enterprise user's organisation.
        #[arg(long)]
        org: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every user: id, e-mail address, role, organisation and whether it can sign in.
    List,
    /// Deactivate a user: it can no longer sign in, and its sessions and API tokens end.
    Disable {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Set a new password (and end the user's sessions); prints a generated password unless one
    /// is read from standard input.
    Passwd {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// A password from the first line of standard input, or a generated one (and whether it was).
fn password_arg(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((avtal::registry::accounts::generate_password()?, true))
    }
}

/// A refused account change as one readable error.
fn account_error(e: avtal::registry::RegistryError) -> anyhow::Error {
    refused("user", e)
}

/// A refused change of `what` as one readable error naming each field, value and rule.
fn refused(what: &str, e: avtal::registry::RegistryError) -> anyhow::Error {
    match e {
        avtal::registry::RegistryError::Invalid(v) => anyhow::anyhow!(
            "{what} refused: {}",
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => other.into(),
    }
}

fn parse_role_arg(s: &str) -> Result<Role, String> {
    Role::parse(s)
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every entry's hash and its link to the one before; exit 1 naming the first entry
    /// that was edited, deleted or reordered.
    Verify,
}

fn parse_date_arg(s: &str) -> Result<NaiveDate, String> {
    parse_iso_date(s).map_err(|e| e.to_string())
}

/// Writes a line to standard output; an error (a closed pipe) goes to the caller, never a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)
    };
}

/// Writes a note to standard error; one that cannot be written (a closed pipe) is dropped.
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Whether `e` comes from writing to a reader that went away (`avtal export | head -1`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output has what it wanted and closed the pipe: a quiet, normal end.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            note!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn open(cli: &Cli) -> anyhow::Result<Registry> {
    let settings = Settings::load(Some(&cli.data_dir), cli.config.as_deref())
        .context("cannot read the configuration")?;
    let registry = Registry::open(settings)
        .await
        .context("cannot open and migrate the database")?;
    Ok(registry.with_actor("cli"))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Migrate => {
            open(&cli).await?;
            note!("database is up to date");
        }
        Command::Serve { bind, demo } => {
            // The indicator catalogue is data: a broken one stops the start, not a page later.
            let catalogue = avtal::domain::indicators::load().map_err(|e| anyhow::anyhow!(e))?;
            tracing::debug!(
                indicators = catalogue.indicators.len(),
                "indicator catalogue loaded"
            );
            let mut registry = open(&cli).await?;
            if *demo {
                load_demo(&registry).await?;
                let created = avtal::demo::create_users(&registry)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot create the demo users: {e}"))?;
                if created.is_empty() {
                    note!(
                        "demo: the demo users exist already (their passwords were printed when they were made)"
                    );
                } else {
                    out!("demo users (shown once; the passwords are not stored in clear):")?;
                    for (email, role, password) in &created {
                        out!("  {:<10} {email:<32} {password}", role.code())?;
                    }
                }
                if registry.settings.today.is_none() {
                    let (y, m, d) = avtal::demo::SAMPLE_TODAY;
                    let mut s = (*registry.settings).clone();
                    s.today = NaiveDate::from_ymd_opt(y, m, d);
                    registry.settings = Arc::new(s);
                }
            }
            let addr = bind.unwrap_or(registry.settings.bind);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            note!("avtal listens on http://{}", listener.local_addr()?);
            spawn_notifier(&registry)?;
            let header_timeout =
                std::time::Duration::from_secs(registry.settings.header_timeout_secs.max(1));
            let app = web::router(AppState { registry });
            web::server::serve(listener, app, header_timeout, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        }
        Command::Import { files } => {
            let registry = open(&cli).await?;
            let mut parsed = Vec::new();
            let mut problems = Vec::new();
            for path in files {
                let name = path.display().to_string();
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
                match parse_file(&name, &text) {
                    Ok(f) => parsed.push((name, f)),
                    Err(p) => problems.push(*p),
                }
            }
            if !problems.is_empty() {
                return report_import_error(ImportError::Invalid(problems));
            }
            let mut progress = |done: usize, total: usize| note!("imported {done}/{total} records");
            match transfer::import(&registry, parsed, &mut progress).await {
                Ok(s) => note!(
                    "import done: organisations {} new, {} updated; contacts {} new, {} updated; agreements {} new, {} updated",
                    s.organisations_created,
                    s.organisations_updated,
                    s.contacts_created,
                    s.contacts_updated,
                    s.agreements_created,
                    s.agreements_updated
                ),
                Err(e) => return report_import_error(e),
            }
        }
        Command::Export {
            format,
            active_on,
            kind,
            status,
            legal_basis,
            social_objective,
            reserved,
            party,
            ends_before,
            q,
            output,
        } => {
            let registry = open(&cli).await?;
            // The same parameters, parsed by the same code, as `GET /api/v1/agreements`.
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("active_on", active_on.map(|d| d.to_string())),
                ("kind", kind.clone()),
                ("status", status.clone()),
                ("legal_basis", legal_basis.clone()),
                ("social_objective", social_objective.clone()),
                ("reserved", reserved.clone()),
                ("party", party.clone()),
                ("ends_before", ends_before.clone()),
                ("q", q.clone()),
            ] {
                if let Some(v) = value {
                    query.append_pair(name, &v);
                }
            }
            let query: AgreementListQuery = serde_urlencoded::from_str(&query.finish())?;
            let filter = query.to_filter().map_err(|e| match e {
                AppError::BadRequest {
                    field: Some(f),
                    message,
                } => anyhow::anyhow!("--{}: {message}", f.replace('_', "-")),
                other => anyhow::anyhow!("{other}"),
            })?;
            let opts = export::ExportOptions::from_settings(&registry.settings, "urn:avtal:export");
            let started = std::time::Instant::now();
            let mut next_report = 100_000u64;
            let mut progress = |n: u64| {
                if n >= next_report {
                    note!(
                        "exported {n} agreements ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                    next_report += 100_000;
                }
            };
            let mut bytes = 0u64;
            let n = match output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut w = Counted::new(std::io::BufWriter::new(file), &mut bytes);
                    let n = registry
                        .export(
                            *format,
                            &filter,
                            &opts,
                            &mut export::Sink::Writer(&mut w),
                            &mut progress,
                        )
                        .await?;
                    w.flush()?;
                    n
                }
                None => {
                    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
                    let mut w = Counted::new(out, &mut bytes);
                    let n = registry
                        .export(
                            *format,
                            &filter,
                            &opts,
                            &mut export::Sink::Writer(&mut w),
                            &mut progress,
                        )
                        .await?;
                    w.flush()?;
                    n
                }
            };
            note!(
                "exported {n} agreements ({:.1} MB) in {:.1} s",
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Notify {
            dry_run,
            today,
            format,
        } => {
            let registry = open(&cli).await?;
            let settings = &registry.settings;
            let today = today.unwrap_or_else(|| settings.today());
            if !dry_run {
                let composer = notify::Composer::new(settings)?;
                let mailer = notify::mailer::Mailer::from_settings(settings)?;
                let summary = registry
                    .run_reminders(&composer, &mailer, today, notify::mailer::SystemClock)
                    .await?;
                match format {
                    NotifyFormat::Text => {
                        out!("{today}: {summary}")?;
                        if let Some(dir) = &mailer.file_dir {
                            out!(
                                "no SMTP server configured: messages are written to {}",
                                dir.display()
                            )?;
                        }
                    }
                    NotifyFormat::Json => out!("{}", serde_json::to_string_pretty(&summary)?)?,
                }
                return Ok(());
            }
            let plan = registry.reminder_plan(today).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout());
            match format {
                NotifyFormat::Text => out.write_all(notify::render_text(&plan).as_bytes())?,
                NotifyFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &plan)?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    org,
                    password_stdin,
                },
        } => {
            let registry = open(&cli).await?;
            let (password, generated) = password_arg(*password_stdin)?;
            let user = avtal::registry::accounts::create_user(
                &registry,
                avtal::registry::accounts::NewUser {
                    email: email.clone(),
                    role: *role,
                    org: org.clone(),
                    password: password.clone(),
                },
            )
            .await
            .map_err(account_error)?;
            note!(
                "created user {} ({}) with role {}",
                user.id,
                user.email,
                user.role
            );
            if generated {
                out!("{password}")?;
            }
        }
        Command::User {
            command: UserCommand::List,
        } => {
            let registry = open(&cli).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "id\temail\trole\torg\tactive")?;
            for u in avtal::registry::accounts::list_users(&registry).await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.email,
                    u.role,
                    u.org.as_deref().unwrap_or("-"),
                    if u.active { "yes" } else { "no" }
                )?;
            }
            out.flush()?;
        }
        Command::User {
            command: UserCommand::Disable { email },
        } => {
            let registry = open(&cli).await?;
            let user = avtal::registry::accounts::disable_user(&registry, email, None)
                .await
                .map_err(account_error)?;
            note!("deactivated user {} ({})", user.id, user.email);
        }
        Command::User {
            command:
                UserCommand::Passwd {
                    email,
                    password_stdin,
                },
        } => {
            let registry = open(&cli).await?;
            let (password, generated) = password_arg(*password_stdin)?;
            let user = avtal::registry::accounts::set_password(&registry, email, password.clone())
                .await
                .map_err(account_error)?;
            note!("set a new password for user {} ({})", user.id, user.email);
            if generated {
                out!("{password}")?;
            }
        }
        Command::Token {
            command: TokenCommand::Create { email, name },
        } => {
            let registry = open(&cli).await?;
            let (user, token, secret) =
                avtal::registry::accounts::create_token_for(&registry, email, name)
                    .await
                    .map_err(|e| refused("token", e))?;
            note!(
                "created API token {} ({}) for user {} ({}); it is shown only now",
                token.id,
                token.name,
                user.id,
                user.email
            );
            out!("{secret}")?;
        }
        Command::Token {
            command: TokenCommand::List { email },
        } => {
            let registry = open(&cli).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "id	email	name	created_at	last_used_at")?;
            for t in avtal::registry::accounts::list_all_tokens(&registry, email.as_deref()).await?
            {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    t.token.id,
                    t.user.email,
                    t.token.name,
                    t.token.created_at.format("%Y-%m-%d %H:%M"),
                    t.token.last_used_at.map_or_else(
                        || "-".to_owned(),
                        |at| at.format("%Y-%m-%d %H:%M").to_string()
                    )
                )?;
            }
            out.flush()?;
        }
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let registry = open(&cli).await?;
            avtal::registry::accounts::revoke_token_by_id(&registry, *id)
                .await
                .map_err(|e| refused("token", e))?;
            note!("revoked API token {id}");
        }
        Command::Outbox {
            command: OutboxCommand::List { state },
        } => {
            let registry = open(&cli).await?;
            let Some(state) = avtal::registry::reminders::OutboxState::parse(state) else {
                bail!("--state {state:?} is not pending, sending, sent or failed");
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "id\treference\tkind\tattempts\tcreated_at\tlast_error")?;
            for m in registry.outbox(Some(state), 10_000).await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    m.id,
                    m.reference,
                    m.kind,
                    m.attempts,
                    m.created_at.format("%Y-%m-%d %H:%M"),
                    m.last_error.unwrap_or_default()
                )?;
            }
        }
        Command::Outbox {
            command: OutboxCommand::Retry { id, .. },
        } => {
            let registry = open(&cli).await?;
            let ids = id.map(|i| vec![i]);
            let queued = registry
                .retry_outbox(ids.as_deref(), chrono::Utc::now())
                .await?;
            out!(
                "{} message(s) queued again; the next send pass sends them",
                queued.len()
            )?;
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let registry = open(&cli).await?;
            let outcome = registry.verify_audit().await?;
            if !outcome.intact {
                bail!("{outcome}");
            }
            out!("{outcome}")?;
        }
        Command::Backup { output } => {
            let registry = open(&cli).await?;
            let m = backup::backup(&registry, output).await?;
            eprintln!("wrote {} ({})", output.display(), m.counts);
        }
        Command::Restore { file } => {
            let settings = Settings::load(Some(&cli.data_dir), cli.config.as_deref())
                .context("cannot read the configuration")?;
            let m = backup::restore(file, &settings).await?;
            eprintln!(
                "restored {} into {} ({}, made {})",
                file.display(),
                cli.data_dir.display(),
                m.counts,
                m.created_at
            );
            if m.database == backup::DatabaseKind::Postgres
                && !m.files.contains_key(backup::DUMP_FILE)
            {
                eprintln!(
                    "the database was not in the archive: restore it with pg_restore into an empty database, then run avtal check"
                );
            }
        }
        Command::Check => {
            let registry = open(&cli).await?;
            let report = backup::check(&registry).await?;
            if !report.ok() {
                bail!("check failed: {report}");
            }
            println!("{report}");
        }
        Command::Render {
            reference,
            template,
            output,
            all,
            out,
            option_seq,
            amendment_index,
            report,
        } => {
            let registry = open(&cli).await?;
            let req = DocumentRequest {
                template: template.clone(),
                option_seq: *option_seq,
                amendment_index: *amendment_index,
                report: report.clone(),
            };
            match (reference, out) {
                (Some(r), _) if !*all => {
                    let key = Reference::parse(r)?;
                    let (meta, rendered) =
                        avtal::registry::documents::generate(&registry, &key, &req, "cli").await?;
                    let path = output
                        .clone()
                        .unwrap_or_else(|| PathBuf::from(&meta.file_name));
                    std::fs::write(&path, &rendered.pdf)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    note!(
                        "wrote {} (document {}, sha256 {})",
                        path.display(),
                        meta.id,
                        meta.sha256
                    );
                }
                (_, Some(dir)) => render_all(&registry, &req, dir).await?,
                _ => bail!("give a reference, or --all with --out DIR"),
            }
        }
    }
    Ok(())
}

/// A writer that counts the bytes written through it.
struct Counted<'a, W: Write> {
    inner: W,
    bytes: &'a mut u64,
}

impl<'a, W: Write> Counted<'a, W> {
    fn new(inner: W, bytes: &'a mut u64) -> Self {
        Self { inner, bytes }
    }
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        *self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Renders `req` for every agreement its template applies to, with progress on stderr.
async fn render_all(
    registry: &Registry,
    req: &DocumentRequest,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let template = registry
        .renderer
        .catalog()
        .get(&req.template)
        .with_context(|| format!("no template {}", req.template))?
        .manifest
        .clone();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let references =
        avtal::registry::documents::references_of_kinds(registry, &template.kinds).await?;
    let total = references.len();
    let (mut done, mut refused) = (0usize, 0usize);
    avtal::registry::documents::generate_many(registry, references, req, "cli", |key, result| {
        let n = done + refused + 1;
        match result {
            Ok((meta, rendered)) => {
                let path = dir.join(&meta.file_name);
                std::fs::write(&path, &rendered.pdf)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                done += 1;
                note!("[{n}/{total}] {key}: wrote {}", path.display());
            }
            Err(RenderError::MissingFields(m)) => {
                refused += 1;
                let names: Vec<String> = m
                    .iter()
                    .map(|f| format!("{} ({})", f.field, f.sv))
                    .collect();
                note!("[{n}/{total}] {key}: refused, missing {}", names.join(", "));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot render {key}")),
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    note!("rendered {done} of {total} agreements, {refused} refused for missing fields");
    Ok(())
}

/// Runs the sweep and the send pass every `notify.interval_seconds` in the background, as two
/// tasks: a slow or unreachable mail server never holds up the daily sweep. Errors are logged and
/// the next run tries again.
fn spawn_notifier(registry: &Registry) -> anyhow::Result<()> {
    let settings = Arc::clone(&registry.settings);
    if settings.notify.interval_seconds == 0 {
        note!("e-mail reminders are off (notify.interval_seconds = 0)");
        return Ok(());
    }
    let composer = notify::Composer::new(&settings)?;
    let mailer = notify::mailer::Mailer::from_settings(&settings)?;
    if let Some(dir) = &mailer.file_dir {
        note!(
            "no SMTP server configured: reminder e-mails are written to {}",
            dir.display()
        );
    }
    let every = std::time::Duration::from_secs(settings.notify.interval_seconds);
    // A sweep that queued something wakes the sender at once, rather than at its next tick.
    let queued = Arc::new(tokio::sync::Notify::new());
    let wake = Arc::clone(&queued);
    let sweeper = registry.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let today = sweeper.settings.today();
            match sweeper
                .sweep_reminders(&composer, today, chrono::Utc::now())
                .await
            {
                Ok(s) => {
                    tracing::info!(%today, due = s.due, queued = s.queued, "reminder sweep");
                    if s.queued > 0 {
                        wake.notify_one();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the reminder sweep failed; the next one tries again");
                }
            }
        }
    });
    let sender = registry.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = queued.notified() => {}
            }
            match sender
                .send_reminders(&mailer, notify::mailer::SystemClock)
                .await
            {
                Ok(s) if s.claimed > 0 => tracing::info!(
                    sent = s.sent,
                    retrying = s.retrying,
                    failed = s.failed,
                    deferred = s.deferred,
                    "reminder send pass"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the send pass failed; the next one tries again");
                }
            }
        }
    });
    Ok(())
}

fn report_import_error(e: ImportError) -> anyhow::Result<()> {
    match e {
        ImportError::Invalid(problems) => {
            for p in &problems {
                note!("{p}");
            }
            bail!(
                "import refused, nothing was written: {} problem(s)",
                problems.len()
            )
        }
        ImportError::Store(e) => Err(e.into()),
    }
}

async fn load_demo(registry: &Registry) -> anyhow::Result<()> {
    let existing = registry.count_agreements().await?;
    if existing > 0 {
        note!("demo: the registry already holds {existing} agreements; nothing loaded");
        return Ok(());
    }
    let files =
        avtal::demo::example_files().or_else(|e| report_import_error(e).map(|_| Vec::new()))?;
    let mut quiet = |_: usize, _: usize| {};
    match transfer::import(registry, files, &mut quiet).await {
        Ok(s) => {
            note!(
                "demo: loaded {} organisations, {} contacts, {} agreements",
                s.organisations_created,
                s.contacts_created,
                s.agreements_created
            );
            Ok(())
        }
        Err(e) => report_import_error(e),
    }
}
