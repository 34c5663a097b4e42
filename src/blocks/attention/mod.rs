//! `spatial_attention`: the Spatial Attention Engine. `lanes` attention lanes (one head each)
//! run FlashAttention over one query tile at a time: `O = softmax(Q·Kᵀ · scale) · V`, with the
//! keys and values streamed block by block and the softmax normalised online.
//!
//! # One lane
//! - **Score mesh** (`u_score`): a `systolic_ws` mesh of `d × bk` PEs (its PE, row, skew and
//!   de-skew modules). The block's keys are stationary (`Kᵀ`, one key per column); the tile's
//!   query rows stream through, one per cycle, and leave as one row of `bk` scores.
//! - **Row unit** (`u_softmax`): an `online_softmax` with `row_width = bk` and a state per query
//!   row of the tile. It turns a score row into `bk` unsigned probabilities relative to the row's
//!   running maximum, the rescale `shift` of the row's output, and on the last block `1/l`.
//! - **Output mesh** (`u_value`): a `systolic_ws` mesh of `bk × d` PEs holding the block's values;
//!   probability rows stream through and leave as one row of `d` partial outputs.
//! - **Output accumulator**: a ring of `2·bq` rows of `d` accumulators. A row's first block writes
//!   `P·V`; later blocks write `(O >> shift) + P·V` (arithmetic shift). After the last block a
//!   reader multiplies each finished row by `1/l` and sends it on `out`.
//! - **Double buffering.** Both meshes have shadow weights (see `systolic_ws`). The next key
//!   block is shifted into the score mesh while the current one computes; values go through a
//!   staging queue of two blocks and are shifted into the output mesh behind the switch, so a
//!   block switch costs no cycle when a tile has at least `d + bk - 1` query rows
//!   ([`SpatialAttentionParams::full_speed_rows`]). Query rows live in a ring of `2·bq` rows, so
//!   the next tile's queries load while the current tile computes.
//!
//! # Masks (per command)
//! Key `j` counts for query row `i` when `j < len` and, with `causal`, `j <= q_pos + i`. Blocks
//! that no row of the tile sees are skipped: the host does not send them and no cycle is spent
//! on them. A block that some rows see only in part is computed with the rest masked.
//!
//! # Ports (AXI-Stream rules on every valid/ready pair; widths per lane, lanes side by side)
//! | port | width | meaning |
//! |---|---|---|
//! | `cmd_valid_i`, `cmd_ready_o` | 1, 1 | one query tile against a sequence of keys |
//! | `cmd_rows_i` | log2 `bq` | query rows of the tile − 1 |
//! | `cmd_len_i` | log2 `max_keys` | keys that count − 1 (`len − 1`) |
//! | `cmd_causal_i` | 1 | causal mask |
//! | `cmd_q_pos_i` | log2 `max_keys` | the position of the tile's first query row (causal) |
//! | `q_valid_i`, `q_ready_o`, `q_data_i` | 1, 1, `lanes·d·q_width` | one query row: element `k` in bits `[k·q_width +: q_width]` |
//! | `k_valid_i`, `k_ready_o`, `k_data_i` | 1, 1, `lanes·bk·8` | one row of a key block, transposed |
//! | `v_valid_i`, `v_ready_o`, `v_data_i` | 1, 1, `lanes·d·8` | one value row |
//! | `out_valid_o`, `out_ready_i`, `out_data_o` | 1, 1, `lanes·d·out_width` | one output row |
//! | `out_last_o` | 1 | the tile's last output row |
//!
//! # Stream order (see [`golden::streams`])
//! For each command, in command order: `rows` query rows on `q`. For each block `b` the command
//! computes (`b = 0 .. ceil(limit / bk)` with `limit = len`, or `min(len, q_pos + rows)` when
//! causal):
//! - **Keys:** `d` beats, the **highest head-dim index first**; beat `t` holds, in slot `c`, element
//!   `d − 1 − t` of key `b·bk + c`.
//! - **Values:** `bk` beats, the **highest key first**; beat `t` holds value row `b·bk + bk − 1 − t`.
//!
//! Key slots and value rows past the sequence's last key are ignored (their probabilities are
//! zero). Queries, keys and values are signed: `q_width`-bit queries, 8-bit keys and values.
//! `out` carries each row of the tile in order once its last block is done: element `c` is
//! `O[i][c] · 2^out_frac` rounded half up, signed `out_width` bits (saturated).
//!
//! # Latency and throughput
//! One query row per cycle through both meshes. A row's output leaves
//! [`SpatialAttentionParams::row_latency`] cycles after its last block's query row entered the
//! score mesh. [`golden::predict`] gives the cycle count of a command stream.

