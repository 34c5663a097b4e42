//! Co-simulation of `vdx_systolic_ws`: a host that sends random GEMM commands with their weight and
//! activation streams under random valid gaps and result backpressure, and checks every result
//! beat against the golden model, plus the AXI-Stream rules on the result port.

use super::SystolicParams;
use super::golden::{self, Gemm, Streams};
use crate::blocks::{BlockParams, CosimReport, CosimRun};
pub use crate::sim::check::run_until_done;
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use crate::blocks::Pace;

/// Shapes of the random GEMMs a bench generates when it runs out of work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeLimits {
    /// Largest M, K and N drawn (further capped by `max_m/k/n`).
    pub m: usize,
    /// Largest K.
    pub k: usize,
    /// Largest N.
    pub n: usize,
}

impl ShapeLimits {
    /// Shapes up to a bit over two ring chunks, three K-tiles and three column tiles, so partial
    /// tiles of every kind and multi-tile jobs both appear.
    pub fn around(p: &SystolicParams) -> ShapeLimits {
        ShapeLimits {
            m: (2 * p.acc_rows as usize + 3).min(p.max_m as usize),
            k: (3 * p.rows as usize + 2).min(p.max_k as usize),
            n: (3 * p.tile_cols(true) as usize + 1).min(p.max_n as usize),
        }
    }
}

struct Ports {
    rst: Slot,
    cmd_valid: Slot,
    cmd_m: Slot,
    cmd_k: Slot,
    cmd_n: Slot,
    cmd_w4: Option<Slot>,
    wgt_valid: Slot,
    wgt_data: Slot,
    act_valid: Slot,
    act_data: Slot,
    res_ready: Slot,
    cmd_ready: Slot,
    wgt_ready: Slot,
    act_ready: Slot,
    res_valid: Slot,
    res_data: Slot,
    res_last: Slot,
}

/// The host testbench.
pub struct SystolicBench {
    params: SystolicParams,
    /// Streams of every GEMM queued so far.
    pub streams: Streams,
    gemm_rng: StdRng,
    /// Generate a new random GEMM whenever the queued ones have all been sent.
    endless: Option<ShapeLimits>,
    pace: Pace,
    ports: Option<Ports>,
    cycle: u64,
    next: [usize; 3],
    offering: [bool; 3],
    ready: bool,
    /// Result beats received and checked.
    pub results: usize,
    /// Cycle of every command transfer.
    pub cmd_cycles: Vec<u64>,
    /// Cycle of every activation transfer.
    pub act_cycles: Vec<u64>,
    /// Cycle of every result transfer.
    pub res_cycles: Vec<u64>,
    /// The result offered in the previous cycle and not taken: it must be offered again.
    held: Option<(Vec<u32>, u64)>,
    last_progress: u64,
}

const CMD: usize = 0;
const WGT: usize = 1;
const ACT: usize = 2;

impl SystolicBench {
    /// A bench that sends `gemms` (then nothing) at `pace`; stimulus junk comes from the run's
    /// seed.
    pub fn new(params: &SystolicParams, gemms: &[Gemm], pace: Pace, seed: u64) -> Self {
        let mut gemm_rng = StdRng::seed_from_u64(seed ^ 0x5157_011c);
        let streams = golden::streams(params, gemms, &mut || gemm_rng.random::<i64>());
        SystolicBench {
            params: params.clone(),
            streams,
            gemm_rng,
            endless: None,
            pace,
            ports: None,
            cycle: 0,
            next: [0; 3],
            offering: [false; 3],
            ready: false,
            results: 0,
            cmd_cycles: Vec::new(),
            act_cycles: Vec::new(),
            res_cycles: Vec::new(),
            held: None,
            last_progress: 0,
        }
    }

