//! `latent_buffer`: the banked SRAM the Temporal Attention Engine gathers from. It holds tokens
//! of `pitch` words each (a token is one spatial position of one frame; a word is, for the TAE,
//! one head's `d` channels) and serves a whole beat of reads (one word per lane) or writes (up
//! to `write_words` consecutive words) per cycle, as long as the beat's words lie in distinct
//! banks.
//!
//! # Bank mapping (a skew on token and word)
//! Word `w` of token `n` (with `pitch = R` words per token, a run-time input) lives in
//!
//! ```text
//! bank = (n + w) mod banks          row = (n div banks) · R + w
//! ```
//!
//! For each row block `n div banks` and word `w`, the `banks` tokens `n mod banks` land in the
//! `banks` banks rotated by `w`, so the map is a bijection from `(n, w)`, `w < R`, onto
//! `(bank, row)` ([`golden::Mapping::locate`], property-tested). It does not care about `R`:
//!
//! - **Consecutive tokens, same word** (the lanes reading one head of `banks` neighbouring
//!   positions of one frame, the TAE's read beat) hit `banks` distinct banks for every `R`,
//!   odd or even. A plain `address mod banks` map on the linear address `n · R + w` would put
//!   them in `banks / gcd(R, banks)` banks: 32 of 256 for Wan-14B's `R = 40` (an 8-way conflict).
//! - **Consecutive words** (a write beat of one token's channels, running into the next token)
//!   hit distinct banks as long as the beat holds fewer than `R` words.
//! - Tokens `banks` apart at the same word share a bank: lanes that read every `s`-th token
//!   (a position-minor layout, `s = T`) conflict `gcd(s, banks)`-fold. Such beats are served
//!   in several cycles, correctly, and counted.
//!
//! The row needs `(n div banks) · R`: one small multiplier per request, outside the loop.
//!
//! # Conflicts
//! A beat's requests are granted bank by bank each cycle, the lowest-numbered request first;
//! the others wait for the next cycle. Every cycle in which a request of the beat in service
//! waits adds one to `conflicts_o` (saturating), and the beat after it waits too: a conflict
//! costs time, never data.
//!
//! # Ports (AXI-Stream rules on `rd`, `wr`, `rdata`)
//! | port | width | meaning |
//! |---|---|---|
//! | `pitch_i` | `pitch_width` | `R`, words per token (≥ 1); hold it while beats are in flight |
//! | `rd_valid_i`, `rd_ready_o` | 1, 1 | one read beat (taken before a write offered at once) |
//! | `rd_token_i` | `read_ports · token_width` | token of request `r` in bits `[r·token_width +: token_width]` |
//! | `rd_word_i` | `read_ports · pitch_width` | its word (`w < R`) |
//! | `rd_keep_i` | `read_ports` | bit `r`: request `r` reads (0: its data is 0 and it uses no bank) |
//! | `wr_valid_i`, `wr_ready_o` | 1, 1 | one write beat |
//! | `wr_token_i`, `wr_word_i` | `token_width`, `pitch_width` | where word 0 of the beat goes (`w < R`) |
//! | `wr_keep_i` | `write_words` | bit `j`: word `j` is written |
//! | `wr_data_i` | `write_words · word_width` | word `j` goes to `(n, w + j)`, or `(n + 1, w + j − R)` once `w + j ≥ R` |
//! | `rdata_valid_o`, `rdata_ready_i` | 1, 1 | one read beat's data, in order |
//! | `rdata_data_o` | `read_ports · word_width` | word of request `r` (0 where not kept or out of range) |
//! | `rdata_err_o` | 1 | a kept request of the beat was out of range |
//! | `conflicts_o` | 32 | cycles lost to bank conflicts since reset (saturating) |
//! | `error_o` | 1 | a kept request was out of range since reset (sticky) |
//!
//! A request is out of range when its word is not below `R` (for a write word, `w + j ≥ 2R`
//! counts too), or its row is not below `depth`, or its token does not fit `token_width`; it is
//! neither read nor written.
//!
//! # Latency and throughput
//! A beat without conflicts is served in one cycle: one beat per cycle, reads and writes mixed.
//! Read data leaves 3 cycles after the read beat was taken ([`LatentBufferParams::LATENCY`]);
//! a beat with a `k`-fold conflict takes `k` cycles. A read placed after a write sees it. While
//! `rdata` waits for `rdata_ready_i`, the banks hold.

