//! From a validated config to files on disk: which block instances to generate (`--die`,
//! `--block`, `--set`), building and emitting them per die, and writing each die's folder
//! atomically, so a failure never leaves partial output behind.

pub mod manifest;
pub mod workdir;
pub mod write;

use crate::blocks::{self, Elaborated};
use crate::config::{DieConfig, elaborate_instance};
use crate::flows::files::{self, BlockFlow, ParamValue};
use crate::hdl::{Design, Emitted, GENERATOR};
use manifest::{
    Clock, Manifest, ManifestBlock, ManifestDieTop, ManifestModule, ManifestPort, ManifestSram,
    ManifestUnavailable, ResetInfo,
};
use std::path::{Path, PathBuf};
pub use write::FolderOutput;

/// Base name of a die top's flow files (`die.f`, `die.regs.rdl`, …); no instance may be called so.
pub const DIE_TOP_FILES: &str = "die";

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
    /// The die's fabric, when the whole die is generated (then with its die top).
    pub whole: Option<crate::config::Fabric>,
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
    /// An output folder that vdx will not write into; the message says why and names the files.
    #[error("{0}")]
    Refused(String),
    /// Writing the output failed.
    #[error("writing {path}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Where `--set` values are reported from: `--set lane: 2000 is out of range …`.
const SET_PATH: &str = "--set ";

