//! Co-simulation of `vdx_timestep_cond` against [`super::golden`]: random timesteps offered with
//! random gaps, random output backpressure; every beat taken is compared with the golden
//! embedding, `valid` and the payload must hold until taken, and with the output always ready
//! every first beat must come [`super::LATENCY`] cycles after its timestep and the rest one per
//! cycle. Meanwhile the conditioning tables are loaded row by row with random values, and
//! requests for loaded rows (and now and then for rows beyond the tables) are checked beat by
//! beat against [`CondTables`].

use super::TimestepCondParams;
use super::golden::{CondTables, embedding};
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
    ports: Option<[Slot; 8]>,
    /// The timestep on offer (held until taken).
    offer: Option<u32>,
    /// Beats expected: the values, whether last, the cycle their timestep was taken.
    expected: VecDeque<(Vec<i16>, bool, u64)>,
    /// The beat shown last cycle while not taken (it must stay).
    held: Option<(Vec<u32>, u64)>,
    /// Cycle of the previous beat taken, and whether it was last.
    previous: Option<(u64, bool)>,
    /// The broadcast's side of the bench.
    pub bcast: Bcast,
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
            bcast: Bcast::new(p, mix.ready),
            timesteps: 0,
            beats: 0,
        }
    }

    fn ports(&mut self, layout: &PortLayout) -> [Slot; 8] {
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
                    get(layout.output("emb_last_o")),
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
        self.bcast.stimulus(rng, layout, frame, reset);
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let [rst, t_valid, _, ready, t_ready, emb_valid, emb_data, last_slot] = self.ports(layout);
        let cycle = self.cycle;
        self.cycle += 1;
        if rst.get(inputs) == 0 {
            return Ok(0);
        }
        let mut checks = self.bcast.check(layout, inputs, outputs, cycle)?;
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
            let got = lanes_of(&words, self.p.lanes as usize);
            if got != want || last != want_last {
                return Err(format!(
                    "beat {got:?} (last {last}), golden model expects {want:?} (last {want_last})"
                ));
            }
            // Timing when the output never pushes back: fixed latency, one beat per cycle.
            if self.mix.ready >= 1.0 {
                let due = beat_due(self.previous, taken_at, super::LATENCY);
                if cycle != due {
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

/// The cycle a beat is due when the output never pushes back: `latency` cycles after its
/// request was taken for a first beat, else the cycle after the previous beat (`previous`: its
/// cycle, and whether it was the last of its request).
fn beat_due(previous: Option<(u64, bool)>, taken_at: u64, latency: u64) -> u64 {
    let first = taken_at + latency;
    match previous {
        Some((at, false)) => (at + 1).max(first),
        _ => first,
    }
}

/// The words of one beat of `values` (the inverse of [`lanes_of`]).
fn words_of(values: &[i16]) -> Vec<u32> {
    let mut words = vec![0u32; (values.len() * VALUE_BITS as usize).div_ceil(32)];
    for (l, v) in values.iter().enumerate() {
        let bit = l * VALUE_BITS as usize;
        words[bit / 32] |= u32::from(*v as u16) << (bit % 32);
    }
    words
}

/// Values of one beat from its words (lane `l` in bits `16l+15:16l`).
fn lanes_of(words: &[u32], lanes: usize) -> Vec<i16> {
    (0..lanes)
        .map(|l| {
            let bit = l * VALUE_BITS as usize;
            (words[bit / 32] >> (bit % 32)) as u16 as i16
        })
        .collect()
}

/// The broadcast's half of the bench: loads, requests, the vectors expected.
pub struct Bcast {
    lanes: usize,
    steps: u64,
    layers: u64,
    row_beats: u64,
    ready: f64,
    tables: CondTables,
    /// Rows still to load, in order, and the next beat of the first.
    to_load: VecDeque<(usize, u64)>,
    load_beat: u64,
    /// The beat driven this cycle: table, address, values.
    load_now: Option<(usize, u64, Vec<i16>)>,
    /// Rows loaded whole (steps, layers): only these are requested.
    loaded: [Vec<u64>; 2],
    /// The request on offer (held until taken).
    offer: Option<(u64, u64)>,
    /// Beats expected: the values, whether last, the cycle their request was taken.
    expected: VecDeque<(Vec<i16>, bool, u64)>,
    held: Option<Vec<u32>>,
    error_due: Option<u64>,
    /// A load beyond its table was driven in this cycle (its flag is due the next).
    load_beyond: bool,
    load_error_due: Option<u64>,
    /// Loads beyond the tables, flagged.
    pub load_errors: u64,
    /// Cycle of the previous beat taken, and whether it was last.
    previous: Option<(u64, bool)>,
    /// Vectors (whole broadcasts) compared.
    pub vectors: u64,
    /// Requests beyond the tables, flagged.
    pub range_errors: u64,
}

impl Bcast {
    fn new(p: &TimestepCondParams, ready: f64) -> Self {
        let (steps, layers) = (u64::from(p.steps), u64::from(p.layers));
        // Both tables from the start: step 0, layer 0, step 1, layer 1, ...
        let to_load = (0..steps.max(layers))
            .flat_map(|r| [(0, r), (1, r)])
            .filter(|&(t, r)| r < if t == 0 { steps } else { layers })
            .collect();
        Bcast {
            lanes: p.lanes as usize,
            steps,
            layers,
            row_beats: u64::from(p.row_beats()),
            ready,
            tables: CondTables::default(),
            to_load,
            load_beat: 0,
            load_now: None,
            loaded: [Vec::new(), Vec::new()],
            offer: None,
            expected: VecDeque::new(),
            held: None,
            error_due: None,
            load_beyond: false,
            load_error_due: None,
            load_errors: 0,
            previous: None,
            vectors: 0,
            range_errors: 0,
        }
    }

    fn slot<'a>(layout: &'a PortLayout, name: &str) -> &'a Slot {
        layout.input(name).or_else(|_| layout.output(name)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32], reset: bool) {
        self.load_now = None;
        self.load_beyond = false;
        let aw_max = 1u64 << crate::hdl::index_bits(self.steps.max(self.layers) * self.row_beats);
        let end = self.steps.min(self.layers) * self.row_beats;
        if !reset && end < aw_max && rng.random_bool(0.01) {
            // A beat past the smaller table (its address still fits the field).
            let table = usize::from(self.steps > self.layers);
            let addr = rng.random_range(end..aw_max.min(end + self.row_beats + 1));
            self.load_now = Some((table, addr, vec![0; self.lanes]));
            self.load_beyond = true;
        } else if let Some(&(table, row)) = self.to_load.front()
            && !reset
            && rng.random_bool(0.5)
        {
            let values: Vec<i16> = (0..self.lanes).map(|_| rng.random()).collect();
            self.load_now = Some((table, row * self.row_beats + self.load_beat, values));
        }
        if self.offer.is_none() && !reset && rng.random_bool(0.3) {
            let [s, l] = &self.loaded;
            let (sw, lw) = (crate::hdl::index_bits(self.steps), crate::hdl::index_bits(self.layers));
            let beyond = (self.steps < 1 << sw || self.layers < 1 << lw) && rng.random_bool(0.05);
            if beyond {
                self.offer = Some(if self.steps < 1 << sw { (self.steps, 0) } else { (0, self.layers) });
            } else if !s.is_empty() && !l.is_empty() {
                self.offer = Some((s[rng.random_range(0..s.len())], l[rng.random_range(0..l.len())]));
            }
        }
        let set = |name: &str, frame: &mut [u32], v: u64| Self::slot(layout, name).set(frame, v);
        set("load_valid_i", frame, u64::from(self.load_now.is_some()));
        if let Some((table, addr, values)) = &self.load_now {
            set("load_table_i", frame, *table as u64);
            set("load_addr_i", frame, *addr);
            Self::slot(layout, "load_data_i").set_words(frame, &words_of(values));
        }
        set("cond_valid_i", frame, u64::from(self.offer.is_some()));
        let (step, layer) = self.offer.unwrap_or((0, 0));
        set("cond_step_i", frame, step);
        set("cond_layer_i", frame, layer);
        set("vec_ready_i", frame, u64::from(rng.random_bool(self.ready)));
    }

    fn check(
        &mut self,
        layout: &PortLayout,
        inputs: &[u32],
        outputs: &[u32],
        cycle: u64,
    ) -> Result<u64, String> {
        let get = |name: &str, from: &[u32]| Self::slot(layout, name).get(from);
        let mut checks = 1;
        let load_error = get("load_range_error_o", outputs) == 1;
        if load_error != (self.load_error_due == Some(cycle)) {
            return Err(format!("load_range_error_o = {load_error}, expected {}", !load_error));
        }
        let error = get("cond_range_error_o", outputs) == 1;
        if error != (self.error_due == Some(cycle)) {
            return Err(format!("cond_range_error_o = {error}, expected {}", !error));
        }
        let valid = get("vec_valid_o", outputs) == 1;
        let words = Self::slot(layout, "vec_data_o").get_words(outputs).to_vec();
        if let Some(w) = &self.held
            && (!valid || *w != words)
        {
            return Err("a broadcast beat changed or vanished before it was taken".into());
        }
        if valid && get("vec_ready_i", inputs) == 1 {
            let (want, want_last, taken_at) =
                self.expected.pop_front().ok_or("a broadcast beat with no request")?;
            let got = lanes_of(&words, self.lanes);
            let last = get("vec_last_o", outputs) == 1;
            if got != want || last != want_last {
                return Err(format!(
                    "broadcast beat {got:?} (last {last}), expected {want:?} (last {want_last})"
                ));
            }
            // Timing when the output never pushes back: fixed latency, one beat per cycle.
            if self.ready >= 1.0 {
                let due = beat_due(self.previous, taken_at, super::BROADCAST_LATENCY);
                if cycle != due {
                    return Err(format!("broadcast beat taken at cycle {cycle}, due at {due}"));
                }
            }
            self.previous = Some((cycle, last));
            self.vectors += u64::from(last);
            self.held = None;
            checks += 1;
        } else {
            self.held = valid.then_some(words);
        }
        if get("cond_valid_i", inputs) == 1 && get("cond_ready_o", outputs) == 1 {
            let (step, layer) = self.offer.take().ok_or("a request taken with none offered")?;
            if step >= self.steps || layer >= self.layers {
                self.error_due = Some(cycle + 1);
                self.range_errors += 1;
            } else {
                let beats =
                    self.tables.broadcast(self.row_beats, step, layer).ok_or("requested an unloaded row")?;
                let n = beats.len();
                self.expected.extend(beats.into_iter().enumerate().map(|(i, b)| (b, i + 1 == n, cycle)));
            }
        }
        if std::mem::take(&mut self.load_beyond) {
            // Dropped: the model's tables do not change.
            self.load_now = None;
            self.load_error_due = Some(cycle + 1);
            self.load_errors += 1;
        }
        if let Some((table, addr, values)) = self.load_now.take() {
            self.tables.load(table, addr, &values);
            self.load_beat += 1;
            if self.load_beat == self.row_beats {
                let (t, row) = self.to_load.pop_front().expect("a row was being loaded");
                self.loaded[t].push(row);
                self.load_beat = 0;
            }
        }
        Ok(checks)
    }
}

/// Builds the block, compiles it with Verilator (cached) and checks `run.cycles` cycles.
pub fn cosim_verilator(p: &TimestepCondParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = TcuBench::new(p, Mix::default());
    crate::blocks::cosim_verilator(p.build(), &mut bench, run)
}
