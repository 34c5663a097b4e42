//! Co-simulation of the timestep embedding (`timestep_cond`) against its golden model under
//! Verilator, with Icarus agreeing, at several shapes; the stated latency and rate; lint.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::tcu::TimestepCondParams;
use vdx::blocks::tcu::tb::{Mix, TcuBench};
use vdx::hdl::Design;
use vdx::sim::check::run_checked;
use vdx::sim::verilator::VerilatorDut;

fn shapes() -> [TimestepCondParams; 3] {
    let d = TimestepCondParams::default();
    [
        // The default embedding; small tables (3 steps, 5 layers: requests beyond them exist).
        TimestepCondParams { steps: 3, layers: 5, vectors: 2, width: 16, ..d.clone() },
        // One lane, three frequencies, 16-bit timesteps, the shortest period; 3-value rows.
        TimestepCondParams {
            dim: 6,
            lanes: 1,
            t_bits: 16,
            max_period: 2,
            steps: 4,
            layers: 4,
            vectors: 1,
            width: 3,
        },
        TimestepCondParams {
            dim: 128,
            lanes: 64,
            t_bits: 4,
            steps: 1,
            layers: 2,
            vectors: 6,
            width: 64,
            ..d
        },
    ]
}

#[test]
fn embedding_matches_the_golden_model_under_backpressure() {
    if !common::verilator() {
        return;
    }
    for p in shapes() {
        let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        let mut bench = TcuBench::new(&p, Mix::default());
        run_checked(&mut dut, &mut bench, 20_000, 5).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        let beats = u64::from(p.dim / p.lanes);
        assert!(bench.timesteps > 20_000 / (4 * (beats + 8)), "{p:?}: {} timesteps", bench.timesteps);
        assert_eq!(bench.beats / beats, bench.timesteps, "{p:?}: whole embeddings only");
        // Every row loaded early; then whole broadcasts (row_beats beats each) keep coming.
        let rows = u64::from(p.row_beats());
        assert!(bench.bcast.vectors > 20_000 / (8 * (rows + 8)), "{p:?}: {} broadcasts", bench.bcast.vectors);
        if p.steps == 3 {
            assert!(bench.bcast.range_errors > 0, "requests beyond the tables are flagged");
            assert!(bench.bcast.load_errors > 0, "loads beyond a table are flagged");
        }
    }
}

#[test]
fn first_beat_after_the_stated_latency_then_one_per_cycle() {
    if !common::verilator() {
        return;
    }
    for p in shapes() {
        let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
        let mut dut = VerilatorDut::build(&src).unwrap();
        // Always ready, timesteps always on offer: the bench checks every beat's cycle.
        let mut bench = TcuBench::new(&p, Mix { offer: 1.0, ready: 1.0 });
        run_checked(&mut dut, &mut bench, 5_000, 6).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        // dim / lanes beats and one idle cycle per timestep.
        let per = u64::from(p.dim / p.lanes) + 1;
        assert!(
            bench.timesteps + 2 >= (5_000 - 8) / per,
            "{p:?}: {} timesteps in 5,000 cycles",
            bench.timesteps
        );
    }
}

#[test]
fn icarus_agrees_with_verilator() {
    if !common::verilator() || !common::icarus() {
        return;
    }
    let p = TimestepCondParams {
        dim: 16,
        lanes: 4,
        steps: 2,
        layers: 3,
        vectors: 1,
        width: 8,
        ..TimestepCondParams::default()
    };
    let src = Design::single(&p.build().unwrap()).emit().sim_source(0);
    common::assert_icarus_agrees(&src, &mut TcuBench::new(&p, Mix::default()), 2_000, 7);
}

#[test]
fn is_lint_clean() {
    for p in shapes() {
        common::assert_lint_clean(&Design::single(&p.build().unwrap()).emit());
    }
}

#[test]
fn bad_parameters_are_named() {
    use vdx::blocks::BlockParams as _;
    let bad = TimestepCondParams {
        dim: 10,
        lanes: 4,
        t_bits: 0,
        max_period: 1,
        width: 10,
        ..TimestepCondParams::default()
    };
    let fields: Vec<String> =
        bad.validate().into_iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
    assert!(fields.iter().any(|f| f.starts_with("lanes: 4 does not divide dim / 2 = 5")), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("t_bits: 0 is out of range")), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("max_period: 1 is out of range")), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("width: 10 is not a multiple of lanes = 4")), "{fields:?}");
    let odd = TimestepCondParams { dim: 7, lanes: 1, ..TimestepCondParams::default() };
    assert!(odd.validate().iter().any(|i| i.field == "dim" && i.message.contains("odd")));
}
