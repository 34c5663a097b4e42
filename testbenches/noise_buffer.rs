//! Co-simulation of the double-buffered noise store against its cycle model.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::noise_buffer::NoiseBufferParams;
use vdx::blocks::noise_buffer::tb::BufferBench;
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;

/// 25 words per tensor in a 32-deep bank: many fills and releases in a short run.
fn small() -> NoiseBufferParams {
    NoiseBufferParams { lanes: 2, sample_width: 16, tensor_samples: 100 }
}

#[test]
fn noise_buffer_is_lint_clean() {
    common::assert_lint_clean(&Design::single(&small().build().unwrap()).emit());
}

#[test]
fn verilator_matches_the_cycle_model() {
    if !common::verilator() {
        return;
    }
    let src = Design::single(&small().build().unwrap()).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = BufferBench::new(&small());
    let checks = run_checked(&mut dut, &mut bench, 200_000, 31).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.releases > 1000, "only {} banks went round", bench.releases);
    assert!(checks > 600_000, "{checks}");
    // Reads and releases at any time, resets mid-run.
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = BufferBench::unrestricted(&small());
    let checks = run_checked(&mut dut, &mut bench, 200_000, 33).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.releases > 1000, "only {} banks went round", bench.releases);
    assert!(checks > 600_000, "{checks}");
}

#[test]
fn icarus_matches_the_cycle_model() {
    if !common::icarus() {
        return;
    }
    let src = Design::single(&small().build().unwrap()).emit().sim_source(0);
    let mut sim = IcarusSim::build(&src).unwrap();
    let mut bench = BufferBench::new(&small());
    run_checked(&mut sim, &mut bench, 3_000, 32).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.releases > 10, "only {} banks went round", bench.releases);
}

#[test]
fn default_size_holds_one_vdx1_noise_tensor_per_bank() {
    let p = NoiseBufferParams::default();
    assert_eq!(p.tensor_samples, 6_912_000);
    assert_eq!(p.words(), 13_500);
    assert_eq!(p.depth(), 16_384);
    assert_eq!(p.word_bits(), 8192);
}
