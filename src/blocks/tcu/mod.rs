//! `timestep_cond`: the Timestep Conditioning Unit. Two independent parts share `lanes`:
//! - the sinusoidal timestep embedding: for each timestep `t` taken from its input stream it
//!   streams the `dim` values `cos(t·f_i)` then `sin(t·f_i)`, `f_i = max_period^(−i/(dim/2))`,
//!   as in DiT and Wan (frequency dimension 256), `lanes` values per beat, in Q1.14;
//! - the conditioning broadcast of precomputed vectors ([`broadcast`]): a step table (one row
//!   per denoising step) and a layer table (one row per transformer block), each row `vectors ×
//!   width` 16-bit values, loaded before inference; a request (`step`, `layer`) streams the two
//!   rows added with saturation. This is Wan's AdaLN-Zero modulation, the block's learned
//!   `modulation` plus the step's `time_projection` of the embedding; the sum is what lets every
//!   timestep be precomputed in `(steps + layers)` rows rather than `steps × layers` (at Wan-14B
//!   sizes 5.5 MB instead of 123 MB). The step table's rows are computed off-chip (or by the
//!   array from the embedding) and loaded like weights.
//!
//! # Arithmetic
//! Bit-exact with [`golden`]: each lane multiplies `t` by its frequency, a 32-bit fraction of a
//! turn per step from a ROM, keeping the low 32 bits (the phase, exact modulo one turn); a
//! cosine adds a quarter turn. The phase's top two bits pick the quadrant; the position within
//! it (mirrored in quadrants 1 and 3, so up to a whole quarter: 31 bits) indexes a 65-entry
//! quarter-wave table of sines in Q1.14 with its top 7 bits, and its next 10 bits interpolate
//! linearly to the next entry (rounded); quadrants 2 and 3 negate. Largest error against f64
//! over every 10-bit timestep at `dim = 256`: 1.21e-4 (`cargo test --release --lib blocks::tcu
//! -- --nocapture`), finer than bf16's 2^-8.
//!
//! # Ports
//! | port | width | meaning |
//! |---|---|---|
//! | `clk_i`, `rst_ni` | 1 | clock; asynchronous active-low reset |
//! | `t_valid_i`, `t_data_i`, `t_ready_o` | 1, `t_bits`, 1 | timesteps (valid/ready); taken when the unit is idle |
//! | `emb_valid_o`, `emb_data_o`, `emb_last_o`, `emb_ready_i` | 1, `16·lanes`, 1, 1 | the embedding, `dim / lanes` beats per timestep, value `beat·lanes + l` in bits `16l+15:16l`, `last` on the final beat |
//! | `load_valid_i`, `load_table_i`, `load_addr_i`, `load_data_i`, `load_ready_o` | 1, 1, see below, `16·lanes`, 1 | a table beat: table 0 (steps) or 1 (layers), beat address `row · vectors·width/lanes + beat`; always ready |
//! | `cond_valid_i`, `cond_step_i`, `cond_layer_i`, `cond_ready_o` | 1, ⌈log2 steps⌉, ⌈log2 layers⌉, 1 | a broadcast request; taken when the broadcast is idle |
//! | `vec_valid_o`, `vec_data_o`, `vec_last_o`, `vec_ready_i` | 1, `16·lanes`, 1, 1 | the broadcast: `vectors·width/lanes` beats, each value the saturating sum of the two rows' values |
//! | `cond_range_error_o` | 1 | the cycle after a request with `step ≥ steps` or `layer ≥ layers` was taken (and dropped) |
//! | `load_range_error_o` | 1 | the cycle after a load beat beyond its table's rows (dropped: cut to the memory's width it would land in another row) |
//!
//! # Latency and rate
//! With `emb_ready_i` high, beat 0 of a timestep is valid 5 cycles after the cycle its `t` was
//! taken, and one beat follows per cycle; the next timestep is taken the cycle after the last
//! beat issues, so a timestep takes `dim / lanes + 1` cycles. Backpressure stalls the whole
//! pipeline; `emb_valid_o` and the payload hold until taken. A broadcast's first beat is valid 3
//! cycles after its request was taken, then one per cycle (`vectors·width/lanes + 1` cycles per
//! request). A table beat written in a cycle is read by any request taken after it; the tables
//! are memories of `steps` and `layers` rows rounded up to a power of two of beats.

pub mod broadcast;
pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, Latency, ParamInfo, check_pow2, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Cycles from a timestep's handshake to its first beat (output ready throughout).
pub const LATENCY: u64 = 5;

/// Cycles from a broadcast request's handshake to its first beat (output ready throughout).
pub const BROADCAST_LATENCY: u64 = 3;

