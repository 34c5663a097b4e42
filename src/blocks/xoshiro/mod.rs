//! `xoshiro_lane`: one xoshiro256++ generator lane (Blackman & Vigna, "Scrambled Linear
//! Pseudorandom Number Generators"), the uniform source of the Stochastic Generation Unit.
//!
//! # Ports
//! | port | width | meaning |
//! |---|---|---|
//! | `clk_i`, `rst_ni` | 1 | clock; asynchronous active-low reset to the lane's seeded state |
//! | `load_i` | 1 | at the clock edge, replace the state with `load_state_i` (wins over `en_i`) |
//! | `load_state_i` | 256 | new state: `s0` in bits 63:0, `s1` in 127:64, `s2` in 191:128, `s3` in 255:192 |
//! | `en_i` | 1 | at the clock edge, advance the state by one step |
//! | `rand_o` | 64 | `rotl(s0 + s3, 23) + s0` of the current state |
//!
//! # Latency
//! `rand_o` is combinational from the state registers (one 64-bit adder after them: `s0 + s3` is
//! kept in a register of its own): the output for the current state is visible in the same
//! cycle, and a step (or load) shows in the next cycle. One output per cycle while `en_i` is held
//! high.
//!
//! # Reset state
//! The reset value is the state of lane `lane` for seed `seed`: splitmix64-seeded like
//! `rand_xoshiro`'s `seed_from_u64`, advanced by `lane` jumps of 2^128 steps, so lanes of one seed
//! never overlap. A running design can load any other state through `load_i`.

pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Largest lane index; 1024 lanes is the widest SGU vdx plans for.
pub const MAX_LANE: u32 = 1023;

/// Parameters of `xoshiro_lane`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct XoshiroLaneParams {
    /// 64-bit seed expanded by splitmix64 into the reset state (TOML integers are signed, so a
    /// config can give 0..=2^63-1).
    pub seed: u64,
    /// Lane index: the reset state is advanced by this many 2^128-step jumps (0..=1023).
    pub lane: u32,
}

impl XoshiroLaneParams {
    /// The state the lane's registers reset to.
    pub fn reset_state(&self) -> [u64; 4] {
        golden::Xoshiro256pp::lane(self.seed, self.lane).s
    }
}

impl BlockParams for XoshiroLaneParams {
    const BLOCK: &'static str = "xoshiro_lane";
    const SUMMARY: &'static str = "one xoshiro256++ uniform generator lane with state load and enable";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        vec![
            ParamInfo {
                name: "seed",
                doc: "seed expanded by splitmix64 into the reset state",
                default: d.seed.to_string(),
                range: "0..=9223372036854775807",
            },
            ParamInfo {
                name: "lane",
                doc: "lane index: reset state is advanced by this many 2^128-step jumps",
                default: d.lane.to_string(),
                range: "0..=1023",
            },
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        if self.lane > MAX_LANE {
            issues.push(FieldIssue {
                field: "lane".into(),
                message: format!("{} is out of range 0..={MAX_LANE}", self.lane),
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
            cycles: 0,
            from: "the state (after reset, load_i or en_i)".into(),
            to: "rand_o (combinational from the state)".into(),
        })
    }
}
