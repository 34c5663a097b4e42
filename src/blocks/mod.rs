//! The blocks vdx generates. Each implemented block lives in its own folder with `mod.rs`
//! (parameters, ports, latency), `rtl.rs` (builder), `golden.rs` (bit-exact model) and `tb.rs`
//! (stimulus and co-simulation against the model).
//!
//! [`REGISTRY`] lists every block of VDX-1, including the ones not implemented yet: configs may
//! name those, and vdx reports them as not available rather than generating a stub.

pub mod attention;
pub mod latent;
pub mod noise_buffer;
pub mod sgu;
pub mod softmax;
pub mod systolic;
pub mod tcu;
pub mod temporal;
pub mod ucie;
pub mod walker;
pub mod xoshiro;

use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::path::PathBuf;

/// One parameter of a block, for `vdx blocks` and for error messages.
#[derive(Debug, Clone, Serialize)]
pub struct ParamInfo {
    /// Field name in the config.
    pub name: &'static str,
    /// What it means.
    pub doc: &'static str,
    /// Default value, as TOML.
    pub default: String,
    /// Allowed values, human readable (e.g. `0..=1023`).
    pub range: &'static str,
}

/// A parameter value that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// Field name (relative to the block's table).
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Records an issue for `field` when `value` is outside `lo..=hi`.
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    issues: &mut Vec<FieldIssue>,
    field: &str,
    value: T,
    lo: T,
    hi: T,
) {
    if value < lo || value > hi {
        issues.push(FieldIssue {
            field: field.into(),
            message: format!("{value} is out of range {lo}..={hi}"),
        });
    }
}

/// Records an issue for `field` unless `value` is a power of two in `lo..=hi`.
pub fn check_pow2(issues: &mut Vec<FieldIssue>, field: &str, value: u64, lo: u64, hi: u64) {
    if !value.is_power_of_two() || !(lo..=hi).contains(&value) {
        issues.push(FieldIssue {
            field: field.into(),
            message: format!("{value} must be a power of two in {lo}..={hi}"),
        });
    }
}

/// How eagerly a testbench's host offers beats on its valid/ready inputs and takes results
/// (probabilities per cycle).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Chance that an idle input stream raises `valid`.
    pub valid: f64,
    /// Chance that the result stream's `ready` is high.
    pub ready: f64,
}

impl Pace {
    /// Every stream always valid, results always taken: the throughput case.
    pub const FULL: Pace = Pace { valid: 1.0, ready: 1.0 };
    /// Random gaps and backpressure.
    pub const RANDOM: Pace = Pace { valid: 0.7, ready: 0.6 };
}

/// A latency a block states: `cycles` from an event on `from` to its effect on `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Latency {
    /// Clock cycles.
    pub cycles: u64,
    /// Where it starts (a port and what happens there).
    pub from: String,
    /// Where it ends.
    pub to: String,
}

/// How long and with what seed a co-simulation runs.
#[derive(Debug, Clone)]
pub struct CosimRun {
    /// Cycles to simulate.
    pub cycles: u64,
    /// Seed of the random stimulus; printed on failure so the run can be repeated.
    pub seed: u64,
    /// Where to write a VCD of the whole run when it passes (a failing run writes its waveform to
    /// `$VDX_VCD_DIR` whatever this says).
    pub trace: Option<PathBuf>,
}

/// Result of a passing co-simulation.
#[derive(Debug, Clone, Serialize)]
pub struct CosimReport {
    /// Top module simulated.
    pub module: String,
    /// Cycles simulated.
    pub cycles: u64,
    /// Output values compared against the golden model.
    pub checks: u64,
    /// Seconds spent building (or loading the cached) simulation model.
    pub build_seconds: f64,
    /// Simulated cycles per wall-clock second, compare included.
    pub cycles_per_second: f64,
    /// What part of the configured block ran, when not all of it (empty: all of it).
    pub scope: String,
}

