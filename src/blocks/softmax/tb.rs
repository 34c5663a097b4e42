//! Co-simulation of `vdx_online_softmax`: a host that sends tiles of query rows (every row's
//! blocks of scores, with masks) under random valid gaps and output backpressure. Every cycle is
//! checked against a cycle model of the pipeline (an `STAGES`-deep shift register that moves
//! when `advance` is high): `in_ready_o`, `out_valid_o`, and every output beat against the golden
//! row unit.

use super::OnlineSoftmaxParams;
use super::golden::{Beat, BeatOut, RowUnit};
use super::rtl::STAGES;
use crate::blocks::systolic::golden::{pack, unpack};
use crate::blocks::{BlockParams, CosimReport, CosimRun};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

pub use crate::blocks::Pace;

/// The kinds of rows the generator mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// Scores spread over a realistic range of a few to tens of binary places.
    Realistic,
    /// Any score of the format.
    FullRange,
    /// Every score the same.
    AllEqual,
    /// Scores near the most negative value.
    VeryNegative,
    /// Small scores and a new maximum in the row's very last element.
    LateMax,
}

const KINDS: [RowKind; 5] =
    [RowKind::Realistic, RowKind::FullRange, RowKind::AllEqual, RowKind::VeryNegative, RowKind::LateMax];

/// The masks the generator mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// Every score counts.
    Full,
    /// Row `r` sees keys `0..=r + offset` (causal).
    Causal,
    /// Keys past a random length are padding.
    KeyLength,
    /// Random scores dropped.
    Random,
    /// One key counts in the whole row.
    OnlyOne,
    /// No key counts: the row is empty.
    Nothing,
}

const MASKS: [MaskKind; 6] = [
    MaskKind::Full,
    MaskKind::Causal,
    MaskKind::KeyLength,
    MaskKind::Random,
    MaskKind::OnlyOne,
    MaskKind::Nothing,
];

/// A tile: `rows` query rows against `blocks` blocks of keys, in the order the beats are sent.
pub fn tile(p: &OnlineSoftmaxParams, rng: &mut StdRng, rows: u64, blocks: u32) -> Vec<Beat> {
    let w = p.row_width as usize;
    let keys = w * blocks as usize;
    let kind = KINDS[rng.random_range(0..KINDS.len())];
    let mask = MASKS[rng.random_range(0..MASKS.len())];
    let (lo, hi) = p.score_span();
    // Realistic: scores within `places` binary places of each other around a random centre.
    let places = [0.5, 4.0, 12.0, 40.0][rng.random_range(0..4)];
    let spread = ((places / p.scale) as i64).clamp(1, hi);
    let centre = rng.random_range(lo / 2..=hi / 2);
    let base = rng.random_range(0..rows);
    let offset = rng.random_range(0..keys);
    let length = rng.random_range(1..=keys);
    let mut per_row: Vec<(Vec<i64>, Vec<bool>)> = Vec::new();
    for r in 0..rows as usize {
        let equal = rng.random_range(lo..=hi);
        let only = rng.random_range(0..keys);
        let scores: Vec<i64> = (0..keys)
            .map(|j| match kind {
                RowKind::Realistic => (centre + rng.random_range(-spread..=spread)).clamp(lo, hi),
                RowKind::FullRange => rng.random_range(lo..=hi),
                RowKind::AllEqual => equal,
                RowKind::VeryNegative => lo + rng.random_range(0..=spread.min(1 << 10)),
                RowKind::LateMax if j + 1 == keys => hi,
                RowKind::LateMax => rng.random_range(-spread..=spread).clamp(lo, hi),
            })
            .collect();
        let keep: Vec<bool> = (0..keys)
            .map(|j| match mask {
                MaskKind::Full => true,
                MaskKind::Causal => j <= r + offset,
                MaskKind::KeyLength => j < length,
                MaskKind::Random => rng.random_bool(0.7),
                MaskKind::OnlyOne => j == only,
                MaskKind::Nothing => false,
            })
            .collect();
        per_row.push((scores, keep));
    }
    let mut order: Vec<usize> = (0..rows as usize).collect();
    let mut beats = Vec::new();
    for b in 0..blocks as usize {
        if rng.random_bool(0.3) {
            order.shuffle(rng);
        }
        for &r in &order {
            let (scores, keep) = &per_row[r];
            beats.push(Beat {
                scores: scores[b * w..(b + 1) * w].to_vec(),
                keep: keep[b * w..(b + 1) * w].to_vec(),
                row: (base + r as u64) % p.max_rows,
                first: b == 0,
                last: b + 1 == blocks as usize,
            });
        }
    }
    beats
}

