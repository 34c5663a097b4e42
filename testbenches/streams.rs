//! The handshake primitives (`stream_register`, `skid_buffer`) under random valid/ready, on
//! Verilator and Icarus. The bench is an AXI-Stream producer and consumer plus a scoreboard:
//! - the producer offers random beats and holds valid and payload until a beat is taken (it knows
//!   when from a reference model of the primitive, whose `in_ready` the design must match, so the
//!   stimulus never needs the simulator's outputs and runs in long batches);
//! - the scoreboard sees only the ports: every beat taken at the input must leave the output once,
//!   in order, unchanged (no loss, no duplication, no reordering), the output must hold valid and
//!   payload while stalled, and no more beats may be inside than the primitive has entries;
//! - with both sides always ready, a beat must enter and one leave in every cycle;
//! - rare resets mid-run (asynchronous, active low) must empty the primitive.

mod common;

use rand::RngExt;
use rand::rngs::StdRng;
use std::collections::VecDeque;
use vdx::hdl::{Design, Module, StreamType, skid_buffer, stream_register};
use vdx::sim::check::{CycleModel, run_checked};
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;
use vdx::sim::{CycleSim, PortLayout};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Register,
    Skid,
}

impl Kind {
    fn build(self, ty: &StreamType) -> Module {
        match self {
            Kind::Register => stream_register(ty),
            Kind::Skid => skid_buffer(ty),
        }
        .expect("primitives are well formed")
    }

    fn capacity(self) -> usize {
        match self {
            Kind::Register => 1,
            Kind::Skid => 2,
        }
    }
}

fn types() -> [StreamType; 2] {
    [StreamType::data(8), StreamType::new(&[("data", 13), ("last", 1)])]
}

/// What the primitive holds, as the producer predicts it.
#[derive(Default)]
struct Reference {
    out: Option<u64>,
    skid: Option<u64>,
}

impl Reference {
    fn in_ready(&self, kind: Kind, out_ready: bool) -> bool {
        match kind {
            Kind::Register => self.out.is_none() || out_ready,
            Kind::Skid => self.skid.is_none(),
        }
    }

    /// The clock edge: `offer` is the beat on the input (taken if the input is ready).
    fn step(&mut self, kind: Kind, offer: Option<u64>, out_ready: bool) {
        let taken = if self.in_ready(kind, out_ready) { offer } else { None };
        let load = self.out.is_none() || out_ready;
        match kind {
            Kind::Register if load => self.out = taken,
            Kind::Register => {}
            Kind::Skid if load => self.out = self.skid.take().or(taken),
            Kind::Skid => self.skid = self.skid.or(taken),
        }
    }
}

/// How the producer and consumer behave.
#[derive(Clone, Copy, Debug)]
struct Traffic {
    /// Chance that an idle producer offers a new beat.
    offer: f64,
    /// Chance that the consumer is ready.
    ready: f64,
    /// Chance of a reset in a cycle (cycle 0 always resets).
    reset: f64,
}

const MIXES: [Traffic; 5] = [
    Traffic { offer: 0.5, ready: 0.5, reset: 1e-3 },
    Traffic { offer: 0.9, ready: 0.3, reset: 1e-3 },
    Traffic { offer: 0.3, ready: 0.9, reset: 0.0 },
    Traffic { offer: 1.0, ready: 0.6, reset: 1e-3 },
    Traffic { offer: 0.7, ready: 1.0, reset: 0.0 },
];

/// Both sides always ready: the throughput run.
const SATURATED: Traffic = Traffic { offer: 1.0, ready: 1.0, reset: 0.0 };

/// Cycles at the end of a run in which no new beat is offered and the consumer is always ready,
/// so everything taken must have come out by the end.
const DRAIN: u64 = 8;

