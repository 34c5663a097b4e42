//! Accuracy of the online-softmax unit (golden model, bit-exact with the RTL) against an f64
//! softmax: for each table size and row length, random rows with realistic score ranges are fed
//! as the hardware takes them (beats of `row_width` scores, the last one padded with masked
//! scores, merged in the row state), and every normalised probability is compared with the exact
//! one.
//!
//! "Realistic": a row's logits are normal with a standard deviation drawn per row from 0.5 to 4
//! (natural units), the range attention rows of a trained model show; they are quantised to
//! integer scores with the unit's `scale`.

use super::OnlineSoftmaxParams;
use super::golden::{self, Beat, RowUnit};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Errors of one table size at one row length.
#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// Segments of the `2^-g` table.
    pub segments: u32,
    /// Scores per row.
    pub row_length: usize,
    /// Rows measured.
    pub rows: u64,
    /// Probabilities compared.
    pub probabilities: u64,
    /// Largest `|p - p_exact|`.
    pub max_abs_error: f64,
    /// Mean `|p - p_exact|`.
    pub mean_abs_error: f64,
    /// Largest `|Σ p - 1|` of a row.
    pub max_sum_error: f64,
    /// `max_abs_error <= 2^-10`, the default's target.
    pub within_2_pow_minus_10: bool,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct SoftmaxReport {
    /// Parameters besides `segments` (the block's defaults).
    pub params: OnlineSoftmaxParams,
    /// One entry per table size and row length.
    pub results: Vec<Accuracy>,
}

/// A row of `n` scores with normal logits of a per-row spread, quantised with `p.scale`.
pub fn realistic_row(p: &OnlineSoftmaxParams, rng: &mut StdRng, n: usize) -> Vec<i64> {
    let sigma = rng.random_range(0.5..4.0);
    let normal = Normal::new(0.0, sigma).expect("positive sigma");
    let (lo, hi) = p.score_span();
    (0..n)
        .map(|_| {
            let logit = normal.inverse_cdf(rng.random_range(1e-12..1.0 - 1e-12));
            ((logit * std::f64::consts::LOG2_E / p.scale).round() as i64).clamp(lo, hi)
        })
        .collect()
}

/// The unit's normalised probabilities of one row of `scores` (all kept).
pub fn unit_probabilities(p: &OnlineSoftmaxParams, unit: &mut RowUnit, scores: &[i64]) -> Vec<f64> {
    let w = p.row_width as usize;
    let blocks = scores.len().div_ceil(w);
    let outs: Vec<_> = (0..blocks)
        .map(|b| {
            let mut chunk = scores[b * w..scores.len().min((b + 1) * w)].to_vec();
            let mut keep = vec![true; chunk.len()];
            chunk.resize(w, 0);
            keep.resize(w, false);
            unit.beat(&Beat { scores: chunk, keep, row: 0, first: b == 0, last: b + 1 == blocks })
        })
        .collect();
    let mut probs = golden::normalised(p, &outs);
    probs.truncate(scores.len());
    probs
}

/// Measures `rows` rows of `n` scores with `segments` table segments, on `threads` threads.
pub fn measure(segments: u32, n: usize, rows: u64, seed: u64, threads: usize) -> Accuracy {
    let p = OnlineSoftmaxParams { segments, ..OnlineSoftmaxParams::default() };
    let threads = threads.max(1) as u64;
    let parts: Vec<(f64, f64, f64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let p = p.clone();
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed ^ (t << 32) ^ n as u64);
                    let mut unit = RowUnit::new(&p);
                    let (mut max, mut sum, mut sum_err, mut count) = (0f64, 0f64, 0f64, 0u64);
                    for _ in (t..rows).step_by(threads as usize) {
                        let scores = realistic_row(&p, &mut rng, n);
                        let got = unit_probabilities(&p, &mut unit, &scores);
                        let want = golden::reference_softmax(&p, &scores, &vec![true; n]);
                        let mut total = 0f64;
                        for (g, w) in got.iter().zip(&want) {
                            let e = (g - w).abs();
                            max = max.max(e);
                            sum += e;
                            total += g;
                        }
                        count += n as u64;
                        sum_err = sum_err.max((total - 1.0).abs());
                    }
                    (max, sum, sum_err, count)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let max = parts.iter().map(|x| x.0).fold(0.0, f64::max);
    let count: u64 = parts.iter().map(|x| x.3).sum();
    Accuracy {
        segments,
        row_length: n,
        rows,
        probabilities: count,
        max_abs_error: max,
        mean_abs_error: parts.iter().map(|x| x.1).sum::<f64>() / count as f64,
        max_sum_error: parts.iter().map(|x| x.2).fold(0.0, f64::max),
        within_2_pow_minus_10: max <= 2f64.powi(-10),
    }
}

/// Every table size of 8, 16 and 32 segments at row lengths 30, 1,024 and 14,400, with
/// `short_rows` rows of 30 scores and as many scores in fewer rows at the longer lengths (at least
/// 200 rows).
pub fn run(short_rows: u64, seed: u64, progress: &dyn Fn(&str)) -> SoftmaxReport {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = Vec::new();
    for segments in [8, 16, 32] {
        for n in [30usize, 1_024, 14_400] {
            let rows = (short_rows * 30 / n as u64).max(200).min(short_rows);
            progress(&format!("{segments} segments, {rows} rows of {n} scores"));
            results.push(measure(segments, n, rows, seed, threads));
        }
    }
    SoftmaxReport { params: OnlineSoftmaxParams::default(), results }
}

/// The report as a table.
pub fn format_report(r: &SoftmaxReport) -> String {
    let mut out = String::from(
        "segments | row length |     rows | probabilities | max |p-p*|  | mean |p-p*| | max |sum-1| | <= 2^-10\n",
    );
    for a in &r.results {
        out.push_str(&format!(
            "{:>8} | {:>10} | {:>8} | {:>13} | {:>11.3e} | {:>11.3e} | {:>11.3e} | {}\n",
            a.segments,
            a.row_length,
            a.rows,
            a.probabilities,
            a.max_abs_error,
            a.mean_abs_error,
            a.max_sum_error,
            if a.within_2_pow_minus_10 { "yes" } else { "no" }
        ));
    }
    out
}
