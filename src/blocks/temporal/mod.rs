//! `temporal_attention`: the Temporal Attention Engine. Attention across the frames at each
//! spatial position: for position `p` and head `h`, `O = softmax(Q·Kᵀ · scale) · V` over the
//! `T ≤ t_max` frames, with a mask chosen per command. `lanes` lanes work on `lanes`
//! neighbouring positions at once, one head at a time.
//!
//! # Parts
//! - **Address generator** (`u_walker`, a `stride_walker` of 4 levels): walks frames (level 0),
//!   the three tensors Q, K, V (level 1), heads (level 2) and groups of `lanes` positions
//!   (level 3), one packed address `token · 2^pitch_width + word` per cycle. Lane `ℓ` adds
//!   `ℓ · pos_stride`, so one walker address is one read beat for all lanes.
//! - **Latent buffer** (`u_buffer`, a `latent_buffer` with one `d`-channel head per word): the
//!   skewed bank map puts the lanes' reads of neighbouring positions in distinct banks for any
//!   channel count; other layouts conflict, stall and are counted (`conflicts_o`).
//! - **Lanes** (`u_lane`, `vdx_tae_lane`): each holds Q, K, V of two jobs (one computing, one
//!   loading) and computes, one (query, key) pair per cycle, `s = q·k` on `d` multipliers, the
//!   row's softmax in one beat of an `online_softmax` (`row_width = t_max`), then `o += p_j · v_j`
//!   on `d` more multipliers, and `o · 1/l` for the output (the SAE's `vdx_attention_norm`).
//!   Pairs the mask removes take no cycle; a row with no key left takes one cycle and gives 0.
//!
//! # Layout
//! The buffer holds tokens of `pitch_i` words; a word is one head's `d` channels (8-bit, signed).
//! Addresses are packed, `token · 2^pitch_width + word`; a command's strides are in packed units.
//! Q of frame `t`, position `g·lanes + ℓ`, head `h` is at
//! `base + t·frame_stride + h·head_stride + (g·lanes + ℓ)·pos_stride`; K and V are
//! `tensor_stride` and `2·tensor_stride` further. Frame-major latents (`[T][H·W][C]`, as the
//! producer writes them) have `frame_stride = H·W · 2^pitch_width`, `pos_stride = 2^pitch_width`;
//! with Q, K, V of all heads in one token, `tensor_stride = heads`, `head_stride = 1`.
//!
//! # Masks (per command)
//! Key frame `j` counts for query frame `i` when `j < T`, bit `j` of `skip` is 0, and:
//! `causal` → `j ≤ i`; `window = W > 0` → `|i − j| < W` (with `causal`: `i − W < j ≤ i`).
//! Full attention is `causal = 0, window = 0, skip = 0`.
//!
//! # Ports (AXI-Stream rules on every valid/ready pair)
//! | port | width | meaning |
//! |---|---|---|
//! | `pitch_i` | `pitch_width` | words per token; set before writing, change only when idle |
//! | `cmd_valid_i`, `cmd_ready_o` | 1, 1 | one pass over a tile (taken when idle) |
//! | `cmd_frames_i` | log2 `t_max` | `T − 1` |
//! | `cmd_positions_i` | `token_width` | positions `P − 1` (lanes past `P` in the last group read nothing and give 0) |
//! | `cmd_heads_i` | `pitch_width` | heads `H − 1` |
//! | `cmd_base_i`, `cmd_frame_stride_i`, `cmd_tensor_stride_i`, `cmd_head_stride_i`, `cmd_pos_stride_i` | `addr_width` each | the layout, packed |
//! | `cmd_causal_i`, `cmd_window_i`, `cmd_skip_i` | 1, bits of `t_max`, `t_max` | the mask |
//! | `wr_*` | as `latent_buffer`'s `wr` | latent write beats (token, word, keep, `write_words` words) |
//! | `out_valid_o`, `out_ready_i` | 1, 1 | one query frame of one head for all lanes |
//! | `out_data_o` | `lanes · d · out_width` | lane `ℓ`'s `O[i][c] · 2^out_frac` in bits `[(ℓ·d + c)·out_width +: out_width]` |
//! | `out_frame_o` | log2 `t_max` | the query frame `i` |
//! | `out_lanes_o` | `lanes` | lanes holding a position (the last group may hold fewer) |
//! | `out_last_o` | 1 | the command's last beat |
//! | `conflicts_o` | 32 | the buffer's conflict cycles |
//! | `error_o` | 1 | a request left the buffer, or a lane address overflowed (sticky) |
//!
//! Output order: groups, then heads, then query frames.
//!
//! # Latency and throughput
//! A job (one group, one head) reads `3·T` beats and computes one (query, key) pair per cycle:
//! `Σ_i max(1, keys of row i)` cycles, `T²` for full attention; the next job's beats load while
//! one computes. A row may start while fewer than `rows_in_flight` rows wait for their output.
//!
//! Exact timing at full pace is [`golden::predict`] (its rules: [`golden::job_timing`]): the first
//! read beat goes out the cycle after the command, a job's data is in the lanes `k + 2` cycles
//! after its last beat (`k`: that beat's conflict cycles), a row's output beat leaves
//! `SCORE_STAGES + softmax latency + 1` cycles after its last pair plus its output pass (one
//! cycle per kept pair) and `VALUE_STAGES + 1` more, and a lane slot frees two cycles after its
//! job's last output pass. Full attention at T = 30 keeps the lanes busy (`T²` cycles per job);
//! masks with fewer than 3 keys per row on average wait for the loader.