struct Ports {
    rst: Slot,
    in_valid: Slot,
    in_score: Slot,
    in_keep: Slot,
    in_row: Slot,
    in_first: Slot,
    in_last: Slot,
    out_ready: Slot,
    in_ready: Slot,
    out_valid: Slot,
    out_prob: Slot,
    out_shift: Slot,
    out_row: Slot,
    out_first: Slot,
    out_last: Slot,
    out_inv_l: Slot,
    out_inv_exp: Slot,
    out_empty: Slot,
}

/// The host testbench with its cycle model.
pub struct SoftmaxBench {
    params: OnlineSoftmaxParams,
    unit: RowUnit,
    work: StdRng,
    pace: Pace,
    ports: Option<Ports>,
    /// Beats generated so far, in sending order.
    pub beats: Vec<Beat>,
    /// The golden outputs of `beats`.
    pub expected: Vec<BeatOut>,
    next: usize,
    offering: bool,
    ready: bool,
    cycle: u64,
    /// Beat indices in the pipeline, stage 1 first.
    pipe: Vec<Option<usize>>,
    /// Output beats taken and checked.
    pub results: usize,
    /// Cycle of every input transfer.
    pub in_cycles: Vec<u64>,
    /// Cycle of every output transfer.
    pub out_cycles: Vec<u64>,
    /// Stop generating tiles after this many beats (`None`: endless).
    limit: Option<usize>,
}

impl SoftmaxBench {
    /// A bench that sends random tiles forever (or up to `limit` beats) at `pace`.
    pub fn new(params: &OnlineSoftmaxParams, pace: Pace, seed: u64, limit: Option<usize>) -> Self {
        SoftmaxBench {
            params: params.clone(),
            unit: RowUnit::new(params),
            work: StdRng::seed_from_u64(seed ^ 0x50f7_4a11),
            pace,
            ports: None,
            beats: Vec::new(),
            expected: Vec::new(),
            next: 0,
            offering: false,
            ready: false,
            cycle: 0,
            pipe: vec![None; STAGES as usize],
            results: 0,
            in_cycles: Vec::new(),
            out_cycles: Vec::new(),
            limit,
        }
    }

    /// Queues `beats` (their golden outputs are computed now, in order).
    pub fn queue(&mut self, beats: Vec<Beat>) {
        for b in beats {
            self.expected.push(self.unit.beat(&b));
            self.beats.push(b);
        }
    }

    /// Whether every queued beat has come back.
    pub fn finished(&self) -> bool {
        self.results == self.beats.len()
    }

    fn refill(&mut self) {
        if self.next < self.beats.len() || self.limit.is_some_and(|l| self.beats.len() >= l) {
            return;
        }
        let rows = self.work.random_range(1..=self.params.max_rows.min(6));
        let blocks = self.work.random_range(1..=4u32);
        let beats = tile(&self.params, &mut self.work, rows, blocks);
        self.queue(beats);
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("SoftmaxBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("SoftmaxBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            in_valid: i("in_valid_i"),
            in_score: i("in_score_i"),
            in_keep: i("in_keep_i"),
            in_row: i("in_row_i"),
            in_first: i("in_first_i"),
            in_last: i("in_last_i"),
            out_ready: i("out_ready_i"),
            in_ready: o("in_ready_o"),
            out_valid: o("out_valid_o"),
            out_prob: o("out_prob_o"),
            out_shift: o("out_shift_o"),
            out_row: o("out_row_o"),
            out_first: o("out_first_o"),
            out_last: o("out_last_o"),
            out_inv_l: o("out_inv_l_o"),
            out_inv_exp: o("out_inv_exp_o"),
            out_empty: o("out_empty_o"),
        });
    }

    /// The differences between output beat `index` as the design shows it and the golden one.
    fn compare(&self, p: &Ports, outputs: &[u32], index: usize) -> Option<String> {
        let want = &self.expected[index];
        let params = &self.params;
        let w = params.prob_width;
        let probs = p.out_prob.get_words(outputs);
        for (j, &pj) in want.prob.iter().enumerate() {
            let got = unpack(probs, j as u32 * w, w);
            if got != pj {
                return Some(format!("beat {index}: prob[{j}] = {got}, golden {pj}"));
            }
        }
        let ew = params.inv_exp_width();
        let inv_exp = ((p.out_inv_exp.get(outputs) << (64 - ew)) as i64) >> (64 - ew);
        let got = (
            p.out_shift.get(outputs),
            p.out_row.get(outputs),
            p.out_first.get(outputs) == 1,
            p.out_last.get(outputs) == 1,
            p.out_inv_l.get(outputs),
            inv_exp,
            p.out_empty.get(outputs) == 1,
        );
        let exp = (want.shift, want.row, want.first, want.last, want.inv_l, want.inv_exp, want.empty);
        (got != exp).then(|| {
            format!(
                "beat {index}: (shift, row, first, last, inv_l, inv_exp, empty) = {got:?}, golden {exp:?}"
            )
        })
    }
}