/// Parameters of `timestep_cond`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimestepCondParams {
    /// Values per embedding (even, 4..=4096; Wan's frequency dimension is 256): `dim / 2`
    /// cosines, then as many sines.
    pub dim: u32,
    /// Values per output beat (a power of two, 1..=64, dividing `dim / 2`); each lane is one
    /// multiplier, two ROMs and one interpolator.
    pub lanes: u32,
    /// Bits of a timestep (1..=16; 10 covers the 0..=1000 of a 1,000-step schedule).
    pub t_bits: u32,
    /// Longest period of the frequencies, in steps (2..=1,000,000; 10,000 in DiT and Wan).
    pub max_period: u32,
    /// Rows of the step table: denoising steps of the schedule (1..=1024; 50 for Wan).
    pub steps: u32,
    /// Rows of the layer table: transformer blocks (1..=256; 40 in Wan-14B, 30 in Wan-1.3B).
    pub layers: u32,
    /// Vectors per row (1..=16; AdaLN-Zero's 6: shift, scale and gate of attention and MLP).
    pub vectors: u32,
    /// Values per vector: the model width (a multiple of `lanes`, up to 16,384; 5,120 in
    /// Wan-14B).
    pub width: u32,
}

impl TimestepCondParams {
    /// Beats of one table row (and of one broadcast): `vectors × width / lanes`.
    pub fn row_beats(&self) -> u32 {
        self.vectors * self.width / self.lanes
    }

    /// Bits of a load beat's address (a beat of either table).
    pub fn load_addr_bits(&self) -> u32 {
        crate::hdl::index_bits(u64::from(self.steps.max(self.layers)) * u64::from(self.row_beats()))
    }
}

impl Default for TimestepCondParams {
    fn default() -> Self {
        TimestepCondParams {
            dim: 256,
            lanes: 8,
            t_bits: 10,
            max_period: 10_000,
            steps: 50,
            layers: 40,
            vectors: 6,
            width: 5120,
        }
    }
}

impl BlockParams for TimestepCondParams {
    const BLOCK: &'static str = "timestep_cond";
    const SUMMARY: &'static str = "Timestep Conditioning Unit: sinusoidal timestep embedding (cos/sin ROM + interpolation), lanes values per cycle";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        vec![
            ParamInfo {
                name: "dim",
                doc: "values per embedding (cosines, then sines)",
                default: d.dim.to_string(),
                range: "even, 4..=4096",
            },
            ParamInfo {
                name: "lanes",
                doc: "values per output beat",
                default: d.lanes.to_string(),
                range: "power of two 1..=64 dividing dim/2",
            },
            ParamInfo {
                name: "t_bits",
                doc: "bits of a timestep",
                default: d.t_bits.to_string(),
                range: "1..=16",
            },
            ParamInfo {
                name: "max_period",
                doc: "longest period of the frequencies, in steps",
                default: d.max_period.to_string(),
                range: "2..=1000000",
            },
            ParamInfo {
                name: "steps",
                doc: "rows of the step table (denoising steps)",
                default: d.steps.to_string(),
                range: "1..=1024",
            },
            ParamInfo {
                name: "layers",
                doc: "rows of the layer table (transformer blocks)",
                default: d.layers.to_string(),
                range: "1..=256",
            },
            ParamInfo {
                name: "vectors",
                doc: "vectors per row (AdaLN-Zero: 6)",
                default: d.vectors.to_string(),
                range: "1..=16",
            },
            ParamInfo {
                name: "width",
                doc: "values per vector (the model width)",
                default: d.width.to_string(),
                range: "multiple of lanes, up to 16384",
            },
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_range(&mut issues, "dim", self.dim, 4, 4096);
        if !self.dim.is_multiple_of(2) {
            issues.push(FieldIssue {
                field: "dim".into(),
                message: format!("{} is odd: half cosines, half sines", self.dim),
            });
        }
        check_pow2(&mut issues, "lanes", u64::from(self.lanes), 1, 64);
        if self.lanes > 0 && !(self.dim / 2).is_multiple_of(self.lanes) {
            issues.push(FieldIssue {
                field: "lanes".into(),
                message: format!(
                    "{} does not divide dim / 2 = {}: a beat must not mix cosines and sines",
                    self.lanes,
                    self.dim / 2
                ),
            });
        }
        check_range(&mut issues, "t_bits", self.t_bits, 1, 16);
        check_range(&mut issues, "max_period", self.max_period, 2, 1_000_000);
        check_range(&mut issues, "steps", self.steps, 1, 1024);
        check_range(&mut issues, "layers", self.layers, 1, 256);
        check_range(&mut issues, "vectors", self.vectors, 1, 16);
        check_range(&mut issues, "width", self.width, 1, 16_384);
        if self.lanes > 0 && !self.width.is_multiple_of(self.lanes) {
            issues.push(FieldIssue {
                field: "width".into(),
                message: format!("{} is not a multiple of lanes = {}", self.width, self.lanes),
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

    fn latency(&self) -> Option<Latency> {
        Some(Latency {
            cycles: LATENCY,
            from: "t_valid_i && t_ready_o".into(),
            to: "emb_valid_o of beat 0 (emb_ready_i high)".into(),
        })
    }
}
