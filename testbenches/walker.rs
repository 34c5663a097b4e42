//! Co-simulation of the stride walker against its golden model: random walks (some leaving the
//! buffer, some rejected at once) under random gaps and backpressure, one address per cycle at
//! full pace, Icarus agreeing with Verilator cycle by cycle, lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::Pace;
use vdx::blocks::walker::StrideWalkerParams;
use vdx::blocks::walker::tb::WalkerBench;
use vdx::hdl::Design;
use vdx::sim::check::run_until_done;
use vdx::sim::verilator::VerilatorDut;

fn configs() -> [StrideWalkerParams; 3] {
    [
        StrideWalkerParams { levels: 4, addr_width: 12, count_width: 4, limit: 3000 },
        StrideWalkerParams { levels: 1, addr_width: 6, count_width: 3, limit: 0 },
        StrideWalkerParams { levels: 8, addr_width: 20, count_width: 2, limit: 777_777 },
    ]
}

fn dut(p: &StrideWalkerParams) -> VerilatorDut {
    VerilatorDut::build(&Design::single(&p.build().unwrap()).emit().sim_source(0)).unwrap()
}

#[test]
fn stride_walker_is_lint_clean() {
    for p in configs() {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn verilator_matches_the_golden_walks_under_backpressure() {
    if !common::verilator() {
        return;
    }
    for (i, p) in configs().into_iter().enumerate() {
        let mut dut = dut(&p);
        for (pace, seed) in [(Pace::RANDOM, 1 + i as u64), (Pace { valid: 0.3, ready: 0.9 }, 10 + i as u64)] {
            let mut bench = WalkerBench::new(&p, 300, pace, seed);
            run_until_done(&mut dut, &mut bench, 2_000_000, seed).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert!(bench.results > 1000, "{p:?}: only {} addresses", bench.results);
            if p.limit != 0 {
                assert!(bench.stopped() > 10, "{p:?}: only {} walks met the range guard", bench.stopped());
            }
        }
    }
}

/// With commands always offered and the output always taken, a walk's addresses leave in
/// consecutive cycles from the cycle after its command, and the next command is taken the cycle
/// after the last address (a rejected base costs its command cycle only).
#[test]
fn one_address_per_cycle_at_full_pace() {
    if !common::verilator() {
        return;
    }
    let p = configs()[0].clone();
    let mut dut = dut(&p);
    let mut bench = WalkerBench::new(&p, 200, Pace::FULL, 3);
    run_until_done(&mut dut, &mut bench, 1_000_000, 3).unwrap();
    let mut out = bench.out_cycles.iter();
    let mut want_cmd = 1;
    for (k, w) in bench.walks.iter().enumerate() {
        assert_eq!(bench.cmd_cycles[k], want_cmd, "walk {k}");
        let n = w.emitted(&p).0.len() as u64;
        for i in 0..n {
            assert_eq!(*out.next().unwrap(), want_cmd + 1 + i, "walk {k}, address {i}");
        }
        want_cmd += 1 + n;
    }
    assert!(bench.walks.iter().any(|w| w.base >= p.words()), "a rejected base was tried");
}

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let p = configs()[0].clone();
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut bench = WalkerBench::new(&p, 40, Pace::RANDOM, 4);
    common::assert_icarus_agrees(&src, &mut bench, 3_000, 4);
    assert!(bench.results > 100, "only {} addresses", bench.results);
}
