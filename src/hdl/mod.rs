//! The embedded HDL: a run-time IR of modules, signals and registers, built by running Rust code,
//! and its Verilog emitter.
//!
//! ```
//! use vdx::hdl::{Design, ModuleBuilder, Reset};
//! let m = ModuleBuilder::new("vdx_acc");
//! let en = m.input("en_i", 1);
//! let x = m.input("x_i", 8);
//! let acc = m.reg("acc", 8, Reset::Zero);
//! m.next_when(&acc, &en, &acc.add(&x));
//! m.output("acc_o", &acc);
//! let module = m.finish().expect("a well-formed module");
//! let out = Design::single(&module).emit();
//! assert!(out.files[0].text.contains("acc_q <= acc_d;"));
//! ```

mod bits;
mod builder;
mod emit;
mod files;
pub mod names;

pub use bits::{Bits, index_bits, value_bits};
pub use builder::{BuildIssue, Conn, HdlError, Instance, Memory, Module, ModuleBuilder, Reset, Signal, cat};
pub use emit::{Design, Emitted, EmittedTop, GENERATOR, HASH_DIGITS, HIER_BLOCK_MIN_INSTANCES, SPDX_LINE};
pub use files::{SimSource, VERILATOR_CONTROL_SUFFIX, VerilogFile};

/// Direction of a module port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortDir {
    /// Driven from outside the module.
    Input,
    /// Driven by the module.
    Output,
}

/// A port as seen from outside a module.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// Port name (`_i`/`_o` suffixed by convention).
    pub name: String,
    /// Direction.
    pub dir: PortDir,
    /// Width in bits, at least 1.
    pub width: u32,
    /// Whether the value is two's complement.
    pub signed: bool,
}

#[cfg(test)]
mod tests;
