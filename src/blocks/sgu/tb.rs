//! Co-simulation of `vdx_sgu` against the golden model: the seed bus loads every lane, then the
//! generator runs with random enable and random backpressure. Every output transfer is compared
//! with the next pair vector of the golden lanes, and the valid/ready protocol is checked: while
//! the consumer stalls, `out_valid_o` stays high and `out_data_o` does not change.

use super::SguParams;
use super::golden::BoxMuller;
use super::rtl::PAIR_LATENCY;
use crate::blocks::xoshiro::golden::Xoshiro256pp;
use crate::blocks::{BlockParams, CosimReport, CosimRun};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, SimError, Slot};
use rand::RngExt;
use rand::rngs::StdRng;

/// The whole SGU in Rust: the lanes' generators and the pair unit, one transfer at a time.
#[derive(Debug, Clone)]
pub struct SguModel {
    /// The lanes' generator states.
    pub lanes: Vec<Xoshiro256pp>,
    /// The pair unit.
    pub unit: BoxMuller,
}

impl SguModel {
    /// Lanes in the state of lane `k` of `seed` (what the seed bus loads), for `p`.
    pub fn seeded(p: &SguParams, seed: u64) -> Self {
        SguModel {
            lanes: (0..p.lanes).map(|k| Xoshiro256pp::lane(seed, k)).collect(),
            unit: BoxMuller::new(p),
        }
    }

    /// The next transfer: one `[x0, x1]` pair per lane.
    pub fn next_transfer(&mut self) -> Vec<[i64; 2]> {
        self.lanes.iter_mut().map(|g| self.unit.sample(g.next_u64())).collect()
    }
}

/// How the testbench drives the SGU after seeding.
#[derive(Debug, Clone, Copy)]
pub struct Traffic {
    /// Probability of `en_i` in a cycle.
    pub enable: f64,
    /// Probability of `out_ready_i` in a cycle.
    pub ready: f64,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic { enable: 0.9, ready: 0.7 }
    }
}

/// The SGU testbench: seeding, random traffic, transfer-by-transfer comparison.
pub struct SguBench {
    params: SguParams,
    seed: u64,
    traffic: Traffic,
    expected: SguModel,
    cycle: u64,
    checked: u64,
    ports: Option<Ports>,
    /// Output of the previous cycle when it was valid but not taken.
    stalled: Option<Vec<u32>>,
    /// Transfers compared so far.
    pub transfers: u64,
    /// Cycle of the first enable after seeding.
    pub first_enable: Option<u64>,
    /// Cycle of the first valid output.
    pub first_valid: Option<u64>,
}

struct Ports {
    rst: Slot,
    en: Slot,
    seed_valid: Slot,
    seed_lane: Slot,
    seed_state: Slot,
    ready: Slot,
    valid: Slot,
    data: Slot,
}

impl SguBench {
    /// A bench that seeds lane `k` with lane `k` of `seed`.
    pub fn new(params: &SguParams, seed: u64, traffic: Traffic) -> Self {
        SguBench {
            params: params.clone(),
            seed,
            traffic,
            expected: SguModel::seeded(params, seed),
            cycle: 0,
            checked: 0,
            ports: None,
            stalled: None,
            transfers: 0,
            first_enable: None,
            first_valid: None,
        }
    }

    fn ports(&mut self, layout: &PortLayout) -> &Ports {
        self.ports.get_or_insert_with(|| {
            let i = |n: &str| {
                layout.input(n).unwrap_or_else(|e| panic!("SguBench drives vdx_sgu only: {e}")).clone()
            };
            let o = |n: &str| {
                layout.output(n).unwrap_or_else(|e| panic!("SguBench drives vdx_sgu only: {e}")).clone()
            };
            Ports {
                rst: i("rst_ni"),
                en: i("en_i"),
                seed_valid: i("seed_valid_i"),
                seed_lane: i("seed_lane_i"),
                seed_state: i("seed_state_i"),
                ready: i("out_ready_i"),
                valid: o("out_valid_o"),
                data: o("out_data_o"),
            }
        })
    }
}

impl CycleModel for SguBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let cycle = self.cycle;
        self.cycle += 1;
        let lanes = u64::from(self.params.lanes);
        let seeding = (1..=lanes).contains(&cycle);
        let enable = cycle > lanes && rng.random_bool(self.traffic.enable);
        let ready = rng.random_bool(self.traffic.ready);
        if enable && self.first_enable.is_none() {
            self.first_enable = Some(cycle);
        }
        let (seed, lane) = (self.seed, (cycle.max(1) - 1) as u32);
        let p = self.ports(layout);
        p.rst.set(frame, u64::from(cycle > 0));
        p.en.set(frame, u64::from(enable));
        p.ready.set(frame, u64::from(ready));
        p.seed_valid.set(frame, u64::from(seeding));
        if seeding {
            p.seed_lane.set(frame, u64::from(lane));
            let state = Xoshiro256pp::lane(seed, lane).s;
            let words: Vec<u32> = state.iter().flat_map(|w| [*w as u32, (w >> 32) as u32]).collect();
            p.seed_state.set_words(frame, &words);
        }
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        // `stimulus` runs up to a chunk ahead, so checks count their own cycles.
        let cycle = self.checked;
        self.checked += 1;
        let p = self.ports(layout);
        let (valid, ready) = (p.valid.get(outputs) == 1, p.ready.get(inputs) == 1);
        let data = p.data.get_words(outputs).to_vec();
        if let Some(previous) = self.stalled.take() {
            if !valid {
                return Err("out_valid_o dropped while the consumer was stalling".into());
            }
            if data != previous {
                return Err("out_data_o changed while the consumer was stalling".into());
            }
        }
        if !valid {
            return Ok(0);
        }
        self.first_valid.get_or_insert(cycle);
        if !ready {
            self.stalled = Some(data);
            return Ok(0);
        }
        let want = self.expected.next_transfer();
        let w = self.params.out_width;
        for (lane, pair) in want.iter().enumerate() {
            for (k, value) in pair.iter().enumerate() {
                let got = field(&data, (lane * 2 + k) as u32 * w, w);
                if got != *value {
                    return Err(format!(
                        "transfer {}: lane {lane} x{k} = {got}, golden model {value}",
                        self.transfers
                    ));
                }
            }
        }
        self.transfers += 1;
        Ok(2 * want.len() as u64)
    }
}

