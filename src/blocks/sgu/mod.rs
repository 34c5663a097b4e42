//! `sgu`: the Stochastic Generation Unit. `lanes` xoshiro256++ lanes, each feeding a fixed-point
//! Box-Muller pair unit that turns one 64-bit uniform into two Gaussian samples per cycle.
//!
//! See [`golden`] for the arithmetic and its error budget.
//!
//! # Operating it
//! - After reset every lane holds the same state (the default lane's): load all `lanes` states on
//!   the seed bus, one per cycle, **with `en_i` low**, before generating. A load while `en_i` is
//!   high wins over the step, and the pipeline still drains up to 17 samples of the old stream.
//!   A `seed_lane_i` at or above `lanes` loads nothing.
//! - A reset drops the samples in flight (up to 17 per lane) and returns every lane to the common
//!   reset state, so the lanes must be seeded again.
//! - `en_i` asks for one uniform per lane per cycle; while the consumer stalls, the request is
//!   held off (nothing is lost or repeated), so count transfers, not `en_i` cycles.
//! - A 1024-lane model's initial evaluation needs more than the 2 MiB of a spawned Rust thread's
//!   stack: run it on the main thread (the CLI does) or set `RUST_MIN_STACK=8388608`.

pub mod golden;
pub mod poly;
pub mod rtl;
pub mod stats;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `sgu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SguParams {
    /// Lanes, each one xoshiro256++ generator and one Box-Muller pair unit (1..=1024).
    pub lanes: u32,
    /// Width of each output sample, two's complement (8..=32).
    pub out_width: u32,
    /// Fraction bits of each output sample (1..=13; 13 keeps the 1-ulp accuracy guarantee).
    pub out_frac: u32,
    /// Bits of the uniform `u0` (32..=48): the largest sample is `sqrt(2 (u0_bits+1) ln 2)`,
    /// 8.24σ for 48 bits, 6.73σ for 32.
    pub u0_bits: u32,
    /// log2 of the segments of the `ln` table (7..=10; smaller tables break the 1-ulp accuracy).
    pub ln_segments_log2: u32,
    /// log2 of the segments of each half of the `sqrt` table (4..=8).
    pub sqrt_segments_log2: u32,
    /// log2 of the segments of the `sin` table (5..=10).
    pub trig_segments_log2: u32,
}

impl Default for SguParams {
    fn default() -> Self {
        SguParams {
            lanes: 256,
            out_width: 16,
            out_frac: 11,
            u0_bits: 48,
            ln_segments_log2: 8,
            sqrt_segments_log2: 5,
            trig_segments_log2: 6,
        }
    }
}

impl SguParams {
    /// The largest |sample| the unit can produce: `sqrt(2 (u0_bits + 1) ln 2)`.
    pub fn max_sigma(&self) -> f64 {
        (2.0 * f64::from(self.u0_bits + 1) * std::f64::consts::LN_2).sqrt()
    }

    /// Range checks.
    pub fn check(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        let mut range =
            |field: &str, value: u32, lo: u32, hi: u32| check_range(&mut issues, field, value, lo, hi);
        range("lanes", self.lanes, 1, 1024);
        range("out_width", self.out_width, 8, 32);
        range("out_frac", self.out_frac, 1, 13);
        range("u0_bits", self.u0_bits, 32, 48);
        range("ln_segments_log2", self.ln_segments_log2, 7, 10);
        range("sqrt_segments_log2", self.sqrt_segments_log2, 4, 8);
        range("trig_segments_log2", self.trig_segments_log2, 5, 10);
        let int_bits = i64::from(self.out_width) - i64::from(self.out_frac) - 1;
        let needed = self.max_sigma().log2().floor() as i64 + 1;
        if int_bits < needed {
            issues.push(FieldIssue {
                field: "out_width".into(),
                message: format!(
                    "{} bits with {} fraction bits leave {int_bits} integer bits; the tail reaches {:.2} (u0_bits {}), \
                     which needs {needed}: use out_width >= {}",
                    self.out_width,
                    self.out_frac,
                    self.max_sigma(),
                    self.u0_bits,
                    i64::from(self.out_frac) + needed + 1
                ),
            });
        }
        issues
    }
}

impl BlockParams for SguParams {
    const BLOCK: &'static str = "sgu";
    const SUMMARY: &'static str = "Stochastic Generation Unit: xoshiro256++ lanes with fixed-point Box-Muller, 2 samples per lane per cycle";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let info =
            |name, doc, default: u32, range| ParamInfo { name, doc, default: default.to_string(), range };
        vec![
            info("lanes", "generator lanes, each with one Box-Muller pair unit", d.lanes, "1..=1024"),
            info("out_width", "bits of each output sample (two's complement)", d.out_width, "8..=32"),
            info("out_frac", "fraction bits of each output sample", d.out_frac, "1..=13"),
            info("u0_bits", "bits of u0 (tail reach sqrt(2 (u0_bits+1) ln 2))", d.u0_bits, "32..=48"),
            info("ln_segments_log2", "log2 segments of the ln table", d.ln_segments_log2, "7..=10"),
            info(
                "sqrt_segments_log2",
                "log2 segments per half of the sqrt table",
                d.sqrt_segments_log2,
                "4..=8",
            ),
            info("trig_segments_log2", "log2 segments of the sin table", d.trig_segments_log2, "5..=10"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        self.check()
    }

    fn build(&self) -> Result<Module, HdlError> {
        rtl::build(self)
    }

    fn cosim(&self, run: CosimRun) -> Result<CosimReport, SimError> {
        tb::cosim_verilator(self, run)
    }

    fn latency(&self) -> Option<crate::blocks::Latency> {
        Some(crate::blocks::Latency {
            cycles: u64::from(rtl::PAIR_LATENCY) + 1,
            from: "en_i high (a uniform is drawn)".into(),
            to: "out_valid_o with its samples".into(),
        })
    }
}

#[cfg(test)]
mod tests;
