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
