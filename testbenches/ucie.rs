//! Co-simulation of the UCIe adapter's parts against their golden models: the chunked flit CRC
//! at several datapath widths under Verilator, Icarus agreeing with Verilator, lint.

mod common;

use vdx::blocks::ucie::rtl::build_crc;
use vdx::blocks::ucie::tb::CrcBench;
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::verilator::VerilatorDut;

/// Datapath bytes per cycle the CRC is built for in the tests (the adapter's 32, 64 and 128,
/// and 16).
const WIDTHS: [u32; 4] = [16, 32, 64, 128];

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
