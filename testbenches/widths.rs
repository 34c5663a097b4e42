//! The FIFO and the width converters (`stream_fifo`, `stream_upsizer`, `stream_downsizer`) under
//! random valid/ready on Verilator, plus one Icarus run each. A producer holds each beat until it
//! is taken; a scoreboard that sees only the ports checks that what leaves is what entered,
//! regrouped as the converter promises (narrow beats in order, first one least significant), that
//! a stalled output holds, that the FIFO's `level_o` counts the beats inside, and that with both
//! sides always ready one narrow beat moves every cycle.

mod common;

use rand::RngExt;
use rand::rngs::StdRng;
use std::collections::VecDeque;
use vdx::hdl::{Design, Module, StreamType, stream_downsizer, stream_fifo, stream_upsizer};
use vdx::sim::check::{CycleModel, run_checked};
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;
use vdx::sim::{CycleSim, PortLayout};

#[derive(Clone, Copy, Debug)]
enum Prim {
    Fifo(u32),
    Up { narrow: u32, wide: u32 },
    Down { wide: u32, narrow: u32 },
}

impl Prim {
    fn build(self) -> Module {
        match self {
            Prim::Fifo(depth) => stream_fifo(&StreamType::new(&[("data", 13), ("last", 1)]), depth),
            Prim::Up { narrow, wide } => stream_upsizer(narrow, &StreamType::data(wide)),
            Prim::Down { wide, narrow } => stream_downsizer(&StreamType::data(wide), narrow),
        }
        .expect("primitives are well formed")
    }

    /// Input and output widths.
    fn widths(self) -> (u32, u32) {
        match self {
            Prim::Fifo(_) => (14, 14),
            Prim::Up { narrow, wide } => (narrow, wide),
            Prim::Down { wide, narrow } => (wide, narrow),
        }
    }

    /// Narrow beats per wide beat.
    fn parts(self) -> u32 {
        match self {
            Prim::Fifo(_) => 1,
            Prim::Up { narrow, wide } | Prim::Down { wide, narrow } => wide.div_ceil(narrow),
        }
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 { u64::MAX } else { (1 << width) - 1 }
}

fn get(layout: &PortLayout, frame: &[u32], name: &str, output: bool) -> u64 {
    let slot = if output { layout.output(name) } else { layout.input(name) };
    slot.unwrap_or_else(|e| panic!("{e}")).get(frame)
}

/// The port values of a stream's payload, packed (the FIFO's has two fields).
fn payload(prim: Prim, layout: &PortLayout, frame: &[u32], dir: &str, output: bool) -> u64 {
    let sfx = if output { "o" } else { "i" };
    match prim {
        Prim::Fifo(_) => {
            get(layout, frame, &format!("{dir}_data_{sfx}"), output)
                | get(layout, frame, &format!("{dir}_last_{sfx}"), output) << 13
        }
        _ => get(layout, frame, &format!("{dir}_data_{sfx}"), output),
    }
}

struct Bench {
    prim: Prim,
    offer: f64,
    ready: f64,
    pending: Option<u64>,
    /// Output beats expected, oldest first.
    expect: VecDeque<u64>,
    /// Narrow input beats of an upsizer's wide beat not yet complete.
    gathering: Vec<u64>,
    stalled: Option<u64>,
    inside: usize,
    taken: u64,
    delivered: u64,
    both_moved: u64,
    cycle: u64,
}

impl Bench {
    fn new(prim: Prim, offer: f64, ready: f64) -> Self {
        Bench {
            prim,
            offer,
            ready,
            pending: None,
            expect: VecDeque::new(),
            gathering: Vec::new(),
            stalled: None,
            inside: 0,
            taken: 0,
            delivered: 0,
            both_moved: 0,
            cycle: 0,
        }
    }

    /// What leaving beats a taken input beat promises.
    fn took(&mut self, beat: u64) {
        let (iw, ow) = self.prim.widths();
        match self.prim {
            Prim::Fifo(_) => self.expect.push_back(beat),
            Prim::Up { narrow, .. } => {
                self.gathering.push(beat);
                if self.gathering.len() as u32 == self.prim.parts() {
                    let word = self
                        .gathering
                        .drain(..)
                        .enumerate()
                        .fold(0u64, |w, (i, b)| w | b << (i as u32 * narrow));
                    self.expect.push_back(word & mask(ow));
                }
            }
            Prim::Down { narrow, .. } => {
                for i in 0..self.prim.parts() {
                    self.expect.push_back((beat & mask(iw)) >> (i * narrow) & mask(narrow));
                }
            }
        }
    }
}

impl CycleModel for Bench {
    fn stimulus(&mut self, rng: &mut StdRng, layout: &PortLayout, frame: &mut [u32]) {
        let (iw, _) = self.prim.widths();
        // Each run starts with one cycle of reset, which empties whatever the last one left.
        let reset = self.cycle == 0;
        self.cycle += 1;
        if !reset && self.pending.is_none() && rng.random_bool(self.offer) {
            self.pending = Some(rng.random::<u64>() & mask(iw));
        }
        layout.input("rst_ni").unwrap().set(frame, u64::from(!reset));
        layout.input("in_valid_i").unwrap().set(frame, u64::from(self.pending.is_some()));
        // An idle producer drives noise: it must not be taken.
        let beat = self.pending.unwrap_or_else(|| rng.random::<u64>() & mask(iw));
        match self.prim {
            Prim::Fifo(_) => {
                layout.input("in_data_i").unwrap().set(frame, beat & mask(13));
                layout.input("in_last_i").unwrap().set(frame, beat >> 13);
            }
            _ => layout.input("in_data_i").unwrap().set(frame, beat),
        }
        layout.input("out_ready_i").unwrap().set(frame, u64::from(rng.random_bool(self.ready)));
    }

