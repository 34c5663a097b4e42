//! Driving any [`CycleSim`] with random stimulus and checking it cycle by cycle against a golden
//! model. Blocks implement [`CycleModel`]; the runner chunks long runs so memory stays bounded.

use super::{CycleSim, PortLayout, SimError};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Cycles per batch handed to the simulator: large enough that the per-call cost vanishes, small
/// enough that frames for 10^8-cycle runs are not all held at once.
const CHUNK_CYCLES: usize = 1 << 16;

/// A golden model seen as a testbench: it makes stimulus and checks outputs, cycle by cycle.
pub trait CycleModel {
    /// Fills `frame` (zeroed) with the inputs of the next cycle.
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]);
    /// Checks the outputs the design showed during a cycle driven by `inputs`, then advances the
    /// model past the clock edge. Returns how many values were compared, or what differed.
    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String>;
    /// Whether the stimulus of a cycle depends on the outputs of the cycle before (a valid/ready
    /// master that must see `ready` to move on). The runner then simulates one cycle per call,
    /// checking each before asking for the next stimulus.
    fn reactive(&self) -> bool {
        false
    }
}

/// A cycle where the design and its model disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Cycle number, counted from the simulator's creation (so it can be handed to
    /// `VerilatorDut::mismatch_at` even after earlier runs).
    pub cycle: u64,
    /// What differed.
    pub message: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cycle {}: {}", self.cycle, self.message)
    }
}

/// Why a checked run stopped.
#[derive(Debug)]
pub enum CheckError {
    /// The design disagreed with the model.
    Diverged(Divergence),
    /// The simulator failed.
    Sim(SimError),
}

/// Runs `cycles` cycles of random stimulus from `seed` through `sim` and `model`; returns the
/// number of values compared.
pub fn run_checked(
    sim: &mut dyn CycleSim,
    model: &mut dyn CycleModel,
    cycles: u64,
    seed: u64,
) -> Result<u64, CheckError> {
    let layout = sim.layout().clone();
    let start = sim.cycles_run();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut checks = 0;
    let mut done = 0u64;
    let chunk = if model.reactive() { 1 } else { CHUNK_CYCLES as u64 };
    while done < cycles {
        let n = (cycles - done).min(chunk) as usize;
        let mut inputs = vec![0u32; n * layout.in_words];
        for frame in inputs.chunks_exact_mut(layout.in_words.max(1)).take(n) {
            model.stimulus(&mut rng, &layout, frame);
        }
        let mut outputs = vec![0u32; n * layout.out_words];
        sim.run(&inputs, &mut outputs).map_err(CheckError::Sim)?;
        for c in 0..n {
            let i = &inputs[c * layout.in_words..(c + 1) * layout.in_words];
            let o = &outputs[c * layout.out_words..(c + 1) * layout.out_words];
            checks += model.check(&layout, i, o).map_err(|message| {
                CheckError::Diverged(Divergence { cycle: start + done + c as u64, message })
            })?;
        }
        done += n as u64;
    }
    Ok(checks)
}

/// Wraps a model and keeps every input and output frame of the run, so that a reactive run on
/// one simulator can be replayed open-loop on another and the two compared cycle by cycle.
pub struct Recorder<'a> {
    /// The model that makes stimulus and checks.
    pub model: &'a mut dyn CycleModel,
    /// Input frames, one per cycle, concatenated.
    pub inputs: Vec<u32>,
    /// Output frames, one per cycle, concatenated.
    pub outputs: Vec<u32>,
}

impl<'a> Recorder<'a> {
    /// A recorder around `model`.
    pub fn new(model: &'a mut dyn CycleModel) -> Self {
        Recorder { model, inputs: Vec::new(), outputs: Vec::new() }
    }
}

impl CycleModel for Recorder<'_> {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        self.model.stimulus(rng, layout, frame);
        self.inputs.extend_from_slice(frame);
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        self.outputs.extend_from_slice(outputs);
        self.model.check(layout, inputs, outputs)
    }

    fn reactive(&self) -> bool {
        self.model.reactive()
    }
}

/// Replays `inputs` on `sim` in one run and returns the first cycle whose outputs differ from
/// `outputs` (with the names of the differing ports), or `None` when every cycle agrees.
pub fn replay_differs(
    sim: &mut dyn CycleSim,
    inputs: &[u32],
    outputs: &[u32],
) -> Result<Option<(u64, Vec<String>)>, SimError> {
    let layout = sim.layout().clone();
    let mut got = vec![0u32; outputs.len()];
    sim.run(inputs, &mut got)?;
    let words = layout.out_words.max(1);
    for (cycle, (a, b)) in got.chunks(words).zip(outputs.chunks(words)).enumerate() {
        if a != b {
            let ports =
                layout.outputs.iter().filter(|s| s.get_words(a) != s.get_words(b)).map(|s| s.name.clone());
            return Ok(Some((cycle as u64, ports.collect())));
        }
    }
    Ok(None)
}

/// A [`CycleModel`] with a finite amount of work: it knows when everything it sends has come
/// back and been checked.
pub trait Drains: CycleModel {
    /// Whether all work has been sent and every result checked.
    fn finished(&self) -> bool;
    /// Results checked so far and results expected, for the message of a run out of cycles.
    fn progress(&self) -> (usize, usize);
}

/// Runs `bench` on `dut` until it is [`Drains::finished`]. Fails on a mismatch (with a waveform
/// of the failing run), on a stall the bench detects, or when `max_cycles` pass first. Returns
/// the cycles simulated.
pub fn run_until_done(
    dut: &mut super::verilator::VerilatorDut,
    bench: &mut dyn Drains,
    max_cycles: u64,
    seed: u64,
) -> Result<u64, SimError> {
    let start = dut.cycles_run();
    while !bench.finished() {
        let used = dut.cycles_run() - start;
        if used >= max_cycles {
            let (got, want) = bench.progress();
            return Err(SimError::Design(format!("{got} of {want} results after {used} cycles")));
        }
        let model: &mut dyn CycleModel = bench;
        run_checked(dut, model, (max_cycles - used).min(1000), seed).map_err(|e| match e {
            CheckError::Diverged(d) => dut.mismatch_at(seed, d.cycle, d.to_string()),
            CheckError::Sim(e) => e,
        })?;
    }
    Ok(dut.cycles_run() - start)
}