/// Co-simulates `module` under Verilator (cached build) against `bench` for `run.cycles` cycles.
/// A divergence comes back as [`SimError::Mismatch`] with a waveform of the failing run. With
/// `run.trace`, a passing run's waveform is written there (by replaying the recorded inputs); a run
/// too long for the recording fails with [`SimError::RecordingIncomplete`].
pub fn cosim_verilator(
    module: Result<Module, HdlError>,
    bench: &mut dyn crate::sim::check::CycleModel,
    run: CosimRun,
) -> Result<CosimReport, SimError> {
    use crate::sim::check::{CheckError, run_checked};
    let module = module.map_err(|e| SimError::Design(e.to_string()))?;
    let src = crate::hdl::Design::single(&module).emit().sim_source(0);
    let t0 = std::time::Instant::now();
    let mut dut = crate::sim::verilator::VerilatorDut::build(&src)?;
    let build_seconds = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let checks = match run_checked(&mut dut, bench, run.cycles, run.seed) {
        Ok(n) => n,
        Err(CheckError::Sim(e)) => return Err(e),
        Err(CheckError::Diverged(d)) => return Err(dut.mismatch_at(run.seed, d.cycle, d.to_string())),
    };
    let cycles_per_second = run.cycles as f64 / t1.elapsed().as_secs_f64().max(1e-9);
    if let Some(path) = &run.trace {
        dut.write_run_vcd(path)?;
    }
    Ok(CosimReport {
        module: src.top,
        cycles: run.cycles,
        checks,
        build_seconds,
        cycles_per_second,
        scope: String::new(),
    })
}

/// The typed parameters of an implemented block, and what can be done with them.
pub trait BlockParams: Serialize + DeserializeOwned + Default + Clone + std::fmt::Debug + 'static {
    /// Block name used in configs and on the command line.
    const BLOCK: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Every parameter with its default and range.
    fn describe() -> Vec<ParamInfo>;
    /// Range checks; an empty list means valid.
    fn validate(&self) -> Vec<FieldIssue>;
    /// Builds the block's top module.
    fn build(&self) -> Result<Module, HdlError>;
    /// Co-simulates the block under Verilator against its golden model.
    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError>;
    /// The latency the block states, if it has a fixed one.
    fn latency(&self) -> Option<Latency> {
        None
    }
}

/// A block with validated parameters (object-safe view of [`BlockParams`]).
pub trait Elaborated: std::fmt::Debug {
    /// Block name.
    fn block(&self) -> &'static str;
    /// Effective parameters (defaults filled in), as a TOML table.
    fn params_table(&self) -> toml::Table;
    /// Builds the block's top module.
    fn build(&self) -> Result<Module, HdlError>;
    /// Co-simulates under Verilator against the golden model.
    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError>;
    /// The latency the block states, if it has a fixed one.
    fn latency(&self) -> Option<Latency>;
    /// One-line description.
    fn summary(&self) -> &'static str;
}

impl<P: BlockParams> Elaborated for P {
    fn block(&self) -> &'static str {
        P::BLOCK
    }

    fn params_table(&self) -> toml::Table {
        match toml::Table::try_from(self) {
            Ok(t) => t,
            Err(e) => unreachable!("parameters of {} always serialize to a table: {e}", P::BLOCK),
        }
    }

    fn build(&self) -> Result<Module, HdlError> {
        BlockParams::build(self)
    }

    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError> {
        BlockParams::cosim(self, run)
    }

    fn latency(&self) -> Option<Latency> {
        BlockParams::latency(self)
    }

    fn summary(&self) -> &'static str {
        P::SUMMARY
    }
}

/// Turns a block's raw config table into validated parameters.
pub trait Kind: Sync {
    /// Parameter descriptions.
    fn describe(&self) -> Vec<ParamInfo>;
    /// Parses and validates `table` (without the `block` key).
    fn elaborate(&self, table: &toml::Table) -> Result<Box<dyn Elaborated>, Vec<FieldIssue>>;
}

/// [`Kind`] for any [`BlockParams`] type.
pub struct KindOf<P>(PhantomData<fn() -> P>);

impl<P: BlockParams> Kind for KindOf<P> {
    fn describe(&self) -> Vec<ParamInfo> {
        P::describe()
    }

    fn elaborate(&self, table: &toml::Table) -> Result<Box<dyn Elaborated>, Vec<FieldIssue>> {
        let value = toml::Value::Table(table.clone());
        let params: P = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let message = e.inner().to_string().replace('\n', " ").trim().to_string();
            // serde lists the parameters itself for an unknown one; say them once.
            let message = if message.contains("unknown field") {
                message
            } else {
                let known: Vec<&str> = P::describe().iter().map(|p| p.name).collect();
                format!("{message} (parameters: {})", known.join(", "))
            };
            vec![FieldIssue { field, message }]
        })?;
        let issues = params.validate();
        if issues.is_empty() { Ok(Box::new(params)) } else { Err(issues) }
    }
}

