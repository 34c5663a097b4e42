//! Co-simulation of `vdx_latent_buffer`: random write beats and read beats (neighbouring tokens,
//! strided tokens that conflict, scattered written words, out-of-range requests) under random
//! gaps and backpressure; every read word, the error flags and the conflict count are checked
//! against [`super::golden::Buffer`].

use super::LatentBufferParams;
use super::golden::{Beat, Buffer, Word};
use crate::blocks::systolic::golden::Packer;
use crate::blocks::{BlockParams, CosimReport, CosimRun, Pace};
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;

/// Packs `words` of `width` bits each, word 0 lowest.
pub fn pack_words(words: &[Word], width: u32) -> Vec<u32> {
    let mut p = Packer::default();
    for w in words {
        let mut left = width;
        for &limb in w {
            let take = left.min(64);
            p.put(limb as i64, take);
            left -= take;
        }
    }
    p.finish()
}

/// Word `index` of `width` bits from packed `words` (the inverse of [`pack_words`]).
pub fn unpack_word(words: &[u32], index: usize, width: u32) -> Word {
    let at = index as u64 * u64::from(width);
    (0..width.div_ceil(64))
        .map(|limb| {
            let lo = u64::from(limb) * 64;
            let take = (u64::from(width) - lo).min(64);
            (0..take).fold(0u64, |v, b| {
                let bit = at + lo + b;
                v | u64::from(words[(bit / 32) as usize] >> (bit % 32) & 1) << b
            })
        })
        .collect()
}

struct Ports {
    rst: Slot,
    pitch: Slot,
    rd_valid: Slot,
    rd_token: Slot,
    rd_word: Slot,
    rd_keep: Slot,
    wr_valid: Slot,
    wr_token: Slot,
    wr_word: Slot,
    wr_keep: Slot,
    wr_data: Slot,
    rdata_ready: Slot,
    rd_ready: Slot,
    wr_ready: Slot,
    rdata_valid: Slot,
    rdata_data: Slot,
    rdata_err: Slot,
    conflicts: Slot,
    error: Slot,
}

/// The host testbench: one beat offered at a time, in program order.
pub struct LatentBench {
    params: LatentBufferParams,
    rng: StdRng,
    pace: Pace,
    ports: Option<Ports>,
    cycle: u64,
    model: Buffer,
    offer: Option<Beat>,
    beats_left: usize,
    ready: bool,
    expected: VecDeque<super::golden::ReadData>,
    /// Conflict cycles of the beats taken so far, by the golden model.
    pub conflicts: u64,
    error_seen: bool,
    /// Cycle each beat was taken and the cycles the model says it occupies the banks.
    pub taken: Vec<(u64, u64, bool)>,
    /// Cycle each read beat's data left.
    pub out_cycles: Vec<u64>,
    /// Read beats checked.
    pub results: usize,
    /// Beats with an out-of-range request.
    pub bad_beats: usize,
    last_progress: u64,
}

impl LatentBench {
    /// A bench sending `beats` random beats with `pitch` words per token at `pace`.
    pub fn new(params: &LatentBufferParams, pitch: u64, beats: usize, pace: Pace, seed: u64) -> Self {
        LatentBench {
            params: params.clone(),
            rng: StdRng::seed_from_u64(seed ^ 0x1a7e_b0f5),
            pace,
            ports: None,
            cycle: 0,
            model: Buffer::new(params, pitch),
            offer: None,
            beats_left: beats,
            ready: false,
            expected: VecDeque::new(),
            conflicts: 0,
            error_seen: false,
            taken: Vec::new(),
            out_cycles: Vec::new(),
            results: 0,
            bad_beats: 0,
            last_progress: 0,
        }
    }

    /// Tokens a beat aims at: those that fit (plus a few beyond, for the range check).
    fn token_span(&self) -> u64 {
        let map = &self.model.map;
        (map.banks * map.depth / map.pitch.max(1)).max(1)
    }

    fn random_word(&mut self) -> Word {
        let ww = self.params.word_width;
        (0..ww.div_ceil(64))
            .map(|l| {
                let bits = (ww - l * 64).min(64);
                let v: u64 = self.rng.random();
                if bits == 64 { v } else { v & ((1 << bits) - 1) }
            })
            .collect()
    }

