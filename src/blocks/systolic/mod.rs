//! `systolic_ws`: a weight-stationary systolic array with double-buffered weights, a tile
//! sequencer that runs whole GEMMs `C[M×N] = A[M×K] · W[K×N]`, and an accumulator ring.
//!
//! # Dataflow
//! - PE `(r, c)` holds one weight slot of `W[k0 + r][·]`. Activations enter row `r` from the left,
//!   skewed by `r` cycles, and move one PE right per cycle; partial sums move one PE down per
//!   cycle; the bottom edge de-skews them, so one row of the output tile leaves per cycle.
//! - **Double buffering:** each PE has a shadow weight register. The shadows of a column form a
//!   shift chain fed from the top; while one tile computes, the next is shifted in. The switch is
//!   a one-bit pulse that travels with the last activation of a tile, so PE `(r, c)` copies its
//!   shadow exactly when the old tile has passed it: switching tiles costs no cycle. Row `r` of
//!   the chain only starts shifting when the deepest weight of the load reaches it, so the next
//!   load may start `cols - 1` cycles after a switch, while the switch is still passing the
//!   lower rows.
//! - **Precision:** with `weight_width = 8`, `cmd_w4_i` picks the mode of a GEMM. Every PE has
//!   two 4-bit lanes (an `act × 4` and an `act × 5` multiplier and two partial sums):
//!   - W8A8: the lanes take the high (signed) and low (unsigned) nibble of one 8-bit weight; the
//!     bottom combines them once per output, `16·hi + lo`. One MAC per PE per cycle.
//!   - W4A8: each 8-bit slot holds two 4-bit weights of neighbouring output columns. Two MACs per
//!     PE per cycle, so the same array has twice the peak.
//!
//!   This costs no more multiplier than one `act × 8` PE (the two lane multipliers are its two
//!   halves) and needs no mode logic in the PE beyond a ninth weight bit: the lower lane's sign,
//!   set by the loader. The mode travels with each tile, so consecutive GEMMs can differ.
//!   With `weight_width = 4` the array is W4A8 only, one lane per PE.
//! - **Tiling:** [`golden::plan`] is the order: for each chunk of up to `acc_rows` rows of `A`,
//!   for each tile of output columns, for each tile of `rows` K-rows. A chunk × column-tile is a
//!   *job*: its partial sums accumulate in a ring of `2·acc_rows` rows, and the finished rows
//!   are read out while the next job computes.
//!
//! # Ports (AXI-Stream rules on every valid/ready pair)
//! | port | width | meaning |
//! |---|---|---|
//! | `cmd_valid_i`, `cmd_ready_o` | 1, 1 | one GEMM command |
//! | `cmd_m_i`, `cmd_k_i`, `cmd_n_i` | log2 of `max_m`, `max_k`, `max_n` | `M-1`, `K-1`, `N-1` |
//! | `cmd_w4_i` | 1 (only with `weight_width = 8`) | 1: W4A8, 0: W8A8 |
//! | `wgt_valid_i`, `wgt_ready_o`, `wgt_data_i` | 1, 1, `cols·weight_width` | one row of a weight tile |
//! | `act_valid_i`, `act_ready_o`, `act_data_i` | 1, 1, `rows·act_width` | one row of an activation tile |
//! | `res_valid_o`, `res_ready_i`, `res_data_o` | 1, 1, `lanes·cols·acc_width` | one row of an output tile |
//! | `res_last_o` | 1 | the last result row of a command |
//!
//! # Stream order (what the host sends, see [`golden::Streams`])
//! For every tile of [`golden::plan`]:
//! - **Weights:** one beat per real K-row of the tile, the **highest k first** (it travels to the
//!   bottom of the shift chain). Slot `c` (bits `[c·w +: w]`) holds `W[k][n0 + c]` (W8A8 and
//!   `weight_width = 4`) or `W[k][n0 + 2c]` in bits 3:0 and `W[k][n0 + 2c + 1]` in bits 7:4
//!   (W4A8). Slots past the last output column are ignored. K-rows past `K` are not sent: the
//!   loader shifts zeros for them.
//! - **Activations:** one beat per row `m` of the chunk; slot `r` holds `A[m][k0 + r]`. Slots past
//!   `K` are ignored (their weights are zero).
//! - **Results:** after the last K-tile of a job, one beat per row `m`: slot `j` holds
//!   `C[m][n0 + j]` as a `acc_width`-bit two's complement (or unsigned) number; slots past the
//!   tile's columns are zero (in W8A8 mode with two lanes, slots `cols..2·cols` too).
//!
//! Activations are streamed once per column tile (the array keeps weights, not activations).
//!
//! # Latency and throughput
//! One activation row per cycle. The first result of a job leaves `rows + cols + 4 + out_regs`
//! cycles after its last K-tile's first activation row. A tile switch costs nothing when the
//! tile has at least `rows + cols - 1` activation rows (the next tile's weights need `rows`
//! cycles plus `cols - 1` for the previous switch to clear the chain); shorter tiles wait for
//! their weights. [`golden::predict`] gives the cycle count of a command stream.

