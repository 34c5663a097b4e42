//! Co-simulation of the online-softmax row unit against its golden model: random tiles (every
//! mask, the hard rows, repeated and shuffled rows) under random valid gaps and backpressure,
//! one beat per cycle at full pace, Icarus agreeing with Verilator cycle by cycle, lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::softmax::OnlineSoftmaxParams;
use vdx::blocks::softmax::rtl::STAGES;
use vdx::blocks::softmax::tb::{Pace, SoftmaxBench};
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::verilator::VerilatorDut;

fn small() -> OnlineSoftmaxParams {
    OnlineSoftmaxParams { row_width: 5, max_rows: 8, max_len: 64, ..Default::default() }
}

/// A second format: narrow scores, a coarse table, an exponent with few fraction bits, one row.
fn narrow() -> OnlineSoftmaxParams {
    OnlineSoftmaxParams {
        row_width: 4,
        score_width: 12,
        scale: 0.05,
        scale_bits: 8,
        exp_frac: 4,
        segments: 8,
        prob_width: 8,
        max_len: 16,
        max_rows: 1,
        recip_segments: 4,
    }
}

#[test]
fn online_softmax_is_lint_clean() {
    for p in [small(), narrow()] {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn verilator_matches_the_golden_model_under_backpressure() {
    if !common::verilator() {
        return;
    }
    for (p, seed) in [(small(), 1), (narrow(), 2)] {
        let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = SoftmaxBench::new(&p, Pace::RANDOM, seed, None);
        run_checked(&mut dut, &mut bench, 40_000, seed).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        assert!(bench.results > 8_000, "only {} beats came back", bench.results);
        let empties = bench.expected[..bench.results].iter().filter(|o| o.empty).count();
        let rescaled = bench.expected[..bench.results].iter().filter(|o| o.shift > 0).count();
        assert!(empties > 10 && rescaled > 100, "{empties} empty rows, {rescaled} rescales");
    }
}

#[test]
fn one_beat_per_cycle_at_full_pace_with_the_stated_latency() {
    if !common::verilator() {
        return;
    }
    let p = small();
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = SoftmaxBench::new(&p, Pace::FULL, 3, Some(2_000));
    run_checked(&mut dut, &mut bench, 2_200, 3).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.finished(), "{} of {} beats", bench.results, bench.beats.len());
    let n = bench.in_cycles.len();
    assert_eq!(bench.in_cycles[n - 1] - bench.in_cycles[0], n as u64 - 1, "an input cycle was lost");
    assert_eq!(bench.out_cycles[0] - bench.in_cycles[0], u64::from(STAGES));
    assert_eq!(p.latency(), u64::from(STAGES));
}

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let p = narrow();
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut bench = SoftmaxBench::new(&p, Pace::RANDOM, 4, None);
    common::assert_icarus_agrees(&src, &mut bench, 3_000, 4);
    assert!(bench.results > 500, "only {} beats came back", bench.results);
}
