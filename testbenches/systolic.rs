//! Co-simulation of the weight-stationary systolic array against its golden model: random GEMMs
//! (shapes that are not multiples of the array, both modes, mode changes between tiles) under
//! random valid gaps and backpressure, Icarus agreement, no bubble at tile and mode switches.

mod common;

use rand::SeedableRng;
use rand::rngs::StdRng;
use vdx::blocks::BlockParams;
use vdx::blocks::systolic::SystolicParams;
use vdx::blocks::systolic::golden::{Gemm, predict};
use vdx::blocks::systolic::tb::{Pace, ShapeLimits, SystolicBench, random_gemms};
use vdx::hdl::Design;
use vdx::sim::CycleSim;
use vdx::sim::check::{CheckError, run_checked};
use vdx::sim::verilator::VerilatorDut;

fn params(rows: u32, cols: u32, acc_rows: u64) -> SystolicParams {
    SystolicParams { rows, cols, max_k: 256, max_m: 256, max_n: 256, acc_rows, ..Default::default() }
}

fn dut(p: &SystolicParams) -> VerilatorDut {
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    VerilatorDut::build(&src).unwrap()
}

/// Runs `bench` until every result is back (or `cycles` pass) and returns the cycles used.
fn run(p: &SystolicParams, bench: &mut SystolicBench, cycles: u64, seed: u64) -> u64 {
    let mut dut = dut(p);
    let mut used = 0;
    while used < cycles && !bench.finished() {
        let step = 500.min(cycles - used);
        if let Err(e) = run_checked(&mut dut, bench, step, seed) {
            let e = match e {
                CheckError::Diverged(d) => dut.mismatch_at(seed, d.cycle, d.to_string()),
                CheckError::Sim(e) => e,
            };
            panic!("{p:?}: {e}");
        }
        used = dut.cycles_run();
    }
    assert!(bench.finished(), "{p:?}: {} of {} results after {used} cycles", bench.results, bench.streams.results.len());
    used
}

fn random_run(p: &SystolicParams, gemms: usize, pace: Pace, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let list = random_gemms(p, &mut rng, ShapeLimits::around(p), gemms);
    assert!(list.iter().any(|g| g.w4) && list.iter().any(|g| !g.w4) || !p.has_mode());
    let mut bench = SystolicBench::new(p, &list, pace, seed);
    run(p, &mut bench, 2_000_000, seed);
}

#[test]
fn lint_clean() {
    for p in [params(3, 2, 4), SystolicParams { weight_width: 4, signed: false, ..params(2, 3, 2) }] {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn random_gemms_small_arrays() {
    if !common::verilator() {
        return;
    }
    random_run(&params(2, 2, 4), 30, Pace::RANDOM, 1);
    random_run(&params(1, 1, 1), 20, Pace::RANDOM, 2);
    random_run(&params(3, 5, 2), 20, Pace::RANDOM, 3);
    random_run(&SystolicParams { signed: false, out_regs: 0, ..params(4, 3, 8) }, 20, Pace::RANDOM, 4);
    random_run(&SystolicParams { weight_width: 4, out_regs: 3, ..params(4, 4, 4) }, 20, Pace::RANDOM, 5);
    random_run(&SystolicParams { weight_width: 4, signed: false, act_width: 6, ..params(2, 3, 2) }, 20, Pace::RANDOM, 6);
}

#[test]
fn random_gemms_tight_timing() {
    if !common::verilator() {
        return;
    }
    // Streams always valid: loads race the switch wave and the ring fills.
    random_run(&params(4, 4, 8), 25, Pace::FULL, 7);
    random_run(&params(5, 3, 4), 25, Pace::FULL, 8);
    random_run(&params(8, 8, 16), 12, Pace { valid: 0.95, ready: 0.9 }, 9);
}

#[test]
fn random_gemms_8x8_and_16x16() {
    if !common::verilator() {
        return;
    }
    random_run(&params(8, 8, 32), 10, Pace::RANDOM, 10);
    random_run(&params(16, 16, 64), 6, Pace::RANDOM, 11);
}

#[test]
fn mode_switch_between_tiles_costs_no_cycle() {
    if !common::verilator() {
        return;
    }
    let p = params(4, 4, 16);
    let mut rng = StdRng::seed_from_u64(12);
    // Chunks of 16 rows >= rows + cols - 1: every switch rides on a row.
    let gemms: Vec<Gemm> =
        [(16, 8, 8, true), (16, 12, 4, false), (32, 4, 16, true), (16, 8, 8, false)]
            .iter()
            .map(|&(m, k, n, w4)| Gemm::random(&p, &mut rng, m, k, n, w4))
            .collect();
    let mut bench = SystolicBench::new(&p, &gemms, Pace::FULL, 12);
    let cycles = run(&p, &mut bench, 100_000, 12);
    let acts = &bench.act_cycles;
    assert_eq!(acts.len(), bench.streams.acts.len());
    let gaps: Vec<u64> = acts.windows(2).map(|w| w[1] - w[0] - 1).filter(|&g| g > 0).collect();
    assert!(gaps.is_empty(), "activation rows paused {gaps:?} cycles between tiles");
    let shapes: Vec<_> = gemms.iter().map(|g| (g.m, g.k, g.n, g.w4)).collect();
    let predicted = predict(&p, &shapes);
    let measured = bench.res_cycles.last().unwrap() - bench.cmd_cycles[0] + 1;
    assert_eq!(predicted.cycles, measured, "cycle model vs co-sim ({cycles} cycles run)");
}
