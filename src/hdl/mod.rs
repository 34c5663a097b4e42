//! The embedded HDL: a run-time IR of modules, signals and registers, built by running Rust code,
//! and its Verilog emitter.

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
