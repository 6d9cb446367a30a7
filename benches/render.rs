//! `cargo bench --bench render -- run [--template iop] [--reference AGR-2025-0001] [--runs 30]`:
//! the time to render one contract document through the service's renderer (view model -> JSON ->
//! temp dir -> typst with every safeguard -> PDF bytes) against a bare `typst compile` of the same
//! files, and the throughput of a burst of renders under the concurrency limit.
//! Needs `AVTAL_TYPST`. Run with no arguments (as `cargo test --all-targets` does) it does nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use avtal::config::Settings;
use avtal::documents::manifest::LAYOUT;
use avtal::documents::view::Directory;
use avtal::documents::{DocumentRequest, Renderer};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Time service renders against bare typst compiles of the same data.
    Run {
        /// Template name.
        #[arg(long, default_value = "iop")]
        template: String,
        /// Sample agreement.
        #[arg(long, default_value = "AGR-2025-0001")]
        reference: String,
        /// Renders per measurement.
        #[arg(long, default_value_t = 30)]
        runs: usize,
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
        } => run(&template, &reference, runs.max(1)).await,
    }
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    println!(
        "{label:<34} n={:<4} mean {mean:7.1} ms   p50 {:7.1} ms   max {:7.1} ms",
        times.len(),
        ms(p50),
        ms(max)
    );
}

async fn run(template: &str, reference: &str, runs: usize) -> anyhow::Result<()> {
    let typst = PathBuf::from(std::env::var_os("AVTAL_TYPST").context("set AVTAL_TYPST")?);
    let settings = Settings {
        typst: Some(typst.clone()),
        ..Settings::default()
    };
    let renderer = Renderer::from_settings(&settings);
    let files = avtal::demo::example_files().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut dir = Directory::default();
    let mut agreement = None;
    for (_, f) in files {
        for o in f.organisations {
            dir.organisations.insert(o.org_number.clone(), o);
        }
        for c in f.contacts {
            dir.contacts.insert(c.email.clone(), c);
        }
        for a in f.agreements {
            if a.reference.as_str() == reference {
                agreement = Some(a);
            }
        }
    }
    let a = agreement.with_context(|| format!("no sample {reference}"))?;
    let req = DocumentRequest {
        template: template.to_owned(),
        ..DocumentRequest::default()
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
    let (view, _) = renderer.view(&req, &a, 1, &dir, today)?;
    println!(
        "render bench: template {template}, {reference}, typst {}, {runs} runs each",
        typst.display()
    );

    // Warm the page cache and the font cache of the file system.
    let first = renderer.render_view(&view, 0).await?;
    println!("PDF: {} bytes", first.len());

    let mut service = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let pdf = renderer.render_view(&view, 0).await?;
        service.push(t.elapsed());
        anyhow::ensure!(pdf == first, "the same view gave different bytes");
    }

    let job = tempfile::tempdir()?;
    let source = renderer
        .catalog()
        .get(template)
        .with_context(|| format!("no template {template}"))?
        .source;
    std::fs::write(job.path().join("avtal.typ"), LAYOUT)?;
    std::fs::write(job.path().join("template.typ"), source)?;
    std::fs::write(job.path().join("data.json"), serde_json::to_vec(&view)?)?;
    let mut bare = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let status = std::process::Command::new(&typst)
            .current_dir(job.path())
            .args([
                "compile",
                "--ignore-system-fonts",
                "--ignore-embedded-fonts",
            ])
            .arg("--font-path")
            .arg(&settings.font_dir)
            .args(["--pdf-standard", "a-2b", "--creation-timestamp", "0"])
            .args(["template.typ", "out.pdf"])
            .status()?;
        bare.push(t.elapsed());
        anyhow::ensure!(status.success(), "bare typst failed");
    }

    let burst = runs.max(8);
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..burst {
        let (r, v) = (renderer.clone(), view.clone());
        set.spawn(async move { r.render_view(&v, 0).await.map(|p| p.len()) });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    let wall = t.elapsed();

    summary("service render (renderer)", service);
    summary("bare typst compile (same files)", bare);
    println!(
        "burst of {burst} renders, limit {}: {:.1} s wall, {:.1} documents/s",
        settings.render_concurrency,
        wall.as_secs_f64(),
        burst as f64 / wall.as_secs_f64()
    );
    Ok(())
}
