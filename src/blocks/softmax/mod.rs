//! `online_softmax`: the row unit between the two meshes of an attention lane. It takes one row
//! of attention scores per beat (one query row against one block of keys, as `systolic_ws`
//! delivers a result row), keeps each query row's running state across the blocks of keys, and
//! gives back the row's unnormalised probabilities, the factor by which the row's output
//! accumulator must be rescaled first, and, on the row's last block, `1/l`.
//!
//! # Arithmetic (base 2, integers only)
//! Milakov & Gimelshein's online normaliser ("Online normalizer calculation for softmax", 2018)
//! with the Softermax habits (base 2, the score scale and `log2 e` folded into one constant, an
//! integer running maximum):
//! 1. **Exponent.** `y = x · c` with `c = scale` (base-2 exponent per score unit, e.g.
//!    `log2(e) · s_q · s_k / sqrt(d)` for int8 `Q` and `K` with quantisation steps `s_q`, `s_k`),
//!    as `y = floor(x · C · 2^(exp_frac - e))`: `C` is `scale` rounded to `scale_bits` bits and
//!    `y` has `exp_frac` fraction bits.
//! 2. **Maximum.** A beat's maximum is rounded up to an integer, `M = ceil(max y)`, so every
//!    rescale is a shift by a whole number of binary places.
//! 3. **Powers.** For each score, `M - y = k + g` (`k` integer, `g ∈ [0, 1)`) and
//!    `2^(y - M) = 2^-k · 2^-g`; `2^-g` comes from a chord table of `segments` segments with
//!    `table_frac = prob_width + 4` fraction bits ([`OnlineSoftmaxParams::table_frac`]).
//! 4. **Denominator, exactly.** The row's state is `M` and one sum per shift `k = 0..=depth`
//!    (`depth = table_frac + log2(max_len)`): bucket `k` holds the table values of the row's scores that lie
//!    `k` binary places (rounded down) below `M`. Moving `M` up by `Δ` moves the buckets down by
//!    `Δ` and drops those past `depth`. No bits are rounded away on the way, so a row's state
//!    depends only on its scores: any split into blocks, merged in any order, gives the same
//!    bits ([`golden::RowState::merge`]). Scores more than `depth + 1` binary places below the
//!    row maximum are not counted: each is below `2^-depth` of the largest term, so all of a
//!    row's `max_len` together stay below `2^-table_frac` of it.
//! 5. **Probabilities.** `p = round(2^-g · 2^(prob_width - k - Δ))` (half up) with `Δ` how far the row's
//!    maximum has moved above the beat's, saturated at `2^prob_width - 1`: `prob_width` unsigned
//!    bits, relative to the row's maximum so far.
//! 6. **Rescale.** `shift_o` is how far the row's maximum moved with this beat: before adding
//!    this beat's `P · V`, the row's output accumulator is shifted right by `shift_o`.
//! 7. **Normalisation.** On a row's last beat, `l = Σ_k bucket_k · 2^-k` is normalised by its
//!    leading zeros to `x ∈ [1, 2)`, `1/x` comes from a chord table of `recip_segments` segments
//!    refined by one Newton step `r ← r · (2 - x · r)`; `1/l = inv_l_o · 2^-(recip_frac + inv_exp_o)`.
//!
//! # Ports (AXI-Stream rules on `in` and `out`)
//! | port | width | meaning |
//! |---|---|---|
//! | `in_valid_i`, `in_ready_o` | 1, 1 | one beat: one query row against one block of keys |
//! | `in_score_i` | `row_width · score_width` | score `j` (signed) in bits `[j·score_width +: score_width]` |
//! | `in_keep_i` | `row_width` | bit `j`: score `j` counts (0: masked, as for causal or padding) |
//! | `in_row_i` | log2 `max_rows` | the query row the beat belongs to (its state's address) |
//! | `in_first_i`, `in_last_i` | 1, 1 | the row's first block (its old state is ignored), its last |
//! | `out_valid_o`, `out_ready_i` | 1, 1 | the beat's result, in input order |
//! | `out_prob_o` | `row_width · prob_width` | `p_j` (unsigned); 0 for a masked score |
//! | `out_shift_o` | `shift_width` | rescale of the row's output accumulator before this beat |
//! | `out_row_o`, `out_first_o`, `out_last_o` | as the input | passed through |
//! | `out_inv_l_o`, `out_inv_exp_o` | `recip_frac + 1`, `exp_width` (signed) | `1/l` on a last beat, else 0 |
//! | `out_empty_o` | 1 | a last beat of a row in which no score counted (`1/l` is then 0) |
//!
//! # Latency and throughput
//! One beat per cycle (II = 1) with `out_ready_i` high, for any order of rows, including the same
//! row in consecutive beats. A beat's result leaves [`OnlineSoftmaxParams::latency`] cycles after
//! it was accepted. When `out_ready_i` is low the whole pipeline holds.
//!
//! The row states are an SRAM without reset: every row's first beat must carry `in_first_i`
//! (before it, a row's state is undefined). Rows whose total number of counted scores exceeds
//! `max_len` wrap their bucket sums.

