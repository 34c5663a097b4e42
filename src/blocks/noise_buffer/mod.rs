//! `noise_buffer`: the double-buffered noise store behind the SGU. The SGU's stream (one word of
//! `2 · lanes` samples per transfer) fills one bank while the denoising step reads the other, so
//! the next step's noise tensor is produced while the current one is consumed.
//!
//! # Ports
//! | port | width | meaning |
//! |---|---|---|
//! | `in_valid_i`, `in_ready_o`, `in_data_i` | 1, 1, `word` | the SGU stream (AXI-Stream rules) |
//! | `rd_valid_o`, `rd_bank_o` | 1, 1 | a full bank is offered for reading, and which |
//! | `rd_en_i`, `rd_addr_i` | 1, `addr` | read word `rd_addr_i` of the offered bank |
//! | `rd_data_o` | `word` | the word read, one cycle after `rd_en_i` |
//! | `release_i` | 1 | the reader is done with the offered bank: it may be refilled |
//!
//! `word = 2 · lanes · sample_width`; each bank holds `words = ceil(tensor_samples / (2 · lanes))`
//! words (the depth is the next power of two). The writer fills bank 0 then bank 1, alternating;
//! `in_ready_o` is low while the bank it would write is still full (the reader has not released
//! it). A release when no bank is offered is ignored. The banks are SRAM without reset: a word
//! offered while `rst_ni` is low is accepted (`in_ready_o` is high in the reset state) and lands
//! in word 0 of bank 0, to be overwritten by the first word after reset, so hold `in_valid_i` low
//! during reset. When `tensor_samples` is not a multiple of `2 · lanes`, the last word of each
//! tensor carries `2 · lanes · words - tensor_samples` extra samples, which the reader ignores.

pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_range};
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `noise_buffer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseBufferParams {
    /// Lanes of the SGU feeding the buffer (a word holds two samples per lane) (1..=1024).
    pub lanes: u32,
    /// Bits per sample (8..=32).
    pub sample_width: u32,
    /// Samples in one noise tensor (one bank): 16 channels × 30 frames × 14,400 tokens by default.
    pub tensor_samples: u64,
}

impl Default for NoiseBufferParams {
    fn default() -> Self {
        NoiseBufferParams { lanes: 256, sample_width: 16, tensor_samples: 16 * 30 * 14_400 }
    }
}

impl NoiseBufferParams {
    /// Bits of one word.
    pub fn word_bits(&self) -> u32 {
        2 * self.lanes * self.sample_width
    }

    /// Words that make one tensor.
    pub fn words(&self) -> u64 {
        self.tensor_samples.div_ceil(2 * u64::from(self.lanes))
    }

    /// Words each bank can hold (a power of two).
    pub fn depth(&self) -> u64 {
        self.words().next_power_of_two().max(2)
    }

    /// Width of the read address.
    pub fn addr_bits(&self) -> u32 {
        self.depth().trailing_zeros()
    }
}

impl BlockParams for NoiseBufferParams {
    const BLOCK: &'static str = "noise_buffer";
    const SUMMARY: &'static str =
        "double-buffered noise store filled by the SGU stream, read by the denoising step";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        vec![
            ParamInfo {
                name: "lanes",
                doc: "SGU lanes (two samples each per word)",
                default: d.lanes.to_string(),
                range: "1..=1024",
            },
            ParamInfo {
                name: "sample_width",
                doc: "bits per sample",
                default: d.sample_width.to_string(),
                range: "8..=32",
            },
            ParamInfo {
                name: "tensor_samples",
                doc: "samples per noise tensor (one bank)",
                default: d.tensor_samples.to_string(),
                range: "2..=2^34",
            },
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_range(&mut issues, "lanes", self.lanes, 1, 1024);
        check_range(&mut issues, "sample_width", self.sample_width, 8, 32);
        check_range(&mut issues, "tensor_samples", self.tensor_samples, 2, 1 << 34);
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
            cycles: 1,
            from: "rd_en_i with rd_addr_i".into(),
            to: "rd_data_o".into(),
        })
    }
}
