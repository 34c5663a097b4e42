//! [`SynthError`]: why synthesis or timing could not produce a report.

use super::{CLOCK_PORT, LIBERTY_PACKAGE};
use std::path::PathBuf;

/// Why synthesis or timing could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A tool is not installed.
    #[error("{tool} not found on PATH: install it with `apt-get install {package}`")]
    ToolMissing {
        /// Executable name.
        tool: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// The Liberty file does not exist.
    #[error(
        "Liberty file {path} not found (the default OSU 0.18 µm library comes from \
         `apt-get install {LIBERTY_PACKAGE}`)",
        path = path.display()
    )]
    LibertyMissing {
        /// The path given in [`SynthOptions::liberty`](super::SynthOptions::liberty).
        path: PathBuf,
    },
    /// File system error, with the path it concerns.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A path that a generated script could not carry safely.
    #[error("cannot use {path} in a {language} script: {reason}", path = path.display())]
    BadPath {
        /// The offending path.
        path: PathBuf,
        /// `"Yosys"` or `"Tcl"`.
        language: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A top name that is not a plain Verilog identifier (it goes into both scripts).
    #[error("top module name `{0}` is not a plain Verilog identifier ([A-Za-z_][A-Za-z0-9_$]*)")]
    BadTop(String),
    /// A clock frequency that is not a positive finite number.
    #[error("clock frequency {0} MHz is not a positive finite number")]
    BadClock(f64),
    /// A drive cell or load ABC cannot be given (it goes into ABC's constraint file).
    #[error(
        "ABC constraint: drive cell `{cell}` must be a plain cell name and the load {load} a non-negative number"
    )]
    BadConstraint {
        /// The drive cell asked for.
        cell: String,
        /// The output load asked for.
        load: f64,
    },
    /// No Verilog files were given.
    #[error("no Verilog files given")]
    NoFiles,
    /// A tool ran and failed.
    #[error("{tool} failed ({status}) running `{command}` (full log: {log}):\n{output}", log = log.display())]
    ToolFailed {
        /// Executable name.
        tool: &'static str,
        /// The argument vector, joined for display only (it is never run through a shell).
        command: String,
        /// Exit status, or what showed the failure when the status did not.
        status: String,
        /// The tail of the tool's output.
        output: String,
        /// Where the whole output is.
        log: PathBuf,
    },
    /// Cells Yosys could not map onto the Liberty (such as latches); their area is unknown.
    #[error(
        "Yosys left cells the Liberty does not provide: {}; a design with latches or other \
         unmappable storage cannot be costed",
        cells.join(", ")
    )]
    Unmapped {
        /// Yosys internal cell types with their counts, e.g. `$_DLATCH_P_ ×1`.
        cells: Vec<String>,
    },
    /// The design has flip-flops but no `clk_i` port, so no clock could be defined.
    #[error(
        "`{top}` has {flops} flip-flop(s) but no `{CLOCK_PORT}` port: its register paths would be unconstrained"
    )]
    NoClock {
        /// The top module.
        top: String,
        /// Flip-flops found after mapping.
        flops: u64,
    },
    /// [`stage_timing`](super::stage_timing) found no netlist to time.
    #[error("{path} not found: run `synthesize` into this work directory first", path = path.display())]
    NoNetlist {
        /// The netlist file that is missing (`<work_dir>/netlist.v`, or `<work_dir>/netlist.json`,
        /// which a `synthesize` of an older vdx did not write).
        path: PathBuf,
    },
    /// A report or netlist that did not have the expected shape.
    #[error("cannot parse {file}: expected {expected}", file = file.display())]
    Parse {
        /// The report or netlist file.
        file: PathBuf,
        /// What was expected (a line, or the part of the JSON netlist that was not understood).
        expected: String,
    },
}