    fn write_beat(&mut self) -> Beat {
        let pitch = self.model.map.pitch;
        let n = self.params.write_words as usize;
        let token = self.rng.random_range(0..self.token_span() + 2).min((1 << self.params.token_width()) - 1);
        let word = if self.rng.random_bool(0.05) {
            pitch + self.rng.random_range(0..2)
        } else {
            self.rng.random_range(0..pitch)
        };
        let word = word.min((1 << self.params.pitch_width) - 1);
        let all = self.rng.random_bool(0.7);
        let keep = (0..n).map(|_| all || self.rng.random_bool(0.6)).collect();
        let data = (0..n).map(|_| self.random_word()).collect();
        Beat::Write { token, word, keep, data }
    }

    fn read_beat(&mut self) -> Beat {
        let (l, pitch, span) = (self.params.read_ports as usize, self.model.map.pitch, self.token_span());
        let word = self.rng.random_range(0..pitch);
        let t0 = self.rng.random_range(0..span);
        let stride = self.rng.random_range(1..=u64::from(self.params.banks));
        let pattern = self.rng.random_range(0..3);
        let mut token = Vec::new();
        let mut words = Vec::new();
        for r in 0..l as u64 {
            let (t, w) = match pattern {
                0 => (t0 + r, word),
                1 => (t0 + r * stride, word),
                _ => (self.rng.random_range(0..span), self.rng.random_range(0..pitch)),
            };
            let (t, w) = match self.rng.random_range(0..20) {
                0 => (t, pitch + self.rng.random_range(0..3)),
                1 => (span + self.rng.random_range(0..u64::from(self.params.banks)), w),
                _ => (t, w),
            };
            token.push(t.min((1 << self.params.token_width()) - 1));
            words.push(w.min((1 << self.params.pitch_width) - 1));
        }
        // In-range words never written hold whatever the SRAM powered up with: not read.
        let map = self.model.map;
        let keep = (0..l)
            .map(|r| match map.locate(token[r], words[r]) {
                Some(at) => self.model.written(at),
                None => self.rng.random_bool(0.9),
            })
            .collect();
        Beat::Read { token, word: words, keep }
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("LatentBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("LatentBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            pitch: i("pitch_i"),
            rd_valid: i("rd_valid_i"),
            rd_token: i("rd_token_i"),
            rd_word: i("rd_word_i"),
            rd_keep: i("rd_keep_i"),
            wr_valid: i("wr_valid_i"),
            wr_token: i("wr_token_i"),
            wr_word: i("wr_word_i"),
            wr_keep: i("wr_keep_i"),
            wr_data: i("wr_data_i"),
            rdata_ready: i("rdata_ready_i"),
            rd_ready: o("rd_ready_o"),
            wr_ready: o("wr_ready_o"),
            rdata_valid: o("rdata_valid_o"),
            rdata_data: o("rdata_data_o"),
            rdata_err: o("rdata_err_o"),
            conflicts: o("conflicts_o"),
            error: o("error_o"),
        });
    }
}

fn bits(flags: &[bool]) -> Vec<u32> {
    crate::blocks::systolic::golden::pack(flags.iter().map(|&k| i64::from(k)), 1)
}

