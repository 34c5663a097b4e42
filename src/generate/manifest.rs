//! `manifest.json`: what a die folder holds, for tools and for vdx itself (it replaces only the
//! files a previous manifest lists, with their hashes, and lints the modules it lists).

use super::write::FileRecord;
use crate::hdl::{PortDir, PortSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a die folder contains.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Generator and version.
    pub generator: String,
    /// Config name.
    pub config: String,
    /// Config file.
    pub config_source: String,
    /// Die name.
    pub die: String,
    /// Prefix of every module name (empty for none).
    pub prefix: String,
    /// The clock every block's registers use.
    pub clock: Clock,
    /// The reset every register has.
    pub reset: ResetInfo,
    /// Generated instances.
    pub blocks: Vec<ManifestBlock>,
    /// Instances whose block is not available yet.
    pub unavailable: Vec<ManifestUnavailable>,
    /// The die top, when the whole die was generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub die_top: Option<ManifestDieTop>,
    /// Every distinct module in the folder: its file and the modules it instantiates.
    pub modules: Vec<ManifestModule>,
    /// Every file vdx wrote into the folder except the manifest, with its SHA-256.
    pub files: Vec<FileRecord>,
}

/// The clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Clock {
    /// Port name.
    pub port: String,
    /// Target frequency (the config's `clock_mhz`).
    pub mhz: f64,
    /// Active edge.
    pub edge: String,
}

/// The reset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetInfo {
    /// Port name.
    pub port: String,
    /// `low`: registers are in reset while the port is 0.
    pub active: String,
    /// `async`: the reset acts without a clock edge (deassert it synchronously).
    pub kind: String,
}

impl Default for ResetInfo {
    fn default() -> Self {
        Self { port: crate::sim::RESET_PORT.into(), active: "low".into(), kind: "async".into() }
    }
}

/// One generated instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestBlock {
    /// Instance name.
    pub instance: String,
    /// Block name.
    pub block: String,
    /// Top module.
    pub top: String,
    /// Verilog files of the top, dependencies first.
    pub verilog: Vec<String>,
    /// Flow files of this instance: `filelist`, `fusesoc`, `sdc`, `orfs`, `c_header`.
    pub flow: BTreeMap<String, String>,
    /// Effective parameters (defaults filled in), as in the config.
    pub params: toml::Table,
    /// Every parameter of the generated top as its Verilog header states it, derived values
    /// included (e.g. `systolic_ws`'s `acc_width` when the config leaves it 0).
    pub derived: BTreeMap<String, serde_json::Value>,
    /// Ports of the top.
    pub ports: Vec<ManifestPort>,
    /// Latency where the block states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<crate::blocks::Latency>,
}

/// The die top (see [`crate::die`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestDieTop {
    /// Top module.
    pub top: String,
    /// Verilog files of the top, dependencies first (SRAM macros are black boxes: not listed).
    pub verilog: Vec<String>,
    /// Simulation models of its SRAM macros (under `sim_models/`).
    pub sim_models: Vec<String>,
    /// Flow files: `filelist`, `sim_filelist`, `fusesoc`, `sdc`, `orfs`, `systemrdl`, `regs_markdown`,
    /// `regs_c_header`, `regs_json`.
    pub flow: BTreeMap<String, String>,
    /// Ports of the top.
    pub ports: Vec<ManifestPort>,
    /// Switch sinks, in route-register order.
    pub sinks: Vec<String>,
    /// Switch sources; source `i` is route value `i + 1`.
    pub sources: Vec<String>,
    /// SRAM macros.
    pub srams: Vec<ManifestSram>,
    /// SRAM bits on the die: the macros plus the blocks' own memories.
    pub sram_bits: u64,
    /// The config's budget in bits, if it sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sram_budget_bits: Option<u64>,
}

/// One SRAM macro of a die top.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestSram {
    /// `scratchpad`, `weight_sram` or `blocks` (the blocks' own memories, summed).
    pub role: String,
    /// Macro (black box) name; empty for `blocks`.
    pub module: String,
    /// Bits.
    pub bits: u64,
}