    fn check(&mut self, layout: &PortLayout, inputs: &[u32], outputs: &[u32]) -> Result<u64, String> {
        if get(layout, inputs, "rst_ni", false) == 0 {
            return if get(layout, outputs, "out_valid_o", true) == 1 {
                Err("out_valid_o is high in reset".into())
            } else {
                Ok(1)
            };
        }
        let in_fire =
            get(layout, inputs, "in_valid_i", false) == 1 && get(layout, outputs, "in_ready_o", true) == 1;
        let out_valid = get(layout, outputs, "out_valid_o", true) == 1;
        let out_ready = get(layout, inputs, "out_ready_i", false) == 1;
        let out = payload(self.prim, layout, outputs, "out", true);
        if let Prim::Fifo(_) = self.prim {
            let level = get(layout, outputs, "level_o", true);
            if level != self.inside as u64 {
                return Err(format!("level_o = {level}, {} beats are inside", self.inside));
            }
        }
        if let Some(held) = self.stalled
            && (!out_valid || out != held)
        {
            return Err(format!(
                "a stalled beat {held:#x} changed or vanished (valid {out_valid}, {out:#x})"
            ));
        }
        if out_valid && out_ready {
            match self.expect.pop_front() {
                Some(want) if want == out => self.delivered += 1,
                Some(want) => return Err(format!("beat {out:#x} left, {want:#x} was due")),
                None => return Err(format!("beat {out:#x} left before its input was taken")),
            }
            self.inside = self.inside.saturating_sub(1);
        }
        self.stalled = (out_valid && !out_ready).then_some(out);
        if in_fire {
            let beat = payload(self.prim, layout, inputs, "in", false);
            self.took(beat);
            self.pending = None;
            self.taken += 1;
            self.inside += 1;
        }
        if let Prim::Fifo(depth) = self.prim
            && self.inside > depth as usize
        {
            return Err(format!("{} beats inside a FIFO of {depth}", self.inside));
        }
        if in_fire && (out_valid && out_ready) {
            self.both_moved += 1;
        }
        Ok(3)
    }

    fn reactive(&self) -> bool {
        true
    }
}

fn prims() -> Vec<Prim> {
    vec![
        Prim::Fifo(2),
        Prim::Fifo(8),
        Prim::Up { narrow: 8, wide: 8 },
        Prim::Up { narrow: 8, wide: 16 },
        Prim::Up { narrow: 8, wide: 20 },
        Prim::Down { wide: 8, narrow: 8 },
        Prim::Down { wide: 16, narrow: 8 },
        Prim::Down { wide: 20, narrow: 8 },
    ]
}

fn exercise(sim: &mut dyn CycleSim, prim: Prim, cycles: u64, seed: u64) {
    for (i, (offer, ready)) in [(0.7, 0.6), (0.3, 0.9), (0.95, 0.2)].into_iter().enumerate() {
        let mut bench = Bench::new(prim, offer, ready);
        run_checked(sim, &mut bench, cycles, seed + i as u64).unwrap_or_else(|e| panic!("{prim:?}: {e:?}"));
        let moved = if let Prim::Down { .. } = prim { bench.delivered } else { bench.taken };
        assert!(moved > cycles / 20, "{prim:?}: only {moved} narrow beats moved");
        assert!(bench.expect.len() <= 2 * bench.prim.parts() as usize + 8, "{prim:?}: beats stuck inside");
    }
    // Both sides always ready: after the first output, a narrow beat moves every cycle.
    let mut bench = Bench::new(prim, 1.0, 1.0);
    run_checked(sim, &mut bench, cycles, seed + 9).unwrap_or_else(|e| panic!("{prim:?}: {e:?}"));
    let narrow_beats = match prim {
        Prim::Down { .. } => bench.delivered,
        _ => bench.taken,
    };
    assert!(
        narrow_beats >= cycles - 2 * u64::from(prim.parts()) - 2,
        "{prim:?}: {narrow_beats} narrow beats in {cycles} cycles"
    );
}

#[test]
fn width_primitives_are_lint_clean() {
    for prim in prims() {
        common::assert_lint_clean(&Design::single(&prim.build()).emit());
    }
}

#[test]
fn width_primitives_keep_their_promises_under_verilator() {
    if !common::verilator() {
        return;
    }
    for (k, prim) in prims().into_iter().enumerate() {
        let mut dut = VerilatorDut::build(&Design::single(&prim.build()).emit().sim_source(0)).unwrap();
        exercise(&mut dut, prim, 20_000, 700 + 10 * k as u64);
    }
}

#[test]
fn width_primitives_keep_their_promises_under_icarus() {
    if !common::icarus() {
        return;
    }
    // A reactive bench steps Icarus one cycle per call (tens of cycles per second): keep it short.
    let prim = Prim::Up { narrow: 8, wide: 20 };
    let mut sim = IcarusSim::build(&Design::single(&prim.build()).emit().sim_source(0)).unwrap();
    exercise(&mut sim, prim, 150, 800);
}

#[test]
fn a_fifo_depth_that_is_not_a_power_of_two_is_refused() {
    let err = stream_fifo(&StreamType::data(8), 3).unwrap_err().to_string();
    assert!(err.contains("depth 3 must be a power of two"), "{err}");
}
