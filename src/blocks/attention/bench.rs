//! `vdx bench attention`: the engine's accuracy (golden model, bit-exact with the RTL, against an
//! f64 exact attention on the same integer operands), its MAC utilization from co-simulated
//! cycle counts at a mesh Verilator builds in seconds, the cycle model's error on every
//! co-simulated shape, and the cycle model's figures at the configured engine.

use super::SpatialAttentionParams;
use super::golden::{Job, predict, reference_head, run_head};
use super::tb::{AttentionBench, Pace, run_until_done};
use crate::blocks::BlockParams;
use crate::hdl::Design;
use crate::sim::SimError;
use crate::sim::verilator::VerilatorDut;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

/// Output error of one head of one query tile.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// Head dimension.
    pub d: u32,
    /// Keys.
    pub n: usize,
    /// Query rows measured.
    pub rows: usize,
    /// `‖O − O_ref‖ / ‖O_ref‖` over the tile.
    pub rel_l2: f64,
    /// Cosine similarity of `O` and `O_ref` (flattened).
    pub cosine: f64,
    /// Largest `|O − O_ref|`, in units of a value.
    pub max_abs_error: f64,
}

/// One co-simulated (or modelled) attention.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Tokens (queries and keys).
    pub n: usize,
    /// Causal mask.
    pub causal: bool,
    /// Query tiles (`ceil(n / bq)`), or 1 for a single tile.
    pub tiles: usize,
    /// Cycles, co-simulated (`None` for a model-only figure).
    pub simulated_cycles: Option<u64>,
    /// Cycles the cycle model predicts.
    pub predicted_cycles: u64,
    /// `(simulated − predicted) / simulated`.
    pub model_error: Option<f64>,
    /// Multiply-accumulates of the computed blocks over cycles × peak.
    pub mac_utilization: f64,
    /// Useful attention operations (`4·n²·d`, halved when causal) per second of one lane, in
    /// TOPS at the clock.
    pub lane_tops: f64,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct AttentionReport {
    /// Clock the TOPS figures use, MHz.
    pub clock_mhz: f64,
    /// The co-simulated lane.
    pub simulated: SpatialAttentionParams,
    /// The configured engine of the cycle-model figures.
    pub engine: SpatialAttentionParams,
    /// Accuracy per head dimension and length.
    pub accuracy: Vec<Accuracy>,
    /// Co-simulated attentions (one lane).
    pub simulated_runs: Vec<Run>,
    /// Cycle-model attentions at the configured engine (one lane; every lane runs in lockstep).
    pub engine_runs: Vec<Run>,
    /// Cycles the causal mask saves over the full one, per length, at the configured engine.
    pub causal_saved: Vec<(usize, f64)>,
    /// `lane_tops · lanes` of the longest full attention at the configured engine.
    pub engine_tops: f64,
    /// H200 bf16 spatial attention at this shape, TFLOP/s (measured; see DESIGN.md).
    pub h200_tflops: f64,
}

/// The output error of one head, `rows` query rows against `n` keys at head dimension `d`.
pub fn accuracy(d: u32, n: usize, rows: usize, seed: u64) -> Accuracy {
    let base = SpatialAttentionParams::default();
    let p = SpatialAttentionParams {
        lanes: 1,
        d,
        scale: std::f64::consts::LOG2_E / f64::from(d).sqrt() / 1024.0,
        max_keys: (n as u64).next_power_of_two().max(base.max_keys),
        ..base
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let job = Job::random(&p, &mut rng, rows, n, false, 0);
    let head = &job.heads[0];
    let got = run_head(&p, &job, head);
    let want = reference_head(&p, &job, head);
    let unit = 2f64.powi(-(p.out_frac as i32));
    let (mut err2, mut ref2, mut dot, mut got2, mut max) = (0.0, 0.0, 0.0, 0.0, 0f64);
    for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
        let g = *g as f64 * unit;
        err2 += (g - w) * (g - w);
        ref2 += w * w;
        got2 += g * g;
        dot += g * w;
        max = max.max((g - w).abs());
    }
    Accuracy {
        d,
        n,
        rows,
        rel_l2: (err2 / ref2).sqrt(),
        cosine: dot / (got2 * ref2).sqrt(),
        max_abs_error: max,
    }
}

fn useful_ops(p: &SpatialAttentionParams, jobs: &[Job]) -> f64 {
    let d = f64::from(p.d);
    jobs.iter().map(|j| (0..j.rows).map(|i| 4.0 * d * j.row_limit(i) as f64).sum::<f64>()).sum()
}

fn run_of(p: &SpatialAttentionParams, jobs: &[Job], n: usize, simulated: Option<u64>, clock_mhz: f64) -> Run {
    let predicted = predict(p, jobs);
    let cycles = simulated.unwrap_or(predicted.cycles);
    let macs: u64 = jobs.iter().map(|j| j.macs(p)).sum();
    Run {
        n,
        causal: jobs[0].causal,
        tiles: jobs.len(),
        simulated_cycles: simulated,
        predicted_cycles: predicted.cycles,
        model_error: simulated.map(|s| (s as f64 - predicted.cycles as f64) / s as f64),
        mac_utilization: macs as f64 / (cycles as f64 * p.peak_macs() as f64),
        lane_tops: useful_ops(p, jobs) / (cycles as f64 / (clock_mhz * 1e6)) / 1e12,
    }
}

/// The co-simulated lane: 16 × 16 meshes, tiles of 128 queries (over the `d + bk - 1 = 31` rows
/// a switch needs to cost nothing, and enough to hide the pipeline's fill in one tile).
pub fn simulated_lane() -> SpatialAttentionParams {
    SpatialAttentionParams { lanes: 1, d: 16, bk: 16, bq: 128, max_keys: 1024, ..Default::default() }
}

