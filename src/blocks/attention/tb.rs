//! Co-simulation of `vdx_spatial_attention`: a host that sends random jobs (tile sizes and key
//! lengths that are not multiples of the mesh, every mask, hard rows) on the command, query, key
//! and value streams under random valid gaps and output backpressure, and checks every output
//! beat against the golden model, plus the AXI-Stream rule on `out`.

use super::SpatialAttentionParams;
use super::golden::{self, Head, Job, Streams};
use crate::blocks::systolic::golden::unpack;
use crate::blocks::{BlockParams, CosimReport, CosimRun};
pub use crate::sim::check::run_until_done;
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use crate::blocks::Pace;

/// Rows whose scores are hard for an online softmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hard {
    /// Random operands.
    None,
    /// Every key the same: all scores of a row equal.
    EqualScores,
    /// Queries opposite to every key: very negative scores.
    VeryNegative,
    /// Small scores and one key that scores high in the last position.
    LateMax,
}

/// Draws a random job for the bench: `rows` up to `bq`, key lengths up to `max_len`, any mask;
/// with `hard`, operands that make the rows hard.
pub fn random_job(p: &SpatialAttentionParams, rng: &mut StdRng, max_len: usize, hard: Hard) -> Job {
    let rows = rng.random_range(1..=p.bq as usize);
    let len = match rng.random_range(0..4) {
        0 => 1,
        _ => rng.random_range(1..=max_len),
    };
    let causal = rng.random_bool(0.4);
    let q_pos =
        if causal { rng.random_range(0..len.min(p.max_keys as usize)) } else { rng.random_range(0..4) };
    let mut job = Job::random(p, rng, rows, len, causal, q_pos);
    let qmax = (1i64 << (p.q_width - 1)) - 1;
    for h in &mut job.heads {
        harden(h, hard, qmax, job.len.min(h.k.len()));
    }
    job
}

fn harden(h: &mut Head, hard: Hard, qmax: i64, len: usize) {
    match hard {
        Hard::None => {}
        Hard::EqualScores => {
            let key = h.k[0].clone();
            h.k.iter_mut().for_each(|k| k.clone_from(&key));
        }
        Hard::VeryNegative => {
            h.q.iter_mut().for_each(|q| q.iter_mut().for_each(|x| *x = qmax));
            h.k.iter_mut().for_each(|k| k.iter_mut().for_each(|x| *x = -128));
        }
        Hard::LateMax => {
            h.k.iter_mut().for_each(|k| k.iter_mut().for_each(|x| *x /= 16));
            if len > 0 {
                let q0 = h.q[0].clone();
                h.k[len - 1] = q0.iter().map(|&x| if x >= 0 { 127 } else { -128 }).collect();
            }
        }
    }
}

struct Ports {
    rst: Slot,
    cmd_valid: Slot,
    cmd_rows: Slot,
    cmd_len: Slot,
    cmd_causal: Slot,
    cmd_q_pos: Slot,
    valid: [Slot; 3],
    data: [Slot; 3],
    out_ready: Slot,
    cmd_ready: Slot,
    ready: [Slot; 3],
    out_valid: Slot,
    out_data: Slot,
    out_last: Slot,
}

const CMD: usize = 0;
const Q: usize = 1;
const K: usize = 2;
const V: usize = 3;

/// The host testbench.
pub struct AttentionBench {
    params: SpatialAttentionParams,
    /// Streams of every job queued so far.
    pub streams: Streams,
    pace: Pace,
    ports: Option<Ports>,
    cycle: u64,
    next: [usize; 4],
    offering: [bool; 4],
    ready: bool,
    /// Output beats received and checked.
    pub results: usize,
    /// Cycle of every output transfer.
    pub out_cycles: Vec<u64>,
    /// Cycle of every command transfer.
    pub cmd_cycles: Vec<u64>,
    held: Option<(Vec<u32>, u64)>,
    last_progress: u64,
    endless: Option<(StdRng, usize)>,
    jobs_left: usize,
}

