//! Die tops: one structural module per die of a config, `vdx_<config>_<die>_<hash>`, that a SoC
//! or package integrator instantiates, programs over AXI4-Lite and simulates.
//!
//! # What is inside
//! ```text
//!             AXI4-Lite ──▶ u_csr (register map: DIE.regs.md / .rdl / .h)
//!                              │ routes, DMA programs, block commands and modes, status, counters
//!  host_in ──▶ ┌──────────────────────────── stream switch ────────────────────────────┐ ──▶ host_out
//!              │ sources: host_in, spad_rd*, wsram_rd, block outputs, read channels    │
//!              │ sinks:   host_out, spad_wr, wsram_wr, block inputs                    │
//!              └───────────────────────────────────────────────────────────────────────┘
//!   spad_wr/spad_rd* ⇄ u_spad (1r1w SRAM macro)   wsram_wr/wsram_rd ⇄ u_wsram (1rw SRAM macro)
//!   block inputs ◀─ upsizers ◀─ switch      block outputs ─▶ downsizers ─▶ switch
//!   UCIe adapters: vdx_ucie_port (adapter + protocol-layer bridge), <inst>_tx / <inst>_rx on the
//!   switch, link_up and the PHY side at the die edge as <inst>_<port>
//! ```
//! - **Stream switch.** Every stream on the die is `fabric_bits` wide at the switch. Each sink
//!   has a route register naming its source (the `SRC_` constants of the register map; 0 for
//!   none), so the routing between engines and memories is programmed at run time, per job. A
//!   source goes to at most one sink: when two sinks name the same source the lower one (in the
//!   map's order) gets it and `switch_conflict` flags the other. Routes should change only
//!   while nothing moves on them.
//! - **Width converters.** A block stream of `w` bits meets the switch through
//!   [`crate::hdl::stream_upsizer`] or [`crate::hdl::stream_downsizer`]: one block beat is
//!   `ceil(w / fabric_bits)` switch beats, least significant first (the packed payload, first
//!   field lowest, as the block's datasheet lays it out). So a block whose streams are wider
//!   than the fabric runs at `fabric_bits / w` of its rate: the fabric width is the die's
//!   bandwidth knob.
//! - **Memories.** The activation scratchpad (`scratchpad_kib`, one write and one read port)
//!   and the weight SRAM (`weight_sram_kib`, one read/write port) are black-box macros
//!   ([`sram`]) with behavioural models; words are `fabric_bits` wide. DMA channels ([`dma`])
//!   move words between them and the switch: one write and `read_channels` read channels on
//!   the scratchpad (the read channels share its read port round-robin), one write and one read
//!   channel sharing the weight SRAM's port.
//! - **Blocks.** The general rules ([`bind`] lists the exceptions): a block's `cmd` stream
//!   becomes registers `<instance>_cmd_<field>`, a `cmd_go` pulse that offers the command
//!   (held until the block takes it) and `cmd_pending`; its other streams become switch
//!   endpoints `<instance>_<stream>`; other inputs are read/write registers (pulse registers
//!   for strobes), other outputs read-only registers (sticky flags for one-cycle flags). A
//!   block's memory read port is drained by a read channel `<instance>_rd`.
//! - **UCIe.** A `ucie_adapter` is wrapped with its protocol-layer bridge
//!   ([`crate::blocks::ucie::bridge::port`]), which packs switch beats into flits and unpacks
//!   received flits (honouring cancels, returning credits); its link-state request, status and
//!   counters follow the general rules (CSRs), and only `link_up_i` and the PHY side reach the
//!   die edge. [`package`] wires the PHY sides of linked dies together.
//! - **Counters.** `die_cycles` counts cycles; `switch_beats_<sink>` counts the beats each sink
//!   took; `die_perf_clear` zeroes them.
//!
//! # CSR bus: AXI4-Lite
//! AXI4-Lite rather than APB4 because SoC interconnects and host bridges (PCIe, AXI
//! crossbars, soft CPUs) speak it natively, it has independent read and write channels, and the
//! same interface family (AXI-Stream) is what the die's streams follow; [`csr`] has the details.
//!
//! # Ports
//! | port | meaning |
//! |---|---|
//! | `clk_i`, `rst_ni` | clock, asynchronous active-low reset of everything on the die |
//! | `s_axil_*` | AXI4-Lite slave, 32-bit data, 16-bit addresses |
//! | `host_in_*`, `host_out_*` | `fabric_bits`-wide streams into and out of the switch |
//! | `<instance>_<port>` | die-edge ports of blocks (UCIe adapters: `link_up_i` and the PHY side) |

pub mod bind;
pub mod csr;
pub mod dma;
pub mod host;
pub mod jobs;
pub mod link;
pub mod package;
pub mod regmap;
pub mod sram;
mod top;

pub use top::{CSR_ADDR_BITS, build};

use crate::hdl::{HdlError, Module};

/// One block on the die, as built.
#[derive(Debug, Clone, Copy)]
pub struct UnitRef<'a> {
    /// Instance name.
    pub instance: &'a str,
    /// Block name.
    pub block: &'a str,
    /// Its top module.
    pub module: &'a Module,
}

/// A built die top.
#[derive(Debug)]
pub struct DieTop {
    /// The top module (it instantiates the blocks' tops).
    pub module: Module,
    /// Its register map.
    pub regmap: regmap::RegMap,
    /// Its SRAM macros: `(role, shape)`.
    pub srams: Vec<(String, sram::SramShape)>,
    /// Switch sinks, in route-register order.
    pub sinks: Vec<String>,
    /// Switch sources; source `i` is route value `i + 1`.
    pub sources: Vec<String>,
    /// The blocks inside: `(instance, block, module)`.
    pub units: Vec<(String, String, Module)>,
}

/// Why a die top could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DieError {
    /// The die cannot be laid out (the message says what to change).
    #[error("{0}")]
    Plan(String),
    /// A module failed to build.
    #[error(transparent)]
    Hdl(#[from] HdlError),
}
