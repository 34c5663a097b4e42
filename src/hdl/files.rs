//! What the emitter hands to simulators and flows: Verilog files and the sources of one top.
//!
//! These types live in the HDL, below the simulators, so that the emitter never depends on
//! `sim`; `sim` re-exports them for its users.

use super::PortSpec;

/// One Verilog source file of a design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerilogFile {
    /// File name without directory, e.g. `vdx_xoshiro_lane.v`.
    pub name: String,
    /// Full file contents.
    pub text: String,
}

/// Suffix of Verilator control files in a [`SimSource`]: Verilator reads them, other simulators
/// skip them.
pub const VERILATOR_CONTROL_SUFFIX: &str = ".vlt";

impl VerilogFile {
    /// Whether this is a Verilator control file rather than Verilog.
    pub fn is_verilator_control(&self) -> bool {
        self.name.ends_with(VERILATOR_CONTROL_SUFFIX)
    }
}

/// Everything a simulator needs to build a model of one top module.
#[derive(Debug, Clone)]
pub struct SimSource {
    /// Name of the top module.
    pub top: String,
    /// All files of the design (top and every module below it, behavioural models of black
    /// boxes included), in filelist order, possibly followed by Verilator control files (see
    /// [`VerilogFile::is_verilator_control`]).
    pub files: Vec<VerilogFile>,
    /// The top module's ports, in declaration order.
    pub ports: Vec<PortSpec>,
}