pub mod bench;
pub mod golden;
pub mod rtl;
pub mod tb;

use super::softmax::OnlineSoftmaxParams;
use super::systolic::{Span, SystolicParams};
use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `spatial_attention`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpatialAttentionParams {
    /// Attention lanes, one head each (1..=256).
    pub lanes: u32,
    /// Head dimension: PE rows of the score mesh, columns of the output mesh (1..=256).
    pub d: u32,
    /// Keys per block: columns of the score mesh, rows of the output mesh (1..=256).
    pub bk: u32,
    /// Most query rows of one tile (a power of two, 1..=2^12).
    pub bq: u64,
    /// Bits of a query element (signed, 2..=16); keys and values are signed 8-bit.
    pub q_width: u32,
    /// Longest key sequence of a command (a power of two, 2..=2^20).
    pub max_keys: u64,
    /// Bits of a score (signed). 0 derives the narrowest that a `d`-long dot product of a query
    /// and a key cannot overflow; a non-zero value must be at least that (..=40).
    pub score_width: u32,
    /// Base-2 exponent per score unit: `log2(e) · s_q · s_k / sqrt(d)` (positive, finite).
    pub scale: f64,
    /// Significant bits `scale` is rounded to (2..=24).
    pub scale_bits: u32,
    /// Fraction bits of the base-2 exponent (2..=16).
    pub exp_frac: u32,
    /// Segments of the `2^-g` chord table (a power of two).
    pub segments: u32,
    /// Bits of an unnormalised probability, the output mesh's activations (4..=15).
    pub prob_width: u32,
    /// Segments of the `1/x` seed table (a power of two, 2..=256).
    pub recip_segments: u32,
    /// Bits of an output element (signed, 4..=32).
    pub out_width: u32,
    /// Fraction bits of an output element (0..=`prob_width`).
    pub out_frac: u32,
}

impl Default for SpatialAttentionParams {
    fn default() -> Self {
        let s = OnlineSoftmaxParams::default();
        SpatialAttentionParams {
            lanes: 64,
            d: 128,
            bk: 128,
            bq: 256,
            q_width: 8,
            max_keys: 1 << 14,
            score_width: 0,
            scale: s.scale,
            scale_bits: s.scale_bits,
            exp_frac: s.exp_frac,
            segments: s.segments,
            prob_width: s.prob_width,
            recip_segments: s.recip_segments,
            out_width: 16,
            out_frac: 8,
        }
    }
}

/// Bits of keys and values.
pub const KV_WIDTH: u32 = 8;

impl SpatialAttentionParams {
    /// The narrowest score a `d`-long dot product cannot overflow.
    pub fn required_score_width(&self) -> u32 {
        Span::of(self.q_width, true).times(Span::of(KV_WIDTH, true)).sum_of(u64::from(self.d)).bits(true)
    }

    /// The score width in effect.
    pub fn score_bits(&self) -> u32 {
        if self.score_width == 0 { self.required_score_width() } else { self.score_width }
    }

    /// Bits of one block's `P·V` element: a `bk`-long sum of probabilities times values.
    pub fn pv_width(&self) -> u32 {
        Span::of(self.prob_width, false).times(Span::of(KV_WIDTH, true)).sum_of(u64::from(self.bk)).bits(true)
    }

