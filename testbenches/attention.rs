//! Co-simulation of the Spatial Attention Engine against its golden model: random jobs (tile
//! sizes and key lengths that are not multiples of the mesh, full, causal and key-length masks,
//! hard rows) under random valid gaps and backpressure; lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::attention::SpatialAttentionParams;
use vdx::blocks::attention::tb::{AttentionBench, Pace, run_until_done};
use vdx::hdl::Design;
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

#[test]
fn verilator_matches_the_golden_model_under_backpressure() {
    if !common::verilator() {
        return;
    }
    let p = small();
    let mut dut = dut(&p);
    for (pace, seed) in [(Pace::RANDOM, 1), (Pace::FULL, 2)] {
        let mut bench = AttentionBench::endless(&p, 11, pace, seed);
        bench.stop_after(40);
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
        assert!(s.commands.iter().filter(|c| c.causal).count() > 5);
    }
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
}
