//! `stride_walker`: a nested-loop address generator in the style of Snitch's stream semantic
//! registers. A command sets a base address and, per loop level, a bound and a stride at run
//! time; the walker then gives one address per cycle:
//!
//! ```text
//! for i[L-1] in 0..bound[L-1] { … for i[0] in 0..bound[0] {
//!     addr = base + Σ_l i[l] · stride[l]
//! } … }
//! ```
//!
//! # How (no multiplier)
//! Every level `l` keeps its own pointer `p[l]`, the address at which its current iteration
//! began. When level `a` advances (all levels below it at their bounds), `p[a] + stride[a]`
//! becomes the pointer of level `a` and of every level below it; the address is `p[0]`. So a
//! step costs one adder per level and a multiplexer, and the loop that advances adds only its
//! own stride.
//!
//! # Range guard
//! Addresses must stay below `limit` (the buffer the walk reads). The next address is computed
//! a cycle ahead with one extra bit: when it would reach `limit` (or overflow `addr_width`), the
//! current address is the walk's last and `error_o` rises; a base at or above `limit` is
//! rejected at once. So the walker never gives an address outside the buffer, and
//! [`golden::Walk::check`] tells ahead of time whether a walk will finish.
//!
//! # Ports (AXI-Stream rules on `cmd` and `out`)
//! | port | width | meaning |
//! |---|---|---|
//! | `cmd_valid_i`, `cmd_ready_o` | 1, 1 | one walk (taken when idle) |
//! | `cmd_base_i` | `addr_width` | the first address |
//! | `cmd_bounds_i` | `levels · count_width` | `bound[l] − 1` in bits `[l·count_width +: count_width]`, level 0 innermost |
//! | `cmd_strides_i` | `levels · addr_width` | `stride[l]` (unsigned) |
//! | `out_valid_o`, `out_ready_i` | 1, 1 | one address |
//! | `out_addr_o` | `addr_width` | the address |
//! | `out_wrap_o` | `levels` | bit `l`: levels `0..=l` are at their bounds (this address ends an iteration of level `l + 1`) |
//! | `out_last_o` | 1 | the walk's last address |
//! | `error_o` | 1 | the last walk stopped at the range guard (cleared by the next command) |
//!
//! # Latency and throughput
//! The first address is offered the cycle after the command is taken; then one address per
//! cycle while `out_ready_i` is high. A new command is taken the cycle after the last address
//! leaves.

pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `stride_walker`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrideWalkerParams {
    /// Loop levels (1..=8).
    pub levels: u32,
    /// Bits of an address and of a stride (2..=48).
    pub addr_width: u32,
    /// Bits of a loop bound minus one (1..=24).
    pub count_width: u32,
    /// Words of the buffer addresses must stay below (1..=2^addr_width; 0: 2^addr_width).
    pub limit: u64,
}

impl Default for StrideWalkerParams {
    fn default() -> Self {
        StrideWalkerParams { levels: 4, addr_width: 24, count_width: 16, limit: 0 }
    }
}

impl StrideWalkerParams {
    /// The limit in effect.
    pub fn words(&self) -> u64 {
        if self.limit == 0 { 1u64 << self.addr_width } else { self.limit }
    }
}

impl BlockParams for StrideWalkerParams {
    const BLOCK: &'static str = "stride_walker";
    const SUMMARY: &'static str =
        "nested-loop address generator: run-time bounds and strides, one adder per level, range guard";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("levels", "loop levels", d.levels.to_string(), "1..=8"),
            p("addr_width", "bits of an address and a stride", d.addr_width.to_string(), "2..=48"),
            p("count_width", "bits of a loop bound minus one", d.count_width.to_string(), "1..=24"),
            p("limit", "buffer words (0: 2^addr_width)", d.limit.to_string(), "0..=2^addr_width"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_range(&mut issues, "levels", self.levels, 1, 8);
        check_range(&mut issues, "addr_width", self.addr_width, 2, 48);
        check_range(&mut issues, "count_width", self.count_width, 1, 24);
        if issues.is_empty() && self.limit > 1u64 << self.addr_width {
            issues.push(FieldIssue {
                field: "limit".into(),
                message: format!(
                    "{} words need more than addr_width = {} bits of address",
                    self.limit, self.addr_width
                ),
            });
        }
        issues
    }

    fn build(&self) -> Result<Module, HdlError> {
        rtl::build(self)
    }

    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError> {
        tb::cosim_verilator(self, run)
    }
}

#[cfg(test)]
mod tests;
