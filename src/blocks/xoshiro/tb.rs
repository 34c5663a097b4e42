//! Co-simulation of `vdx_xoshiro_lane` against [`XoshiroLaneModel`]: random resets, loads and
//! enables, every cycle's `rand_o` compared.

use super::XoshiroLaneParams;
use super::golden::XoshiroLaneModel;
use crate::blocks::{BlockParams, CosimReport, CosimRun};
use crate::sim::check::CycleModel;
use crate::sim::{PortLayout, SimError, Slot};
use rand::RngExt;
use rand::rngs::StdRng;

/// Probabilities of the random stimulus, chosen so that a 10^4-cycle run already sees many loads
/// and a few resets, while long runs are dominated by stepping.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// A cycle with `rst_ni` low (cycle 0 always is).
    pub reset: f64,
    /// A cycle with `load_i` high.
    pub load: f64,
    /// A cycle with `en_i` high.
    pub enable: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix { reset: 1e-3, load: 0.02, enable: 0.75 }
    }
}

/// The golden lane as a testbench.
pub struct LaneBench {
    model: XoshiroLaneModel,
    mix: Mix,
    cycle: u64,
    ports: Option<LanePorts>,
}

/// The lane's slots in a frame, looked up once rather than by name every cycle.
struct LanePorts {
    rst: Slot,
    load: Slot,
    en: Slot,
    state: Slot,
    rand: Slot,
}

impl LanePorts {
    fn resolve(layout: &PortLayout) -> Self {
        let find = |found: Result<&Slot, SimError>| match found {
            Ok(slot) => slot.clone(),
            Err(e) => panic!("LaneBench drives vdx_xoshiro_lane only: {e}"),
        };
        LanePorts {
            rst: find(layout.input("rst_ni")),
            load: find(layout.input("load_i")),
            en: find(layout.input("en_i")),
            state: find(layout.input("load_state_i")),
            rand: find(layout.output("rand_o")),
        }
    }
}

impl LaneBench {
    /// A testbench for a lane built with `params`.
    pub fn new(params: &XoshiroLaneParams, mix: Mix) -> Self {
        LaneBench { model: XoshiroLaneModel::new(params.reset_state()), mix, cycle: 0, ports: None }
    }

    fn ports(&mut self, layout: &PortLayout) -> &LanePorts {
        self.ports.get_or_insert_with(|| LanePorts::resolve(layout))
    }
}

impl CycleModel for LaneBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let reset = self.cycle == 0 || rng.random_bool(self.mix.reset);
        self.cycle += 1;
        let (load, enable) = (rng.random_bool(self.mix.load), rng.random_bool(self.mix.enable));
        let state: [u32; 8] = rng.random();
        let p = self.ports(layout);
        p.rst.set(frame, u64::from(!reset));
        p.load.set(frame, u64::from(load));
        p.en.set(frame, u64::from(enable));
        p.state.set_words(frame, &state);
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let p = self.ports(layout);
        let (rst_n, load, en) = (p.rst.get(inputs) == 1, p.load.get(inputs) == 1, p.en.get(inputs) == 1);
        let words = p.state.get_words(inputs);
        let state: [u64; 4] =
            std::array::from_fn(|i| u64::from(words[2 * i]) | u64::from(words[2 * i + 1]) << 32);
        let got = p.rand.get(outputs);
        let expected = if rst_n {
            self.model.cycle(load, state, en)
        } else {
            self.model.reset();
            self.model.cycle(false, state, false)
        };
        if got != expected {
            return Err(format!("rand_o = {got:#018x}, golden model expects {expected:#018x}"));
        }
        Ok(1)
    }
}

/// Builds the lane, compiles it with Verilator (cached) and checks `run.cycles` cycles.
pub fn cosim_verilator(params: &XoshiroLaneParams, run: CosimRun) -> Result<CosimReport, SimError> {
    crate::blocks::cosim_verilator(params.build(), &mut LaneBench::new(params, Mix::default()), run)
}
