//! Co-simulation of the UCIe adapter's parts against their golden models: the chunked flit CRC
//! at several datapath widths under Verilator, Icarus agreeing with Verilator, lint.

mod common;

use vdx::blocks::ucie::UcieAdapterParams;
use vdx::blocks::ucie::adapter::build as build_adapter;
use vdx::blocks::ucie::loopback::{LinkFaults, LoopbackBench, loopback_top};
use vdx::blocks::ucie::rtl::build_crc;
use vdx::blocks::ucie::tb::CrcBench;
use vdx::hdl::Design;
use vdx::sim::check::{run_checked, run_until_done};
use vdx::sim::verilator::VerilatorDut;

/// Datapath bytes per cycle the CRC is built for in the tests (the adapter's 32, 64 and 128,
/// and 16).
const WIDTHS: [u32; 4] = [16, 32, 64, 128];

/// Adapter configurations of the tests: each datapath width, small and large windows.
fn adapters() -> [UcieAdapterParams; 3] {
    let d = UcieAdapterParams::default();
    [
        UcieAdapterParams { bytes: 32, replay_depth: 4, credits: 1, ..d.clone() },
        d.clone(),
        UcieAdapterParams { bytes: 128, replay_depth: 64, credits: 127, ..d },
    ]
}

#[test]
fn adapter_is_lint_clean() {
    for p in adapters() {
        common::assert_lint_clean(&Design::single(&build_adapter(&p).unwrap()).emit());
    }
}

#[test]
fn crc_is_lint_clean() {
    for bytes in WIDTHS {
        common::assert_lint_clean(&Design::single(&build_crc(bytes).unwrap()).emit());
    }
}

#[test]
fn verilator_crc_matches_the_golden_lfsr_and_whole_messages() {
    if !common::verilator() {
        return;
    }
    for bytes in [32, 128] {
        let src = Design::single(&build_crc(bytes).unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = CrcBench::new(bytes, u64::from(bytes));
        let checks = run_checked(&mut dut, &mut bench, 20_000, u64::from(bytes))
            .unwrap_or_else(|e| panic!("{bytes} B: {e:?}"));
        assert!(
            bench.chunks > 12_000 && checks > 20_000,
            "{bytes} B: {} chunks, {checks} checks",
            bench.chunks
        );
        assert!(
            bench.whole_messages > 12_000 / (128 / bytes as usize) / 2,
            "{bytes} B: {} messages",
            bench.whole_messages
        );
    }
}

#[test]
fn icarus_crc_agrees_with_verilator() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let src = Design::single(&build_crc(64).unwrap()).emit().sim_source(0);
    let mut bench = CrcBench::new(64, 7);
    common::assert_icarus_agrees(&src, &mut bench, 2_000, 7);
    assert!(bench.whole_messages > 300, "{} messages", bench.whole_messages);
}

#[test]
fn loopback_clean_link_matches_the_model_flit_by_flit() {
    if !common::verilator() {
        return;
    }
    for (i, p) in adapters().into_iter().enumerate() {
        let src = Design::single(&loopback_top(&p).unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = LoopbackBench::new(&p, 300, LinkFaults::CLEAN, 20 + i as u64);
        run_until_done(&mut dut, &mut bench, 200_000, 20 + i as u64).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let [a, b] = bench.stats();
        assert_eq!((a.replayed, b.replayed, a.crc_errors, b.crc_errors), (0, 0, 0, 0), "{p:?}");
    }
}

/// Every fault the channel model has, one at a time and all together; the received streams
/// must equal the sent ones (checked flit by flit by the bench) and each fault must have been
/// recovered from.
#[test]
fn loopback_recovers_from_every_fault_and_matches_the_model() {
    if !common::verilator() {
        return;
    }
    let c = LinkFaults::CLEAN;
    let cases = [
        ("BER 1e-4", LinkFaults { ber: 1e-4, ..c }),
        ("bursts", LinkFaults { burst: 0.02, ..c }),
        ("drops", LinkFaults { drop: 0.02, ..c }),
        ("duplicates", LinkFaults { dup: 0.03, ..c }),
        ("PHY stalls, slow consumer", LinkFaults { ready: 0.6, consume: 0.3, ..c }),
        ("link down", LinkFaults { link_down: 0.002, ..c }),
        (
            "everything",
            LinkFaults {
                ber: 1e-5,
                burst: 0.005,
                drop: 0.005,
                dup: 0.005,
                ready: 0.8,
                consume: 0.7,
                link_down: 0.0005,
                link_reset: 0.0,
                link_error: 0.0,
            },
        ),
    ];
    for (i, p) in adapters().into_iter().enumerate() {
        let src = Design::single(&loopback_top(&p).unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        for (j, (what, faults)) in cases.iter().enumerate() {
            let seed = 100 + 10 * i as u64 + j as u64;
            let mut bench = LoopbackBench::new(&p, 250, *faults, seed);
            run_until_done(&mut dut, &mut bench, 2_000_000, seed)
                .unwrap_or_else(|e| panic!("{what}, {p:?}: {e}"));
            let [a, b] = bench.stats();
            let errors = a.crc_errors + b.crc_errors + a.out_of_order + b.out_of_order;
            let replays = a.replayed + b.replayed;
            match *what {
                "duplicates" => assert!(a.out_of_order + b.out_of_order > 0, "{what}: {a:?} {b:?}"),
                "PHY stalls, slow consumer" => {}
                "link down" => assert!(bench.down_cycles > 0 && replays > 0, "{what}: {a:?} {b:?}"),
                // A lost flit shows as a gap, or (the last ones, or NOPs) only as a timeout.
                "drops" => assert!(replays > 0, "{what}: {a:?} {b:?}"),
                _ => assert!(errors > 0 && replays > 0, "{what}: {a:?} {b:?}"),
            }
        }
    }
}

/// LinkReset in the middle of traffic: the retry state starts over on both sides; at each reset
/// every flit a side's counters call acknowledged had arrived, nothing arrived that was not
/// accepted (so `stat_accepted_o − stat_acked_o` bounds what the protocol layer must send
/// again), and after the protocol layers send the rest again both streams arrive whole, once
/// and in order.
#[test]
fn link_reset_in_mid_traffic_reports_what_was_not_acknowledged() {
    if !common::verilator() {
        return;
    }
    for (i, p) in adapters().into_iter().enumerate() {
        let src = Design::single(&loopback_top(&p).unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        // LinkReset requests, then LinkError episodes (lp_linkerror); bit errors meanwhile.
        for (k, faults) in [
            LinkFaults { ber: 1e-5, link_reset: 0.002, ..LinkFaults::CLEAN },
            LinkFaults { ber: 1e-5, link_error: 0.004, ..LinkFaults::CLEAN },
        ]
        .into_iter()
        .enumerate()
        {
            let seed = 300 + 10 * k as u64 + i as u64;
            let mut bench = LoopbackBench::new(&p, 400, faults, seed);
            run_until_done(&mut dut, &mut bench, 2_000_000, seed).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            let (resets, errors) = (bench.link_resets.len() as u64, bench.link_errors);
            let want_errors = if k == 0 { 0 } else { resets };
            assert!(
                resets >= 2 && errors == want_errors,
                "{p:?}: {resets} resets, {errors} of them LinkErrors"
            );
            let unacked: u64 = bench.link_resets.iter().flatten().map(|(acc, _, ack)| acc - ack).sum();
            assert!(unacked > 0, "{p:?}: no reset caught a flit in flight: {:?}", bench.link_resets);
        }
    }
}
