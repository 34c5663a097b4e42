//! Co-simulation of the Stochastic Generation Unit against its golden model.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::sgu::SguParams;
use vdx::blocks::sgu::rtl::PAIR_LATENCY;
use vdx::blocks::sgu::tb::{SguBench, SguModel, Traffic};
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::icarus::IcarusSim;
use vdx::sim::verilator::VerilatorDut;

fn small(lanes: u32) -> SguParams {
    SguParams { lanes, ..SguParams::default() }
}

#[test]
fn sgu_is_lint_clean() {
    common::assert_lint_clean(&Design::single(&small(3).build().unwrap()).emit());
}

#[test]
fn verilator_matches_golden_sample_for_sample_under_backpressure() {
    if !common::verilator() {
        return;
    }
    let p = small(4);
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = SguBench::new(&p, 0xdead_beef, Traffic::default());
    let checks = run_checked(&mut dut, &mut bench, 220_000, 21).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(checks >= 1_000_000, "only {checks} samples compared");
    assert_eq!(checks, bench.transfers * 8);
}

#[test]
fn icarus_agrees_on_a_small_config() {
    if !common::icarus() {
        return;
    }
    let p = small(2);
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut sim = IcarusSim::build(&src).unwrap();
    let mut bench = SguBench::new(&p, 5, Traffic::default());
    let checks = run_checked(&mut sim, &mut bench, 1_500, 22).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.transfers > 500, "{} transfers", bench.transfers);
    assert_eq!(checks, bench.transfers * 4);
}

#[test]
fn steady_state_is_two_samples_per_lane_per_cycle() {
    if !common::verilator() {
        return;
    }
    let p = small(3);
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = SguBench::new(&p, 9, Traffic { enable: 1.0, ready: 1.0 });
    let cycles = 10_000;
    run_checked(&mut dut, &mut bench, cycles, 23).unwrap_or_else(|e| panic!("{e:?}"));
    let (enable, valid) = (bench.first_enable.unwrap(), bench.first_valid.unwrap());
    assert_eq!(valid - enable, u64::from(PAIR_LATENCY) + 1, "fill latency");
    assert_eq!(bench.transfers, cycles - valid, "one transfer per cycle once full");
    println!("fill latency {} cycles; {} samples/cycle at steady state", valid - enable, 2 * p.lanes);
}

#[test]
fn sixteen_lanes_verilate_hierarchically_and_match_golden() {
    if !common::verilator() {
        return;
    }
    let p = small(vdx::hdl::HIER_BLOCK_MIN_INSTANCES);
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    assert!(
        src.files.iter().any(|f| f.is_verilator_control()),
        "16 lanes must share one verilated pair unit"
    );
    let mut dut = VerilatorDut::build(&src).unwrap();
    let mut bench = SguBench::new(&p, 77, Traffic::default());
    let checks = run_checked(&mut dut, &mut bench, 3_000, 24).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bench.transfers > 1_000, "{} transfers", bench.transfers);
    assert_eq!(checks, bench.transfers * 32);
    // A mismatch must still produce a waveform (the traced build of a hierarchical model).
    let err = dut.mismatch_at(24, 40, "forced for the test");
    let vdx::sim::SimError::Mismatch { vcd, what, .. } = &err else { panic!("{err}") };
    assert!(!what.contains("no waveform"), "{what}");
    assert!(std::fs::read_to_string(vcd).unwrap().contains("$enddefinitions"));
}

#[test]
fn lane_streams_match_rand_xoshiro_seeded_and_jumped() {
    use rand_xoshiro::Xoshiro256PlusPlus;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};
    let p = SguParams::default();
    for seed in [0u64, 1, 0x5eed, u64::MAX >> 1] {
        let model = SguModel::seeded(&p, seed);
        for lane in [0usize, 1, 2, 17, 255] {
            let mut reference = Xoshiro256PlusPlus::seed_from_u64(seed);
            for _ in 0..lane {
                reference.jump();
            }
            let mut ours = model.lanes[lane];
            for i in 0..64 {
                assert_eq!(ours.next_u64(), reference.next_u64(), "seed {seed:#x} lane {lane} output {i}");
            }
        }
    }
}