    /// Bits of an output accumulator: probabilities relative to the running maximum sum to at
    /// most `max_keys · 2^prob_width` (plus rounding), times a value, plus a margin for the
    /// floor of each rescale.
    pub fn acc_width(&self) -> u32 {
        self.prob_width + KV_WIDTH + self.max_keys.trailing_zeros() + 2
    }

    /// The row unit between the meshes.
    pub fn softmax(&self) -> OnlineSoftmaxParams {
        OnlineSoftmaxParams {
            row_width: self.bk,
            score_width: self.score_bits(),
            scale: self.scale,
            scale_bits: self.scale_bits,
            exp_frac: self.exp_frac,
            segments: self.segments,
            prob_width: self.prob_width,
            max_len: self.max_keys,
            max_rows: self.bq,
            recip_segments: self.recip_segments,
        }
    }

    fn mesh(&self, rows: u32, cols: u32, act_width: u32, acc_width: u32) -> SystolicParams {
        SystolicParams {
            rows,
            cols,
            weight_width: KV_WIDTH,
            act_width,
            signed: true,
            acc_width,
            ..SystolicParams::default()
        }
    }

    /// The score mesh: `d` rows (the dot product), `bk` columns (keys).
    pub fn score_mesh(&self) -> SystolicParams {
        self.mesh(self.d, self.bk, self.q_width, self.score_bits())
    }

    /// The output mesh: `bk` rows (keys), `d` columns; probabilities enter as signed
    /// `prob_width + 1`-bit activations.
    pub fn value_mesh(&self) -> SystolicParams {
        self.mesh(self.bk, self.d, self.prob_width + 1, self.pv_width())
    }

    /// Bits of `cmd_rows_i`.
    pub fn rows_bits(&self) -> u32 {
        self.bq.trailing_zeros().max(1)
    }

    /// Bits of `cmd_len_i` and `cmd_q_pos_i`.
    pub fn key_bits(&self) -> u32 {
        self.max_keys.trailing_zeros()
    }

    /// Rows of the query ring and of the output ring.
    pub fn ring_rows(&self) -> u64 {
        2 * self.bq
    }

    /// Rows of the value staging queue: two blocks, rounded up to a power of two.
    pub fn stage_rows(&self) -> u64 {
        (2 * u64::from(self.bk)).next_power_of_two()
    }

    /// Query rows a tile needs for block switches to cost nothing: the next key block takes `d`
    /// cycles to load and may start `bk - 1` cycles after the previous switch.
    pub fn full_speed_rows(&self) -> u64 {
        u64::from(self.d + self.bk) - 1
    }

    /// Cycles from a query row entering the score mesh to its scores entering the row unit.
    pub fn score_latency(&self) -> u64 {
        u64::from(self.d + self.bk) + 1
    }

    /// Cycles from a query row entering the score mesh to its probabilities entering the output
    /// mesh.
    pub fn value_offset(&self) -> u64 {
        self.score_latency() + self.softmax().latency()
    }

    /// Cycles from a last-block query row entering the score mesh to its output on `out_data_o`
    /// (the reader not behind).
    pub fn row_latency(&self) -> u64 {
        self.value_offset() + u64::from(self.bk + self.d) + 1 + rtl::READ_STAGES
    }

    /// Multiply-accumulates per cycle of one lane's two meshes.
    pub fn peak_macs(&self) -> u64 {
        2 * u64::from(self.d) * u64::from(self.bk)
    }
}