impl AttentionBench {
    /// A bench that sends `jobs` (then nothing) at `pace`.
    pub fn new(params: &SpatialAttentionParams, jobs: &[Job], pace: Pace) -> Self {
        AttentionBench {
            params: params.clone(),
            streams: golden::streams(params, jobs),
            pace,
            ports: None,
            cycle: 0,
            next: [0; 4],
            offering: [false; 4],
            ready: false,
            results: 0,
            out_cycles: Vec::new(),
            cmd_cycles: Vec::new(),
            held: None,
            last_progress: 0,
            endless: None,
            jobs_left: usize::MAX,
        }
    }

    /// A bench that keeps generating random jobs with keys up to `max_len`.
    pub fn endless(params: &SpatialAttentionParams, max_len: usize, pace: Pace, seed: u64) -> Self {
        let rng = StdRng::seed_from_u64(seed ^ 0xa77e_7110);
        AttentionBench { endless: Some((rng, max_len)), ..Self::new(params, &[], pace) }
    }

    /// Stops generating random jobs after `jobs` more.
    pub fn stop_after(&mut self, jobs: usize) {
        self.jobs_left = jobs;
    }

    /// Whether every queued output has come back.
    pub fn finished(&self) -> bool {
        let more = self.endless.is_some() && self.jobs_left > 0;
        !more && self.results == self.streams.out.len() && self.next[CMD] == self.streams.commands.len()
    }

    fn len_of(&self, s: usize) -> usize {
        let st = &self.streams;
        [st.commands.len(), st.q.len(), st.k.len(), st.v.len()][s]
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("AttentionBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("AttentionBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            cmd_valid: i("cmd_valid_i"),
            cmd_rows: i("cmd_rows_i"),
            cmd_len: i("cmd_len_i"),
            cmd_causal: i("cmd_causal_i"),
            cmd_q_pos: i("cmd_q_pos_i"),
            valid: [i("q_valid_i"), i("k_valid_i"), i("v_valid_i")],
            data: [i("q_data_i"), i("k_data_i"), i("v_data_i")],
            out_ready: i("out_ready_i"),
            cmd_ready: o("cmd_ready_o"),
            ready: [o("q_ready_o"), o("k_ready_o"), o("v_ready_o")],
            out_valid: o("out_valid_o"),
            out_data: o("out_data_o"),
            out_last: o("out_last_o"),
        });
    }
}

