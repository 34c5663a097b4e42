//! From a validated config to files on disk: which block instances to generate (`--die`,
//! `--block`, `--set`), building and emitting them per die, and writing each die's folder
//! atomically, so a failure never leaves partial output behind.

use crate::blocks::{self, Elaborated};
use crate::config::{DieConfig, elaborate_instance};
use crate::hdl::{Design, Emitted, GENERATOR};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Die name used for a block that is asked for on the command line but placed on no die.
pub const STANDALONE_DIE: &str = "standalone";

/// What to generate from a config.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this die (all dies when `None`).
    pub die: Option<String>,
    /// Only instances with this instance or block name. A block name that no selected die
    /// places is generated alone, with defaults, as die [`STANDALONE_DIE`].
    pub block: Option<String>,
    /// `key=value` parameter overrides for the selected block (values are TOML).
    pub sets: Vec<String>,
}

/// One block instance to generate.
#[derive(Debug)]
pub struct Unit {
    /// Instance name.
    pub instance: String,
    /// Block name.
    pub block: &'static str,
    /// Validated parameters.
    pub params: Box<dyn Elaborated>,
}

/// The selected instances of one die.
#[derive(Debug)]
pub struct DiePlan {
    /// Die name.
    pub die: String,
    /// Instances that will be generated.
    pub units: Vec<Unit>,
    /// `(instance, block)` of instances whose block is not implemented yet.
    pub unavailable: Vec<(String, &'static str)>,
}

/// Errors of selection, building or writing.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A bad selection or override; the message names the option.
    #[error("{0}")]
    Selection(String),
    /// A block failed to build (a generator bug: parameters were validated).
    #[error("{0}")]
    Build(#[from] crate::hdl::HdlError),
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io { path: path.to_path_buf(), source }
}

/// Parses `key=value` (value as TOML, bare words as strings) into a table.
fn parse_sets(sets: &[String]) -> Result<toml::Table, GenError> {
    let mut table = toml::Table::new();
    for s in sets {
        let Some((key, value)) = s.split_once('=') else {
            return Err(GenError::Selection(format!("--set {s}: expected key=value")));
        };
        let key = key.trim();
        let text = format!("v = {}", value.trim());
        let value = match text.parse::<toml::Table>() {
            Ok(mut t) => t.remove("v").unwrap_or_else(|| unreachable!("the table has key v")),
            Err(_) => toml::Value::String(value.trim().to_string()),
        };
        table.insert(key.to_string(), value);
    }
    Ok(table)
}

/// Resolves a selection into per-die plans.
pub fn plan(config: &DieConfig, sel: &Selection) -> Result<Vec<DiePlan>, GenError> {
    if !sel.sets.is_empty() && sel.block.is_none() {
        return Err(GenError::Selection("--set needs --block to say which block it applies to".into()));
    }
    let overrides = parse_sets(&sel.sets)?;
    let dies: Vec<_> = match &sel.die {
        Some(d) => vec![config.die(d).map_err(|e| GenError::Selection(e.to_string()))?],
        None => config.dies.iter().collect(),
    };
    let mut plans = Vec::new();
    for die in dies {
        let mut plan = DiePlan { die: die.name.clone(), units: Vec::new(), unavailable: Vec::new() };
        for inst in &die.blocks {
            if sel.block.as_deref().is_some_and(|b| b != inst.instance && b != inst.block) {
                continue;
            }
            let Some(params) = &inst.elaborated else {
                plan.unavailable.push((inst.instance.clone(), inst.block));
                continue;
            };
            let params = if overrides.is_empty() {
                elaborate(&inst.instance, inst.block, params.params_table(), &format!("dies.{}", die.name))?
            } else {
                let mut table = params.params_table();
                table.extend(overrides.clone());
                elaborate(&inst.instance, inst.block, table, "--set")?
            };
            plan.units.push(Unit { instance: inst.instance.clone(), block: inst.block, params });
        }
        if !plan.units.is_empty() || !plan.unavailable.is_empty() {
            plans.push(plan);
        }
    }
    if let Some(block) = &sel.block {
        if plans.is_empty() {
            let Some(entry) = blocks::find(block) else {
                return Err(GenError::Selection(format!(
                    "--block {block}: no instance or block of that name; blocks: {}",
                    blocks::names()
                )));
            };
            if entry.kind.is_none() {
                return Err(not_available(block));
            }
            let params = elaborate(block, entry.name, overrides, "--set")?;
            plans.push(DiePlan {
                die: STANDALONE_DIE.into(),
                units: vec![Unit { instance: block.clone(), block: entry.name, params }],
                unavailable: Vec::new(),
            });
        } else if plans.iter().all(|p| p.units.is_empty()) {
            return Err(not_available(block));
        }
    }
    Ok(plans)
}

fn not_available(block: &str) -> GenError {
    GenError::Selection(format!("--block {block}: this block is not available in {GENERATOR} yet"))
}

fn elaborate(
    instance: &str,
    block: &str,
    mut table: toml::Table,
    at: &str,
) -> Result<Box<dyn Elaborated>, GenError> {
    table.insert("block".into(), block.into());
    let mut issues = Vec::new();
    let inst = elaborate_instance(instance, &table, &format!("{at}.blocks.{instance}"), &mut issues);
    match inst.and_then(|i| i.elaborated) {
        Some(e) if issues.is_empty() => Ok(e),
        _ => Err(GenError::Selection(format!(
            "invalid parameters for `{instance}`:\n  {}",
            issues.join("\n  ")
        ))),
    }
}

/// A die's generated output, held in memory until it is written.
pub struct DieOutput {
    /// Die name.
    pub die: String,
    /// Emitted modules and tops (one top per unit, in unit order).
    pub emitted: Emitted,
    /// `manifest.json` contents.
    pub manifest: Manifest,
}

/// What a die folder contains, as written to `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Generator and version.
    pub generator: String,
    /// Config name.
    pub config: String,
    /// Config file.
    pub config_source: String,
    /// Die name.
    pub die: String,
    /// Generated instances.
    pub blocks: Vec<ManifestBlock>,
    /// Instances whose block is not available yet.
    pub unavailable: Vec<ManifestUnavailable>,
}