pub mod bench;
pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `online_softmax`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnlineSoftmaxParams {
    /// Scores per beat: the key block `Bk`, the columns of the score mesh (1..=256).
    pub row_width: u32,
    /// Bits of a signed integer score, the score mesh's accumulator width (2..=40).
    pub score_width: u32,
    /// Base-2 exponent per score unit: `log2(e) · s_q · s_k / sqrt(d)` (positive, finite).
    pub scale: f64,
    /// Significant bits `scale` is rounded to (2..=24).
    pub scale_bits: u32,
    /// Fraction bits of the base-2 exponent `y` (2..=16).
    pub exp_frac: u32,
    /// Segments of the `2^-g` chord table (a power of two, 2..=`2^exp_frac`, at most 256).
    pub segments: u32,
    /// Bits of an unnormalised probability `p` (unsigned, 4..=16).
    pub prob_width: u32,
    /// Most scores that count in one row, over all its blocks (a power of two, 1..=2^20).
    pub max_len: u64,
    /// Query rows with a state, `Bq` (a power of two, 1..=2^16).
    pub max_rows: u64,
    /// Segments of the `1/x` seed table (a power of two, 2..=256).
    pub recip_segments: u32,
}

impl Default for OnlineSoftmaxParams {
    fn default() -> Self {
        OnlineSoftmaxParams {
            row_width: 128,
            score_width: 24,
            // int8 Q and K with a quantisation step of 1/32 each, d = 128.
            scale: std::f64::consts::LOG2_E / (128f64).sqrt() / 1024.0,
            scale_bits: 16,
            exp_frac: 10,
            segments: 16,
            prob_width: 12,
            max_len: 1 << 14,
            max_rows: 128,
            recip_segments: 16,
        }
    }
}

/// `scale` as an integer and a shift: `scale ≈ constant · 2^-shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleConstant {
    /// `scale_bits` bits, top bit set.
    pub constant: u64,
    /// Binary places: `scale ≈ constant / 2^shift` (may be negative for a scale above 2^scale_bits).
    pub shift: i32,
}

impl OnlineSoftmaxParams {
    /// Fraction bits of a `2^-g` table value.
    pub fn table_frac(&self) -> u32 {
        self.prob_width + 4
    }

    /// Largest shift `k` a bucket holds: buckets `0..=depth`. Scores further down are not
    /// counted; `max_len` of them are still below one unit of the table's last bit.
    pub fn depth(&self) -> u32 {
        self.table_frac() + self.max_len.trailing_zeros()
    }

    /// Bits of one bucket sum: a table value (`table_frac + 1` bits) times `max_len`.
    pub fn bucket_width(&self) -> u32 {
        self.table_frac() + 1 + self.max_len.trailing_zeros()
    }

    /// `log2(segments)`.
    pub fn segment_bits(&self) -> u32 {
        self.segments.trailing_zeros()
    }

    /// Fraction bits of `1/x` and of `out_inv_l_o`.
    pub fn recip_frac(&self) -> u32 {
        self.table_frac() + 2
    }

    /// `scale` rounded to `scale_bits` significant bits.
    pub fn scale_constant(&self) -> ScaleConstant {
        let bits = self.scale_bits as i32;
        let mut shift = bits - 1 - self.scale.log2().floor() as i32;
        let mut constant = (self.scale * 2f64.powi(shift)).round() as u64;
        if constant >> self.scale_bits != 0 {
            constant >>= 1;
            shift -= 1;
        }
        ScaleConstant { constant, shift }
    }

    /// Smallest and largest score.
    pub fn score_span(&self) -> (i64, i64) {
        (-(1i64 << (self.score_width - 1)), (1i64 << (self.score_width - 1)) - 1)
    }

    /// Smallest and largest exponent `y` (in units of `2^-exp_frac`).
    pub fn exp_span(&self) -> (i64, i64) {
        let (lo, hi) = self.score_span();
        (golden::exponent(self, lo), golden::exponent(self, hi))
    }

    /// Bits of the exponent `y` (signed).
    pub fn exp_width(&self) -> u32 {
        let (lo, hi) = self.exp_span();
        signed_bits(lo, hi)
    }

    /// Bits of a row maximum `M` (signed integer).
    pub fn max_width(&self) -> u32 {
        let (lo, hi) = self.exp_span();
        let f = self.exp_frac;
        signed_bits(lo >> f, (hi + (1 << f) - 1) >> f)
    }