    /// A bench that keeps generating random GEMMs within `limits`, in both modes.
    pub fn endless(params: &SystolicParams, limits: ShapeLimits, pace: Pace, seed: u64) -> Self {
        SystolicBench { endless: Some(limits), ..Self::new(params, &[], pace, seed) }
    }

    /// Whether every queued result has come back.
    pub fn finished(&self) -> bool {
        self.results == self.streams.results.len() && self.next[CMD] == self.streams.commands.len()
    }

    fn queue_random(&mut self, limits: ShapeLimits) {
        let gemms = random_gemms(&self.params, &mut self.gemm_rng, limits, 1);
        let rng = &mut self.gemm_rng;
        let more = golden::streams(&self.params, &gemms, &mut || rng.random::<i64>());
        self.streams.commands.extend(more.commands);
        self.streams.weights.extend(more.weights);
        self.streams.acts.extend(more.acts);
        self.streams.results.extend(more.results);
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("SystolicBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("SystolicBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            cmd_valid: i("cmd_valid_i"),
            cmd_m: i("cmd_m_i"),
            cmd_k: i("cmd_k_i"),
            cmd_n: i("cmd_n_i"),
            cmd_w4: self.params.has_mode().then(|| i("cmd_w4_i")),
            wgt_valid: i("wgt_valid_i"),
            wgt_data: i("wgt_data_i"),
            act_valid: i("act_valid_i"),
            act_data: i("act_data_i"),
            res_ready: i("res_ready_i"),
            cmd_ready: o("cmd_ready_o"),
            wgt_ready: o("wgt_ready_o"),
            act_ready: o("act_ready_o"),
            res_valid: o("res_valid_o"),
            res_data: o("res_data_o"),
            res_last: o("res_last_o"),
        });
    }

    fn pending(&self, stream: usize) -> bool {
        let s = &self.streams;
        let len = [s.commands.len(), s.weights.len(), s.acts.len()][stream];
        self.next[stream] < len
    }
}

fn junk_words(rng: &mut StdRng, slot: &Slot) -> Vec<u32> {
    (0..slot.words).map(|_| rng.random()).collect()
}