struct StreamBench {
    kind: Kind,
    ty: StreamType,
    traffic: Traffic,
    drain_from: u64,
    // Producer side (runs ahead, in `stimulus`).
    cycle: u64,
    reference: Reference,
    pending: Option<u64>,
    predicted: VecDeque<bool>,
    // Scoreboard (in `check`, from the ports only).
    inside: VecDeque<u64>,
    stalled: Option<u64>,
    taken: u64,
    delivered: u64,
    /// Cycles before the drain in which a beat entered and one left.
    full_cycles: u64,
    resets: u64,
}

impl StreamBench {
    fn new(kind: Kind, ty: &StreamType, traffic: Traffic, cycles: u64) -> Self {
        StreamBench {
            kind,
            ty: ty.clone(),
            traffic,
            drain_from: cycles - DRAIN,
            cycle: 0,
            reference: Reference::default(),
            pending: None,
            predicted: VecDeque::new(),
            inside: VecDeque::new(),
            stalled: None,
            taken: 0,
            delivered: 0,
            full_cycles: 0,
            resets: 0,
        }
    }

    fn set_payload(&self, layout: &PortLayout, frame: &mut [u32], value: u64) {
        for (name, _) in self.ty.fields() {
            let (hi, lo) = self.ty.range(name).unwrap();
            let field = (value >> lo) & mask(hi - lo + 1);
            layout.input(&format!("in_{name}_i")).unwrap().set(frame, field);
        }
    }

    fn payload(&self, layout: &PortLayout, frame: &[u32], prefix: &str, dir: &str, output: bool) -> u64 {
        let mut value = 0;
        for (name, _) in self.ty.fields() {
            let (_, lo) = self.ty.range(name).unwrap();
            let port = format!("{prefix}_{name}_{dir}");
            let slot = if output { layout.output(&port) } else { layout.input(&port) }.unwrap();
            value |= slot.get(frame) << lo;
        }
        value
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 { u64::MAX } else { (1 << width) - 1 }
}

impl CycleModel for StreamBench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let draining = self.cycle >= self.drain_from;
        let reset = self.cycle == 0 || rng.random_bool(self.traffic.reset);
        let out_ready = draining || rng.random_bool(self.traffic.ready);
        let offer = if reset {
            self.pending = None;
            self.reference = Reference::default();
            None
        } else {
            if self.pending.is_none() && !draining && rng.random_bool(self.traffic.offer) {
                self.pending = Some(rng.random::<u64>() & mask(self.ty.width()));
            }
            self.pending
        };
        let in_ready = self.reference.in_ready(self.kind, out_ready);
        self.predicted.push_back(in_ready);
        if !reset {
            self.reference.step(self.kind, offer, out_ready);
            if in_ready {
                self.pending = None;
            }
        }
        layout.input("rst_ni").unwrap().set(frame, u64::from(!reset));
        layout.input("in_valid_i").unwrap().set(frame, u64::from(offer.is_some()));
        // An idle producer drives noise: the primitive must not take it.
        let noise = rng.random::<u64>() & mask(self.ty.width());
        self.set_payload(layout, frame, offer.unwrap_or(noise));
        layout.input("out_ready_i").unwrap().set(frame, u64::from(out_ready));
        self.cycle += 1;
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        let bit = |name: &str, output: bool| {
            let slot = if output { layout.output(name) } else { layout.input(name) };
            slot.unwrap().get(if output { outputs } else { inputs }) == 1
        };
        let (reset, in_valid, out_ready) =
            (!bit("rst_ni", false), bit("in_valid_i", false), bit("out_ready_i", false));
        let (in_ready, out_valid) = (bit("in_ready_o", true), bit("out_valid_o", true));
        let predicted = self.predicted.pop_front().expect("one prediction per stimulus frame");
        if in_ready != predicted {
            return Err(format!("in_ready_o = {in_ready}, the reference model says {predicted}"));
        }
        if reset {
            if out_valid {
                return Err("out_valid_o is high during reset".into());
            }
            self.inside.clear();
            self.stalled = None;
            self.resets += 1;
            return Ok(2);
        }
        let out_data = self.payload(layout, outputs, "out", "o", true);
        if let Some(held) = self.stalled {
            if !out_valid {
                return Err(format!("out_valid_o dropped while beat {held:#x} was stalled"));
            }
            if out_data != held {
                return Err(format!("stalled beat changed from {held:#x} to {out_data:#x}"));
            }
        }
        let out_fire = out_valid && out_ready;
        if out_fire {
            match self.inside.pop_front() {
                None => {
                    return Err(format!(
                        "beat {out_data:#x} left but none was inside (duplicated or invented)"
                    ));
                }
                Some(want) if want != out_data => {
                    return Err(format!(
                        "beat {out_data:#x} left, the next one taken was {want:#x} (lost, reordered or corrupted)"
                    ));
                }
                Some(_) => self.delivered += 1,
            }
        }
        self.stalled = (out_valid && !out_ready).then_some(out_data);
        let in_fire = in_valid && in_ready;
        if in_fire {
            self.inside.push_back(self.payload(layout, inputs, "in", "i", false));
            self.taken += 1;
        }
        if self.inside.len() > self.kind.capacity() {
            return Err(format!(
                "{} beats inside a {:?} of {} entries",
                self.inside.len(),
                self.kind,
                self.kind.capacity()
            ));
        }
        if in_fire && out_fire {
            self.full_cycles += 1;
        }
        Ok(4)
    }
}