    /// Bits of `out_shift_o`: how far a row maximum can move.
    pub fn shift_width(&self) -> u32 {
        let (lo, hi) = self.exp_span();
        let f = self.exp_frac;
        let range = ((hi + (1 << f) - 1) >> f) - (lo >> f);
        64 - (range.max(1) as u64).leading_zeros()
    }

    /// Bits of `l` in units of `2^-(table_frac + depth)`.
    pub fn sum_width(&self) -> u32 {
        self.bucket_width() + self.depth()
    }

    /// Bits of `out_inv_exp_o` (signed): `floor(log2 l)` lies in `-1..sum_width`.
    pub fn inv_exp_width(&self) -> u32 {
        signed_bits(-1, i64::from(self.sum_width()))
    }

    /// Bits of `in_row_i`.
    pub fn row_bits(&self) -> u32 {
        self.max_rows.trailing_zeros().max(1)
    }

    /// Cycles from a beat's `in` transfer to its `out` beat with `out_ready_i` high.
    pub fn latency(&self) -> u64 {
        u64::from(rtl::STAGES)
    }
}

/// Bits of a two's complement number holding every value in `lo..=hi`.
pub(crate) fn signed_bits(lo: i64, hi: i64) -> u32 {
    let need = |v: i64| if v <= 0 { 0 } else { 64 - v.leading_zeros() };
    need(hi).max(need(-lo - 1)) + 1
}

impl BlockParams for OnlineSoftmaxParams {
    const BLOCK: &'static str = "online_softmax";
    const SUMMARY: &'static str =
        "online-softmax row unit: base-2 exponent tables, exact order-free row state, rescale, 1/l";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("row_width", "scores per beat (the key block Bk)", d.row_width.to_string(), "1..=256"),
            p("score_width", "bits of a signed score", d.score_width.to_string(), "2..=40"),
            p("scale", "base-2 exponent per score unit", format!("{:e}", d.scale), "> 0"),
            p("scale_bits", "significant bits of scale", d.scale_bits.to_string(), "2..=24"),
            p("exp_frac", "fraction bits of the exponent", d.exp_frac.to_string(), "2..=16"),
            p("segments", "segments of the 2^-g table", d.segments.to_string(), "2^1..=min(2^exp_frac, 256)"),
            p("prob_width", "bits of an unnormalised probability", d.prob_width.to_string(), "4..=16"),
            p("max_len", "most scores counted in one row", d.max_len.to_string(), "2^0..=2^20"),
            p("max_rows", "query rows with a state (Bq)", d.max_rows.to_string(), "2^0..=2^16"),
            p("recip_segments", "segments of the 1/x seed table", d.recip_segments.to_string(), "2^1..=2^8"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_range(&mut issues, "row_width", self.row_width, 1, 256);
        check_range(&mut issues, "score_width", self.score_width, 2, 40);
        check_range(&mut issues, "scale_bits", self.scale_bits, 2, 24);
        check_range(&mut issues, "exp_frac", self.exp_frac, 2, 16);
        check_range(&mut issues, "prob_width", self.prob_width, 4, 16);
        check_pow2(&mut issues, "max_len", self.max_len, 1, 1 << 20);
        check_pow2(&mut issues, "max_rows", self.max_rows, 1, 1 << 16);
        check_pow2(&mut issues, "recip_segments", u64::from(self.recip_segments), 2, 256);
        if !(self.scale.is_finite() && self.scale > 0.0) {
            issues.push(FieldIssue {
                field: "scale".into(),
                message: format!("{} must be a positive finite number", self.scale),
            });
        }
        if !issues.is_empty() {
            return issues;
        }
        if self.max_len < u64::from(self.row_width) {
            issues.push(FieldIssue {
                field: "max_len".into(),
                message: format!(
                    "{} is shorter than one beat (row_width = {})",
                    self.max_len, self.row_width
                ),
            });
        }
        let top = (1u64 << self.exp_frac).min(256);
        check_pow2(&mut issues, "segments", u64::from(self.segments), 2, top);
        let (lo, hi) = self.exp_span();
        if self.scale_constant().shift < 0 || lo.unsigned_abs().max(hi.unsigned_abs()) >> 46 != 0 {
            issues.push(FieldIssue {
                field: "scale".into(),
                message: format!(
                    "{:e} makes exponents of up to {} binary places from {}-bit scores; keep \
                     |score · scale| below 2^{} (lower scale or score_width)",
                    self.scale,
                    hi.max(-lo) >> self.exp_frac,
                    self.score_width,
                    46 - self.exp_frac
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

    fn latency(&self) -> Option<crate::blocks::Latency> {
        Some(crate::blocks::Latency {
            cycles: self.latency(),
            from: "an in transfer".into(),
            to: "its beat on out_valid_o (out_ready_i high)".into(),
        })
    }
}

#[cfg(test)]
mod tests;