/// Parses `key=value` (value as TOML, bare words as strings) into a table.
fn parse_sets(sets: &[String]) -> Result<toml::Table, GenError> {
    let mut table = toml::Table::new();
    for s in sets {
        let Some((key, value)) = s.split_once('=') else {
            return Err(GenError::Selection(format!("--set {s}: expected key=value")));
        };
        let key = key.trim();
        if key == "block" {
            return Err(GenError::Selection(format!(
                "--set {s}: `block` is not a parameter; choose the block with --block"
            )));
        }
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
        let whole = sel.block.is_none().then(|| die.fabric.clone());
        let mut plan = DiePlan { die: die.name.clone(), units: Vec::new(), unavailable: Vec::new(), whole };
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
                elaborate(&inst.instance, inst.block, table, SET_PATH)?
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
            let params = elaborate(block, entry.name, overrides, SET_PATH)?;
            plans.push(DiePlan {
                die: STANDALONE_DIE.into(),
                units: vec![Unit { instance: block.clone(), block: entry.name, params }],
                unavailable: Vec::new(),
                whole: None,
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
    let at = if at == SET_PATH { at.to_string() } else { format!("{at}.blocks.{instance}") };
    let inst = elaborate_instance(instance, &table, &at, &mut issues);
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
    /// Every file of the folder but the manifest: Verilog, then flow files.
    pub files: Vec<(String, Vec<u8>)>,
    /// The die top, when the whole die was generated (the package top wires it).
    pub top: Option<crate::die::DieTop>,
}

impl DieOutput {
    /// The folder to write at `dir`.
    pub fn folder(&self, dir: &Path) -> FolderOutput {
        let manifest = serde_json::to_string_pretty(&self.manifest)
            .unwrap_or_else(|e| unreachable!("the manifest always serializes: {e}"));
        FolderOutput { dir: dir.to_path_buf(), files: self.files.clone(), manifest: manifest + "\n" }
    }
}

/// Builds and emits every unit of a plan, with its flow files and manifest (all in memory).
pub fn build_die(config: &DieConfig, plan: &DiePlan, prefix: &str) -> Result<DieOutput, GenError> {
    let mut design = Design::new().with_prefix(prefix);
    let modules: Vec<crate::hdl::Module> =
        plan.units.iter().map(|u| u.params.build()).collect::<Result<_, _>>()?;
    for m in &modules {
        design.add_top(m);
    }
    let built = match &plan.whole {
        Some(fabric) => {
            let top = die_top_of(config, &plan.die, fabric, &plan.units, &modules)?;
            design.add_top(&top.module);
            // The blocks' memories, with those of the UCIe bridges the die adds.
            let block_bits: u64 = top.units.iter().map(|u| u.2.memory_bits()).sum();
            let macro_bits: u64 = top.srams.iter().map(|(_, s)| s.bits()).sum();
            let total = block_bits + macro_bits;
            if let Some(budget) = fabric.sram_budget_kib
                && total > budget * 8192
            {
                return Err(GenError::Selection(format!(
                    "dies.{}.sram_budget_kib: the die holds {} KiB of SRAM (scratchpad {} KiB, weight SRAM {} KiB, \
                     blocks' memories {} KiB), over its budget of {budget} KiB",
                    plan.die,
                    total.div_ceil(8192),
                    fabric.scratchpad_kib,
                    fabric.weight_sram_kib,
                    block_bits.div_ceil(8192)
                )));
            }
            Some((top, block_bits, total))
        }
        None => None,
    };
    let emitted = design.emit();
    if !emitted.issues.is_empty() {
        return Err(GenError::Selection(format!("die {}: {}", plan.die, emitted.issues.join("; "))));
    }
    let mut files: Vec<(String, Vec<u8>)> =
        emitted.files.iter().map(|f| (f.name.clone(), f.text.clone().into_bytes())).collect();
    // Behavioural models of black boxes (the die top's SRAM macros) sit beside the modules, each
    // in the file named after its module; synthesis filelists leave them out, `die.sim.f` has them.
    files.extend(emitted.sim_models.iter().map(|f| (f.name.clone(), f.text.clone().into_bytes())));
    let mut blocks = Vec::new();
    for (u, t) in plan.units.iter().zip(&emitted.tops) {
        let table = u.params.params_table();
        let derived: Vec<(String, ParamValue)> =
            t.params.iter().map(|(k, v)| (k.clone(), ParamValue::parse(v))).collect();
        let mut params: Vec<(String, ParamValue)> =
            table.iter().map(|(k, v)| (k.clone(), ParamValue::from_toml(v))).collect();
        params.extend(derived.iter().filter(|(k, _)| !table.contains_key(k)).cloned());
        let flow = BlockFlow {
            config: &config.name,
            die: &plan.die,
            instance: &u.instance,
            block: u.block,
            summary: u.params.summary(),
            top: &t.module,
            files: &t.files,
            ports: &t.ports,
            clock_mhz: config.clock_mhz,
            params: &params,
        };
        let i = &u.instance;
        let flow_files = [
            ("filelist", format!("{i}.f"), files::filelist(&flow)),
            ("fusesoc", format!("{i}.core"), files::fusesoc_core(&flow)),
            ("sdc", format!("{i}.sdc"), files::sdc(&flow)),
            ("orfs", format!("{i}.config.mk"), files::orfs_config(&flow)),
            ("c_header", format!("{i}_params.h"), files::params_header(&flow)),
        ];
        let mut flow_names = std::collections::BTreeMap::new();
        for (kind, name, text) in flow_files {
            flow_names.insert(kind.to_string(), name.clone());
            files.push((name, text.into_bytes()));
        }
        blocks.push(ManifestBlock {
            instance: u.instance.clone(),
            block: u.block.to_string(),
            top: t.module.clone(),
            verilog: t.files.clone(),
            flow: flow_names,
            params: table,
            derived: derived.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ports: t.ports.iter().map(ManifestPort::from).collect(),
            latency: u.params.latency(),
        });
    }
    let die_top = built.as_ref().map(|(top, block_bits, total)| {
        let (block_bits, total) = (*block_bits, *total);
        let t = emitted.tops.last().unwrap_or_else(|| unreachable!("the die top was added last"));
        let generator = GENERATOR;
        let mut flow_names = std::collections::BTreeMap::new();
        let params: Vec<(String, ParamValue)> =
            t.params.iter().map(|(k, v)| (k.clone(), ParamValue::parse(v))).collect();
        let flow = BlockFlow {
            config: &config.name,
            die: &plan.die,
            instance: DIE_TOP_FILES,
            block: "die",
            summary: "die top: blocks, stream switch, DMA, SRAM macros, AXI4-Lite CSRs",
            top: &t.module,
            files: &t.files,
            ports: &t.ports,
            clock_mhz: config.clock_mhz,
            params: &params,
        };
        let d = DIE_TOP_FILES;
        let texts = [
            ("filelist", format!("{d}.f"), files::filelist(&flow)),
            (
                "sim_filelist",
                format!("{d}.sim.f"),
                t.sim_models.iter().chain(&t.files).map(|f| format!("{f}\n")).collect(),
            ),
            ("fusesoc", format!("{d}.core"), files::fusesoc_core(&flow)),
            ("sdc", format!("{d}.sdc"), files::sdc(&flow)),
            ("orfs", format!("{d}.config.mk"), files::orfs_config(&flow)),
            ("systemrdl", format!("{d}.regs.rdl"), top.regmap.systemrdl(generator)),
            ("regs_markdown", format!("{d}.regs.md"), top.regmap.markdown(generator)),
            ("regs_c_header", format!("{d}_regs.h"), top.regmap.c_header(generator)),
            (
                "regs_json",
                format!("{d}.regs.json"),
                serde_json::to_string_pretty(&top.regmap)
                    .unwrap_or_else(|e| unreachable!("a map serializes: {e}"))
                    + "\n",
            ),
        ];
        for (kind, name, text) in texts {
            flow_names.insert(kind.to_string(), name.clone());
            files.push((name, text.into_bytes()));
        }
        let mut srams: Vec<ManifestSram> = top
            .srams
            .iter()
            .map(|(role, s)| ManifestSram { role: role.clone(), module: s.name(), bits: s.bits() })
            .collect();
        srams.push(ManifestSram { role: "blocks".into(), module: String::new(), bits: block_bits });
        ManifestDieTop {
            top: t.module.clone(),
            verilog: t.files.clone(),
            sim_models: t.sim_models.clone(),
            flow: flow_names,
            ports: t.ports.iter().map(ManifestPort::from).collect(),
            sinks: top.sinks.clone(),
            sources: top.sources.clone(),
            srams,
            sram_bits: total,
            sram_budget_bits: plan.whole.as_ref().and_then(|f| f.sram_budget_kib).map(|k| k * 8192),
        }
    });
    let unavailable = plan
        .unavailable
        .iter()
        .map(|(i, b)| ManifestUnavailable { instance: i.clone(), block: b.to_string() })
        .collect();
    let modules = emitted
        .files
        .iter()
        .chain(&emitted.sim_models)
        .filter_map(|f| {
            let name = f.name.strip_suffix(".v")?.to_string();
            let instantiates = emitted.children.get(&name).cloned().unwrap_or_default();
            let elaborated = emitted.sizes.get(&name).copied().unwrap_or(0);
            let elaborated_bytes = emitted.weights.get(&name).copied().unwrap_or(0);
            Some(ManifestModule { name, file: f.name.clone(), instantiates, elaborated, elaborated_bytes })
        })
        .collect();
    let manifest = Manifest {
        generator: GENERATOR.into(),
        config: config.name.clone(),
        config_source: config.source.clone(),
        die: plan.die.clone(),
        prefix: prefix.to_string(),
        clock: Clock { port: crate::sim::CLOCK_PORT.into(), mhz: config.clock_mhz, edge: "rising".into() },
        reset: ResetInfo::default(),
        blocks,
        unavailable,
        die_top,
        modules,
        files: write::records(&files),
    };
    let top = built.map(|(t, _, _)| t);
    Ok(DieOutput { die: plan.die.clone(), emitted, manifest, files, top })
}

/// Writes the die folders of one run, all or nothing, under the ownership rules of [`write`].
/// With `root`, the folders are the dies below one root folder, which gets a root manifest.
pub fn write_dies(
    config: &DieConfig,
    outputs: &[(&DieOutput, PathBuf)],
    root: Option<&Path>,
) -> Result<(), GenError> {
    let folders: Vec<FolderOutput> = outputs.iter().map(|(o, dir)| o.folder(dir)).collect();
    let spec = write::RootSpec {
        config: config.name.clone(),
        dies: outputs.iter().map(|(o, _)| o.die.clone()).collect(),
    };
    write::write_all(root.map(|r| (r, &spec)), &folders)
}

/// Default output root of a config: `rtl_out/<config>`; die `d` goes to `rtl_out/<config>/<d>`.
pub fn default_root(config: &DieConfig) -> PathBuf {
    PathBuf::from("rtl_out").join(&config.name)
}

/// Default work folder of `vdx synth` for an instance: `rtl_out/<config>-synth/<die>/<instance>`,
/// outside every folder `vdx gen` owns (a `-` never occurs in a config name).
pub fn default_synth_dir(config: &DieConfig, die: &str, instance: &str) -> PathBuf {
    PathBuf::from("rtl_out").join(format!("{}-synth", config.name)).join(die).join(instance)
}

/// The die top of die `die` of `config` (its blocks with their parameters as configured), with
/// its register map: what the die-level co-simulations build.
pub fn build_die_top(config: &DieConfig, die: &str) -> Result<crate::die::DieTop, GenError> {
    let plans = plan(config, &Selection { die: Some(die.to_string()), ..Selection::default() })?;
    let Some(p) = plans.first() else {
        return Err(GenError::Selection(format!("die {die} has nothing to generate")));
    };
    let fabric = p.whole.clone().unwrap_or_default();
    let modules: Vec<crate::hdl::Module> =
        p.units.iter().map(|u| u.params.build()).collect::<Result<_, _>>()?;
    die_top_of(config, die, &fabric, &p.units, &modules)
}

/// The package top of `config` (every die that has a die top, its links wired) with the die
/// tops, in the config's die order.
pub fn build_package(
    config: &DieConfig,
) -> Result<(crate::hdl::Module, Vec<(String, crate::die::DieTop)>), GenError> {
    let mut tops = Vec::new();
    for d in &config.dies {
        tops.push((d.name.clone(), build_die_top(config, &d.name)?));
    }
    let refs: Vec<(&str, &crate::die::DieTop)> = tops.iter().map(|(d, t)| (d.as_str(), t)).collect();
    let module = package_of(config, &refs)?;
    Ok((module, tops))
}

/// The package top of `config` around die tops already built.
fn package_of(
    config: &DieConfig,
    tops: &[(&str, &crate::die::DieTop)],
) -> Result<crate::hdl::Module, GenError> {
    crate::die::package::build(&config.name, tops, &config.links)
        .map_err(|e| GenError::Selection(format!("package: {e}")))
}

/// Folder (below the root) and file stem of the package top.
pub const PACKAGE: &str = "package";

/// The package folder of a whole-config run whose die folders are `dies`: the package top
/// ([`crate::die::package`]) and filelists `package.f` (synthesis) and `package.sim.f` (with
/// the SRAM models) that name the die folders' files as `../<die>/<file>`, each module once, so
/// `verilator -F package/package.sim.f --top-module <package top>` elaborates the whole package.
/// Its manifest lists no modules: `vdx lint` lints each die in its own folder, and the package
/// top, which only wires die tops, is elaborated whole by the die tests.
pub fn build_package_output(
    config: &DieConfig,
    dies: &[DieOutput],
    prefix: &str,
) -> Result<DieOutput, GenError> {
    let tops =
        dies.iter()
            .map(|d| {
                d.top.as_ref().map(|t| (d.die.as_str(), t)).ok_or_else(|| {
                    GenError::Selection(format!("package: die {} has no die top to wire", d.die))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let module = package_of(config, &tops)?;
    let mut design = Design::new().with_prefix(prefix);
    design.add_top(&module);
    let emitted = design.emit();
    if !emitted.issues.is_empty() {
        return Err(GenError::Selection(format!("package: {}", emitted.issues.join("; "))));
    }
    let top = emitted.tops.last().unwrap_or_else(|| unreachable!("one top was added")).module.clone();
    let file = format!("{top}.v");
    let text = emitted
        .files
        .iter()
        .find(|f| f.name == file)
        .map(|f| f.text.clone())
        .unwrap_or_else(|| unreachable!("the top has a file"));
    let list = |kind: &str| -> Result<String, GenError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = String::new();
        for d in dies {
            let t = d.manifest.die_top.as_ref().ok_or_else(|| {
                GenError::Selection(format!("package: die {} has no die top to wire", d.die))
            })?;
            let name = t.flow.get(kind).unwrap_or_else(|| unreachable!("die tops write a {kind}"));
            let body = d.files.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()).unwrap_or_default();
            for line in String::from_utf8_lossy(&body).lines().filter(|l| !l.trim().is_empty()) {
                if seen.insert(line.to_string()) {
                    out.push_str(&format!("../{}/{line}\n", d.die));
                }
            }
        }
        out.push_str(&format!("{file}\n"));
        Ok(out)
    };
    let files = vec![
        (file.clone(), text.into_bytes()),
        (format!("{PACKAGE}.f"), list("filelist")?.into_bytes()),
        (format!("{PACKAGE}.sim.f"), list("sim_filelist")?.into_bytes()),
    ];
    let manifest = Manifest {
        generator: GENERATOR.into(),
        config: config.name.clone(),
        config_source: config.source.clone(),
        die: PACKAGE.into(),
        prefix: prefix.to_string(),
        clock: Clock { port: crate::sim::CLOCK_PORT.into(), mhz: config.clock_mhz, edge: "rising".into() },
        reset: ResetInfo::default(),
        blocks: Vec::new(),
        unavailable: Vec::new(),
        die_top: None,
        modules: Vec::new(),
        files: write::records(&files),
    };
    Ok(DieOutput { die: PACKAGE.into(), emitted, manifest, files, top: None })
}

/// The die top around `units`, whose built modules are `modules`.
fn die_top_of(
    config: &DieConfig,
    die: &str,
    fabric: &crate::config::Fabric,
    units: &[Unit],
    modules: &[crate::hdl::Module],
) -> Result<crate::die::DieTop, GenError> {
    let refs: Vec<crate::die::UnitRef<'_>> = units
        .iter()
        .zip(modules)
        .map(|(u, module)| crate::die::UnitRef { instance: &u.instance, block: u.block, module })
        .collect();
    crate::die::build(&config.name, die, fabric, &refs)
        .map_err(|e| GenError::Selection(format!("die {die}: {e}")))
}