/// Runs the benchmark: accuracy over `rows` query rows per case, co-simulation of the
/// [`simulated_lane`], and the cycle model at `engine`.
pub fn run(
    engine: &SpatialAttentionParams,
    clock_mhz: f64,
    rows: usize,
    progress: &dyn Fn(&str),
) -> Result<AttentionReport, SimError> {
    let mut accuracy_rows = Vec::new();
    for (i, (d, n)) in [(64, 1024), (128, 1024), (64, 14_400), (128, 14_400)].into_iter().enumerate() {
        progress(&format!("accuracy d = {d}, N = {n}"));
        accuracy_rows.push(accuracy(d, n, rows, 11 + i as u64));
    }
    let lane = simulated_lane();
    progress("Verilator build of a 16 x 16 lane");
    let module = lane.build().map_err(|e| SimError::Design(e.to_string()))?;
    let src = Design::single(&module).emit().sim_source(0);
    let mut dut = VerilatorDut::build(&src)?;
    let mut simulated_runs = Vec::new();
    let mut rng = StdRng::seed_from_u64(5);
    let single = |n: usize| vec![Job::shape(lane.bq as usize, n, false, 0)];
    let mut shapes: Vec<(usize, Vec<Job>)> = vec![(128, single(128)), (512, single(512))];
    for n in [128, 256, 512, 1000] {
        shapes.push((n, Job::whole(&lane, n, false)));
        shapes.push((n, Job::whole(&lane, n, true)));
    }
    for (n, shape) in shapes {
        progress(&format!("co-simulating N = {n}, {} tile(s), causal {}", shape.len(), shape[0].causal));
        let jobs: Vec<Job> = shape.iter().map(|j| j.with_operands(&lane, &mut rng)).collect();
        let mut bench = AttentionBench::new(&lane, &jobs, Pace::FULL);
        run_until_done(&mut dut, &mut bench, 50_000_000, 5)?;
        let cycles = *bench.out_cycles.last().expect("outputs came back");
        simulated_runs.push(run_of(&lane, &shape, n, Some(cycles), clock_mhz));
    }
    progress("cycle model at the configured engine");
    let mut engine_runs = Vec::new();
    let mut causal_saved = Vec::new();
    for n in [1024, 14_400] {
        let tile = vec![Job::shape(engine.bq as usize, n, false, 0)];
        engine_runs.push(run_of(engine, &tile, n, None, clock_mhz));
    }
    for n in [1024, 14_400] {
        let full = run_of(engine, &Job::whole(engine, n, false), n, None, clock_mhz);
        let causal = run_of(engine, &Job::whole(engine, n, true), n, None, clock_mhz);
        causal_saved.push((n, 1.0 - causal.predicted_cycles as f64 / full.predicted_cycles as f64));
        engine_runs.extend([full, causal]);
    }
    let longest = engine_runs.iter().rfind(|r| !r.causal && r.tiles > 1).expect("a whole attention");
    let engine_tops = longest.lane_tops * f64::from(engine.lanes);
    Ok(AttentionReport {
        clock_mhz,
        simulated: lane,
        engine: engine.clone(),
        accuracy: accuracy_rows,
        simulated_runs,
        engine_runs,
        causal_saved,
        engine_tops,
        h200_tflops: 550.0,
    })
}

/// The report as the table `vdx bench attention` prints.
pub fn format_report(r: &AttentionReport) -> String {
    let mut s = String::from("accuracy vs f64 exact attention (one head, int8 Q/K/V):\n");
    s += "     d        N   rows     rel L2     cosine   max |err|\n";
    for a in &r.accuracy {
        s += &format!(
            "{:>6} {:>8} {:>6} {:>10.2e} {:>10.6} {:>11.4}\n",
            a.d, a.n, a.rows, a.rel_l2, a.cosine, a.max_abs_error
        );
    }
    let table = |title: &str, runs: &[Run]| {
        let mut s = format!(
            "{title}\n       N  causal  tiles      cycles   predicted  model err  MAC util  lane TOPS\n"
        );
        for x in runs {
            let sim = x.simulated_cycles.map_or("-".to_string(), |c| c.to_string());
            let err = x.model_error.map_or("-".to_string(), |e| format!("{:.2}%", 100.0 * e));
            s += &format!(
                "{:>8} {:>7} {:>6} {:>11} {:>11} {:>10} {:>8.1}% {:>10.2}\n",
                x.n,
                x.causal,
                x.tiles,
                sim,
                x.predicted_cycles,
                err,
                100.0 * x.mac_utilization,
                x.lane_tops
            );
        }
        s
    };
    let l = &r.simulated;
    s += &table(
        &format!("co-simulated lane (d = {}, bk = {}, bq = {}), Verilator, full pace:", l.d, l.bk, l.bq),
        &r.simulated_runs,
    );
    let e = &r.engine;
    s += &table(
        &format!("cycle model, configured engine (d = {}, bk = {}, bq = {}), one lane:", e.d, e.bk, e.bq),
        &r.engine_runs,
    );
    for (n, saved) in &r.causal_saved {
        s += &format!("causal mask at N = {n}: {:.1}% of the cycles saved (blocks skipped)\n", 100.0 * saved);
    }
    s += &format!(
        "engine: {} lanes x {:.2} TOPS = {:.0} TOPS (INT8, useful attention ops at {} MHz); H200 bf16: {} TFLOP/s\n",
        e.lanes,
        r.engine_tops / f64::from(e.lanes),
        r.engine_tops,
        r.clock_mhz,
        r.h200_tflops
    );
    s
}
