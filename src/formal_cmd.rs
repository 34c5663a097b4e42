//! `vdx formal`: proves the assertions of the selected blocks with SymbiYosys.

use anyhow::{Context, Result, bail};
use std::path::Path;
use vdx::flows::formal::{self, FormalTools, PropertyStatus};
use vdx::generate::{self, Selection};
use vdx::hdl::Design;

/// Runs one proof per distinct design of the selection that carries assertions; `keep` (a new
/// folder) keeps the jobs.
pub fn run(
    config: &vdx::config::DieConfig,
    select: &Selection,
    depth: u32,
    keep: Option<&Path>,
    spinner: impl Fn(String) -> indicatif::ProgressBar,
) -> Result<()> {
    if depth == 0 {
        bail!("--depth 0: the induction needs at least one step");
    }
    if let Some(k) = keep
        && k.exists()
    {
        bail!(
            "--keep {}: the folder exists; give a new one (vdx writes only into folders it creates)",
            k.display()
        );
    }
    let plans = generate::plan(config, select)?;
    // Everything is built before any tool runs: a design error stops the command at once.
    let mut jobs: Vec<(String, &'static str, String, vdx::hdl::SimSource)> = Vec::new();
    let mut without = 0;
    for plan in &plans {
        for u in &plan.units {
            let module = u.params.build().with_context(|| format!("{}/{}", plan.die, u.instance))?;
            if module.assertions() == 0 {
                without += 1;
                continue;
            }
            let key = format!("{}:{}", u.block, u.params.params_table());
            if jobs.iter().any(|(k, ..)| *k == key) {
                continue;
            }
            let src = Design::single(&module).emit().sim_source(0);
            jobs.push((key, u.block, format!("{}/{}", plan.die, u.instance), src));
        }
    }
    if jobs.is_empty() {
        bail!("no block of the selection carries assertions (today: ucie_adapter)");
    }
    let tools = FormalTools::find().or_else(|_| {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin");
        FormalTools::in_dir(&venv)
    })?;
    let root = match keep {
        Some(k) => {
            std::fs::create_dir_all(k).with_context(|| format!("creating {}", k.display()))?;
            None
        }
        None => Some(tempfile::Builder::new().prefix("vdx-formal-").tempdir().context("a temporary folder")?),
    };
    let base =
        keep.map(Path::to_path_buf).unwrap_or_else(|| root.as_ref().expect("temporary").path().to_path_buf());
    let mut rows = Vec::new();
    let mut bad = 0;
    for (i, (_, block, at, src)) in jobs.iter().enumerate() {
        let dir = base.join(format!("{i}_{}", src.top));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let bar = spinner(format!("{at}: SymbiYosys k-induction, depth {depth}"));
        let report = formal::prove(src, depth, &tools, &dir);
        bar.finish_and_clear();
        let report = report.with_context(|| format!("{at} ({block})"))?;
        for p in &report.properties {
            let (status, detail) = match p.status {
                PropertyStatus::Proved => ("proved", String::new()),
                PropertyStatus::Failed => {
                    ("FAILED", format!("counterexample from reset: {}", show(&p.trace)))
                }
                PropertyStatus::InductionFailed => {
                    ("UNPROVED", format!("induction step fails: {}", show(&p.trace)))
                }
                PropertyStatus::Unknown => ("unknown", "the run stopped at another property".into()),
            };
            rows.push((at.clone(), *block, p.label.clone(), status, detail));
        }
        if !report.proved() {
            bad += 1;
        }
        println!("{at}: {} ({} properties, {:.1} s)", report.status, report.properties.len(), report.seconds);
    }
    println!("{:<16} {:<14} {:<24} {:<9} detail", "instance", "block", "property", "result");
    for (at, block, label, status, detail) in &rows {
        println!("{at:<16} {block:<14} {label:<24} {status:<9} {detail}");
    }
    if without > 0 {
        println!("{without} other instance(s) of the selection carry no assertions");
    }
    if bad > 0 {
        if let Some(t) = root {
            let kept = t.keep();
            eprintln!("the jobs are kept in {}", kept.display());
        }
        bail!("{bad} design(s) not proved");
    }
    Ok(())
}

fn show(trace: &Option<std::path::PathBuf>) -> String {
    trace.as_ref().map_or_else(|| "no trace".into(), |t| t.display().to_string())
}