impl CycleModel for SoftmaxBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        self.refill();
        let reset = self.cycle == 0;
        self.cycle += 1;
        if !reset && !self.offering && self.next < self.beats.len() {
            self.offering = rng.random_bool(self.pace.valid);
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.in_valid.set(frame, u64::from(self.offering));
        p.out_ready.set(frame, u64::from(self.ready));
        let sw = self.params.score_width;
        let junk = Beat {
            scores: (0..self.params.row_width)
                .map(|_| rng.random_range(-(1 << (sw - 1))..(1 << (sw - 1))))
                .collect(),
            keep: (0..self.params.row_width).map(|_| rng.random_bool(0.5)).collect(),
            row: rng.random_range(0..self.params.max_rows),
            first: rng.random_bool(0.5),
            last: rng.random_bool(0.5),
        };
        let beat = if self.offering { &self.beats[self.next] } else { &junk };
        p.in_score.set_words(frame, &pack(beat.scores.iter().copied(), sw));
        p.in_keep.set_words(frame, &pack(beat.keep.iter().map(|&k| i64::from(k)), 1));
        p.in_row.set(frame, beat.row);
        p.in_first.set(frame, u64::from(beat.first));
        p.in_last.set(frame, u64::from(beat.last));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let cycle = self.cycle - 1;
        if p.rst.get(inputs) == 0 {
            self.pipe.iter_mut().for_each(|s| *s = None);
            return Ok(0);
        }
        let held = *self.pipe.last().expect("STAGES > 0");
        let (valid, in_ready) = (p.out_valid.get(outputs) == 1, p.in_ready.get(outputs) == 1);
        let advance = held.is_none() || self.ready;
        if valid != held.is_some() || in_ready != advance {
            return Err(format!(
                "out_valid_o {valid}, in_ready_o {in_ready}; the pipeline model says {} and {advance}",
                held.is_some()
            ));
        }
        let mut checks = 2;
        if let Some(index) = held {
            if let Some(diff) = self.compare(p, outputs, index) {
                return Err(diff);
            }
            checks += self.params.row_width as u64 + 7;
            if self.ready {
                self.results += 1;
                self.out_cycles.push(cycle);
            }
        }
        if advance {
            let entering = if self.offering {
                self.offering = false;
                self.in_cycles.push(cycle);
                self.next += 1;
                Some(self.next - 1)
            } else {
                None
            };
            self.pipe.pop();
            self.pipe.insert(0, entering);
        }
        Ok(checks)
    }
}

/// Builds the unit, compiles it with Verilator (cached) and runs random tiles for `run.cycles`
/// cycles under random valid gaps and backpressure; a run in which no beat came back fails.
pub fn cosim_verilator(params: &OnlineSoftmaxParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = SoftmaxBench::new(params, Pace::RANDOM, run.seed, None);
    let cycles = run.cycles;
    let report = crate::blocks::cosim_verilator(params.build(), &mut bench, run)?;
    if bench.results == 0 {
        return Err(SimError::Design(format!("no beat left the unit in {cycles} cycles")));
    }
    Ok(report)
}