/// One port of a top.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestPort {
    /// Port name.
    pub name: String,
    /// `input` or `output`.
    pub direction: String,
    /// Width in bits.
    pub width: u32,
    /// Two's complement.
    pub signed: bool,
}

impl From<&PortSpec> for ManifestPort {
    fn from(p: &PortSpec) -> Self {
        let direction = match p.dir {
            PortDir::Input => "input",
            PortDir::Output => "output",
        };
        Self { name: p.name.clone(), direction: direction.into(), width: p.width, signed: p.signed }
    }
}

/// One module file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestModule {
    /// Module name.
    pub name: String,
    /// File that defines it.
    pub file: String,
    /// Distinct modules it instantiates.
    pub instantiates: Vec<String>,
    /// Module instances in its elaborated hierarchy, itself included (0 in manifests written
    /// before this field existed: unknown).
    #[serde(default)]
    pub elaborated: u64,
    /// Bytes of Verilog in its elaborated hierarchy (0: unknown).
    #[serde(default)]
    pub elaborated_bytes: u64,
}

/// An instance that was not generated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestUnavailable {
    /// Instance name.
    pub instance: String,
    /// Block name.
    pub block: String,
}

/// The manifest of a folder that holds several die folders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootManifest {
    /// Generator and version.
    pub generator: String,
    /// Config name.
    pub config: String,
    /// Die folders below it that vdx wrote.
    pub dies: Vec<String>,
}

impl Manifest {
    /// Reads a die manifest; `None` for anything else (a root manifest, another tool's file).
    pub fn read(dir: &std::path::Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(super::write::MANIFEST)).ok()?;
        serde_json::from_str::<Self>(&text).ok().filter(|m| m.generator.starts_with("vdx "))
    }
}

/// One distinct module to lint: its name, the files it needs (its own last), and the folders
/// that hold it.
#[derive(Debug, Clone)]
pub struct LintTarget {
    /// Module name.
    pub module: String,
    /// Its file and the files of every module below it, dependencies first.
    pub files: Vec<std::path::PathBuf>,
    /// SHA-256 of each of `files`.
    pub shas: Vec<String>,
    /// Folders holding this module with this content.
    pub folders: Vec<std::path::PathBuf>,
    /// The other targets linted with this one because they are below it (see [`lint_roots`]).
    pub covers: Vec<String>,
    /// Module instances in its elaborated hierarchy (0: unknown).
    pub elaborated: u64,
    /// Bytes of Verilog in its elaborated hierarchy (0: unknown).
    pub elaborated_bytes: u64,
    /// The modules it instantiates and their files.
    pub children: Vec<(String, std::path::PathBuf)>,
    /// A die top: it is linted against port stubs of the modules it instantiates, so every block
    /// top stays a target of its own and a broken file is blamed only on the modules that use it
    /// (the whole package is elaborated in one run by the die tests).
    pub assembly: bool,
}

/// Hierarchies larger than this many module instances are linted in pieces: Verilator
/// elaborates every instance, and 64 attention lanes of two 128 × 128 meshes (2.2 M instances)
/// need more memory than a machine has, while one lane (34 k) takes 3 GB. Such a target is
/// linted against port stubs of the modules it instantiates, which are linted on their own.
pub const LINT_MAX_INSTANCES: u64 = 100_000;

/// Hierarchies with more elaborated Verilog than this are linted in pieces too: the 256-lane TAE
/// (211 MB elaborated in 59 k instances) took Verilator past 11 GB, while one SAE lane (86 MB)
/// lints whole in 3 GB.
pub const LINT_MAX_BYTES: u64 = 128 << 20;

impl LintTarget {
    /// Whether the target is linted against port stubs of its children (see
    /// [`LINT_MAX_INSTANCES`] and [`LINT_MAX_BYTES`]).
    pub fn in_pieces(&self) -> bool {
        self.assembly || self.elaborated > LINT_MAX_INSTANCES || self.elaborated_bytes > LINT_MAX_BYTES
    }
}

