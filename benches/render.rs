//! `cargo bench --bench render -- run [--template iop] [--reference AGR-2025-0001] [--runs 30]
//! [--soffice-runs 15] [--batch 1000]`: the figures of BENCHMARKS.md "Documents", all in one run.
//!
//! - Latency, on one agreement, the routes interleaved in rotating order so the machine's noise
//!   falls on all of them alike:
//!   - `service (HTTP)`: `POST /api/v1/agreements/{reference}/documents` to the app served on a
//!     local port (SQLite in a temp dir): load, view model, JSON, temp dir, typst with every
//!     safeguard, SHA-256, store the PDF, answer;
//!   - `service (renderer)`: the library call alone (view model -> JSON -> temp dir -> typst);
//!   - `bare typst compile`: `typst compile` of a job dir holding exactly the files the service
//!     writes (the same `data.json`, layout and template);
//!   - `soffice`: the same text as DOCX (`pdftotext` of the service's PDF, `pandoc` to DOCX),
//!     converted by a fresh `soffice --headless --convert-to pdf` process per document, with a
//!     private profile made by one untimed first run.
//! - Batch: N synthetic agreements (the samples the template applies to, cycled under new
//!   references), rendered and stored by the service's batch path (`documents::generate_many`, the
//!   one `avtal render --all` uses) under the configured concurrency limit, against two parallel
//!   bare typst processes compiling the same N job dirs (prepared first, untimed).
//!
//! Needs `AVTAL_TYPST`; `soffice`, `pandoc` and `pdftotext` for the LibreOffice route (skipped with
//! `--soffice-runs 0`). Run with no arguments (as `cargo test --all-targets` does) it does nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use avtal::config::Settings;
use avtal::db::store;
use avtal::documents::manifest::{CLAUSE_FILES, LAYOUT};
use avtal::documents::view::View;
use avtal::documents::{self, DocumentRequest, Renderer};
use avtal::domain::agreement::Reference;
use avtal::registry::Registry;
use avtal::registry::transfer::{self, RegistryFile};
use avtal::web::{self, AppState};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use common::api_client;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Time the service against bare typst and LibreOffice, then the batch throughput.
    Run {
        /// Template name.
        #[arg(long, default_value = "iop")]
        template: String,
        /// Sample agreement for the latency figures.
        #[arg(long, default_value = "AGR-2025-0001")]
        reference: String,
        /// Timed renders per typst route.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Timed LibreOffice conversions (0: skip the route).
        #[arg(long, default_value_t = 15)]
        soffice_runs: usize,
        /// Documents in the batch (0: skip the batch).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        eprintln!("render bench: no command given (try `run`); nothing to do");
        return Ok(());
    }
    match Cli::parse_from(std::iter::once("render".to_owned()).chain(args)).command {
        Cmd::Run {
            template,
            reference,
            runs,
            soffice_runs,
            batch,
        } => run(&template, &reference, runs.max(1), soffice_runs, batch).await,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 and p95 (nearest rank) of `times`.
fn percentiles(times: &[Duration]) -> (Duration, Duration) {
    let mut t = times.to_vec();
    t.sort();
    let rank = |p: f64| {
        let i = ((p * t.len() as f64).ceil() as usize).clamp(1, t.len().max(1)) - 1;
        t.get(i).copied().unwrap_or_default()
    };
    (rank(0.50), rank(0.95))
}

fn summary(label: &str, times: &[Duration]) {
    let (p50, p95) = percentiles(times);
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len().max(1) as f64;
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "{label:<34} n={:<4} p50 {:8.1} ms   p95 {:8.1} ms   mean {mean:8.1} ms   max {:8.1} ms",
        times.len(),
        ms(p50),
        ms(p95),
        ms(max)
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Writes the files the service writes for `view` into `dir`.
fn write_job(renderer: &Renderer, view: &View, dir: &Path) -> anyhow::Result<()> {
    let source = renderer
        .catalog()
        .get(&view.template.name)
        .with_context(|| format!("no template {}", view.template.name))?
        .source;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("avtal.typ"), LAYOUT)?;
    std::fs::write(dir.join("template.typ"), source)?;
    for (name, clause_source) in CLAUSE_FILES {
        std::fs::write(dir.join(name), clause_source)?;
    }
    // Exactly the service's serialisation (`Renderer::render_view`).
    std::fs::write(dir.join("data.json"), serde_json::to_vec_pretty(view)?)?;
    Ok(())
}

/// One bare `typst compile` of a job dir.
fn bare_compile(typst: &Path, font_dir: &Path, dir: &Path) -> anyhow::Result<()> {
    let status = Command::new(typst)
        .current_dir(dir)
        .args([
            "compile",
            "--ignore-system-fonts",
            "--ignore-embedded-fonts",
        ])
        .arg("--font-path")
        .arg(font_dir)
        .args(["--pdf-standard", "a-2b", "--creation-timestamp", "0"])
        .args(["template.typ", "out.pdf"])
        .stdin(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "bare typst failed in {}", dir.display());
    Ok(())
}

/// The LibreOffice route: one fresh `soffice` process converting `docx` to PDF in `out`.
fn soffice_convert(profile: &str, docx: &Path, out: &Path) -> anyhow::Result<()> {
    let status = Command::new("soffice")
        .arg(format!("-env:UserInstallation={profile}"))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out)
        .arg(docx)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("run soffice (apt-get install -y libreoffice-writer-nogui)")?;
    let pdf = out.join(docx.with_extension("pdf").file_name().unwrap_or_default());
    anyhow::ensure!(
        status.success() && pdf.is_file(),
        "soffice did not convert {}",
        docx.display()
    );
    std::fs::remove_file(pdf)?;
    Ok(())
}