/// Runs every traffic mix and the saturated run on `sim`; the first cycle of each resets.
fn exercise(sim: &mut dyn CycleSim, kind: Kind, ty: &StreamType, cycles: u64, seed: u64) {
    for (i, traffic) in MIXES.iter().enumerate() {
        let mut bench = StreamBench::new(kind, ty, *traffic, cycles);
        run_checked(sim, &mut bench, cycles, seed + i as u64)
            .unwrap_or_else(|e| panic!("{kind:?} {} {traffic:?}: {e:?}", ty.width()));
        assert!(bench.inside.is_empty(), "{kind:?} {traffic:?}: {} beats never came out", bench.inside.len());
        assert!(
            bench.taken > cycles / 10,
            "{kind:?} {traffic:?}: only {} beats in {cycles} cycles",
            bench.taken
        );
        if traffic.reset == 0.0 {
            assert_eq!(bench.taken, bench.delivered, "{kind:?} {traffic:?}");
        }
    }
    let mut bench = StreamBench::new(kind, ty, SATURATED, cycles);
    run_checked(sim, &mut bench, cycles, seed + 100).unwrap_or_else(|e| panic!("{kind:?} saturated: {e:?}"));
    // Cycle 0 resets, cycle 1 fills; from cycle 2 until the drain one beat enters and one leaves.
    assert_eq!(bench.full_cycles, cycles - DRAIN - 2, "{kind:?}: not one transfer per cycle");
    assert_eq!(bench.taken, bench.delivered);
}

#[test]
fn primitives_are_lint_clean() {
    for kind in [Kind::Register, Kind::Skid] {
        for ty in types() {
            common::assert_lint_clean(&Design::single(&kind.build(&ty)).emit());
        }
    }
}

#[test]
fn primitives_keep_axi_stream_rules_under_verilator() {
    if !common::verilator() {
        return;
    }
    for kind in [Kind::Register, Kind::Skid] {
        for (t, ty) in types().iter().enumerate() {
            let src = Design::single(&kind.build(ty)).emit().sim_source(0);
            let mut dut = VerilatorDut::build(&src).unwrap();
            exercise(&mut dut, kind, ty, 50_000, 40 + 10 * t as u64);
        }
    }
}

#[test]
fn primitives_keep_axi_stream_rules_under_icarus() {
    if !common::icarus() {
        return;
    }
    let ty = &types()[1];
    for kind in [Kind::Register, Kind::Skid] {
        let src = Design::single(&kind.build(ty)).emit().sim_source(0);
        let mut sim = IcarusSim::build(&src).unwrap();
        exercise(&mut sim, kind, ty, 600, 70);
    }
}