impl CycleModel for AttentionBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        if self.next[CMD] == self.streams.commands.len()
            && self.jobs_left > 0
            && let Some((jobs, max_len)) = &mut self.endless
        {
            self.jobs_left -= 1;
            const HARD: [Hard; 4] = [Hard::None, Hard::EqualScores, Hard::VeryNegative, Hard::LateMax];
            let hard = if jobs.random_bool(0.5) { Hard::None } else { HARD[jobs.random_range(1..4)] };
            let job = random_job(&self.params, jobs, *max_len, hard);
            let more = golden::streams(&self.params, &[job]);
            let s = &mut self.streams;
            s.commands.extend(more.commands);
            s.q.extend(more.q);
            s.k.extend(more.k);
            s.v.extend(more.v);
            s.out.extend(more.out);
        }
        for s in [CMD, Q, K, V] {
            if !reset && !self.offering[s] && self.next[s] < self.len_of(s) {
                self.offering[s] = rng.random_bool(self.pace.valid);
            }
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let p = self.ports.as_ref().expect("resolved above");
        p.rst.set(frame, u64::from(!reset));
        p.cmd_valid.set(frame, u64::from(self.offering[CMD]));
        let c = if self.offering[CMD] {
            self.streams.commands[self.next[CMD]]
        } else {
            golden::Command {
                rows_minus_1: rng.random(),
                len_minus_1: rng.random(),
                causal: rng.random(),
                q_pos: rng.random(),
            }
        };
        p.cmd_rows.set(frame, c.rows_minus_1);
        p.cmd_len.set(frame, c.len_minus_1);
        p.cmd_causal.set(frame, u64::from(c.causal));
        p.cmd_q_pos.set(frame, c.q_pos);
        for (i, s) in [Q, K, V].into_iter().enumerate() {
            p.valid[i].set(frame, u64::from(self.offering[s]));
            let beat = if self.offering[s] {
                let st = &self.streams;
                [&st.q, &st.k, &st.v][i][self.next[s]].clone()
            } else {
                (0..p.data[i].words).map(|_| rng.random()).collect()
            };
            p.data[i].set_words(frame, &beat);
        }
        p.out_ready.set(frame, u64::from(self.ready));
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
        let readies = [
            p.cmd_ready.get(outputs),
            p.ready[0].get(outputs),
            p.ready[1].get(outputs),
            p.ready[2].get(outputs),
        ];
        for s in [CMD, Q, K, V] {
            if self.offering[s] && readies[s] == 1 {
                self.offering[s] = false;
                self.next[s] += 1;
                self.last_progress = cycle;
                if s == CMD {
                    self.cmd_cycles.push(cycle);
                }
            }
        }
        let valid = p.out_valid.get(outputs) == 1;
        let data = p.out_data.get_words(outputs).to_vec();
        let last = p.out_last.get(outputs);
        if let Some((held, held_last)) = self.held.take() {
            if !valid || held != data || held_last != last {
                let what = if valid { "changed" } else { "withdrawn" };
                return Err(format!("output beat {} was offered and not taken, then {what}", self.results));
            }
            checks += 1;
        }
        if valid {
            if self.ready {
                let Some(want) = self.streams.out.get(self.results) else {
                    return Err(format!("unexpected output beat after all {} expected ones", self.results));
                };
                if want.data != data || want.last != (last == 1) {
                    let w = self.params.out_width;
                    let n = self.params.lanes * self.params.d;
                    let bad = (0..n).find(|&j| unpack(&data, j * w, w) != unpack(&want.data, j * w, w));
                    let slot = match bad {
                        Some(j) => format!(
                            "lane {} element {} is {:#x}, want {:#x}",
                            j / self.params.d,
                            j % self.params.d,
                            unpack(&data, j * w, w),
                            unpack(&want.data, j * w, w)
                        ),
                        None => "every element matches".into(),
                    };
                    return Err(format!(
                        "output beat {} differs: {slot}; out_last_o {last}, want {}",
                        self.results,
                        u8::from(want.last)
                    ));
                }
                self.results += 1;
                self.out_cycles.push(cycle);
                self.last_progress = cycle;
                checks += u64::from(self.params.lanes * self.params.d);
            } else {
                self.held = Some((data, last));
            }
        }
        let pr = &self.params;
        let patience = 8 * u64::from(pr.d + pr.bk) + 8 * pr.bq + 2000;
        if !self.finished() && cycle > self.last_progress + patience {
            return Err(format!(
                "no transfer for {patience} cycles with work left: {:?} of {:?} beats (cmd, q, k, v), {} of {} outputs",
                self.next,
                [0, 1, 2, 3].map(|s| self.len_of(s)),
                self.results,
                self.streams.out.len()
            ));
        }
        Ok(checks)
    }
}

impl Drains for AttentionBench {
    fn finished(&self) -> bool {
        AttentionBench::finished(self)
    }

    fn progress(&self) -> (usize, usize) {
        (self.results, self.streams.out.len())
    }
}

/// Builds the engine with one lane (every lane is the same module, fed the same control and run
/// in lockstep), compiles it with Verilator (cached) and runs random jobs for `run.cycles`
/// cycles under random valid gaps and backpressure; a run in which no output came back fails.
pub fn cosim_verilator(params: &SpatialAttentionParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let one = SpatialAttentionParams { lanes: 1, ..params.clone() };
    let max_len = (3 * one.bk as usize + 2).min(one.max_keys as usize);
    let mut bench = AttentionBench::endless(&one, max_len, Pace::RANDOM, run.seed);
    let cycles = run.cycles;
    let mut report = crate::blocks::cosim_verilator(one.build(), &mut bench, run)?;
    if bench.results == 0 {
        return Err(SimError::Design(format!("no output row left the engine in {cycles} cycles")));
    }
    if params.lanes > 1 {
        report.scope = format!("one lane of {} (identical, in lockstep)", params.lanes);
    }
    Ok(report)
}