/// The signed `width`-bit field at bit `lo` of little-endian words.
fn field(words: &[u32], lo: u32, width: u32) -> i64 {
    let v = crate::blocks::systolic::golden::unpack(words, lo, width);
    ((v << (64 - width)) as i64) >> (64 - width)
}

/// Builds the SGU, compiles it with Verilator (cached) and checks `run.cycles` cycles; a run in
/// which no sample left the SGU fails, since it compared nothing.
pub fn cosim_verilator(params: &SguParams, run: CosimRun) -> Result<CosimReport, SimError> {
    let mut bench = SguBench::new(params, run.seed, Traffic::default());
    let cycles = run.cycles;
    let report = crate::blocks::cosim_verilator(params.build(), &mut bench, run)?;
    if bench.transfers == 0 {
        return Err(SimError::Design(format!(
            "no sample left the SGU in {cycles} cycles (latency {})",
            PAIR_LATENCY + 1
        )));
    }
    Ok(report)
}

/// Drives chosen uniforms through lane 0: every cycle the seed bus loads the state
/// `[0, 0, 0, rotr(r, 23)]`, whose output `rotl(s0 + s3, 23) + s0` is exactly `r`, so the pair
/// unit sees the inputs random traffic almost never reaches (the smallest `u0`, every leading-zero
/// count, `e` near 0). Each transfer must equal the golden pair of the next input.
pub struct DirectedBench {
    unit: BoxMuller,
    inputs: Vec<u64>,
    width: u32,
    cycle: u64,
    checked: usize,
    /// Inputs whose pair was compared.
    pub compared: usize,
}

impl DirectedBench {
    /// A bench feeding `inputs`, in order, to a one-lane SGU built with `params`.
    pub fn new(params: &SguParams, inputs: Vec<u64>) -> Self {
        DirectedBench {
            unit: BoxMuller::new(params),
            inputs,
            width: params.out_width,
            cycle: 0,
            checked: 0,
            compared: 0,
        }
    }
}

impl CycleModel for DirectedBench {
    fn stimulus(&mut self, _rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let cycle = self.cycle;
        self.cycle += 1;
        let set = |name: &str, frame: &mut [u32], v: u64| match layout.input(name) {
            Ok(slot) => slot.set(frame, v),
            Err(e) => panic!("DirectedBench drives vdx_sgu only: {e}"),
        };
        set("rst_ni", frame, u64::from(cycle > 0));
        set("out_ready_i", frame, 1);
        set("en_i", frame, u64::from(cycle >= 2));
        set("seed_lane_i", frame, 0);
        let next = self.inputs.get(cycle.saturating_sub(1) as usize);
        set("seed_valid_i", frame, u64::from(cycle > 0 && next.is_some()));
        if let (true, Some(r)) = (cycle > 0, next) {
            let s3 = r.rotate_right(23);
            let words = [0, 0, 0, 0, 0, 0, s3 as u32, (s3 >> 32) as u32];
            match layout.input("seed_state_i") {
                Ok(slot) => slot.set_words(frame, &words),
                Err(e) => panic!("DirectedBench drives vdx_sgu only: {e}"),
            }
        }
    }

    fn check(&mut self, layout: &PortLayout, _inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let (valid, data) = match (layout.output("out_valid_o"), layout.output("out_data_o")) {
            (Ok(v), Ok(d)) => (v.get(outputs) == 1, d.get_words(outputs).to_vec()),
            _ => return Err("not a vdx_sgu".into()),
        };
        if !valid || self.checked >= self.inputs.len() {
            return Ok(0);
        }
        let r = self.inputs[self.checked];
        self.checked += 1;
        let want = self.unit.sample(r);
        for (k, value) in want.iter().enumerate() {
            let got = field(&data, k as u32 * self.width, self.width);
            if got != *value {
                return Err(format!("input r = {r:#018x}: x{k} = {got}, golden model {value}"));
            }
        }
        self.compared += 1;
        Ok(2)
    }
}

/// Uniforms at the edges of the pair unit's input range, for [`DirectedBench`].
pub fn extreme_uniforms(u0_bits: u32) -> Vec<u64> {
    let top = (1u64 << u0_bits) - 1;
    let mut ms: Vec<u64> = (0..32).chain((0..32).map(|k| top - k)).collect();
    for b in 0..u0_bits {
        ms.extend([(1u64 << b) - 1, 1 << b, (1 << b) + 1]);
    }
    let angles = [0u64, 1, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xbfff, 0xc000, 0xffff, 0x2000, 0x6000, 0xa000];
    ms.iter().flat_map(|m| angles.iter().map(move |a| (m << (64 - u0_bits)) | a)).collect()
}
