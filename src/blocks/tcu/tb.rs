//! Co-simulation of `vdx_timestep_cond` against [`super::golden`]: random timesteps offered with
//! random gaps, random output backpressure; every beat taken is compared with the golden
//! embedding, `valid` and the payload must hold until taken, and with the output always ready
//! every first beat must come [`super::LATENCY`] cycles after its timestep and the rest one per
//! cycle.

use super::TimestepCondParams;
use super::golden::embedding;
use super::rtl::VALUE_BITS;
use crate::blocks::{BlockParams, CosimReport, CosimRun};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, SimError, Slot};
use rand::RngExt;
use rand::rngs::StdRng;
use std::collections::VecDeque;

/// Chances per cycle of the stimulus.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// A timestep is offered (when none is waiting).
    pub offer: f64,
    /// The output is ready.
    pub ready: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix { offer: 0.5, ready: 0.7 }
    }
}

/// The bench: what was offered, what is expected, what was seen.
pub struct TcuBench {
    p: TimestepCondParams,
    mix: Mix,
    cycle: u64,
    ports: Option<[Slot; 7]>,
    /// The timestep on offer (held until taken).
    offer: Option<u32>,
    /// Beats expected: the values, whether last, the cycle their timestep was taken.
    expected: VecDeque<(Vec<i16>, bool, u64)>,
    /// The beat shown last cycle while not taken (it must stay).
    held: Option<(Vec<u32>, u64)>,
    /// Cycle of the previous beat taken, and whether it was last.
    previous: Option<(u64, bool)>,
    /// Embeddings completed.
    pub timesteps: u64,
    /// Beats compared.
    pub beats: u64,
}

impl TcuBench {
    /// A bench for the block built with `p`.
    pub fn new(p: &TimestepCondParams, mix: Mix) -> Self {
        TcuBench {
            p: p.clone(),
            mix,
            cycle: 0,
            ports: None,
            offer: None,
            expected: VecDeque::new(),
            held: None,
            previous: None,
            timesteps: 0,
            beats: 0,
        }
    }

    fn ports(&mut self, layout: &PortLayout) -> [Slot; 7] {
        self.ports
            .get_or_insert_with(|| {
                let get = |r: Result<&Slot, SimError>| match r {
                    Ok(s) => s.clone(),
                    Err(e) => panic!("TcuBench drives vdx_timestep_cond only: {e}"),
                };
                [
                    get(layout.input("rst_ni")),
                    get(layout.input("t_valid_i")),
                    get(layout.input("t_data_i")),
                    get(layout.input("emb_ready_i")),
                    get(layout.output("t_ready_o")),
                    get(layout.output("emb_valid_o")),
                    get(layout.output("emb_data_o")),
                ]
            })
            .clone()
    }
}

impl CycleModel for TcuBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let [rst, t_valid, t_data, ready, ..] = self.ports(layout);
        let reset = self.cycle == 0;
        if self.offer.is_none() && !reset && rng.random_bool(self.mix.offer) {
            self.offer = Some(rng.random_range(0..1u32 << self.p.t_bits));
        }
        rst.set(frame, u64::from(!reset));
        t_valid.set(frame, u64::from(self.offer.is_some()));
        t_data.set(frame, u64::from(self.offer.unwrap_or(0)));
        ready.set(frame, u64::from(rng.random_bool(self.mix.ready)));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let [rst, t_valid, _, ready, t_ready, emb_valid, emb_data] = self.ports(layout);
        let last_slot = layout.output("emb_last_o").map_err(|e| e.to_string())?.clone();
        let cycle = self.cycle;
        self.cycle += 1;
        if rst.get(inputs) == 0 {
            return Ok(0);
        }
        let mut checks = 0;
        let valid = emb_valid.get(outputs) == 1;
        let words = emb_data.get_words(outputs).to_vec();
        let last = last_slot.get(outputs) == 1;
        if let Some((w, since)) = &self.held {
            if !valid || *w != words {
                return Err(format!("a beat shown at cycle {since} changed or vanished before it was taken"));
            }
            checks += 1;
        }
        if valid && ready.get(inputs) == 1 {
            let (want, want_last, taken_at) =
                self.expected.pop_front().ok_or("a beat came out with no timestep taken for it")?;
            let lanes = self.p.lanes as usize;
            let got: Vec<i16> = (0..lanes)
                .map(|l| {
                    let bit = l * VALUE_BITS as usize;
                    (words[bit / 32] >> (bit % 32)) as u16 as i16
                })
                .collect();
            if got != want || last != want_last {
                return Err(format!(
                    "beat {got:?} (last {last}), golden model expects {want:?} (last {want_last})"
                ));
            }
            // Timing when the output never pushes back: fixed latency, one beat per cycle.
            if self.mix.ready >= 1.0 {
                let due = match self.previous {
                    Some((at, false)) => at + 1,
                    _ => taken_at + super::LATENCY,
                };
                if cycle != due.max(taken_at + super::LATENCY) {
                    return Err(format!("beat taken at cycle {cycle}, due at {due}"));
                }
            }
            self.previous = Some((cycle, last));
            self.beats += 1;
            self.timesteps += u64::from(last);
            self.held = None;
            checks += 1;
        } else {
            self.held = valid.then(|| (words, self.held.as_ref().map_or(cycle, |h| h.1)));
        }
        if t_valid.get(inputs) == 1 && t_ready.get(outputs) == 1 {
            let t = self.offer.take().ok_or("t taken with none offered")?;
            let emb = embedding(self.p.dim, self.p.max_period, t);
            let lanes = self.p.lanes as usize;
            let beats = emb.len() / lanes;
            for (b, chunk) in emb.chunks(lanes).enumerate() {
                self.expected.push_back((chunk.to_vec(), b + 1 == beats, cycle));
            }
        }
        Ok(checks)
    }

    fn reactive(&self) -> bool {
        true
    }
}

/// Builds the block, compiles it with Verilator (cached) and checks `run.cycles` cycles.
pub fn cosim_verilator(p: &TimestepCondParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = TcuBench::new(p, Mix::default());
    crate::blocks::cosim_verilator(p.build(), &mut bench, run)
}