#[test]
fn extreme_inputs_and_range_corners_match_golden_in_rtl() {
    use vdx::blocks::sgu::tb::{DirectedBench, extreme_uniforms};
    // Output formats across the validated range build (the rounding slice once did not fit).
    for (w, f) in [(8, 3), (16, 8), (17, 11), (32, 13), (32, 1)] {
        SguParams { lanes: 1, out_width: w, out_frac: f, ..SguParams::default() }.build().unwrap();
    }
    if !common::verilator() {
        return;
    }
    for p in [
        SguParams { lanes: 1, ..SguParams::default() },
        SguParams {
            lanes: 1,
            out_width: 32,
            out_frac: 13,
            u0_bits: 32,
            ln_segments_log2: 7,
            sqrt_segments_log2: 4,
            trig_segments_log2: 5,
        },
    ] {
        let inputs = extreme_uniforms(p.u0_bits);
        let n = inputs.len();
        let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = DirectedBench::new(&p, inputs);
        run_checked(&mut dut, &mut bench, n as u64 + 40, 25).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        assert_eq!(bench.compared, n, "{p:?}: every directed input reached the output");
    }
}

/// The SGU feeding the noise buffer, back-pressured by it, read back bank by bank.
#[test]
fn sgu_fills_the_noise_buffer_with_the_golden_stream() {
    use vdx::blocks::noise_buffer::NoiseBufferParams;
    use vdx::hdl::ModuleBuilder;
    let sp = small(2);
    let bp = NoiseBufferParams { lanes: 2, sample_width: 16, tensor_samples: 40 };
    let (sgu, buffer) = (sp.build().unwrap(), bp.build().unwrap());
    let m = ModuleBuilder::new("vdx_sgu_noise");
    let en = m.input("en_i", 1);
    let seed_valid = m.input("seed_valid_i", 1);
    let seed_lane = m.input("seed_lane_i", 1);
    let seed_state = m.input("seed_state_i", 256);
    let rd_en = m.input("rd_en_i", 1);
    let rd_addr = m.input("rd_addr_i", bp.addr_bits());
    let release = m.input("release_i", 1);
    let ready = m.wire("sgu_ready", 1);
    let g = m.instance(
        "u_sgu",
        &sgu,
        &[
            ("en_i", &en),
            ("seed_valid_i", &seed_valid),
            ("seed_lane_i", &seed_lane),
            ("seed_state_i", &seed_state),
            ("out_ready_i", &ready),
        ],
    );
    let b = m.instance(
        "u_buffer",
        &buffer,
        &[
            ("in_valid_i", &g.output("out_valid_o")),
            ("in_data_i", &g.output("out_data_o")),
            ("rd_en_i", &rd_en),
            ("rd_addr_i", &rd_addr),
            ("release_i", &release),
        ],
    );
    m.drive(&ready, &b.output("in_ready_o"));
    m.output("rd_valid_o", &b.output("rd_valid_o"));
    m.output("rd_data_o", &b.output("rd_data_o"));
    let emitted = Design::single(&m.finish().unwrap()).emit();
    common::assert_lint_clean(&emitted);
    if !common::verilator() {
        return;
    }
    let mut dut = VerilatorDut::build(&emitted.sim_source(0)).unwrap();
    dut.reset();
    let seed = 0x0123_4567;
    for lane in 0..2u32 {
        let state = vdx::blocks::xoshiro::golden::Xoshiro256pp::lane(seed, lane).s;
        let words: Vec<u32> = state.iter().flat_map(|w| [*w as u32, (w >> 32) as u32]).collect();
        dut.poke("seed_valid_i", 1).unwrap();
        dut.poke("seed_lane_i", u64::from(lane)).unwrap();
        dut.poke_words("seed_state_i", &words).unwrap();
        dut.step();
    }
    dut.poke("seed_valid_i", 0).unwrap();
    dut.poke("en_i", 1).unwrap();
    let mut golden = SguModel::seeded(&sp, seed);
    for bank in 0..5 {
        let mut waited = 0;
        while dut.peek("rd_valid_o").unwrap() == 0 {
            dut.step();
            waited += 1;
            assert!(waited < 100, "bank {bank} never filled");
        }
        // Let the other bank fill too, so the SGU is held back by the full buffer for a while.
        for _ in 0..30 {
            dut.step();
        }
        dut.poke("rd_en_i", 1).unwrap();
        for addr in 0..bp.words() {
            dut.poke("rd_addr_i", addr).unwrap();
            dut.step();
            let want: Vec<u32> = golden
                .next_transfer()
                .iter()
                .map(|[x0, x1]| (*x0 as u32 & 0xffff) | ((*x1 as u32 & 0xffff) << 16))
                .collect();
            assert_eq!(dut.peek_words("rd_data_o").unwrap(), want, "bank {bank} word {addr}");
        }
        dut.poke("rd_en_i", 0).unwrap();
        dut.poke("release_i", 1).unwrap();
        dut.step();
        dut.poke("release_i", 0).unwrap();
    }
}