/// The same text as the service's PDF, as a DOCX made by pandoc.
fn make_docx(pdf: &[u8], work: &Path) -> anyhow::Result<PathBuf> {
    let pdf_path = work.join("agreement.pdf");
    let txt = work.join("agreement.txt");
    let docx = work.join("agreement.docx");
    std::fs::write(&pdf_path, pdf)?;
    let ok = Command::new("pdftotext")
        .arg(&pdf_path)
        .arg(&txt)
        .status()
        .context("run pdftotext (apt-get install -y poppler-utils)")?
        .success();
    anyhow::ensure!(ok, "pdftotext failed");
    let ok = Command::new("pandoc")
        .args(["-f", "markdown", "-t", "docx", "-o"])
        .arg(&docx)
        .arg(&txt)
        .status()
        .context("run pandoc (apt-get install -y pandoc)")?
        .success();
    anyhow::ensure!(ok, "pandoc failed");
    Ok(docx)
}

async fn run(
    template: &str,
    reference: &str,
    runs: usize,
    soffice_runs: usize,
    batch: usize,
) -> anyhow::Result<()> {
    let typst = PathBuf::from(std::env::var_os("AVTAL_TYPST").context("set AVTAL_TYPST")?);
    let data = tempfile::tempdir()?;
    let (y, m, d) = avtal::demo::SAMPLE_TODAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let settings = Settings {
        data_dir: data.path().to_path_buf(),
        typst: Some(typst.clone()),
        today: Some(today),
        ..Settings::default()
    };
    let conn = avtal::db::connect(&settings).await?;
    avtal::db::migrate(&conn).await?;
    let registry = Registry::new(conn, Arc::new(settings.clone()));
    let renderer = registry.renderer.clone();
    let req = DocumentRequest {
        template: template.to_owned(),
        ..DocumentRequest::default()
    };

    // The samples, and the batch: the samples the template applies to, under new references.
    let mut files = avtal::demo::example_files().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let catalog = renderer.catalog();
    let chosen = catalog
        .get(template)
        .with_context(|| format!("no template {template}"))?;
    // The samples the template applies to and that have every field it needs, those of the
    // clauses it chooses for each agreement included (what the renderer checks).
    let bases: Vec<_> = files
        .iter()
        .flat_map(|(_, f)| f.agreements.iter())
        .filter(|a| {
            chosen.manifest.kinds.contains(&a.kind)
                && documents::missing_fields(a, &catalog.required_for(chosen, a)).is_empty()
        })
        .cloned()
        .collect();
    anyhow::ensure!(batch == 0 || !bases.is_empty(), "no sample for {template}");
    let mut synthetic = RegistryFile::default();
    let mut batch_refs = Vec::with_capacity(batch);
    for i in 0..batch {
        let mut a = bases
            .get(i % bases.len().max(1))
            .cloned()
            .context("no base")?;
        a.reference = Reference::parse(&format!("{}-B{i:04}", a.reference.as_str()))?;
        batch_refs.push(a.reference.clone());
        synthetic.agreements.push(a);
    }
    files.push(("batch.yaml".to_owned(), synthetic));
    let mut quiet = |_: usize, _: usize| {};
    transfer::import(&registry, files, &mut quiet)
        .await
        .map_err(|e| anyhow::anyhow!("import: {e:?}"))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let app = web::router(AppState {
        registry: registry.clone(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = api_client(&registry).await?;
    let url = format!("{address}/api/v1/agreements/{reference}/documents");
    let body = serde_json::json!({ "template": template });

    // The view the service builds for the stored agreement, and a job dir with its files.
    let key = Reference::parse(reference)?;
    let stored = store::get_agreement(&registry.db, &key).await?;
    let dir = avtal::registry::documents::directory_for(&registry.db, &stored.data).await?;
    let (view, _) = renderer.view(&req, &stored.data, stored.version, &dir, today)?;
    let work = tempfile::tempdir()?;
    let job = work.path().join("job");
    write_job(&renderer, &view, &job)?;

    println!(
        "render bench: template {template}, {reference}, typst {}, {runs} runs per typst route, \
         {soffice_runs} soffice runs, batch {batch}, render_concurrency {}",
        typst.display(),
        settings.render_concurrency
    );

    // Warm up every route (page cache, font files, the HTTP connection, LibreOffice's profile).
    let first = renderer.render_view(&view, 0).await?;
    println!("PDF: {} bytes", first.len());
    let post = || async {
        let resp = client.post(&url).json(&body).send().await?;
        anyhow::ensure!(resp.status().as_u16() == 201, "POST: {}", resp.status());
        resp.bytes().await?;
        Ok(())
    };
    post().await?;
    bare_compile(&typst, &settings.font_dir, &job)?;
    let profile = format!("file:///tmp/lo-profile-{}", std::process::id());
    let lo_out = work.path().join("lo");
    let docx = if soffice_runs > 0 {
        let docx = make_docx(&first, work.path())?;
        let t = Instant::now();
        soffice_convert(&profile, &docx, &lo_out)?;
        println!(
            "soffice first run (creates its profile, untimed): {:.0} ms",
            ms(t.elapsed())
        );
        Some(docx)
    } else {
        None
    };

    let (mut http, mut lib, mut bare, mut lo) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        for step in 0..4 {
            match (i + step) % 4 {
                0 => {
                    let t = Instant::now();
                    post().await?;
                    http.push(t.elapsed());
                }
                1 => {
                    let t = Instant::now();
                    let pdf = renderer.render_view(&view, 0).await?;
                    lib.push(t.elapsed());
                    anyhow::ensure!(pdf == first, "the same view gave different bytes");
                }
                2 => {
                    let t = Instant::now();
                    bare_compile(&typst, &settings.font_dir, &job)?;
                    bare.push(t.elapsed());
                }
                _ => {
                    if let Some(docx) = docx.as_deref().filter(|_| i < soffice_runs) {
                        let t = Instant::now();
                        soffice_convert(&profile, docx, &lo_out)?;
                        lo.push(t.elapsed());
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(format!("/tmp/lo-profile-{}", std::process::id()));

    println!();
    summary("service (HTTP POST, stores)", &http);
    summary("service (renderer call)", &lib);
    summary("bare typst compile (same files)", &bare);
    let (http50, http95) = percentiles(&http);
    let (lib50, _) = percentiles(&lib);
    let (bare50, bare95) = percentiles(&bare);
    if !lo.is_empty() {
        summary("soffice --convert-to pdf (DOCX)", &lo);
        let (lo50, _) = percentiles(&lo);
        println!(
            "soffice / service (HTTP) at p50: {:.1}x   (target >= 20x)",
            ratio(lo50, http50)
        );
    }
    println!(
        "service (HTTP) overhead over bare typst: p50 {:+.1} %, p95 {:+.1} %   (target <= 30 %)",
        (ratio(http50, bare50) - 1.0) * 100.0,
        (ratio(http95, bare95) - 1.0) * 100.0
    );
    println!(
        "service (renderer) overhead over bare typst: p50 {:+.1} %",
        (ratio(lib50, bare50) - 1.0) * 100.0
    );

    if batch > 0 {
        batch_throughput(&registry, &req, batch_refs, &typst, &settings, today).await?;
    }
    Ok(())
}

async fn batch_throughput(
    registry: &Registry,
    req: &DocumentRequest,
    refs: Vec<Reference>,
    typst: &Path,
    settings: &Settings,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let n = refs.len();
    // The same N jobs for bare typst, prepared untimed.
    let jobs = tempfile::tempdir()?;
    let mut dirs = Vec::with_capacity(n);
    for (i, key) in refs.iter().enumerate() {
        let stored = store::get_agreement(&registry.db, key).await?;
        let dir = avtal::registry::documents::directory_for(&registry.db, &stored.data).await?;
        let (view, _) = registry
            .renderer
            .view(req, &stored.data, stored.version, &dir, today)?;
        let job = jobs.path().join(format!("job-{i:04}"));
        write_job(&registry.renderer, &view, &job)?;
        dirs.push(job);
    }

    let t = Instant::now();
    let (mut done, mut failed) = (0usize, 0usize);
    avtal::registry::documents::generate_many(registry, refs, req, "bench", |_, r| {
        match r {
            Ok(_) => done += 1,
            Err(e) => {
                failed += 1;
                eprintln!("batch: {e}");
            }
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    let service = t.elapsed();
    anyhow::ensure!(failed == 0, "{failed} batch renders failed");

    let next = Arc::new(AtomicUsize::new(0));
    let dirs = Arc::new(dirs);
    let t = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (next, dirs) = (next.clone(), dirs.clone());
            let (typst, fonts) = (typst.to_path_buf(), settings.font_dir.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                while let Some(dir) = dirs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    bare_compile(&typst, &fonts, dir)?;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("a bare typst worker panicked"))??;
    }
    let bare = t.elapsed();

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!();
    println!(
        "batch of {n}, service (generate_many, limit {}): {:.1} s, {:.2} documents/s ({done} stored)",
        settings.render_concurrency,
        service.as_secs_f64(),
        rate(service)
    );
    println!(
        "batch of {n}, two parallel bare typst processes:   {:.1} s, {:.2} documents/s",
        bare.as_secs_f64(),
        rate(bare)
    );
    println!(
        "service / bare throughput: {:.1} %   (target >= 80 %)",
        rate(service) / rate(bare) * 100.0
    );
    Ok(())
}