/// One generated instance in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestBlock {
    /// Instance name.
    pub instance: String,
    /// Block name.
    pub block: String,
    /// Top module.
    pub top: String,
    /// Filelist of the top.
    pub filelist: String,
    /// Effective parameters.
    pub params: toml::Table,
}

/// An instance that was not generated.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestUnavailable {
    /// Instance name.
    pub instance: String,
    /// Block name.
    pub block: String,
}

/// Builds and emits every unit of a plan (all in memory).
pub fn build_die(config: &DieConfig, plan: &DiePlan) -> Result<DieOutput, GenError> {
    let mut design = Design::new();
    for u in &plan.units {
        design.add_top(&u.params.build()?);
    }
    let emitted = design.emit();
    let blocks = plan
        .units
        .iter()
        .zip(&emitted.tops)
        .map(|(u, t)| ManifestBlock {
            instance: u.instance.clone(),
            block: u.block.to_string(),
            top: t.module.clone(),
            filelist: format!("{}.f", t.module),
            params: u.params.params_table(),
        })
        .collect();
    let unavailable = plan
        .unavailable
        .iter()
        .map(|(i, b)| ManifestUnavailable { instance: i.clone(), block: b.to_string() })
        .collect();
    let manifest = Manifest {
        generator: GENERATOR.into(),
        config: config.name.clone(),
        config_source: config.source.clone(),
        die: plan.die.clone(),
        blocks,
        unavailable,
    };
    Ok(DieOutput { die: plan.die.clone(), emitted, manifest })
}

/// Writes a die's files into `dir`. Everything is first written into a temporary sibling folder,
/// which then replaces `dir` in one rename, so `dir` never holds partial output. An existing `dir`
/// is replaced only when it is empty or is itself vdx output (holds a vdx `manifest.json`); any
/// other folder is refused, so `--out` can never delete a user's files.
pub fn write_die(out: &DieOutput, dir: &Path) -> Result<(), GenError> {
    check_replaceable(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    // Both temporary folders are removed on drop, whatever fails below.
    let staging =
        tempfile::Builder::new().prefix(".vdx-gen-").tempdir_in(&parent).map_err(io_err(&parent))?;
    out.emitted.write_to(staging.path()).map_err(io_err(staging.path()))?;
    let manifest = serde_json::to_string_pretty(&out.manifest)
        .unwrap_or_else(|e| unreachable!("the manifest always serializes: {e}"));
    let manifest_path = staging.path().join("manifest.json");
    std::fs::write(&manifest_path, manifest + "\n").map_err(io_err(&manifest_path))?;
    if dir.exists() {
        let old =
            tempfile::Builder::new().prefix(".vdx-old-").tempdir_in(&parent).map_err(io_err(&parent))?;
        let previous = old.path().join("previous");
        std::fs::rename(dir, &previous).map_err(io_err(dir))?;
        if let Err(e) = std::fs::rename(staging.path(), dir) {
            // Put the previous output back; if even that fails, say where it is.
            if let Err(restore) = std::fs::rename(&previous, dir) {
                let kept = old.keep();
                return Err(GenError::Io {
                    path: dir.to_path_buf(),
                    source: std::io::Error::other(format!(
                        "{e}; the previous output could not be restored ({restore}) and is in {}",
                        kept.join("previous").display()
                    )),
                });
            }
            return Err(io_err(dir)(e));
        }
    } else {
        std::fs::rename(staging.path(), dir).map_err(io_err(dir))?;
    }
    // The staging folder is now `dir`: it must not be removed.
    let _ = staging.keep();
    Ok(())
}

/// Refuses to replace anything but an empty folder or earlier vdx output.
pub fn check_replaceable(dir: &Path) -> Result<(), GenError> {
    let refuse = |why: &str| {
        Err(GenError::Selection(format!(
            "refusing to write into {}: {why}; choose another --out or remove it",
            dir.display()
        )))
    };
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return Ok(()) };
    if !meta.is_dir() {
        return refuse("it exists and is not a folder");
    }
    let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_default();
    let ours = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|v| v.get("generator")?.as_str().map(|g| g.starts_with("vdx ")))
        .unwrap_or(false);
    if ours { Ok(()) } else { refuse("it holds files that are not vdx output (no vdx manifest.json)") }
}

/// Default output folder of a die: `rtl_out/<config>/<die>`.
pub fn default_dir(config: &DieConfig, die: &str) -> PathBuf {
    PathBuf::from("rtl_out").join(&config.name).join(die)
}
