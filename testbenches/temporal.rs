//! Co-simulation of the Temporal Attention Engine against its golden models: random layouts
//! (frames, positions, heads, padded channels; frame-major and position-major), every mask
//! (full, causal, windows, skipped frames, rows left with no key), commands that overflow the
//! address space, random gaps and backpressure; Icarus agreeing with Verilator; lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::Pace;
use vdx::blocks::temporal::TemporalAttentionParams;
use vdx::blocks::temporal::tb::{TaeBench, default_pitch};
use vdx::hdl::Design;
use vdx::sim::check::run_until_done;
use vdx::sim::verilator::VerilatorDut;

fn small(
    lanes: u32,
    t_max: u32,
    d: u32,
    banks: u32,
    write_words: u32,
    rows_in_flight: u32,
) -> TemporalAttentionParams {
    TemporalAttentionParams {
        lanes,
        t_max,
        d,
        banks,
        depth: 128,
        write_words,
        pitch_width: 4,
        rows_in_flight,
        ..Default::default()
    }
}

fn configs() -> [TemporalAttentionParams; 2] {
    [small(2, 8, 4, 4, 2, 6), small(4, 4, 3, 8, 3, 2)]
}

fn dut(p: &TemporalAttentionParams) -> VerilatorDut {
    VerilatorDut::build(&Design::single(&p.build().unwrap()).emit().sim_source(0)).unwrap()
}

#[test]
fn temporal_attention_is_lint_clean() {
    for p in configs() {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn verilator_matches_the_golden_engine_for_every_mask_and_layout() {
    if !common::verilator() {
        return;
    }
    for (i, p) in configs().into_iter().enumerate() {
        let mut dut = dut(&p);
        let mut conflicts = 0;
        for (pace, seed) in [(Pace::RANDOM, 1 + i as u64), (Pace { valid: 0.9, ready: 0.25 }, 20 + i as u64)]
        {
            let mut bench = TaeBench::new(&p, default_pitch(&p), 40, pace, seed);
            run_until_done(&mut dut, &mut bench, 3_000_000, seed).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            let cmds = &bench.commands;
            eprintln!(
                "{} commands, {} rejected, {} beats, {} conflict cycles",
                cmds.len(),
                bench.rejected,
                bench.results,
                bench.conflicts()
            );
            assert!(cmds.len() > 40, "only {} commands", cmds.len());
            assert!(cmds.iter().any(|c| c.mask.causal && c.mask.window > 0), "no causal window");
            assert!(cmds.iter().any(|c| !c.mask.causal && c.mask.window > 0), "no band");
            assert!(cmds.iter().any(|c| c.mask.skip != 0), "no skipped frames");
            assert!(cmds.iter().any(|c| c.mask == Default::default()), "no full attention");
            assert!(cmds.iter().any(|c| c.positions % u64::from(p.lanes) != 0), "no partial group");
            assert!(bench.rejected > 0, "no command overflowed");
            conflicts += bench.conflicts();
        }
        assert!(conflicts > 0, "no position-major conflicts");
    }
}

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let p = small(2, 4, 2, 4, 2, 2);
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut bench = TaeBench::new(&p, default_pitch(&p), usize::MAX, Pace::RANDOM, 5);
    common::assert_icarus_agrees(&src, &mut bench, 4_000, 5);
    assert!(bench.results > 100, "only {} output beats", bench.results);
}

/// At full pace the cycle model gives every command's and every output beat's cycle exactly:
/// frame- and position-major layouts (bank conflicts), partial groups, every mask (loader- and
/// lane-bound jobs, rows held by the credit), a refused command between runs.
#[test]
fn cycle_model_is_exact_at_full_pace() {
    if !common::verilator() {
        return;
    }
    use rand::{RngExt, SeedableRng};
    use vdx::blocks::temporal::golden::{Command, Mask, predict};
    for (i, p) in configs().into_iter().enumerate() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(40 + i as u64);
        let pitch = default_pitch(&p);
        let tokens = u64::from(p.banks) * (p.depth / pitch);
        let mut cmds = Vec::new();
        for n in 0..16 {
            let frames = rng.random_range(1..=p.t_max as usize);
            let positions =
                rng.random_range(u64::from(p.lanes)..=3 * u64::from(p.lanes) + 1).min(tokens / frames as u64);
            let heads = rng.random_range(1..=2);
            let mut c = if n % 2 == 0 {
                Command::frame_major(&p, frames, positions, heads, 0)
            } else {
                Command::position_major(&p, frames, positions, heads, 0)
            };
            let window = if rng.random_bool(0.5) { 0 } else { rng.random_range(1..=frames as u32) };
            let skip = if rng.random_bool(0.3) { rng.random::<u64>() & ((1 << frames) - 1) } else { 0 };
            c.mask = Mask { causal: rng.random_bool(0.5), window, skip };
            if n == 7 {
                c.base = (1 << p.addr_width()) - 1;
            }
            cmds.push(c);
        }
        let mut bench = TaeBench::scripted(&p, pitch, tokens, cmds.clone(), Pace::FULL, 9);
        run_until_done(&mut dut(&p), &mut bench, 1_000_000, 9).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(bench.rejected, 1);
        let map = vdx::blocks::latent::golden::Mapping::new(&p.buffer(), pitch);
        let want = predict(&p, &map, &cmds, bench.cmd_cycles[0]);
        assert_eq!(bench.cmd_cycles, want.cmd_cycles, "{p:?}");
        assert_eq!(bench.out_cycles, want.out_cycles, "{p:?}");
        assert!(bench.conflicts() > 0, "no conflicts: {p:?}");
    }
}