/// The targets no other target instantiates, each listing the targets below it. Linting a module
/// elaborates and checks every module below it, so a 128×128 mesh is linted once inside the
/// array rather than once more on its own. Module names are global (same name, same content),
/// so a module below a root is the one its own target would have linted.
pub fn lint_roots(targets: Vec<LintTarget>) -> Vec<LintTarget> {
    // Modules below a target: its files but its own (the last), by file name.
    let below = |t: &LintTarget| -> Vec<String> {
        if t.in_pieces() {
            return Vec::new();
        }
        let n = t.files.len().saturating_sub(1);
        t.files[..n].iter().filter_map(|f| Some(f.file_stem()?.to_string_lossy().into_owned())).collect()
    };
    // A target is covered by another that shares a folder with it and has it below: in one folder
    // both resolve modules from the same files, and a target's key is its whole closure, so what
    // is checked there is the target itself. Instantiation within a folder has no cycles, so
    // every chain of covers ends at a target that is linted.
    let covered = |t: &LintTarget| {
        targets.iter().any(|r| {
            !std::ptr::eq(r, t)
                && r.folders.iter().any(|f| t.folders.contains(f))
                && below(r).contains(&t.module)
        })
    };
    targets
        .iter()
        .filter(|t| !covered(t))
        .map(|t| {
            let mut covers = below(t);
            covers.sort();
            covers.dedup();
            LintTarget { covers, ..t.clone() }
        })
        .collect()
}

/// Every distinct module of the vdx die folders at or below `root` (a module with the same name
/// and the same file content in several folders is one target). Only files manifests list are
/// read, so synthesis netlists or a user's files next to them are never linted.
pub fn lint_targets(root: &std::path::Path) -> std::io::Result<Vec<LintTarget>> {
    let mut folders = Vec::new();
    collect_die_folders(root, &mut folders)?;
    // Keyed by the name and the hashes of every file the module needs: a hand-edited file below
    // it makes its folder's copy a target of its own.
    let mut targets: Vec<(String, Vec<String>, LintTarget)> = Vec::new();
    for dir in folders {
        let Some(m) = Manifest::read(&dir) else { continue };
        let by_name: BTreeMap<&str, &ManifestModule> =
            m.modules.iter().map(|x| (x.name.as_str(), x)).collect();
        for module in &m.modules {
            let mut files = Vec::new();
            closure(module, &by_name, &dir, &mut files);
            let shas: Vec<String> = files.iter().map(|f| file_sha(f)).collect();
            match targets.iter_mut().find(|(n, s, _)| *n == module.name && *s == shas) {
                Some((_, _, t)) => t.folders.push(dir.clone()),
                None => targets.push((
                    module.name.clone(),
                    shas.clone(),
                    LintTarget {
                        module: module.name.clone(),
                        files,
                        shas,
                        folders: vec![dir.clone()],
                        covers: Vec::new(),
                        elaborated: module.elaborated,
                        elaborated_bytes: module.elaborated_bytes,
                        children: module
                            .instantiates
                            .iter()
                            .filter_map(|c| by_name.get(c.as_str()).map(|x| (c.clone(), dir.join(&x.file))))
                            .collect(),
                        assembly: m.die_top.as_ref().is_some_and(|d| d.top == module.name),
                    },
                )),
            }
        }
    }
    Ok(targets.into_iter().map(|(_, _, t)| t).collect())
}

/// SHA-256 of a file's bytes (of nothing when it cannot be read: lint then reports the file).
fn file_sha(path: &std::path::Path) -> String {
    super::write::sha256_hex(&std::fs::read(path).unwrap_or_default())
}

fn closure(
    m: &ManifestModule,
    by_name: &BTreeMap<&str, &ManifestModule>,
    dir: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
) {
    for child in &m.instantiates {
        if let Some(c) = by_name.get(child.as_str()) {
            closure(c, by_name, dir, out);
        }
    }
    let path = dir.join(&m.file);
    if !out.contains(&path) {
        out.push(path);
    }
}

fn collect_die_folders(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if Manifest::read(dir).is_some() {
        out.push(dir.to_path_buf());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if e.file_type()?.is_dir() && !hidden {
            collect_die_folders(&e.path(), out)?;
        }
    }
    Ok(())
}
