//! How a block's ports meet its die: which become die-edge ports, CSR pulses or sticky flags,
//! which form a memory read port that a DMA channel drains, and which block gets a UCIe
//! protocol-layer bridge. Everything else follows the general
//! rules of [`super`]: a `cmd` stream becomes CSR command registers, other streams become switch
//! endpoints, other inputs read/write registers, other outputs read-only registers.

/// A memory read port of a block: `en` and `addr` in, `data` out one cycle later.
#[derive(Debug, Clone, Copy)]
pub struct ReadPort {
    /// Read enable input.
    pub en: &'static str,
    /// Address input.
    pub addr: &'static str,
    /// Data output (valid the cycle after the enable).
    pub data: &'static str,
}

/// What is special about one block on a die.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binding {
    /// Ports that go to the die edge as `<instance>_<port>` (those that talk to something
    /// outside the die, such as a PHY).
    pub edge: &'static [&'static str],
    /// The die puts a UCIe protocol-layer bridge on the block's FDI
    /// ([`crate::blocks::ucie::bridge::port`]): what the die sees is `vdx_ucie_port`, with
    /// streams `tx` and `rx` on the switch.
    pub ucie_port: bool,
    /// Inputs that take one-cycle pulses (a CSR `pulse` register each).
    pub pulses: &'static [&'static str],
    /// One-cycle flag outputs, kept as sticky CSR flags (`w1c`).
    pub sticky: &'static [&'static str],
    /// A read port drained by a DMA read channel `<instance>_rd`.
    pub read_port: Option<ReadPort>,
}

/// The binding of `block`.
pub fn binding(block: &str) -> Binding {
    match block {
        "ucie_adapter" => Binding {
            edge: &crate::blocks::ucie::bridge::EDGE,
            ucie_port: true,
            sticky: &["rx_overflow_o", "rx_error_o"],
            ..Binding::default()
        },
        "xoshiro_lane" => Binding { pulses: &["load_i"], ..Binding::default() },
        "sgu" => Binding { pulses: &["seed_valid_i"], ..Binding::default() },
        "noise_buffer" => Binding {
            pulses: &["release_i"],
            read_port: Some(ReadPort { en: "rd_en_i", addr: "rd_addr_i", data: "rd_data_o" }),
            ..Binding::default()
        },
        "timestep_cond" => {
            Binding { sticky: &["load_range_error_o", "cond_range_error_o"], ..Binding::default() }
        }
        _ => Binding::default(),
    }
}