pub mod golden;
pub mod rtl;
pub mod tb;

use super::{BlockParams, CosimReport, CosimRun, FieldIssue, ParamInfo, check_pow2, check_range};
use crate::hdl::index_bits;
use crate::hdl::{HdlError, Module};
use crate::sim::SimError;
use serde::{Deserialize, Serialize};

/// Parameters of `latent_buffer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatentBufferParams {
    /// Banks, each one word wide (a power of two, 2..=256).
    pub banks: u32,
    /// Rows per bank (a power of two, 2..=2^20).
    pub depth: u64,
    /// Bits of a word (1..=4096): for the TAE one head's `d` channels.
    pub word_width: u32,
    /// Requests of a read beat, one per lane (1..=256).
    pub read_ports: u32,
    /// Words of a write beat (1..=256).
    pub write_words: u32,
    /// Bits of `pitch`, the words per token (1..=12).
    pub pitch_width: u32,
}

impl Default for LatentBufferParams {
    fn default() -> Self {
        // 256 banks x 512 rows of 128-byte words: 16 MiB.
        LatentBufferParams {
            banks: 256,
            depth: 512,
            word_width: 1024,
            read_ports: 256,
            write_words: 32,
            pitch_width: 8,
        }
    }
}

impl LatentBufferParams {
    /// Cycles from a read beat's transfer to its data's first offer, without conflicts.
    pub const LATENCY: u64 = 3;

    /// Bits of a bank number.
    pub fn bank_width(&self) -> u32 {
        index_bits(u64::from(self.banks))
    }

    /// Bits of a row number.
    pub fn row_width(&self) -> u32 {
        index_bits(self.depth)
    }

    /// Bits of a token number: enough for `banks · depth` tokens of one word.
    pub fn token_width(&self) -> u32 {
        self.bank_width() + self.row_width()
    }

    /// Request slots of the arbiter: the larger of the two beats.
    pub fn slots(&self) -> u32 {
        self.read_ports.max(self.write_words)
    }
}

impl BlockParams for LatentBufferParams {
    const BLOCK: &'static str = "latent_buffer";
    const SUMMARY: &'static str =
        "banked latent SRAM: skewed token/word bank map, one gather or write beat per cycle, conflict count";

    fn describe() -> Vec<ParamInfo> {
        let d = Self::default();
        let p = |name, doc, default: String, range| ParamInfo { name, doc, default, range };
        vec![
            p("banks", "banks, one word wide", d.banks.to_string(), "power of two 2..=256"),
            p("depth", "rows per bank", d.depth.to_string(), "power of two 2..=2^20"),
            p("word_width", "bits of a word", d.word_width.to_string(), "1..=4096"),
            p("read_ports", "requests of a read beat (lanes)", d.read_ports.to_string(), "1..=256"),
            p("write_words", "words of a write beat", d.write_words.to_string(), "1..=256"),
            p("pitch_width", "bits of the words-per-token input", d.pitch_width.to_string(), "1..=12"),
        ]
    }

    fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        check_pow2(&mut issues, "banks", u64::from(self.banks), 2, 256);
        check_pow2(&mut issues, "depth", self.depth, 2, 1 << 20);
        check_range(&mut issues, "word_width", self.word_width, 1, 4096);
        check_range(&mut issues, "read_ports", self.read_ports, 1, 256);
        check_range(&mut issues, "write_words", self.write_words, 1, 256);
        check_range(&mut issues, "pitch_width", self.pitch_width, 1, 12);
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
