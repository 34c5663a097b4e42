//! `vdx bench systolic`: random GEMMs on a larger array under backpressure, then utilization
//! against shape with every stream always valid, measured from co-simulation cycle counts and
//! compared with the cycle model's prediction.

use super::SystolicParams;
use super::golden::{Gemm, Shape, ideal_cycles, predict};
use super::tb::{Pace, ShapeLimits, SystolicBench, random_gemms, run_until_done};
use crate::blocks::BlockParams;
use crate::hdl::Design;
use crate::sim::SimError;
use crate::sim::verilator::VerilatorDut;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

/// One utilization measurement: a GEMM (or a stream of them) run with every stream always valid
/// and every result taken at once.
#[derive(Debug, Clone, Serialize)]
pub struct UtilizationRow {
    /// What was run, e.g. `M=256 K=256 N=64 W8A8`.
    pub case: String,
    /// The GEMMs, `(M, K, N, W4A8)`.
    pub gemms: Vec<Shape>,
    /// Whether every GEMM has `K >= 8·rows` and `M >= 8·cols`.
    pub large: bool,
    /// Column tiles of the smallest GEMM.
    pub column_tiles: usize,
    /// Useful multiply-accumulates over those of the tiles run: below 1 when K or N is not a
    /// multiple of the tile, since the missing rows and columns of the last tiles idle.
    pub padding_efficiency: f64,
    /// Cycles from the first command transfer to the last result transfer (co-simulation).
    pub cycles: u64,
    /// Useful multiply-accumulates over the peak of those cycles.
    pub utilization: f64,
    /// Useful multiply-accumulates over the peak of the cycles from the first to the last
    /// activation row: the array while it streams, without the first weight load and the drain.
    pub streaming_utilization: f64,
    /// Cycles the cycle model predicts.
    pub predicted_cycles: u64,
    /// `(predicted - measured) / measured`.
    pub prediction_error: f64,
}

/// Everything the bench measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The array measured.
    pub params: SystolicParams,
    /// Seconds to build (or load) the Verilator model.
    pub build_seconds: f64,
    /// Random GEMMs checked under random valid gaps and backpressure.
    pub random_gemms: usize,
    /// Result beats compared in that run.
    pub random_results: usize,
    /// Cycles of that run.
    pub random_cycles: u64,
    /// Utilization against shape.
    pub utilization: Vec<UtilizationRow>,
    /// Lowest end-to-end utilization among GEMMs of whole tiles with `K >= 8·rows`, `M >= 8·cols`
    /// and at least two column tiles, and among streams of such GEMMs.
    pub min_large_utilization: f64,
    /// Largest |prediction error| over all rows.
    pub max_prediction_error: f64,
}

/// The shapes measured for an array: GEMMs at and above `K = 8·rows`, `M = 8·cols` in both modes,
/// shapes that are not multiples of the array, a small fill-dominated one, and a stream of
/// GEMMs back to back that changes mode between them.
pub fn shapes(p: &SystolicParams) -> Vec<(String, Vec<Shape>)> {
    let (r, c) = (p.rows as usize, p.cols as usize);
    let mut cases = Vec::new();
    let modes = if p.has_mode() { vec![false, true] } else { vec![true] };
    for &w4 in &modes {
        let t = p.tile_cols(w4) as usize;
        for (m, k, n) in [
            (8 * c, 8 * r, t),
            (8 * c, 8 * r, 2 * t),
            (8 * c, 8 * r, 4 * t),
            (16 * c, 16 * r, 2 * t),
            (8 * c + 3, 8 * r + 5, 2 * t + 1),
            (c, r, t),
        ] {
            let mode = if w4 { "W4A8" } else { "W8A8" };
            cases.push((format!("M={m} K={k} N={n} {mode}"), vec![(m, k, n, w4)]));
        }
    }
    let layer: Vec<Shape> = (0..4)
        .map(|i| {
            let w4 = p.has_mode() && i % 2 == 1 || !p.has_mode();
            (8 * c, 8 * r, p.tile_cols(w4) as usize, w4)
        })
        .collect();
    cases.push(("stream of 4 GEMMs M=8·cols K=8·rows N=1 tile, modes alternating".into(), layer));
    cases
}

fn fits(p: &SystolicParams, g: &Shape) -> bool {
    g.0 as u64 <= p.max_m && g.1 as u64 <= p.max_k && g.2 as u64 <= p.max_n
}

