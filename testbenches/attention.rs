//! Co-simulation of the Spatial Attention Engine against its golden model: random jobs (tile
//! sizes and key lengths that are not multiples of the mesh, full, causal and key-length masks,
//! hard rows) under random valid gaps and backpressure; lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::attention::SpatialAttentionParams;
use vdx::blocks::attention::tb::{AttentionBench, Pace, run_until_done};
use vdx::hdl::Design;
use vdx::hdl::names::module_base;
use vdx::sim::verilator::VerilatorDut;

fn small() -> SpatialAttentionParams {
    SpatialAttentionParams { lanes: 2, d: 4, bk: 3, bq: 8, max_keys: 64, ..Default::default() }
}

fn dut(p: &SpatialAttentionParams) -> VerilatorDut {
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    VerilatorDut::build(&src).unwrap()
}

#[test]
fn spatial_attention_is_lint_clean() {
    common::assert_lint_clean(&Design::single(&small().build().unwrap()).emit());
}

/// Runs `jobs` random jobs (keys up to `max_len`) at each pace on one model of `p`.
fn random_runs(p: &SpatialAttentionParams, jobs: usize, max_len: usize, seed: u64) {
    let mut dut = dut(p);
    for (pace, seed) in
        [(Pace::RANDOM, seed), (Pace::FULL, seed + 1), (Pace { valid: 0.9, ready: 0.3 }, seed + 2)]
    {
        let mut bench = AttentionBench::endless(p, max_len, pace, seed);
        bench.stop_after(jobs);
        let cycles =
            run_until_done(&mut dut, &mut bench, 400_000, seed).unwrap_or_else(|e| panic!("{pace:?}: {e}"));
        let s = &bench.streams;
        eprintln!(
            "{pace:?}: {} commands, {} outputs, {} key beats in {cycles} cycles",
            s.commands.len(),
            s.out.len(),
            s.k.len()
        );
        assert_eq!(bench.results, s.out.len());
        assert!(s.commands.iter().filter(|c| c.causal).count() > jobs / 5);
        assert!(s.commands.iter().any(|c| c.len_minus_1 == 0), "a job with one key");
    }
}

#[test]
fn verilator_matches_the_golden_model_under_backpressure() {
    if !common::verilator() {
        return;
    }
    random_runs(&small(), 40, 11, 1);
}

/// Degenerate meshes (one key per block, a head dimension of one, one-row tiles) and a wider
/// lane with tiles long enough for switches to cost nothing.
#[test]
fn verilator_matches_on_edge_and_wider_configs() {
    if !common::verilator() {
        return;
    }
    random_runs(&SpatialAttentionParams { lanes: 1, d: 1, bk: 1, bq: 1, max_keys: 16, ..small() }, 30, 9, 11);
    random_runs(&SpatialAttentionParams { lanes: 1, d: 2, bk: 5, bq: 2, ..small() }, 30, 23, 21);
    random_runs(
        &SpatialAttentionParams { lanes: 1, d: 8, bk: 8, bq: 32, max_keys: 128, ..small() },
        12,
        70,
        31,
    );
}

#[test]
fn icarus_agrees_with_verilator_cycle_by_cycle() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let p = SpatialAttentionParams { lanes: 1, d: 2, bk: 2, bq: 4, max_keys: 16, ..small() };
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    let mut bench = AttentionBench::endless(&p, 7, Pace::RANDOM, 5);
    common::assert_icarus_agrees(&src, &mut bench, 1_500, 5);
    assert!(bench.results > 40, "only {} rows came back", bench.results);
}

/// The default engine (64 lanes of two 128 x 128 meshes) has the same kinds of module as a
/// 2-lane engine of 8 x 8 meshes and about as much Verilog: it grows with the softmax's
/// `log2(bk)` reduction levels only. At the same mesh, 64 lanes and 2 lanes are the same size.
#[test]
fn verilog_grows_with_distinct_modules_not_with_lanes_or_meshes() {
    let emit = |p: &SpatialAttentionParams| Design::single(&p.build().unwrap()).emit();
    let t = std::time::Instant::now();
    let large = emit(&SpatialAttentionParams::default());
    let seconds = t.elapsed().as_secs_f64();
    let two_lanes = emit(&SpatialAttentionParams { lanes: 2, ..Default::default() });
    let small = emit(&SpatialAttentionParams { lanes: 2, d: 8, bk: 8, ..Default::default() });
    let bases = |e: &vdx::hdl::Emitted| {
        let mut b: Vec<String> =
            e.files.iter().map(|f| module_base(f.name.trim_end_matches(".v")).unwrap().to_string()).collect();
        b.dedup();
        b
    };
    assert_eq!(bases(&small), bases(&large));
    let bytes = |e: &vdx::hdl::Emitted| e.files.iter().map(|f| f.text.len()).sum::<usize>();
    let (l, t2, s) = (bytes(&large), bytes(&two_lanes), bytes(&small));
    eprintln!(
        "{l} bytes for the default engine ({seconds:.2} s), {t2} with 2 lanes, {s} for 2 lanes of 8 x 8"
    );
    assert!(l * 100 < t2 * 101, "{l} vs {t2} bytes");
    assert!(l * 100 < s * 125, "{l} vs {s} bytes");
    assert!(seconds < 2.0, "{seconds:.2} s to build and emit the default engine");
}

/// At full pace the cycle model gives every output transfer's cycle exactly.
#[test]
fn cycle_model_is_exact_at_full_pace() {
    if !common::verilator() {
        return;
    }
    use rand::SeedableRng;
    use vdx::blocks::attention::golden::predict;
    use vdx::blocks::attention::tb::{Hard, random_job};
    for (p, seed) in [(small(), 3), (SpatialAttentionParams { d: 3, bk: 5, bq: 4, ..small() }, 4)] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let jobs: Vec<_> = (0..12).map(|_| random_job(&p, &mut rng, 17, Hard::None)).collect();
        let mut bench = AttentionBench::new(&p, &jobs, Pace::FULL);
        run_until_done(&mut dut(&p), &mut bench, 100_000, seed).unwrap();
        let want = predict(&p, &jobs);
        assert_eq!(bench.out_cycles, want.out_cycles, "{p:?}");
    }
    // Whole attentions, full and causal, tiles back to back.
    let p = SpatialAttentionParams { lanes: 1, d: 8, bk: 8, bq: 16, max_keys: 128, ..small() };
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let mut dut = dut(&p);
    for causal in [false, true] {
        let shape = vdx::blocks::attention::golden::Job::whole(&p, 70, causal);
        let jobs: Vec<_> = shape.iter().map(|j| j.with_operands(&p, &mut rng)).collect();
        let mut bench = AttentionBench::new(&p, &jobs, Pace::FULL);
        run_until_done(&mut dut, &mut bench, 100_000, 6).unwrap();
        assert_eq!(bench.out_cycles, predict(&p, &jobs).out_cycles, "causal {causal}");
    }
}