impl CycleModel for SystolicBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        if let Some(limits) = self.endless
            && self.next[CMD] == self.streams.commands.len()
        {
            self.queue_random(limits);
        }
        for s in [CMD, WGT, ACT] {
            if !reset && !self.offering[s] && self.pending(s) {
                self.offering[s] = rng.random_bool(self.pace.valid);
            }
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.cmd_valid.set(frame, u64::from(self.offering[CMD]));
        if self.offering[CMD] {
            let c = self.streams.commands[self.next[CMD]];
            p.cmd_m.set(frame, c.m_minus_1);
            p.cmd_k.set(frame, c.k_minus_1);
            p.cmd_n.set(frame, c.n_minus_1);
            if let Some(w4) = &p.cmd_w4 {
                w4.set(frame, u64::from(c.w4));
            }
        } else {
            for slot in [&p.cmd_m, &p.cmd_k, &p.cmd_n] {
                slot.set(frame, rng.random());
            }
        }
        p.wgt_valid.set(frame, u64::from(self.offering[WGT]));
        let w = if self.offering[WGT] {
            self.streams.weights[self.next[WGT]].clone()
        } else {
            junk_words(rng, &p.wgt_data)
        };
        p.wgt_data.set_words(frame, &w);
        p.act_valid.set(frame, u64::from(self.offering[ACT]));
        let a = if self.offering[ACT] {
            self.streams.acts[self.next[ACT]].clone()
        } else {
            junk_words(rng, &p.act_data)
        };
        p.act_data.set_words(frame, &a);
        p.res_ready.set(frame, u64::from(self.ready));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let cycle = self.cycle - 1;
        if p.rst.get(inputs) == 0 {
            self.held = None;
            return Ok(0);
        }
        let mut checks = 0;
        let readies = [p.cmd_ready.get(outputs), p.wgt_ready.get(outputs), p.act_ready.get(outputs)];
        for s in [CMD, WGT, ACT] {
            if self.offering[s] && readies[s] == 1 {
                self.offering[s] = false;
                self.next[s] += 1;
                self.last_progress = cycle;
                match s {
                    CMD => self.cmd_cycles.push(cycle),
                    ACT => self.act_cycles.push(cycle),
                    _ => {}
                }
            }
        }
        let valid = p.res_valid.get(outputs) == 1;
        let data = p.res_data.get_words(outputs).to_vec();
        let last = p.res_last.get(outputs);
        if let Some((held, held_last)) = self.held.take() {
            if !valid || held != data || held_last != last {
                return Err(format!(
                    "result beat {} was offered and not taken, then {} on the next cycle",
                    self.results,
                    if valid { "changed" } else { "withdrawn" }
                ));
            }
            checks += 1;
        }
        if valid {
            if self.ready {
                let Some(want) = self.streams.results.get(self.results) else {
                    return Err(format!("unexpected result beat after all {} expected ones", self.results));
                };
                if want.data != data || want.last != (last == 1) {
                    let acc = self.params.acc_bits();
                    let slot_of = |words: &[u32]| {
                        (0..self.params.lanes() * self.params.cols)
                            .map(|j| golden::unpack(words, j * acc, acc))
                            .collect::<Vec<_>>()
                    };
                    let (got, exp) = (slot_of(&data), slot_of(&want.data));
                    let first_bad = got.iter().zip(&exp).position(|(a, b)| a != b);
                    let slot = match first_bad {
                        Some(i) => format!("slot {i} is {:#x}, want {:#x}", got[i], exp[i]),
                        None => "every slot matches".into(),
                    };
                    return Err(format!(
                        "result beat {} differs: {slot}; res_last_o {last}, want {}",
                        self.results,
                        u8::from(want.last)
                    ));
                }
                self.results += 1;
                self.res_cycles.push(cycle);
                self.last_progress = cycle;
                checks += 1;
            } else {
                self.held = Some((data, last));
            }
        }
        let p = &self.params;
        let patience = 8 * u64::from(p.rows + p.cols) + 4 * p.acc_rows + 1000;
        if !self.finished() && cycle > self.last_progress + patience && self.pace.valid > 0.0 {
            return Err(format!(
                "no transfer for {patience} cycles with work left: {} of {} commands, {} of {} weight \
                 beats, {} of {} activation beats, {} of {} results",
                self.next[CMD],
                self.streams.commands.len(),
                self.next[WGT],
                self.streams.weights.len(),
                self.next[ACT],
                self.streams.acts.len(),
                self.results,
                self.streams.results.len()
            ));
        }
        Ok(checks)
    }
}

/// Builds the array, compiles it with Verilator (cached) and runs random GEMMs for `run.cycles`
/// cycles under random valid gaps and backpressure.
pub fn cosim_verilator(params: &SystolicParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = SystolicBench::endless(params, ShapeLimits::around(params), Pace::RANDOM, run.seed);
    crate::blocks::cosim_verilator(params.build(), &mut bench, run)
}

/// Draws `count` random GEMM shapes within `limits` (both modes when the array has a mode).
pub fn random_gemms(
    p: &SystolicParams,
    rng: &mut impl RngExt,
    limits: ShapeLimits,
    count: usize,
) -> Vec<Gemm> {
    (0..count)
        .map(|_| {
            let m = rng.random_range(1..=limits.m);
            let k = rng.random_range(1..=limits.k);
            let n = rng.random_range(1..=limits.n);
            let w4 = rng.random_bool(0.5);
            Gemm::random(p, rng, m, k, n, w4)
        })
        .collect()
}

impl Drains for SystolicBench {
    fn finished(&self) -> bool {
        SystolicBench::finished(self)
    }

    fn progress(&self) -> (usize, usize) {
        (self.results, self.streams.results.len())
    }
}