impl CycleModel for LatentBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        if !reset && self.offer.is_none() && self.beats_left > 0 && rng.random_bool(self.pace.valid) {
            // Writes first while little is written, so reads find data.
            let write = self.taken.len() < 4 || self.rng.random_bool(0.4);
            self.offer = Some(if write { self.write_beat() } else { self.read_beat() });
            self.beats_left -= 1;
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let (tw, pw) = (self.params.token_width(), self.params.pitch_width);
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.pitch.set(frame, self.model.map.pitch);
        p.rdata_ready.set(frame, u64::from(self.ready));
        match &self.offer {
            Some(Beat::Read { token, word, keep }) => {
                p.rd_valid.set(frame, 1);
                p.rd_token.set_words(
                    frame,
                    &crate::blocks::systolic::golden::pack(token.iter().map(|&t| t as i64), tw),
                );
                p.rd_word.set_words(
                    frame,
                    &crate::blocks::systolic::golden::pack(word.iter().map(|&w| w as i64), pw),
                );
                p.rd_keep.set_words(frame, &bits(keep));
            }
            Some(Beat::Write { token, word, keep, data }) => {
                p.wr_valid.set(frame, 1);
                p.wr_token.set(frame, *token);
                p.wr_word.set(frame, *word);
                p.wr_keep.set_words(frame, &bits(keep));
                p.wr_data.set_words(frame, &pack_words(data, self.params.word_width));
            }
            None => {}
        }
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let cycle = self.cycle - 1;
        if p.rst.get(inputs) == 0 {
            return Ok(0);
        }
        let mut checks = 2;
        if (p.error.get(outputs) == 1) != self.error_seen {
            return Err(format!("error_o is {}, want {}", p.error.get(outputs), self.error_seen));
        }
        let conflicts = p.conflicts.get(outputs);
        if conflicts > self.conflicts {
            return Err(format!(
                "conflicts_o = {conflicts}, more than the {} of the beats taken",
                self.conflicts
            ));
        }
        if p.rdata_valid.get(outputs) == 1 && self.ready {
            let Some(want) = self.expected.pop_front() else {
                return Err("rdata offered with no read beat outstanding".into());
            };
            for (r, w) in want.words.iter().enumerate() {
                let got = unpack_word(p.rdata_data.get_words(outputs), r, self.params.word_width);
                if &got != w {
                    return Err(format!("read beat {}: port {r} is {got:x?}, want {w:x?}", self.results));
                }
            }
            if (p.rdata_err.get(outputs) == 1) != want.err {
                return Err(format!(
                    "read beat {}: rdata_err_o is {}, want {}",
                    self.results,
                    p.rdata_err.get(outputs),
                    want.err
                ));
            }
            checks += want.words.len() as u64 + 1;
            self.results += 1;
            self.out_cycles.push(cycle);
            self.last_progress = cycle;
        }
        let taken = match &self.offer {
            Some(Beat::Read { .. }) => p.rd_ready.get(outputs) == 1,
            Some(Beat::Write { .. }) => p.wr_ready.get(outputs) == 1,
            None => false,
        };
        if taken {
            let beat = self.offer.take().expect("offered");
            let map = self.model.map;
            let cycles = beat.cycles(&map);
            let err = beat.has_error(&map);
            self.conflicts += cycles - 1;
            self.error_seen |= err;
            self.bad_beats += usize::from(err);
            self.taken.push((cycle, cycles, matches!(beat, Beat::Read { .. })));
            if let Some(data) = self.model.apply(&beat) {
                self.expected.push_back(data);
            }
            self.last_progress = cycle;
        }
        if self.finished() && conflicts != self.conflicts {
            return Err(format!("conflicts_o = {conflicts} at the end, want {}", self.conflicts));
        }
        if !self.finished() && cycle > self.last_progress + 2000 {
            return Err(format!(
                "no progress for 2000 cycles: {} read beats outstanding",
                self.expected.len()
            ));
        }
        Ok(checks)
    }
}

impl Drains for LatentBench {
    fn finished(&self) -> bool {
        self.beats_left == 0 && self.offer.is_none() && self.expected.is_empty()
    }

    fn progress(&self) -> (usize, usize) {
        (self.results, self.results + self.expected.len())
    }
}

/// Builds the buffer, compiles it with Verilator (cached) and runs random beats for `run.cycles`
/// cycles under random gaps and backpressure, with a pitch of 3 words per token (odd, so the
/// skew is exercised across row blocks).
pub fn cosim_verilator(params: &LatentBufferParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let pitch = 3.min((1u64 << params.pitch_width) - 1);
    let mut bench = LatentBench::new(params, pitch, usize::MAX, Pace::RANDOM, run.seed);
    let cycles = run.cycles;
    let report = crate::blocks::cosim_verilator(params.build(), &mut bench, run)?;
    if bench.results == 0 {
        return Err(SimError::Design(format!("no read beat came back in {cycles} cycles")));
    }
    Ok(report)
}
