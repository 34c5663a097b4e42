//! Co-simulation of `xoshiro_lane` against its golden model: Verilator for 10^6 cycles, Icarus
//! for 10^4, and a mutant that the checker must catch (with a waveform).

mod common;

use vdx::blocks::xoshiro::XoshiroLaneParams;
use vdx::blocks::xoshiro::tb::{LaneBench, Mix};
use vdx::blocks::{BlockParams, CosimRun};
use vdx::hdl::Design;
use vdx::sim::check::{CheckError, run_checked};
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;
use vdx::sim::{SimError, SimSource};

fn source(params: &XoshiroLaneParams) -> SimSource {
    Design::single(&params.build().unwrap()).emit().sim_source(0)
}

#[test]
fn verilator_matches_golden_for_a_million_cycles() {
    if !common::verilator() {
        return;
    }
    for (params, seed) in
        [(XoshiroLaneParams::default(), 1), (XoshiroLaneParams { seed: 0x1234_5678_9abc, lane: 255 }, 2)]
    {
        let report =
            params.cosim(CosimRun { cycles: 1_000_000, seed, trace: None }).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.checks, 1_000_000, "{params:?}");
    }
}

#[test]
fn icarus_matches_golden_for_ten_thousand_cycles() {
    if !common::icarus() {
        return;
    }
    let params = XoshiroLaneParams { seed: 99, lane: 3 };
    let mut sim = IcarusSim::build(&source(&params)).unwrap();
    let mut bench = LaneBench::new(&params, Mix::default());
    let checks = run_checked(&mut sim, &mut bench, 10_000, 3).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(checks, 10_000);
}

#[test]
fn a_wrong_rotation_is_caught_and_a_waveform_is_written() {
    if !common::verilator() {
        return;
    }
    let params = XoshiroLaneParams::default();
    let mut src = source(&params);
    let text = &mut src.files[0].text;
    let right = "{sum_q[40:0], sum_q[63:41]}";
    assert!(text.contains(right), "the output rotation is where this test expects it:\n{text}");
    *text = text.replace(right, "{sum_q[41:0], sum_q[63:42]}");
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = LaneBench::new(&params, Mix::default());
    let divergence = match run_checked(&mut dut, &mut bench, 1000, 4) {
        Err(CheckError::Diverged(d)) => d,
        other => panic!("the mutant must diverge, got {other:?}"),
    };
    let err = dut.mismatch_at(4, divergence.cycle, divergence.to_string());
    let SimError::Mismatch { vcd, seed, .. } = &err else { panic!("{err}") };
    assert_eq!(*seed, 4);
    let wave = std::fs::read_to_string(vcd).unwrap();
    assert!(wave.contains("$enddefinitions") && wave.contains("rand_o"), "{}", vcd.display());
    // The waveform ends a few cycles after the divergence (10 time units per cycle), not at the
    // end of the 1000-cycle batch.
    let last_time: u64 = wave.lines().filter_map(|l| l.strip_prefix('#')?.parse().ok()).max().unwrap();
    assert!(
        last_time <= 10 * (divergence.cycle + 6),
        "waveform runs to {last_time} for cycle {}",
        divergence.cycle
    );
    assert!(last_time >= 10 * divergence.cycle, "waveform must show the diverging cycle");
    assert!(err.to_string().contains("seed 4"), "{err}");
}