impl BlockParams for SpatialAttentionParams {
    const BLOCK: &'static str = "spatial_attention";
    const SUMMARY: &'static str =
        "Spatial Attention Engine: FlashAttention lanes of two systolic_ws meshes and an online softmax";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("lanes", "attention lanes (one head each)", d.lanes.to_string(), "1..=256"),
            p("d", "head dimension", d.d.to_string(), "1..=256"),
            p("bk", "keys per block (the mesh size)", d.bk.to_string(), "1..=256"),
            p("bq", "most query rows of a tile", d.bq.to_string(), "2^0..=2^12"),
            p("q_width", "bits of a query element", d.q_width.to_string(), "2..=16"),
            p("max_keys", "longest key sequence", d.max_keys.to_string(), "2^1..=2^20"),
            p(
                "score_width",
                "bits of a score (0: derived from d)",
                d.score_width.to_string(),
                "0 or derived..=40",
            ),
            p("scale", "base-2 exponent per score unit", format!("{:e}", d.scale), "> 0"),
            p("scale_bits", "significant bits of scale", d.scale_bits.to_string(), "2..=24"),
            p("exp_frac", "fraction bits of the exponent", d.exp_frac.to_string(), "2..=16"),
            p("segments", "segments of the 2^-g table", d.segments.to_string(), "2^1..=min(2^exp_frac, 256)"),
            p("prob_width", "bits of an unnormalised probability", d.prob_width.to_string(), "4..=15"),
            p("recip_segments", "segments of the 1/x seed table", d.recip_segments.to_string(), "2^1..=2^8"),
            p("out_width", "bits of an output element", d.out_width.to_string(), "4..=32"),
            p("out_frac", "fraction bits of an output element", d.out_frac.to_string(), "0..=prob_width"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_range(&mut issues, "lanes", self.lanes, 1, 256);
        check_range(&mut issues, "d", self.d, 1, 256);
        check_range(&mut issues, "q_width", self.q_width, 2, 16);
        check_range(&mut issues, "out_width", self.out_width, 4, 32);
        check_pow2(&mut issues, "bq", self.bq, 1, 1 << 12);
        check_pow2(&mut issues, "max_keys", self.max_keys, 2, 1 << 20);
        if self.bk == 0 || self.bk > 256 {
            issues.push(FieldIssue {
                field: "bk".into(),
                message: format!(
                    "{} keys per block do not fit a mesh: systolic_ws builds meshes of 1..=256 columns",
                    self.bk
                ),
            });
        }
        if self.prob_width > 15 {
            issues.push(FieldIssue {
                field: "prob_width".into(),
                message: format!(
                    "{}-bit probabilities enter the output mesh as signed {}-bit activations; its PEs \
                     take at most 16 bits (use 4..=15)",
                    self.prob_width,
                    self.prob_width + 1
                ),
            });
        }
        if !issues.is_empty() {
            return issues;
        }
        if self.out_frac > self.prob_width {
            issues.push(FieldIssue {
                field: "out_frac".into(),
                message: format!("{} is more than prob_width = {}", self.out_frac, self.prob_width),
            });
        }
        let need = self.required_score_width();
        if self.score_width != 0 && self.score_width < need {
            issues.push(FieldIssue {
                field: "score_width".into(),
                message: format!(
                    "{} bits overflow at d = {}: a {}-long dot product of {}-bit queries and 8-bit keys \
                     needs {need} bits (set score_width = 0 to derive it)",
                    self.score_width, self.d, self.d, self.q_width
                ),
            });
        }
        if self.max_keys < u64::from(self.bk) {
            issues.push(FieldIssue {
                field: "max_keys".into(),
                message: format!("{} is shorter than one block (bk = {})", self.max_keys, self.bk),
            });
        }
        if !issues.is_empty() {
            return issues;
        }
        // The row unit's own checks, reported under this block's names.
        fn rename(f: &str) -> &str {
            match f {
                "row_width" => "bk",
                "max_len" => "max_keys",
                "max_rows" => "bq",
                other => other,
            }
        }
        for issue in self.softmax().validate() {
            issues.push(FieldIssue { field: rename(&issue.field).to_string(), message: issue.message });
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
            cycles: self.row_latency(),
            from: "a last-block query row entering the score mesh".into(),
            to: "its output row on out_data_o (reader not behind)".into(),
        })
    }
}

#[cfg(test)]
mod tests;