pub mod bench;
pub mod golden;
pub mod lane;
pub mod rtl;
pub mod tb;

use super::latent::LatentBufferParams;
use super::softmax::OnlineSoftmaxParams;
use super::systolic::Span;
use super::walker::StrideWalkerParams;
use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module, index_bits, value_bits};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Bits of Q, K and V elements (signed).
pub const DATA_WIDTH: u32 = 8;

/// Parameters of `temporal_attention`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TemporalAttentionParams {
    /// Lanes, one position each (a power of two, 1..=256).
    pub lanes: u32,
    /// Most frames per sequence (a power of two, 2..=64).
    pub t_max: u32,
    /// Head dimension: channels per word (1..=256).
    pub d: u32,
    /// Base-2 exponent per score unit: `log2(e) · s_q · s_k / sqrt(d)` (positive).
    pub scale: f64,
    /// Significant bits `scale` is rounded to (2..=24).
    pub scale_bits: u32,
    /// Fraction bits of the base-2 exponent (2..=16).
    pub exp_frac: u32,
    /// Segments of the `2^-g` table (a power of two).
    pub segments: u32,
    /// Bits of an unnormalised probability (4..=15).
    pub prob_width: u32,
    /// Segments of the `1/x` seed table (a power of two, 2..=256).
    pub recip_segments: u32,
    /// Bits of an output element (signed, 8..=32).
    pub out_width: u32,
    /// Fraction bits of an output element (0..out_width).
    pub out_frac: u32,
    /// Rows a lane may hold between its score and its output (2..=16): more keeps short rows
    /// (causal, small windows) at full pace, at a row of probabilities and a row of outputs each.
    pub rows_in_flight: u32,
    /// Banks of the latent buffer (a power of two, 2..=256).
    pub banks: u32,
    /// Rows per bank (a power of two).
    pub depth: u64,
    /// Words of a latent write beat (1..=256).
    pub write_words: u32,
    /// Bits of the words-per-token pitch (1..=12).
    pub pitch_width: u32,
}

impl Default for TemporalAttentionParams {
    fn default() -> Self {
        TemporalAttentionParams {
            lanes: 256,
            t_max: 32,
            d: 128,
            // int8 Q and K with a quantisation step of 1/32 each, d = 128.
            scale: std::f64::consts::LOG2_E / (128f64).sqrt() / 1024.0,
            scale_bits: 16,
            exp_frac: 10,
            segments: 16,
            prob_width: 12,
            recip_segments: 16,
            out_width: 16,
            out_frac: 8,
            rows_in_flight: 6,
            banks: 256,
            depth: 512,
            write_words: 32,
            pitch_width: 8,
        }
    }
}

impl TemporalAttentionParams {
    /// Bits of a frame index.
    pub fn frame_bits(&self) -> u32 {
        index_bits(u64::from(self.t_max))
    }

    /// Bits of a window (0..=t_max).
    pub fn window_bits(&self) -> u32 {
        value_bits(u64::from(self.t_max))
    }

    /// The latent buffer: one word per head (`d` channels), one read port per lane.
    pub fn buffer(&self) -> LatentBufferParams {
        LatentBufferParams {
            banks: self.banks,
            depth: self.depth,
            word_width: self.d * DATA_WIDTH,
            read_ports: self.lanes,
            write_words: self.write_words,
            pitch_width: self.pitch_width,
        }
    }

    /// Bits of a packed address `token · 2^pitch_width + word`.
    pub fn addr_width(&self) -> u32 {
        self.buffer().token_width() + self.pitch_width
    }

    /// The address generator: frames, tensors, heads, groups.
    pub fn walker(&self) -> StrideWalkerParams {
        let b = self.buffer();
        StrideWalkerParams {
            levels: 4,
            addr_width: self.addr_width(),
            count_width: b.token_width().max(self.pitch_width).max(self.frame_bits()),
            limit: 0,
        }
    }