pub mod bench;
pub mod golden;
pub mod qor;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `systolic_ws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystolicParams {
    /// PE rows: the K-rows of one weight tile (1..=256).
    pub rows: u32,
    /// PE columns: the output columns of one weight tile, twice as many in W4A8 mode (1..=256).
    pub cols: u32,
    /// Bits of a weight slot: 8 (W8A8 and W4A8, chosen per GEMM) or 4 (W4A8 only).
    pub weight_width: u32,
    /// Bits of an activation (2..=16).
    pub act_width: u32,
    /// Whether weights and activations are two's complement (else unsigned).
    pub signed: bool,
    /// Largest K a command may ask for (a power of two, 2..=2^24); sizes `cmd_k_i` and the
    /// accumulators.
    pub max_k: u64,
    /// Largest M a command may ask for (a power of two, 2..=2^24).
    pub max_m: u64,
    /// Largest N a command may ask for (a power of two, 2..=2^24).
    pub max_n: u64,
    /// Bits of an accumulator and of a result. 0 derives the narrowest width a `max_k`-long
    /// dot product cannot overflow; a non-zero value must be at least that (..=64).
    pub acc_width: u32,
    /// Rows of `A` per job (a power of two, 1..=2^16); the accumulator ring holds two jobs. Keep
    /// it at least `rows + cols` so that short chunks do not wait for weights.
    pub acc_rows: u64,
    /// Register stages between the accumulator read and the result queue (0..=4).
    pub out_regs: u32,
}

impl Default for SystolicParams {
    fn default() -> Self {
        SystolicParams {
            rows: 128,
            cols: 128,
            weight_width: 8,
            act_width: 8,
            signed: true,
            max_k: 1 << 14,
            max_m: 1 << 16,
            max_n: 1 << 16,
            acc_width: 0,
            acc_rows: 512,
            out_regs: 1,
        }
    }
}

/// An inclusive range of integers, for deriving widths that cannot overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Smallest value.
    pub lo: i128,
    /// Largest value.
    pub hi: i128,
}

impl Span {
    /// All values of a `bits`-wide number.
    pub fn of(bits: u32, signed: bool) -> Span {
        if signed {
            Span { lo: -(1i128 << (bits - 1)), hi: (1i128 << (bits - 1)) - 1 }
        } else {
            Span { lo: 0, hi: (1i128 << bits) - 1 }
        }
    }

    /// The range of `x · y` for `x` in `self`, `y` in `other`.
    pub fn times(self, other: Span) -> Span {
        let p = [self.lo * other.lo, self.lo * other.hi, self.hi * other.lo, self.hi * other.hi];
        Span { lo: *p.iter().min().expect("four"), hi: *p.iter().max().expect("four") }
    }

    /// The range of a sum of `n` values of `self`.
    pub fn sum_of(self, n: u64) -> Span {
        Span { lo: self.lo * i128::from(n), hi: self.hi * i128::from(n) }
    }

    /// The union of two ranges.
    pub fn union(self, other: Span) -> Span {
        Span { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }

    /// Bits that hold every value of the range, two's complement when `signed`.
    pub fn bits(self, signed: bool) -> u32 {
        let need = |v: i128| if v <= 0 { 0 } else { 128 - v.leading_zeros() };
        if signed {
            let mag = need(self.hi).max(need(-self.lo - 1));
            mag + 1
        } else {
            need(self.hi).max(1)
        }
    }
}

impl SystolicParams {
    /// Lanes per PE: 2 with 8-bit weight slots (two nibble lanes), 1 with 4-bit slots.
    pub fn lanes(&self) -> u32 {
        if self.weight_width == 8 { 2 } else { 1 }
    }

    /// Whether the array has a run-time precision input (`cmd_w4_i`).
    pub fn has_mode(&self) -> bool {
        self.weight_width == 8
    }

    /// Bits a PE stores per weight register: the slot, plus the sign of the lower lane when that
    /// lane is signed in W4A8 mode and unsigned in W8A8 mode.
    pub fn stored_weight_width(&self) -> u32 {
        if self.weight_width == 8 && self.signed { 9 } else { self.weight_width }
    }

    /// Values an activation can take.
    pub fn act_span(&self) -> Span {
        Span::of(self.act_width, self.signed)
    }

    /// Values a whole weight can take in a mode.
    pub fn weight_span(&self, w4: bool) -> Span {
        Span::of(if w4 { 4 } else { self.weight_width }, self.signed)
    }

    /// Values one lane's weight can take, over both modes.
    pub fn lane_weight_span(&self) -> Span {
        let nibble = Span::of(4, self.signed);
        if self.lanes() == 2 { nibble.union(Span::of(4, false)) } else { nibble }
    }

    /// Bits of one lane's partial sum inside the array: a `rows`-long sum of lane products.
    pub fn psum_width(&self) -> u32 {
        self.act_span().times(self.lane_weight_span()).sum_of(u64::from(self.rows)).bits(self.signed)
    }

    /// The narrowest accumulator a `max_k`-long dot product cannot overflow, in every mode.
    pub fn required_acc_width(&self) -> u32 {
        let mut span = self.act_span().times(self.weight_span(true)).sum_of(self.max_k);
        if self.has_mode() {
            span = span.union(self.act_span().times(self.weight_span(false)).sum_of(self.max_k));
        }
        span.bits(self.signed)
    }

    /// The accumulator and result width in effect.
    pub fn acc_bits(&self) -> u32 {
        if self.acc_width == 0 { self.required_acc_width() } else { self.acc_width }
    }

    /// Output columns of one tile in a mode.
    pub fn tile_cols(&self, w4: bool) -> u32 {
        if w4 && self.lanes() == 2 { 2 * self.cols } else { self.cols }
    }

    /// Peak multiply-accumulates per cycle in a mode.
    pub fn peak_macs(&self, w4: bool) -> u64 {
        u64::from(self.rows) * u64::from(self.tile_cols(w4))
    }

    /// Rows of the accumulator ring.
    pub fn ring_rows(&self) -> u64 {
        2 * self.acc_rows
    }

    /// Entries of the result queue: enough to keep one result per cycle through the read
    /// pipeline.
    pub fn queue_depth(&self) -> u32 {
        self.out_regs + 3
    }

    /// Cycles from an activation row entering (`act` transfer) to its result leaving, when it
    /// belongs to the last K-tile and the reader is not behind.
    pub fn result_latency(&self) -> u64 {
        u64::from(self.rows + self.cols + self.out_regs) + 4
    }

    /// Bits of a command's M, K and N fields.
    pub fn dim_bits(&self) -> (u32, u32, u32) {
        (self.max_m.trailing_zeros(), self.max_k.trailing_zeros(), self.max_n.trailing_zeros())
    }
}

impl BlockParams for SystolicParams {
    const BLOCK: &'static str = "systolic_ws";
    const SUMMARY: &'static str =
        "weight-stationary INT4/INT8 systolic array with double-buffered weights and a GEMM tiler";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("rows", "PE rows (K-rows of a weight tile)", d.rows.to_string(), "1..=256"),
            p("cols", "PE columns (output columns of a tile; twice in W4A8)", d.cols.to_string(), "1..=256"),
            p(
                "weight_width",
                "weight slot bits: 8 (W8A8 or W4A8 per GEMM) or 4",
                d.weight_width.to_string(),
                "4|8",
            ),
            p("act_width", "activation bits", d.act_width.to_string(), "2..=16"),
            p("signed", "two's complement weights and activations", d.signed.to_string(), "true|false"),
            p("max_k", "largest K of a command; sizes the accumulators", d.max_k.to_string(), "2^1..=2^24"),
            p("max_m", "largest M of a command", d.max_m.to_string(), "2^1..=2^24"),
            p("max_n", "largest N of a command", d.max_n.to_string(), "2^1..=2^24"),
            p(
                "acc_width",
                "accumulator bits (0: derived from max_k)",
                d.acc_width.to_string(),
                "0 or derived..=64",
            ),
            p("acc_rows", "rows of A per job; the ring holds two jobs", d.acc_rows.to_string(), "2^0..=2^16"),
            p("out_regs", "register stages before the result queue", d.out_regs.to_string(), "0..=4"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        let mut range =
            |field: &str, value: u32, lo: u32, hi: u32| check_range(&mut issues, field, value, lo, hi);
        range("rows", self.rows, 1, 256);
        range("cols", self.cols, 1, 256);
        range("act_width", self.act_width, 2, 16);
        range("out_regs", self.out_regs, 0, 4);
        if self.weight_width != 4 && self.weight_width != 8 {
            issues.push(FieldIssue {
                field: "weight_width".into(),
                message: format!(
                    "{} is not supported: use 8 (W8A8 and W4A8) or 4 (W4A8 only)",
                    self.weight_width
                ),
            });
        }
        check_pow2(&mut issues, "max_k", self.max_k, 2, 1 << 24);
        check_pow2(&mut issues, "max_m", self.max_m, 2, 1 << 24);
        check_pow2(&mut issues, "max_n", self.max_n, 2, 1 << 24);
        check_pow2(&mut issues, "acc_rows", self.acc_rows, 1, 1 << 16);
        if !issues.is_empty() {
            return issues;
        }
        let need = self.required_acc_width();
        if self.acc_width != 0 && self.acc_width < need {
            let kind = if self.signed { "signed" } else { "unsigned" };
            issues.push(FieldIssue {
                field: "acc_width".into(),
                message: format!(
                    "{} bits is too narrow for max_k = {}: a {}-long dot product of {kind} {}-bit \
                     activations and {}-bit weights needs {need} bits (set acc_width = 0 to derive it, \
                     or lower max_k)",
                    self.acc_width, self.max_k, self.max_k, self.act_width, self.weight_width
                ),
            });
        }
        if self.acc_bits() > 64 {
            issues.push(FieldIssue {
                field: if self.acc_width == 0 { "max_k" } else { "acc_width" }.into(),
                message: format!("accumulators of {} bits exceed the supported 64", self.acc_bits()),
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

    fn latency(&self) -> Option<crate::blocks::Latency> {
        Some(crate::blocks::Latency {
            cycles: self.result_latency(),
            from: "an act transfer of a tile's last K-tile".into(),
            to: "its result row on res_data_o (reader not behind)".into(),
        })
    }
}

#[cfg(test)]
mod tests;
