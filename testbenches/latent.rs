//! Co-simulation of the latent buffer against its golden model: random write and read beats
//! (neighbouring, strided and scattered requests, out-of-range ones) under random gaps and
//! backpressure for several bank counts, pitches and beat sizes; one beat per cycle at full
//! pace where the map keeps the banks apart, conflicts costing exactly their extra cycles;
//! Icarus agreeing with Verilator cycle by cycle; lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::Pace;
use vdx::blocks::latent::LatentBufferParams;
use vdx::blocks::latent::tb::LatentBench;
use vdx::hdl::Design;
use vdx::sim::check::run_until_done;
use vdx::sim::verilator::VerilatorDut;

fn lb(
    banks: u32,
    depth: u64,
    word_width: u32,
    read_ports: u32,
    write_words: u32,
    pitch_width: u32,
) -> LatentBufferParams {
    LatentBufferParams { banks, depth, word_width, read_ports, write_words, pitch_width }
}

/// `(params, pitches)`: more ports than banks, fewer, one write word, words wider than 64 bits.
fn configs() -> [(LatentBufferParams, &'static [u64]); 3] {
    [
        (lb(4, 16, 70, 6, 3, 3), &[3, 1, 4, 7]),
        (lb(8, 8, 16, 8, 8, 4), &[5, 8, 9]),
        (lb(2, 32, 9, 1, 1, 2), &[1, 2, 3]),
    ]
}

fn dut(p: &LatentBufferParams) -> VerilatorDut {
    VerilatorDut::build(&Design::single(&p.build().unwrap()).emit().sim_source(0)).unwrap()
}

#[test]
fn latent_buffer_is_lint_clean() {
    for (p, _) in configs() {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn verilator_matches_the_golden_buffer_under_backpressure() {
    if !common::verilator() {
        return;
    }
    for (i, (p, pitches)) in configs().into_iter().enumerate() {
        let mut dut = dut(&p);
        for (k, &pitch) in pitches.iter().enumerate() {
            let seed = 10 * i as u64 + k as u64;
            for pace in [Pace::RANDOM, Pace { valid: 0.9, ready: 0.3 }] {
                let mut bench = LatentBench::new(&p, pitch, 600, pace, seed);
                run_until_done(&mut dut, &mut bench, 200_000, seed)
                    .unwrap_or_else(|e| panic!("{p:?} pitch {pitch}: {e}"));
                assert!(bench.results > 150, "{p:?}: only {} read beats", bench.results);
                assert!(
                    bench.bad_beats > 10,
                    "{p:?}: only {} beats with out-of-range requests",
                    bench.bad_beats
                );
                if p.read_ports > 1 {
                    assert!(
                        bench.conflicts > 20,
                        "{p:?} pitch {pitch}: only {} conflict cycles",
                        bench.conflicts
                    );
                }
            }
        }
    }
}

/// With beats always offered and data always taken, a beat is taken as soon as the one before
/// it has been served (after exactly as many cycles as its worst bank needs) and its data leaves
/// `LATENCY` cycles after it was taken when it needed one cycle.
#[test]
fn one_beat_per_cycle_unless_banks_conflict() {
    if !common::verilator() {
        return;
    }
    let (p, _) = configs()[0].clone();
    let mut dut = dut(&p);
    let mut bench = LatentBench::new(&p, 3, 400, Pace::FULL, 7);
    run_until_done(&mut dut, &mut bench, 100_000, 7).unwrap();
    let mut outs = bench.out_cycles.iter();
    let mut single = 0;
    for (k, w) in bench.taken.windows(2).enumerate() {
        let ((t, cycles, _), (next, _, _)) = (w[0], w[1]);
        assert_eq!(
            next,
            t + cycles,
            "beat {} taken {} cycles after beat {k}, which needs {cycles}",
            k + 1,
            next - t
        );
    }
    for &(t, cycles, read) in &bench.taken {
        if read {
            let out = *outs.next().unwrap();
            assert_eq!(out, t + cycles - 1 + LatentBufferParams::LATENCY, "read beat taken at {t}");
            single += usize::from(cycles == 1);
        }
    }
    assert!(
        single > 50 && bench.conflicts > 20,
        "{single} one-cycle reads, {} conflict cycles",
        bench.conflicts
    );
}

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let (p, _) = configs()[1].clone();
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut bench = LatentBench::new(&p, 5, usize::MAX, Pace::RANDOM, 4);
    common::assert_icarus_agrees(&src, &mut bench, 3_000, 4);
    assert!(bench.results > 100, "only {} read beats", bench.results);
}
