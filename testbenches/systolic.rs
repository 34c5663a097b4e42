//! Co-simulation of the weight-stationary systolic array against its golden model: random GEMMs
//! (shapes that are not multiples of the array, both modes, mode changes between tiles) under
//! random valid gaps and backpressure, Icarus agreement, no bubble at tile and mode switches.

mod common;

use vdx::hdl::names::module_base;

use rand::SeedableRng;
use rand::rngs::StdRng;
use vdx::blocks::BlockParams;
use vdx::blocks::systolic::SystolicParams;
use vdx::blocks::systolic::golden::{Gemm, predict};
use vdx::blocks::systolic::tb::{Pace, ShapeLimits, SystolicBench, random_gemms, run_until_done};
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::verilator::VerilatorDut;

fn params(rows: u32, cols: u32, acc_rows: u64) -> SystolicParams {
    SystolicParams { rows, cols, max_k: 256, max_m: 256, max_n: 256, acc_rows, ..Default::default() }
}

fn dut(p: &SystolicParams) -> VerilatorDut {
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    VerilatorDut::build(&src).unwrap()
}

/// Runs `bench` until every result is back and returns the cycles used.
fn run(p: &SystolicParams, bench: &mut SystolicBench, cycles: u64, seed: u64) -> u64 {
    run_until_done(&mut dut(p), bench, cycles, seed).unwrap_or_else(|e| panic!("{p:?}: {e}"))
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
    random_run(
        &SystolicParams { weight_width: 4, signed: false, act_width: 6, ..params(2, 3, 2) },
        20,
        Pace::RANDOM,
        6,
    );
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
    let gemms: Vec<Gemm> = [(16, 8, 8, true), (16, 12, 4, false), (32, 4, 16, true), (16, 8, 8, false)]
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

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    use vdx::sim::check::{Recorder, replay_differs};
    use vdx::sim::icarus::IcarusSim;
    let p = params(3, 2, 4);
    let mut rng = StdRng::seed_from_u64(13);
    let list = random_gemms(&p, &mut rng, ShapeLimits::around(&p), 8);
    let mut bench = SystolicBench::new(&p, &list, Pace::RANDOM, 13);
    let mut dut = dut(&p);
    let mut recorder = Recorder::new(&mut bench);
    run_checked(&mut dut, &mut recorder, 3_000, 13).unwrap_or_else(|e| panic!("{e:?}"));
    let (inputs, outputs) = (std::mem::take(&mut recorder.inputs), std::mem::take(&mut recorder.outputs));
    assert!(bench.finished(), "{} of {} results", bench.results, bench.streams.results.len());
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut icarus = IcarusSim::build(&src).unwrap();
    let differs = replay_differs(&mut icarus, &inputs, &outputs).unwrap();
    assert_eq!(differs, None, "Icarus and Verilator differ");
    // The comparison itself notices a single flipped bit.
    let mut tampered = outputs.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let mut icarus = IcarusSim::build(&src).unwrap();
    assert!(replay_differs(&mut icarus, &inputs, &tampered).unwrap().is_some());
}

#[test]
fn cycle_model_predicts_random_streams() {
    if !common::verilator() {
        return;
    }
    // Short chunks make tiles wait for weights; one-row chunks need a spare cycle.
    for (p, seed) in
        [(params(4, 4, 16), 20), (params(4, 3, 2), 21), (params(3, 5, 1), 22), (params(8, 8, 8), 23)]
    {
        let mut rng = StdRng::seed_from_u64(seed);
        for round in 0..4 {
            let list = random_gemms(&p, &mut rng, ShapeLimits::around(&p), 1 + round);
            let mut bench = SystolicBench::new(&p, &list, Pace::FULL, seed);
            run(&p, &mut bench, 1_000_000, seed);
            let shapes: Vec<_> = list.iter().map(|g| (g.m, g.k, g.n, g.w4)).collect();
            let measured = bench.res_cycles.last().unwrap() - bench.cmd_cycles[0] + 1;
            let predicted = predict(&p, &shapes).cycles;
            println!(
                "{}x{} acc_rows {} {shapes:?}: measured {measured}, predicted {predicted}",
                p.rows, p.cols, p.acc_rows
            );
            assert!(
                predicted.abs_diff(measured) * 50 <= measured,
                "{shapes:?} on {}x{}: predicted {predicted}, measured {measured}",
                p.rows,
                p.cols
            );
        }
    }
}

#[test]
fn verilog_grows_with_distinct_modules_not_with_pes() {
    let emit = |rows, cols| {
        Design::single(&SystolicParams { rows, cols, ..Default::default() }.build().unwrap()).emit()
    };
    let (small, large) = (emit(16, 16), emit(128, 128));
    // The same modules (names differ only in their content hashes: the widths differ).
    let bases = |e: &vdx::hdl::Emitted| {
        e.files
            .iter()
            .map(|f| module_base(f.name.trim_end_matches(".v")).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(bases(&small), bases(&large));
    let bytes = |e: &vdx::hdl::Emitted| e.files.iter().map(|f| f.text.len()).sum::<usize>();
    // 64 times the PEs; only the digits of the widths differ.
    eprintln!(
        "{} bytes at 128x128, {} at 16x16, {} module files",
        bytes(&large),
        bytes(&small),
        large.files.len()
    );
    assert!(bytes(&large) * 100 < bytes(&small) * 105, "{} vs {} bytes", bytes(&large), bytes(&small));
    let pe = large.files.iter().find(|f| f.name.starts_with("vdx_systolic_pe_")).unwrap();
    assert!(pe.text.contains("$signed(a_i) * $signed("), "signed products keep their operand widths");
}