/// One block of VDX-1 and whether this version of vdx can generate it.
pub struct BlockEntry {
    /// Block name.
    pub name: &'static str,
    /// One-line description.
    pub summary: &'static str,
    /// `None` while the block is not implemented.
    pub kind: Option<&'static dyn Kind>,
    /// While not implemented: the parameters configs may already give it, with their TOML type
    /// (`integer`, `string`, `boolean`, `float`); anything else is an error.
    pub planned: &'static [(&'static str, &'static str)],
    /// The block's datasheet: the module docs of its `mod.rs` (`vdx doc <block>`).
    pub datasheet: &'static str,
}

/// Every block of VDX-1 vdx knows about, implemented or not.
pub static REGISTRY: &[BlockEntry] = &[
    BlockEntry {
        name: xoshiro::XoshiroLaneParams::BLOCK,
        summary: xoshiro::XoshiroLaneParams::SUMMARY,
        kind: Some(&KindOf::<xoshiro::XoshiroLaneParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("xoshiro/mod.rs"),
    },
    BlockEntry {
        name: sgu::SguParams::BLOCK,
        summary: sgu::SguParams::SUMMARY,
        kind: Some(&KindOf::<sgu::SguParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("sgu/mod.rs"),
    },
    BlockEntry {
        name: noise_buffer::NoiseBufferParams::BLOCK,
        summary: noise_buffer::NoiseBufferParams::SUMMARY,
        kind: Some(&KindOf::<noise_buffer::NoiseBufferParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("noise_buffer/mod.rs"),
    },
    BlockEntry {
        name: systolic::SystolicParams::BLOCK,
        summary: systolic::SystolicParams::SUMMARY,
        kind: Some(&KindOf::<systolic::SystolicParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("systolic/mod.rs"),
    },
    BlockEntry {
        name: softmax::OnlineSoftmaxParams::BLOCK,
        summary: softmax::OnlineSoftmaxParams::SUMMARY,
        kind: Some(&KindOf::<softmax::OnlineSoftmaxParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("softmax/mod.rs"),
    },
    BlockEntry {
        name: walker::StrideWalkerParams::BLOCK,
        summary: walker::StrideWalkerParams::SUMMARY,
        kind: Some(&KindOf::<walker::StrideWalkerParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("walker/mod.rs"),
    },
    BlockEntry {
        name: latent::LatentBufferParams::BLOCK,
        summary: latent::LatentBufferParams::SUMMARY,
        kind: Some(&KindOf::<latent::LatentBufferParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("latent/mod.rs"),
    },
    BlockEntry {
        name: attention::SpatialAttentionParams::BLOCK,
        summary: attention::SpatialAttentionParams::SUMMARY,
        kind: Some(&KindOf::<attention::SpatialAttentionParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("attention/mod.rs"),
    },
    BlockEntry {
        name: temporal::TemporalAttentionParams::BLOCK,
        summary: temporal::TemporalAttentionParams::SUMMARY,
        kind: Some(&KindOf::<temporal::TemporalAttentionParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("temporal/mod.rs"),
    },
    BlockEntry {
        name: tcu::TimestepCondParams::BLOCK,
        summary: tcu::TimestepCondParams::SUMMARY,
        kind: Some(&KindOf::<tcu::TimestepCondParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("tcu/mod.rs"),
    },
    BlockEntry {
        name: "vae_decoder",
        summary: "causal 3D VAE decoder engine",
        kind: None,
        planned: &[],
        datasheet: "",
    },
    BlockEntry {
        name: ucie::UcieAdapterParams::BLOCK,
        summary: ucie::UcieAdapterParams::SUMMARY,
        kind: Some(&KindOf::<ucie::UcieAdapterParams>(PhantomData)),
        planned: &[],
        datasheet: include_str!("ucie/mod.rs"),
    },
];

/// Looks a block up by name.
pub fn find(name: &str) -> Option<&'static BlockEntry> {
    REGISTRY.iter().find(|b| b.name == name)
}

/// The datasheet of a block: the `//!` lines of its `mod.rs`, as text.
pub fn datasheet(entry: &BlockEntry) -> String {
    entry
        .datasheet
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Names of all blocks, for error messages.
pub fn names() -> String {
    REGISTRY.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}
