//! Co-simulation of `vdx_stride_walker`: random walks (some leaving the buffer, some with a base
//! outside it) under random command gaps and output backpressure; every address, wrap and last
//! flag is checked against the golden sequence, and `error_o` against the range check.

use super::StrideWalkerParams;
use super::golden::Walk;
use crate::blocks::systolic::golden::pack;
use crate::blocks::{BlockParams, CosimReport, CosimRun, Pace};
use crate::sim::check::{CycleModel, Drains};
use crate::sim::{PortLayout, SimError, Slot};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A random walk for `p`: bounds of 1 to 5 (level 0 up to 9), strides small, large or zero;
/// about one in five leaves the buffer.
pub fn random_walk(p: &StrideWalkerParams, rng: &mut StdRng) -> Walk {
    let n = p.levels as usize;
    let words = p.words();
    let max_bound = 1u64 << p.count_width;
    let bounds: Vec<u64> =
        (0..n).map(|l| rng.random_range(1..=if l == 0 { 9 } else { 5 }).min(max_bound)).collect();
    let top = 1u64 << p.addr_width;
    let strides: Vec<u64> = (0..n)
        .map(|_| match rng.random_range(0..4) {
            0 => 0,
            1 => rng.random_range(1..8),
            2 => rng.random_range(0..(words / 8).max(2)),
            _ => rng.random_range(0..top.min(words + 4)),
        })
        .collect();
    let base = if rng.random_bool(0.05) {
        rng.random_range(words.min(top - 1)..top)
    } else {
        rng.random_range(0..words.min(top))
    };
    Walk { base, bounds, strides }
}

struct Ports {
    rst: Slot,
    cmd_valid: Slot,
    cmd_base: Slot,
    cmd_bounds: Slot,
    cmd_strides: Slot,
    out_ready: Slot,
    cmd_ready: Slot,
    out_valid: Slot,
    out_addr: Slot,
    out_wrap: Slot,
    out_last: Slot,
    error: Slot,
}

/// The host testbench.
pub struct WalkerBench {
    params: StrideWalkerParams,
    rng: StdRng,
    pace: Pace,
    ports: Option<Ports>,
    cycle: u64,
    /// Walks sent so far.
    pub walks: Vec<Walk>,
    /// `(address, wrap, last)` expected, in order.
    expected: Vec<(u64, u64, bool)>,
    /// Whether each walk stops at the range guard.
    stops: Vec<bool>,
    offering: bool,
    ready: bool,
    /// Addresses received and checked.
    pub results: usize,
    /// Cycle of every command transfer.
    pub cmd_cycles: Vec<u64>,
    /// Cycle of every address transfer.
    pub out_cycles: Vec<u64>,
    /// Walks left to generate.
    walks_left: usize,
    last_progress: u64,
}

impl WalkerBench {
    /// A bench that sends `walks` random walks at `pace`.
    pub fn new(params: &StrideWalkerParams, walks: usize, pace: Pace, seed: u64) -> Self {
        WalkerBench {
            params: params.clone(),
            rng: StdRng::seed_from_u64(seed ^ 0x57a1_d3e5),
            pace,
            ports: None,
            cycle: 0,
            walks: Vec::new(),
            expected: Vec::new(),
            stops: Vec::new(),
            offering: false,
            ready: false,
            results: 0,
            cmd_cycles: Vec::new(),
            out_cycles: Vec::new(),
            walks_left: walks,
            last_progress: 0,
        }
    }

    /// Walks that stopped at the range guard, among those sent.
    pub fn stopped(&self) -> usize {
        self.stops.iter().filter(|&&s| s).count()
    }

    fn ports(&mut self, layout: &PortLayout) {
        if self.ports.is_some() {
            return;
        }
        let i = |n: &str| layout.input(n).unwrap_or_else(|e| panic!("WalkerBench: {e}")).clone();
        let o = |n: &str| layout.output(n).unwrap_or_else(|e| panic!("WalkerBench: {e}")).clone();
        self.ports = Some(Ports {
            rst: i("rst_ni"),
            cmd_valid: i("cmd_valid_i"),
            cmd_base: i("cmd_base_i"),
            cmd_bounds: i("cmd_bounds_i"),
            cmd_strides: i("cmd_strides_i"),
            out_ready: i("out_ready_i"),
            cmd_ready: o("cmd_ready_o"),
            out_valid: o("out_valid_o"),
            out_addr: o("out_addr_o"),
            out_wrap: o("out_wrap_o"),
            out_last: o("out_last_o"),
            error: o("error_o"),
        });
    }
}

