//! Running the typst CLI: one temp dir per job holding the template, the layout and `data.json`;
//! a cleared environment, `--root` on that dir, only the configured fonts, PDF/A-2b, a fixed
//! creation timestamp, a timeout and a limit on concurrent compilations.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::RenderError;

/// How to run typst.
#[derive(Debug, Clone)]
pub struct Typst {
    /// The typst binary as configured (a path, or a name looked up on `PATH`).
    pub program: PathBuf,
    /// The only directory fonts come from.
    pub font_dir: PathBuf,
    /// Longest a compilation may take.
    pub timeout: Duration,
    permits: Arc<Semaphore>,
}

/// One compilation: the files of the job dir and the main file among them.
#[derive(Debug)]
pub struct Job<'a> {
    /// Files written into the job dir: (name, content).
    pub files: Vec<(&'a str, &'a [u8])>,
    /// The file typst compiles.
    pub main: &'a str,
    /// PDF creation time, seconds since 1970 (fixed, so equal input gives equal bytes).
    pub creation_timestamp: i64,
}

impl Typst {
    /// A runner allowing `concurrency` compilations at once.
    pub fn new(program: PathBuf, font_dir: PathBuf, timeout: Duration, concurrency: usize) -> Self {
        Self {
            program,
            font_dir,
            timeout,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// The binary to run: the configured path, or the name found on `PATH`.
    pub fn resolve(&self) -> Result<PathBuf, RenderError> {
        let missing = || RenderError::TypstMissing {
            program: self.program.display().to_string(),
        };
        if self.program.components().count() > 1 {
            return if self.program.is_file() {
                Ok(self.program.clone())
            } else {
                Err(missing())
            };
        }
        let path = std::env::var_os("PATH").ok_or_else(missing)?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(&self.program))
            .find(|p| p.is_file())
            .ok_or_else(missing)
    }

    /// Compiles a job to PDF bytes.
    pub async fn compile(&self, job: &Job<'_>) -> Result<Vec<u8>, RenderError> {
        let program = self.resolve()?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| crate::error::Unexpected("the renderer shut down".to_owned()))?;
        let dir = tempfile::Builder::new()
            .prefix("avtal-render-")
            .tempdir()
            .map_err(RenderError::Io)?;
        for (name, content) in &job.files {
            tokio::fs::write(dir.path().join(name), content)
                .await
                .map_err(RenderError::Io)?;
        }
        let out = dir.path().join("out.pdf");
        let mut cmd = tokio::process::Command::new(&program);
        cmd.env_clear()
            .current_dir(dir.path())
            .arg("compile")
            .arg("--root")
            .arg(dir.path())
            .arg("--ignore-system-fonts")
            .arg("--ignore-embedded-fonts")
            .arg("--font-path")
            .arg(&self.font_dir)
            .arg("--package-path")
            .arg(dir.path().join("no-packages"))
            .arg("--package-cache-path")
            .arg(dir.path().join("no-packages"))
            .arg("--pdf-standard")
            .arg("a-2b")
            .arg("--creation-timestamp")
            .arg(job.creation_timestamp.to_string())
            .arg("--diagnostic-format")
            .arg("short")
            .arg(dir.path().join(job.main))
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                RenderError::TypstMissing {
                    program: program.display().to_string(),
                }
            }
            _ => RenderError::Io(e),
        })?;
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| RenderError::Timeout(self.timeout))?
            .map_err(RenderError::Io)?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        check_output(output.status.success(), output.status.code(), &stderr)?;
        let pdf = tokio::fs::read(&out).await.map_err(RenderError::Io)?;
        if !pdf.starts_with(b"%PDF") {
            return Err(RenderError::Compile {
                stderr: "typst wrote no PDF".into(),
                exit_code: output.status.code(),
            });
        }
        Ok(pdf)
    }

    /// The font directory, for messages.
    pub fn font_dir(&self) -> &Path {
        &self.font_dir
    }
}

/// Turns typst's exit status and diagnostics into a result: font warnings are errors, since a
/// substituted font is a silently different document.
fn check_output(success: bool, exit_code: Option<i32>, stderr: &str) -> Result<(), RenderError> {
    let unsupported: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("could not be displayed with font"))
        .collect();
    if !unsupported.is_empty() {
        return Err(RenderError::UnsupportedText(unsupported.join("\n")));
    }
    let font_warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("warning") && (l.contains("font") || l.contains("glyph"))
        })
        .collect();
    if !font_warnings.is_empty() {
        return Err(RenderError::Font(font_warnings.join("\n")));
    }
    if !success {
        return Err(RenderError::Compile {
            stderr: stderr.to_owned(),
            exit_code,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_font_warning_is_an_error() {
        let r = check_output(
            true,
            Some(0),
            "main.typ:2:16: warning: unknown font family: nonexistent",
        );
        assert!(matches!(r, Err(RenderError::Font(_))), "{r:?}");
    }

    #[test]
    fn text_the_fonts_cannot_show_is_refused_as_such() {
        let r = check_output(
            false,
            Some(1),
            "main.typ:3:1: error: PDF/A-2b error: the text \"中\" could not be displayed with font \"DejaVu Serif\"",
        );
        assert!(matches!(r, Err(RenderError::UnsupportedText(_))), "{r:?}");
    }

    #[test]
    fn a_missing_program_is_typst_missing() {
        let t = Typst::new(
            PathBuf::from("/nonexistent/typst"),
            PathBuf::from("/tmp"),
            Duration::from_secs(1),
            1,
        );
        assert!(matches!(t.resolve(), Err(RenderError::TypstMissing { .. })));
    }
}