    /// The row unit: one beat per query row, all `t_max` keys.
    pub fn softmax(&self) -> OnlineSoftmaxParams {
        OnlineSoftmaxParams {
            row_width: self.t_max,
            score_width: self.score_width(),
            scale: self.scale,
            scale_bits: self.scale_bits,
            exp_frac: self.exp_frac,
            segments: self.segments,
            prob_width: self.prob_width,
            max_len: u64::from(self.t_max),
            max_rows: 1,
            recip_segments: self.recip_segments,
        }
    }

    /// Bits of a score `q·k` (a `d`-long sum of 8-bit products).
    pub fn score_width(&self) -> u32 {
        let x = Span::of(DATA_WIDTH, true);
        x.times(x).sum_of(u64::from(self.d)).bits(true)
    }

    /// Bits of one product `p_j · v_j`.
    pub fn pv_width(&self) -> u32 {
        Span::of(self.prob_width, false).times(Span::of(DATA_WIDTH, true)).bits(true)
    }

    /// Bits of an output accumulator: `t_max` products.
    pub fn acc_width(&self) -> u32 {
        Span::of(self.prob_width, false)
            .times(Span::of(DATA_WIDTH, true))
            .sum_of(u64::from(self.t_max))
            .bits(true)
    }

    /// The output normalisation.
    pub fn norm(&self) -> crate::blocks::attention::rtl::Norm {
        crate::blocks::attention::rtl::Norm {
            acc_width: self.acc_width(),
            softmax: self.softmax(),
            out_width: self.out_width,
            out_frac: self.out_frac,
        }
    }

    /// Multipliers of the lanes: `2·d` per lane (scores and outputs).
    pub fn macs(&self) -> u64 {
        2 * u64::from(self.d) * u64::from(self.lanes)
    }
}

impl BlockParams for TemporalAttentionParams {
    const BLOCK: &'static str = "temporal_attention";
    const SUMMARY: &'static str = "Temporal Attention Engine: strided gather from a banked latent buffer + per-position attention lanes";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("lanes", "lanes, one position each", d.lanes.to_string(), "power of two 1..=256"),
            p("t_max", "most frames per sequence", d.t_max.to_string(), "power of two 2..=64"),
            p("d", "head dimension", d.d.to_string(), "1..=256"),
            p("scale", "base-2 exponent per score unit", format!("{:e}", d.scale), "> 0"),
            p("scale_bits", "bits of the scale constant", d.scale_bits.to_string(), "2..=24"),
            p("exp_frac", "fraction bits of the exponent", d.exp_frac.to_string(), "2..=16"),
            p("segments", "segments of the 2^-g table", d.segments.to_string(), "power of two"),
            p("prob_width", "bits of a probability", d.prob_width.to_string(), "4..=15"),
            p("recip_segments", "segments of the 1/x table", d.recip_segments.to_string(), "2..=256"),
            p("out_width", "bits of an output element", d.out_width.to_string(), "8..=32"),
            p("out_frac", "fraction bits of an output element", d.out_frac.to_string(), "0..out_width"),
            p("rows_in_flight", "rows between score and output", d.rows_in_flight.to_string(), "2..=16"),
            p("banks", "latent buffer banks", d.banks.to_string(), "power of two 2..=256"),
            p("depth", "rows per bank", d.depth.to_string(), "power of two 2..=2^20"),
            p("write_words", "words of a latent write beat", d.write_words.to_string(), "1..=256"),
            p("pitch_width", "bits of the words-per-token pitch", d.pitch_width.to_string(), "1..=12"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_pow2(&mut issues, "lanes", u64::from(self.lanes), 1, 256);
        check_pow2(&mut issues, "t_max", u64::from(self.t_max), 2, 64);
        check_range(&mut issues, "d", self.d, 1, 256);
        check_range(&mut issues, "prob_width", self.prob_width, 4, 15);
        check_range(&mut issues, "out_width", self.out_width, 8, 32);
        if self.out_frac >= self.out_width {
            issues.push(FieldIssue {
                field: "out_frac".into(),
                message: format!("{} must be below out_width = {}", self.out_frac, self.out_width),
            });
        }
        check_range(&mut issues, "rows_in_flight", self.rows_in_flight, 2, 16);
        for i in self.buffer().validate() {
            if i.field != "read_ports" && i.field != "word_width" {
                issues.push(i);
            }
        }
        if issues.is_empty() {
            for i in self.softmax().validate() {
                let field = match i.field.as_str() {
                    "row_width" | "max_len" => "t_max".to_string(),
                    f => f.to_string(),
                };
                issues.push(FieldIssue { field, message: i.message });
            }
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