/// Runs the bench on `p`: `gemms` random GEMMs under backpressure, then the utilization shapes.
/// `progress` is told what runs.
pub fn run(
    p: &SystolicParams,
    gemms: usize,
    seed: u64,
    progress: &dyn Fn(&str),
) -> Result<BenchReport, SimError> {
    let src = Design::single(&p.build().map_err(|e| SimError::Design(e.to_string()))?).emit().sim_source(0);
    progress(&format!("Verilator build of {}x{}", p.rows, p.cols));
    let t = std::time::Instant::now();
    let mut dut = VerilatorDut::build(&src)?;
    let build_seconds = t.elapsed().as_secs_f64();

    progress(&format!("{gemms} random GEMMs under random gaps and backpressure"));
    let mut rng = StdRng::seed_from_u64(seed);
    let list = random_gemms(p, &mut rng, ShapeLimits::around(p), gemms);
    let mut bench = SystolicBench::new(p, &list, Pace::RANDOM, seed);
    let random_cycles = run_until_done(&mut dut, &mut bench, 50_000_000, seed)?;
    let random_results = bench.results;

    let mut rows = Vec::new();
    for (case, shape) in shapes(p).into_iter().filter(|(_, s)| s.iter().all(|g| fits(p, g))) {
        progress(&case);
        let gemms: Vec<Gemm> =
            shape.iter().map(|&(m, k, n, w4)| Gemm::random(p, &mut rng, m, k, n, w4)).collect();
        let mut bench = SystolicBench::new(p, &gemms, Pace::FULL, seed);
        run_until_done(&mut dut, &mut bench, 50_000_000, seed)?;
        let first = bench.cmd_cycles[0];
        let cycles = bench.res_cycles.last().copied().unwrap_or(first) - first + 1;
        let window = bench.act_cycles.last().copied().unwrap_or(0) - bench.act_cycles[0] + 1;
        let work = ideal_cycles(p, &shape);
        let predicted = predict(p, &shape);
        let large = shape.iter().all(|&(m, k, _, _)| k >= 8 * p.rows as usize && m >= 8 * p.cols as usize);
        let slots: f64 = shape
            .iter()
            .map(|&(m, k, n, w4)| {
                let (kr, t) = (p.rows as usize, p.tile_cols(w4) as usize);
                (m * k.div_ceil(kr) * kr * n.div_ceil(t) * t) as f64 / p.peak_macs(w4) as f64
            })
            .sum();
        let column_tiles =
            shape.iter().map(|&(_, _, n, w4)| n.div_ceil(p.tile_cols(w4) as usize)).min().unwrap_or(0);
        rows.push(UtilizationRow {
            case,
            gemms: shape,
            large,
            column_tiles,
            padding_efficiency: work / slots,
            cycles,
            utilization: work / cycles as f64,
            streaming_utilization: work / window as f64,
            predicted_cycles: predicted.cycles,
            prediction_error: (predicted.cycles as f64 - cycles as f64) / cycles as f64,
        });
    }
    let min_large_utilization = rows
        .iter()
        .filter(|r| r.large && r.padding_efficiency == 1.0 && (r.column_tiles >= 2 || r.gemms.len() > 1))
        .map(|r| r.utilization)
        .fold(f64::INFINITY, f64::min);
    let max_prediction_error = rows.iter().map(|r| r.prediction_error.abs()).fold(0.0, f64::max);
    Ok(BenchReport {
        params: p.clone(),
        build_seconds,
        random_gemms: gemms,
        random_results,
        random_cycles,
        utilization: rows,
        min_large_utilization,
        max_prediction_error,
    })
}

/// The report as a table.
pub fn format_report(r: &BenchReport) -> String {
    let mut s = format!(
        "{}x{} array: {} random GEMMs, {} result rows equal the golden model ({} cycles, random gaps and \
         backpressure)\n\n",
        r.params.rows, r.params.cols, r.random_gemms, r.random_results, r.random_cycles
    );
    s.push_str(&format!(
        "{:<62} {:>9} {:>8} {:>10} {:>8} {:>9} {:>7}\n",
        "case", "cycles", "util", "streaming", "padding", "model", "error"
    ));
    for row in &r.utilization {
        s.push_str(&format!(
            "{:<62} {:>9} {:>7.2}% {:>9.2}% {:>7.2}% {:>9} {:>6.2}%\n",
            row.case,
            row.cycles,
            100.0 * row.utilization,
            100.0 * row.streaming_utilization,
            100.0 * row.padding_efficiency,
            row.predicted_cycles,
            100.0 * row.prediction_error
        ));
    }
    s.push_str(&format!(
        "\nlowest utilization of whole-tile GEMMs with K >= 8·rows, M >= 8·cols and two or more column \
         tiles (or a stream): \
         {:.2}%\nlargest cycle-model error: {:.2}%\n",
        100.0 * r.min_large_utilization,
        100.0 * r.max_prediction_error
    ));
    s
}