impl CycleModel for WalkerBench {
    fn reactive(&self) -> bool {
        true
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.ports(layout);
        let reset = self.cycle == 0;
        self.cycle += 1;
        if !reset && !self.offering && self.walks_left > 0 && rng.random_bool(self.pace.valid) {
            let walk = random_walk(&self.params, &mut self.rng);
            self.offering = true;
            self.walks_left -= 1;
            self.walks.push(walk);
        }
        self.ready = !reset && rng.random_bool(self.pace.ready);
        let p = self.ports.as_ref().expect("resolved above");
        let (aw, cw) = (self.params.addr_width, self.params.count_width);
        p.rst.set(frame, u64::from(!reset));
        p.cmd_valid.set(frame, u64::from(self.offering));
        let junk;
        let walk = match (self.offering, self.walks.last()) {
            (true, Some(w)) => w,
            _ => {
                junk = random_walk(&self.params, &mut self.rng);
                &junk
            }
        };
        p.cmd_base.set(frame, walk.base);
        p.cmd_bounds.set_words(frame, &pack(walk.bounds.iter().map(|&b| (b - 1) as i64), cw));
        p.cmd_strides.set_words(frame, &pack(walk.strides.iter().map(|&s| s as i64), aw));
        p.out_ready.set(frame, u64::from(self.ready));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.ports(layout);
        let p = self.ports.as_ref().expect("resolved above");
        let cycle = self.cycle - 1;
        if p.rst.get(inputs) == 0 {
            return Ok(0);
        }
        let mut checks = 0;
        if self.offering && p.cmd_ready.get(outputs) == 1 {
            // The error flag still tells of the walk before this one.
            let before = self.stops.last().copied().unwrap_or(false);
            if (p.error.get(outputs) == 1) != before {
                return Err(format!(
                    "error_o is {} when walk {} is taken, want {before}",
                    p.error.get(outputs),
                    self.stops.len()
                ));
            }
            if self.results != self.expected.len() {
                return Err(format!(
                    "walk {} taken with {} addresses of the last one not given",
                    self.stops.len(),
                    self.expected.len() - self.results
                ));
            }
            self.offering = false;
            let walk = self.walks.last().expect("offered");
            let (addrs, stopped) = walk.emitted(&self.params);
            let wraps = walk.wraps();
            let count = addrs.len();
            self.expected
                .extend(addrs.into_iter().zip(wraps).enumerate().map(|(i, (a, w))| (a, w, i + 1 == count)));
            self.stops.push(stopped);
            self.cmd_cycles.push(cycle);
            self.last_progress = cycle;
            checks += 1;
        }
        if p.out_valid.get(outputs) == 1 && self.ready {
            let got = (p.out_addr.get(outputs), p.out_wrap.get(outputs), p.out_last.get(outputs) == 1);
            let Some(&want) = self.expected.get(self.results) else {
                return Err(format!("address {got:?} given after all {} expected", self.results));
            };
            if got != want {
                return Err(format!(
                    "address {} (walk {}): (addr, wrap, last) = {got:?}, want {want:?}",
                    self.results,
                    self.stops.len() - 1
                ));
            }
            self.results += 1;
            self.out_cycles.push(cycle);
            self.last_progress = cycle;
            checks += 3;
        }
        if !self.finished() && cycle > self.last_progress + 2000 {
            return Err(format!(
                "no progress for 2000 cycles: {} of {} addresses",
                self.results,
                self.expected.len()
            ));
        }
        Ok(checks)
    }
}

impl Drains for WalkerBench {
    fn finished(&self) -> bool {
        self.walks_left == 0 && !self.offering && self.results == self.expected.len()
    }

    fn progress(&self) -> (usize, usize) {
        (self.results, self.expected.len())
    }
}

/// Builds the walker, compiles it with Verilator (cached) and runs random walks for
/// `run.cycles` cycles under random gaps and backpressure.
pub fn cosim_verilator(params: &StrideWalkerParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = WalkerBench::new(params, usize::MAX, Pace::RANDOM, run.seed);
    let cycles = run.cycles;
    let report = crate::blocks::cosim_verilator(params.build(), &mut bench, run)?;
    if bench.results == 0 {
        return Err(SimError::Design(format!("no address left the walker in {cycles} cycles")));
    }
    Ok(report)
}
