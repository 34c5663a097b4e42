//! How Gaussian the SGU's samples are: moments, goodness-of-fit tests and tail counts measured on
//! the bit-exact golden model, plus the largest sample the unit can produce at all.
//!
//! Every sample is an integer `v` with `out_frac` fraction bits, so the null hypothesis is not
//! N(0,1) itself but N(0,1) rounded to the output grid: `v` stands for the real interval
//! `[v - 1/2, v + 1/2] / 2^out_frac`, and its probability is `Φ((v+1/2)/2^f) - Φ((v-1/2)/2^f)`.
//! All tests compare against that quantized distribution, so a perfect unit passes them at any
//! sample count (at 10^8 samples the grid's half-ulp offset, ≈1e-4 in the CDF, would otherwise be
//! as large as the KS statistic's own noise).
//!
//! - **Moments** come from exact `i128` power sums of the integers, taken about an integer shift
//!   near the mean so that the central moments do not cancel; they are population moments (the
//!   `n - 1` correction is irrelevant at these sample counts). Rounding to the grid adds
//!   `2^-2f / 12` to the variance (Sheppard's correction, 2·10^-8 for 11 fraction bits); it is
//!   not subtracted.
//! - **Chi-square**: fine bins of 0.1σ from -6σ to +6σ plus one tail bin on each side. Their edges
//!   are half-integers of the grid (`b - 1/2` with `b = round(k·2^f/10)`), so each bin holds whole
//!   integer values and its expected probability is exact. Working from each tail towards the
//!   centre, adjacent fine bins are merged until every bin expects at least
//!   [`CHI_MIN_EXPECTED`] samples (at 10^8 samples that merges everything beyond about ±5.2σ).
//!   No parameter is estimated, so the degrees of freedom are `bins - 1`.
//! - **Kolmogorov-Smirnov** uses every sample, through the histogram of integer values. Both the
//!   empirical CDF and the quantized null CDF are step functions that only jump at grid points,
//!   so the supremum of their distance is attained at a grid point: at each integer `v` from one
//!   below the smallest sample to the largest, `#(samples ≤ v)/n` is compared with
//!   `Φ((v + 1/2)/2^f)`, the null CDF at the upper half-integer edge of `v`. The p-value is the
//!   asymptotic Kolmogorov distribution with Stephens' small-sample correction
//!   `(√n + 0.12 + 0.11/√n)·D`. With a discrete null this p-value is slightly conservative; with
//!   tens of thousands of grid points in ±4σ the difference is negligible.
//! - **Anderson-Darling** runs on a systematic subsample of at most [`AD_MAX_SAMPLES`]: every
//!   `⌈n / 10^6⌉`-th sample in generation order (iid under the null, like any fixed selection).
//!   Each integer is mapped through the randomized probability integral transform
//!   `U = F(v - 1/2) + W·(F(v + 1/2) - F(v - 1/2))`, `W` uniform from a hash of the sample's
//!   index, which is exactly uniform under the quantized null, so the continuous AD statistic
//!   and its asymptotic distribution (Marsaglia & Marsaglia 2004) apply unchanged.
//! - **Tails**: `|x| > k` on the grid means `|v| > k·2^f`, i.e. the real value lies beyond
//!   `k + 2^-(f+1)`; the expected count uses that edge, which differs from `2(1 - Φ(k))·n` by
//!   under 0.2% for `k ≤ 6` and 11 fraction bits.
//!
//! Every statistic depends only on the multiset of samples (and the subsample's indices), so the
//! result does not depend on how many threads generated it.

use super::SguParams;
use super::golden::{BoxMuller, reference};
use super::tb::SguModel;
use crate::blocks::xoshiro::golden::splitmix64;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::erf::erfc;
use std::f64::consts::SQRT_2;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seed of [`run_bench`]: fixed, so that successive runs measure the same samples.
pub const BENCH_SEED: u64 = 0x5347_5553_5441_5453;
/// Largest subsample the Anderson-Darling test sorts.
pub const AD_MAX_SAMPLES: u64 = 1_000_000;
/// Smallest expected count of a chi-square bin; the usual rule for the chi-square approximation.
pub const CHI_MIN_EXPECTED: f64 = 5.0;
/// The `k` of the tail counts `|x| > kσ`.
pub const TAIL_SIGMAS: [u32; 3] = [4, 5, 6];
/// Half-range of the fine chi-square bins, in tenths of σ.
const CHI_RANGE_TENTHS: i64 = 60;
/// Half-range of the plotted histogram, in tenths of σ.
const HIST_RANGE_TENTHS: i64 = 85;
/// Samples a worker generates between progress reports.
const PROGRESS_EVERY: u64 = 1 << 17;

fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / SQRT_2)
}

fn normal_sf(x: f64) -> f64 {
    0.5 * erfc(x / SQRT_2)
}

/// `Φ(b) - Φ(a)`, from whichever tail keeps the subtraction free of cancellation.
fn normal_mass(a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        normal_sf(a) - normal_sf(b)
    } else if b <= 0.0 {
        normal_cdf(b) - normal_cdf(a)
    } else {
        1.0 - normal_cdf(a) - normal_sf(b)
    }
}

/// The integer `round(tenths · 2^frac / 10)`: the first grid value of the bin that starts near
/// `tenths / 10` σ. `2^frac / 10` is never an odd multiple of 1/2, so no tie arises.
fn grid_boundary(tenths: i64, frac: u32) -> i64 {
    let num = i128::from(tenths) << frac;
    let q = (num.abs() + 5) / 10;
    (if num < 0 { -q } else { q }) as i64
}

/// The real value (in σ) of the half-integer edge just below grid value `b`.
fn lower_edge(b: i64, frac: u32) -> f64 {
    (b as f64 - 0.5) / f64::from(frac).exp2()
}

/// Histogram of integer sample values: a dense vector over the range seen so far.
///
/// Every statistic of this module is a function of it (plus the Anderson-Darling subsample), so
/// per-thread histograms merge into exactly the result of a single pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueCounts {
    lo: i64,
    counts: Vec<u64>,
    total: u64,
}

impl ValueCounts {
    /// An empty histogram preallocated for `lo..=hi`; values outside still count, by growing.
    pub fn with_range(lo: i64, hi: i64) -> Self {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        ValueCounts { lo, counts: vec![0; (hi - lo + 1) as usize], total: 0 }
    }

    /// The histogram of `values`.
    pub fn from_values(values: impl IntoIterator<Item = i64>) -> Self {
        let mut counts = ValueCounts::default();
        for v in values {
            counts.add(v);
        }
        counts
    }

    /// Counts one sample.
    #[inline]
    pub fn add(&mut self, v: i64) {
        self.add_n(v, 1);
    }

    /// Counts `n` samples of value `v`.
    #[inline]
    pub fn add_n(&mut self, v: i64, n: u64) {
        let i = v.wrapping_sub(self.lo) as u64 as usize;
        match self.counts.get_mut(i) {
            Some(c) if v >= self.lo => *c += n,
            _ => {
                self.grow(v);
                self.counts[(v - self.lo) as usize] += n;
            }
        }
        self.total += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &ValueCounts) {
        for (v, c) in other.iter() {
            self.add_n(v, c);
        }
    }

    /// Samples counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The count of value `v`.
    pub fn count(&self, v: i64) -> u64 {
        let i = v.wrapping_sub(self.lo) as u64 as usize;
        if v < self.lo { 0 } else { self.counts.get(i).copied().unwrap_or(0) }
    }

    /// `(value, count)` for every value counted at least once, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (self.lo + i as i64, *c))
    }

    /// Smallest and largest value counted.
    pub fn min_max(&self) -> Option<(i64, i64)> {
        let first = self.counts.iter().position(|c| *c > 0)?;
        let last = self.counts.iter().rposition(|c| *c > 0)?;
        Some((self.lo + first as i64, self.lo + last as i64))
    }

    /// Extends the dense range to `v`, at least doubling it so that a stream of ever larger
    /// values costs amortised O(1).
    fn grow(&mut self, v: i64) {
        // A histogram is the wrong tool for values spread over more than this.
        const MAX_SPAN: i128 = 1 << 28;
        if self.counts.is_empty() {
            self.lo = v;
            self.counts = vec![0; 1];
            return;
        }
        let (lo, hi) = (i128::from(self.lo), i128::from(self.lo) + self.counts.len() as i128 - 1);
        let span = hi - lo + 1;
        let v = i128::from(v);
        let (new_lo, new_hi) = if v < lo { (v.min(lo - span), hi) } else { (lo, v.max(hi + span)) };
        let new_lo = new_lo.max(i128::from(i64::MIN));
        let new_hi = new_hi.min(i128::from(i64::MAX));
        assert!(
            new_hi - new_lo < MAX_SPAN,
            "sample values spread over {}..={}: not a Gaussian sample on a fixed-point grid",
            new_lo.min(v),
            new_hi.max(v)
        );
        let mut counts = vec![0; (new_hi - new_lo + 1) as usize];
        let offset = (lo - new_lo) as usize;
        counts[offset..offset + self.counts.len()].copy_from_slice(&self.counts);
        self.lo = new_lo as i64;
        self.counts = counts;
    }
}

/// Mean, variance, skewness and excess kurtosis in σ units, with their standard errors for a
/// sample of N(0,1) of the same size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moments {
    /// Mean (N(0,1): 0).
    pub mean: f64,
    /// Population variance (N(0,1): 1).
    pub variance: f64,
    /// Skewness `μ3 / μ2^1.5` (N(0,1): 0).
    pub skewness: f64,
    /// Excess kurtosis `μ4 / μ2² - 3` (N(0,1): 0).
    pub excess_kurtosis: f64,
    /// Standard errors of the four under N(0,1): `√(1/n)`, `√(2/n)`, `√(6/n)`, `√(24/n)`.
    pub std_errors: [f64; 4],
}

impl Moments {
    /// Distance of each moment from its N(0,1) value, in standard errors.
    pub fn z_scores(&self) -> [f64; 4] {
        let d = [self.mean, self.variance - 1.0, self.skewness, self.excess_kurtosis];
        std::array::from_fn(|k| d[k] / self.std_errors[k])
    }
}

/// One chi-square bin: the integer values `lo..=hi` (`None`: unbounded on that side).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiBin {
    /// Smallest integer value in the bin.
    pub lo: Option<i64>,
    /// Largest integer value in the bin.
    pub hi: Option<i64>,
    /// Samples in the bin.
    pub observed: u64,
    /// Samples the quantized N(0,1) puts there.
    pub expected: f64,
}

/// Chi-square goodness of fit against quantized N(0,1) (see the module docs for the bins).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquare {
    /// `Σ (observed - expected)² / expected`.
    pub statistic: f64,
    /// Bins - 1.
    pub dof: u64,
    /// `P(χ²_dof ≥ statistic)`.
    pub p_value: f64,
    /// Smallest expected count of any bin.
    pub min_expected: f64,
    /// The bins after merging, ascending.
    pub bins: Vec<ChiBin>,
}

/// Kolmogorov-Smirnov test against quantized N(0,1), over all samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KolmogorovSmirnov {
    /// `sup |F_n - F|`.
    pub d: f64,
    /// `(√n + 0.12 + 0.11/√n)·D`, the argument of the Kolmogorov distribution.
    pub statistic: f64,
    /// `P(K ≥ statistic)`, asymptotic.
    pub p_value: f64,
    /// Grid value where the supremum is attained.
    pub at_value: i64,
    /// The same, in σ.
    pub at_sigma: f64,
    /// Whether the empirical CDF lies above the null CDF there.
    pub empirical_above: bool,
}

/// Anderson-Darling test against quantized N(0,1), on a subsample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AndersonDarling {
    /// Samples in the subsample.
    pub n: u64,
    /// Every `stride`-th sample (in generation order) is in the subsample.
    pub stride: u64,
    /// `A²`.
    pub a2: f64,
    /// `P(A² ≥ a2)`, asymptotic ([`anderson_darling_sf`]).
    pub p_value: f64,
}

/// Samples beyond `kσ` in either direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailCount {
    /// `k`.
    pub k: u32,
    /// Samples with `|x| > k`.
    pub observed: u64,
    /// What quantized N(0,1) expects: `2 (1 - Φ(k + 2^-(f+1))) n`.
    pub expected: f64,
    /// `observed / expected`.
    pub ratio: f64,
    /// `(observed - expected) / √expected`: Poisson standard deviations.
    pub z: f64,
}

/// The histogram behind the SVG: 0.1σ bins over ±8.5σ on the grid's half-integer edges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Bin `j` holds the integer values `boundaries[j] ..= boundaries[j+1] - 1`.
    pub boundaries: Vec<i64>,
    /// Samples per bin.
    pub counts: Vec<u64>,
    /// Samples per bin for quantized N(0,1).
    pub expected: Vec<f64>,
    /// Samples below the first bin.
    pub below: u64,
    /// Samples above the last bin.
    pub above: u64,
}

/// Everything measured on one sample, independent of where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleStats {
    /// Samples.
    pub n: u64,
    /// Fraction bits of the sample values.
    pub frac: u32,
    /// The first four moments.
    pub moments: Moments,
    /// Chi-square goodness of fit.
    pub chi_square: ChiSquare,
    /// Kolmogorov-Smirnov over all samples.
    pub ks: KolmogorovSmirnov,
    /// Anderson-Darling on a subsample.
    pub anderson_darling: AndersonDarling,
    /// Counts beyond 4, 5 and 6σ.
    pub tails: Vec<TailCount>,
    /// Largest `|v|` seen, as an integer.
    pub max_abs_value: i64,
    /// The same, in σ.
    pub max_abs_sigma: f64,
    /// Histogram for plotting.
    pub histogram: Histogram,
}

/// The largest |sample| the unit can produce, and the uniform that produces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailCapability {
    /// The 64-bit uniform.
    pub r: u64,
    /// `r` in hex, for humans.
    pub r_hex: String,
    /// Its `u0` integer: always 0, the smallest `u0`.
    pub m: u64,
    /// Its angle index; `θ = 2π (u1 + 1/2) / 2^16`.
    pub u1: u64,
    /// Which output reaches it: `"x0"` (`f sin θ`) or `"x1"` (`f cos θ`).
    pub output: &'static str,
    /// The output value, an integer with `out_frac` fraction bits.
    pub value: i64,
    /// `|value|` in σ.
    pub sigma: f64,
    /// The f64 reference for the same `r`, in σ.
    pub reference_sigma: f64,
    /// `sqrt(2 (u0_bits + 1) ln 2)`, [`SguParams::max_sigma`].
    pub theory_sigma: f64,
}

/// Statistics of `samples` golden samples of one SGU configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseStats {
    /// Samples measured: lanes in order, transfer after transfer, `x0` before `x1`.
    pub samples: u64,
    /// Seed of the lanes ([`SguModel::seeded`]).
    pub seed: u64,
    /// The configuration.
    pub params: SguParams,
    /// Worker threads used (the statistics do not depend on it).
    pub threads: usize,
    /// Wall-clock time of generating and analysing.
    pub seconds: f64,
    /// The statistics.
    pub stats: SampleStats,
    /// The tail reach of this configuration.
    pub capability: TailCapability,
}

/// The Anderson-Darling stride for `n` samples: the subsample has at most [`AD_MAX_SAMPLES`].
fn ad_stride(n: u64) -> u64 {
    n.div_ceil(AD_MAX_SAMPLES).max(1)
}

/// Statistics of sample values with `frac` fraction bits: all of them for the histogram-based
/// statistics, every `⌈n / 10^6⌉`-th for Anderson-Darling.
///
/// This is what [`measure`] computes for the golden model, for any other data, e.g. a
/// deliberately broken generator.
///
/// # Panics
/// If `values` is empty.
pub fn analyze_values(values: &[i64], frac: u32) -> SampleStats {
    let stride = ad_stride(values.len() as u64);
    let subsample: Vec<(u64, i64)> =
        values.iter().enumerate().step_by(stride as usize).map(|(i, v)| (i as u64, *v)).collect();
    analyze(&ValueCounts::from_values(values.iter().copied()), frac, &subsample, stride)
}

/// Statistics of the samples in `counts` (values with `frac` fraction bits), with the
/// Anderson-Darling test on `subsample`: `(index in generation order, value)` pairs, every
/// `stride`-th sample.
///
/// # Panics
/// If `counts` is empty.
pub fn analyze(counts: &ValueCounts, frac: u32, subsample: &[(u64, i64)], stride: u64) -> SampleStats {
    let n = counts.total();
    assert!(n > 0, "no samples to analyse");
    let (min, max) = counts.min_max().expect("n > 0");
    let max_abs_value = min.abs().max(max.abs());
    SampleStats {
        n,
        frac,
        moments: moments(counts, frac),
        chi_square: chi_square(counts, frac),
        ks: kolmogorov_smirnov(counts, frac),
        anderson_darling: anderson_darling(subsample, frac, stride),
        tails: TAIL_SIGMAS.iter().map(|k| tail_count(counts, frac, *k)).collect(),
        max_abs_value,
        max_abs_sigma: max_abs_value as f64 / f64::from(frac).exp2(),
        histogram: histogram(counts, frac),
    }
}

fn moments(counts: &ValueCounts, frac: u32) -> Moments {
    let n = counts.total();
    let sum: i128 = counts.iter().map(|(v, c)| i128::from(v) * i128::from(c)).sum();
    // An integer shift within 1/2 of the mean keeps every power sum well conditioned.
    let shift = (sum as f64 / n as f64).round() as i64;
    let mut s = [0i128; 5];
    for (v, c) in counts.iter() {
        let d = i128::from(v - shift);
        let mut p = i128::from(c);
        for sk in s.iter_mut() {
            *sk = sk.checked_add(p).expect("power sums fit i128 for fixed-point samples");
            p = p.checked_mul(d).expect("power sums fit i128 for fixed-point samples");
        }
    }
    let nf = n as f64;
    let [_, s1, s2, s3, s4] = s.map(|x| x as f64 / nf);
    let mu2 = s2 - s1 * s1;
    let mu3 = s3 - 3.0 * s1 * s2 + 2.0 * s1.powi(3);
    let mu4 = s4 - 4.0 * s1 * s3 + 6.0 * s1 * s1 * s2 - 3.0 * s1.powi(4);
    let h = f64::from(frac).exp2();
    Moments {
        mean: (shift as f64 + s1) / h,
        variance: mu2 / (h * h),
        skewness: mu3 / mu2.powf(1.5),
        excess_kurtosis: mu4 / (mu2 * mu2) - 3.0,
        std_errors: [1.0, 2.0, 6.0, 24.0].map(|k: f64| (k / nf).sqrt()),
    }
}

/// Fine bins between the grid boundaries of `-range..=range` tenths of σ, plus a tail bin on
/// each side: `(lo, hi, observed, expected)` with inclusive integer bounds.
fn fine_bins(
    counts: &ValueCounts,
    frac: u32,
    range_tenths: i64,
) -> Vec<(Option<i64>, Option<i64>, u64, f64)> {
    let n = counts.total() as f64;
    let b: Vec<i64> = (-range_tenths..=range_tenths).map(|t| grid_boundary(t, frac)).collect();
    let mut bins = Vec::with_capacity(b.len() + 1);
    bins.push((None, Some(b[0] - 1), 0, n * normal_cdf(lower_edge(b[0], frac))));
    for w in b.windows(2) {
        let mass = normal_mass(lower_edge(w[0], frac), lower_edge(w[1], frac));
        bins.push((Some(w[0]), Some(w[1] - 1), 0, n * mass));
    }
    bins.push((Some(b[b.len() - 1]), None, 0, n * normal_sf(lower_edge(b[b.len() - 1], frac))));
    for (v, c) in counts.iter() {
        bins[b.partition_point(|x| *x <= v)].2 += c;
    }
    bins
}

fn chi_square(counts: &ValueCounts, frac: u32) -> ChiSquare {
    let fine = fine_bins(counts, frac, CHI_RANGE_TENTHS);
    // Merge from each tail inwards, so the centre keeps its 0.1σ resolution and the grouping is
    // symmetric; a remainder too small for its own bin joins the innermost group of its side.
    let group = |side: &mut dyn Iterator<Item = &(Option<i64>, Option<i64>, u64, f64)>| {
        let mut groups: Vec<(Option<i64>, Option<i64>, u64, f64)> = Vec::new();
        let mut open: Option<(Option<i64>, Option<i64>, u64, f64)> = None;
        for &(lo, hi, o, e) in side {
            let g = open.get_or_insert((lo, hi, 0, 0.0));
            g.0 = if g.0.is_none() || lo.is_none() { None } else { g.0.min(lo) };
            g.1 = if g.1.is_none() || hi.is_none() { None } else { g.1.max(hi) };
            g.2 += o;
            g.3 += e;
            if g.3 >= CHI_MIN_EXPECTED {
                groups.extend(open.take());
            }
        }
        if let Some(rest) = open {
            match groups.last_mut() {
                Some(g) => {
                    g.0 = if g.0.is_none() || rest.0.is_none() { None } else { g.0.min(rest.0) };
                    g.1 = if g.1.is_none() || rest.1.is_none() { None } else { g.1.max(rest.1) };
                    g.2 += rest.2;
                    g.3 += rest.3;
                }
                None => groups.push(rest),
            }
        }
        groups
    };
    let mid = fine.len() / 2;
    let mut bins = group(&mut fine[..mid].iter());
    let mut upper = group(&mut fine[mid..].iter().rev());
    upper.reverse();
    bins.extend(upper);
    let statistic: f64 = bins.iter().map(|&(_, _, o, e)| (o as f64 - e).powi(2) / e).sum();
    let dof = bins.len() as u64 - 1;
    let p_value = if dof == 0 { 1.0 } else { ChiSquared::new(dof as f64).expect("dof > 0").sf(statistic) };
    ChiSquare {
        statistic,
        dof,
        p_value,
        min_expected: bins.iter().map(|b| b.3).fold(f64::INFINITY, f64::min),
        bins: bins
            .into_iter()
            .map(|(lo, hi, observed, expected)| ChiBin { lo, hi, observed, expected })
            .collect(),
    }
}

fn kolmogorov_smirnov(counts: &ValueCounts, frac: u32) -> KolmogorovSmirnov {
    let n = counts.total();
    let (min, max) = counts.min_max().expect("n > 0");
    let h = f64::from(frac).exp2();
    // Below `min` the empirical CDF is 0 and above `max` it is 1, so the distance outside
    // `min-1..=max` is smaller than at its ends; inside, every grid point is a candidate because
    // the null CDF keeps rising between observed values.
    let mut below = 0u64;
    let mut best = (0.0, min - 1, false);
    for v in (min - 1)..=max {
        below += counts.count(v);
        let empirical = below as f64 / n as f64;
        // Near the upper tail compare survival functions: 1 - Φ would lose the digits that matter.
        let diff = if v >= 0 {
            normal_sf((v as f64 + 0.5) / h) - (n - below) as f64 / n as f64
        } else {
            empirical - normal_cdf((v as f64 + 0.5) / h)
        };
        if diff.abs() > best.0 {
            best = (diff.abs(), v, diff > 0.0);
        }
    }
    let sqrt_n = (n as f64).sqrt();
    let statistic = (sqrt_n + 0.12 + 0.11 / sqrt_n) * best.0;
    KolmogorovSmirnov {
        d: best.0,
        statistic,
        p_value: kolmogorov_sf(statistic),
        at_value: best.1,
        at_sigma: best.1 as f64 / h,
        empirical_above: best.2,
    }
}

/// `P(K > x)` for the Kolmogorov distribution `K = sup |B(t)|` of a Brownian bridge.
///
/// Two series for the same function: the alternating `2 Σ (-1)^(k-1) e^(-2k²x²)` converges fast
/// for large `x` (and keeps tiny p-values accurate), the theta-function form
/// `1 - √(2π)/x Σ e^(-(2k-1)²π²/(8x²))` for small `x`.
pub fn kolmogorov_sf(x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 1.0;
    }
    if x < 1.0 {
        let mut cdf = 0.0;
        for k in 1..=100 {
            let t = (-((2 * k - 1) as f64 * PI).powi(2) / (8.0 * x * x)).exp();
            cdf += t;
            if t < 1e-17 * cdf {
                break;
            }
        }
        return (1.0 - (2.0 * PI).sqrt() / x * cdf).clamp(0.0, 1.0);
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let t = (-2.0 * (k * k) as f64 * x * x).exp();
        sum += if k % 2 == 1 { t } else { -t };
        if t < 1e-17 * sum.abs() {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// `P(A² > z)` for the asymptotic Anderson-Darling distribution of a fully specified null.
///
/// Up to `z = 20` this is `1 - ADinf(z)`, the series of Marsaglia & Marsaglia ("Evaluating the
/// Anderson-Darling Distribution", JSS 9(2), 2004; about 15 digits of the CDF, so the p-value
/// keeps 6 significant digits down to 10^-9). Their quick polynomial `adinf` is not used because
/// it collapses to 0 beyond `z ≈ 10`, which would report a broken generator as `p = 0`. Beyond 20
/// the tail is dominated by the largest eigenvalue 1/2 of `A² = Σ χ²_1 / (j(j+1))`, giving
/// `√(3/(πz)) e^-z` (the 3 is `Π_{j≥2} (1 - 2/(j(j+1)))^-1`), within 0.9% there and closer
/// beyond.
pub fn anderson_darling_sf(z: f64) -> f64 {
    use std::f64::consts::PI;
    if z <= 0.01 {
        return 1.0;
    }
    if z > 20.0 {
        return (3.0 / (PI * z)).sqrt() * (-z).exp();
    }
    // ADinf(z) = Σ_j binom(-1/2, j) (4j+1)/z · f_j(z), each f_j an integral evaluated by a
    // recursion in the paper; `r` carries binom(-1/2, j) / z.
    let mut r = 1.0 / z;
    let mut cdf = r * ad_integral(z, 0);
    for j in 1..100u32 {
        r *= (0.5 - f64::from(j)) / f64::from(j);
        let next = cdf + f64::from(4 * j + 1) * r * ad_integral(z, j);
        if next == cdf {
            break;
        }
        cdf = next;
    }
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// Marsaglia's `ADf(z, j)`: a series in `z/8` whose coefficients follow a two-term recursion
/// started from `e^-t` and `erfc(√t)`, `t = (4j+1)² π² / (8z)`.
fn ad_integral(z: f64, j: u32) -> f64 {
    use std::f64::consts::{PI, SQRT_2};
    let t = f64::from((4 * j + 1) * (4 * j + 1)) * PI * PI / (8.0 * z);
    if t > 150.0 {
        return 0.0;
    }
    let mut a = PI / SQRT_2 * (-t).exp() / t.sqrt();
    let mut b = PI.powf(1.5) / SQRT_2 * erfc(t.sqrt());
    let mut r = z / 8.0;
    let mut f = a + b * r;
    for i in 1..200u32 {
        let i = f64::from(i);
        let c = ((i - 0.5 - t) * b + t * a) / i;
        (a, b) = (b, c);
        r *= z / (8.0 * i + 8.0);
        if r.abs() < 1e-40 || c.abs() < 1e-40 {
            break;
        }
        let next = f + c * r;
        if next == f {
            break;
        }
        f = next;
    }
    f
}

/// A uniform in (0, 1) from a sample's index: the `W` of the randomized PIT. A hash of the index,
/// not a sequential generator, so the value does not depend on which thread picked the sample.
fn pit_uniform(index: u64) -> f64 {
    let mut state = index ^ 0xa076_1d64_78bd_642f;
    ((splitmix64(&mut state) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn anderson_darling(subsample: &[(u64, i64)], frac: u32, stride: u64) -> AndersonDarling {
    let h = f64::from(frac).exp2();
    // (U, 1 - U), each from its own tail so that ln(1 - U) keeps its digits near U = 1.
    let mut u: Vec<(f64, f64)> = subsample
        .iter()
        .map(|&(i, v)| {
            let w = pit_uniform(i);
            let (a, b) = ((v as f64 - 0.5) / h, (v as f64 + 0.5) / h);
            let mass = normal_mass(a, b);
            let lower = normal_cdf(a) + w * mass;
            let upper = normal_sf(b) + (1.0 - w) * mass;
            (lower.max(f64::MIN_POSITIVE), upper.max(f64::MIN_POSITIVE))
        })
        .collect();
    u.sort_by(|x, y| x.0.total_cmp(&y.0));
    let m = u.len();
    // A² = -m - (1/m) Σ (2i-1) [ln U_(i) + ln(1 - U_(m+1-i))]; Neumaier summation because the
    // sum is about -m² and A² is what is left after adding m.
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for i in 0..m {
        let term = (2 * i + 1) as f64 * (u[i].0.ln() + u[m - 1 - i].1.ln());
        let t = sum + term;
        carry += if sum.abs() >= term.abs() { (sum - t) + term } else { (term - t) + sum };
        sum = t;
    }
    let a2 = if m == 0 { 0.0 } else { -(m as f64) - (sum + carry) / m as f64 };
    AndersonDarling { n: m as u64, stride, a2, p_value: anderson_darling_sf(a2) }
}

fn tail_count(counts: &ValueCounts, frac: u32, k: u32) -> TailCount {
    let threshold = i64::from(k) << frac;
    let observed: u64 = counts.iter().filter(|(v, _)| v.abs() > threshold).map(|(_, c)| c).sum();
    let edge = lower_edge(threshold + 1, frac);
    let expected = 2.0 * normal_sf(edge) * counts.total() as f64;
    TailCount {
        k,
        observed,
        expected,
        ratio: observed as f64 / expected,
        z: (observed as f64 - expected) / expected.sqrt(),
    }
}

fn histogram(counts: &ValueCounts, frac: u32) -> Histogram {
    let fine = fine_bins(counts, frac, HIST_RANGE_TENTHS);
    let inner = &fine[1..fine.len() - 1];
    let mut boundaries: Vec<i64> = inner.iter().map(|b| b.0.expect("inner bins are bounded")).collect();
    boundaries.push(inner.last().and_then(|b| b.1).expect("inner bins are bounded") + 1);
    Histogram {
        boundaries,
        counts: inner.iter().map(|b| b.2).collect(),
        expected: inner.iter().map(|b| b.3).collect(),
        below: fine[0].2,
        above: fine[fine.len() - 1].2,
    }
}

/// The largest |sample| the unit can produce, found by evaluating [`BoxMuller::sample`] at the
/// smallest `u0` (`m = 0`) for all 2^16 angles.
///
/// `m = 0` is the maximum radius by a wide margin: `m = 1` already loses
/// `ln 3 / 8.2 ≈ 0.13σ` (hundreds of ulps), far more than the unit's 1-ulp error could make up.
/// Ties between angles go to the first in `u1` order, `x0` before `x1`: `u1 = 0`, `x1 = f cos θ`
/// with `θ = π / 2^16`.
pub fn tail_capability(params: &SguParams) -> TailCapability {
    let unit = BoxMuller::new(params);
    let mut best = (0i64, 0u64, 0usize);
    for u1 in 0..1u64 << 16 {
        let out = unit.sample(u1);
        for (k, v) in out.iter().enumerate() {
            if v.abs() > best.0.abs() {
                best = (*v, u1, k);
            }
        }
    }
    let (value, r, k) = best;
    TailCapability {
        r,
        r_hex: format!("{r:#018x}"),
        m: r >> (64 - params.u0_bits),
        u1: r & 0xffff,
        output: ["x0", "x1"][k],
        value,
        sigma: value.abs() as f64 / f64::from(params.out_frac).exp2(),
        reference_sigma: reference(r, params.u0_bits)[k].abs(),
        theory_sigma: params.max_sigma(),
    }
}

/// Measures `samples` golden samples of `params` seeded with `seed`: the lanes of
/// [`SguModel::seeded`] in order, transfer after transfer, `x0` before `x1` (a final partial
/// transfer takes its first lanes).
///
/// The lanes are split over the available cores (each lane's stream is independent, and every
/// statistic depends only on the samples, not their order). `progress` is called from the workers
/// with the number of samples generated so far.
///
/// # Panics
/// If `samples` is 0.
pub fn measure(params: &SguParams, seed: u64, samples: u64, progress: impl Fn(u64) + Sync) -> NoiseStats {
    assert!(samples > 0, "measure needs at least one sample");
    let start = Instant::now();
    let model = SguModel::seeded(params, seed);
    let lanes = model.lanes.len();
    let per_transfer = 2 * lanes as u64;
    let (full, rest) = (samples / per_transfer, samples % per_transfer);
    let stride = ad_stride(samples);
    let bound = (params.max_sigma() * f64::from(params.out_frac).exp2()).ceil() as i64 + 4;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, lanes.max(1));
    let chunk = lanes.div_ceil(threads);
    let done = AtomicU64::new(0);
    let (unit, done, progress) = (&model.unit, &done, &progress);
    let parts: Vec<(ValueCounts, Vec<(u64, i64)>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = model
            .lanes
            .chunks(chunk)
            .enumerate()
            .map(|(c, chunk_lanes)| {
                scope.spawn(move || {
                    let mut counts = ValueCounts::with_range(-bound, bound);
                    let mut picked = Vec::new();
                    let mut pending = 0u64;
                    let report = |pending: &mut u64| {
                        progress(done.fetch_add(*pending, Ordering::Relaxed) + *pending);
                        *pending = 0;
                    };
                    for (j, lane) in chunk_lanes.iter().enumerate() {
                        let k = (c * chunk + j) as u64;
                        let mut g = *lane;
                        let pairs = full + u64::from(2 * k + 2 <= rest);
                        // `phase` is the global index of this pair's x0 modulo `stride`, kept
                        // incrementally because a division per sample would cost as much as
                        // the statistics.
                        let mut index = 2 * k;
                        let mut phase = index % stride;
                        let step = per_transfer % stride;
                        for _ in 0..pairs {
                            let [x0, x1] = unit.sample(g.next_u64());
                            counts.add(x0);
                            counts.add(x1);
                            if phase == 0 {
                                picked.push((index, x0));
                            }
                            if phase + 1 == stride {
                                picked.push((index + 1, x1));
                            }
                            index += per_transfer;
                            phase += step;
                            if phase >= stride {
                                phase -= stride;
                            }
                            pending += 2;
                            if pending >= PROGRESS_EVERY {
                                report(&mut pending);
                            }
                        }
                        if 2 * k + 1 == rest {
                            let [x0, _] = unit.sample(g.next_u64());
                            counts.add(x0);
                            if phase == 0 {
                                picked.push((index, x0));
                            }
                            pending += 1;
                        }
                    }
                    if pending > 0 {
                        report(&mut pending);
                    }
                    (counts, picked)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("sample worker panicked")).collect()
    });
    let mut counts = ValueCounts::with_range(-bound, bound);
    let mut subsample = Vec::new();
    for (c, p) in &parts {
        counts.merge(c);
        subsample.extend_from_slice(p);
    }
    subsample.sort_unstable();
    let stats = analyze(&counts, params.out_frac, &subsample, stride);
    NoiseStats {
        samples,
        seed,
        params: params.clone(),
        threads,
        seconds: 0.0,
        stats,
        capability: tail_capability(params),
    }
    .timed(start)
}

impl NoiseStats {
    fn timed(mut self, start: Instant) -> Self {
        self.seconds = start.elapsed().as_secs_f64();
        self
    }
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A p-value as text: fixed point while readable, scientific below 10^-3.
fn fmt_p(p: f64) -> String {
    if p >= 1e-3 { format!("{p:.4}") } else { format!("{p:.2e}") }
}

/// The histogram of `stats` as a standalone SVG: log10 counts per 0.1σ bin as bars, the expected
/// counts of quantized N(0,1) as a line (`id="normal-pdf"`), dashed lines at the tail reach,
/// log10 density on the right axis.
///
/// The output depends only on the statistics (not on the run time), so equal samples give
/// byte-identical files.
pub fn histogram_svg(stats: &NoiseStats) -> String {
    let s = &stats.stats;
    let hist = &s.histogram;
    let (width, height) = (960.0, 600.0);
    let (left, right, top, bottom) = (80.0, 80.0, 76.0, 56.0);
    let (pw, ph) = (width - left - right, height - top - bottom);
    let xr = HIST_RANGE_TENTHS as f64 / 10.0;
    let sx = |x: f64| left + (x + xr) / (2.0 * xr) * pw;
    let peak = hist.counts.iter().map(|c| *c as f64).chain(hist.expected.iter().copied()).fold(1.0, f64::max);
    let (y_lo, y_hi) = (-1.0, (peak.log10() + 0.05).ceil().max(1.0));
    let sy = |y: f64| top + (y_hi - y) / (y_hi - y_lo) * ph;
    // log10 density = log10 count - log10(n · 0.1σ).
    let density_offset = (s.n as f64 * 0.1).log10();
    let edge = |b: i64| lower_edge(b, s.frac);

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let title = format!("SGU Gaussian samples vs N(0,1): {} samples", thousands(s.n));
    let p = &stats.params;
    let subtitle = format!(
        "{} lanes, {}-bit output with {} fraction bits, u0 {} bits, seed {:#x}; 0.1σ bins on the output grid",
        p.lanes, p.out_width, p.out_frac, p.u0_bits, stats.seed
    );
    let _ = writeln!(o, "<title>{}</title>", esc(&title));
    let _ = writeln!(o, r#"<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<defs><clipPath id="plot-area"><rect x="{left}" y="{top}" width="{pw}" height="{ph}"/></clipPath></defs>"#
    );
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="26" text-anchor="middle" font-size="17" font-weight="bold">{}</text>"#,
        width / 2.0,
        esc(&title)
    );
    let _ =
        writeln!(o, r#"<text x="{:.1}" y="46" text-anchor="middle">{}</text>"#, width / 2.0, esc(&subtitle));

    // Grid and ticks.
    let _ = writeln!(o, r##"<g id="grid" stroke="#e4e4e4" stroke-width="1">"##);
    for x in -8..=8 {
        let _ = writeln!(
            o,
            r#"<line x1="{0:.2}" y1="{top}" x2="{0:.2}" y2="{1:.2}"/>"#,
            sx(f64::from(x)),
            top + ph
        );
    }
    for y in (y_lo as i64)..=(y_hi as i64) {
        let _ = writeln!(
            o,
            r#"<line x1="{left}" y1="{0:.2}" x2="{1:.2}" y2="{0:.2}"/>"#,
            sy(y as f64),
            left + pw
        );
    }
    let _ = writeln!(o, "</g>");

    // Measured counts.
    let _ = writeln!(o, r##"<g id="measured" fill="#4c78a8" clip-path="url(#plot-area)">"##);
    for (j, c) in hist.counts.iter().enumerate() {
        if *c == 0 {
            continue;
        }
        let (x0, x1) = (sx(edge(hist.boundaries[j])), sx(edge(hist.boundaries[j + 1])));
        let y = sy((*c as f64).log10());
        let _ = writeln!(
            o,
            r#"<rect x="{x0:.2}" y="{y:.2}" width="{:.2}" height="{:.2}"/>"#,
            x1 - x0,
            sy(y_lo) - y
        );
    }
    let _ = writeln!(o, "</g>");

    // Expected counts; far below the axis the curve is clamped (and clipped) so the path keeps
    // reasonable coordinates.
    let mut d = String::new();
    for (j, e) in hist.expected.iter().enumerate() {
        let xc = 0.5 * (edge(hist.boundaries[j]) + edge(hist.boundaries[j + 1]));
        let y = if *e > 0.0 { e.log10().max(y_lo - 1.0) } else { y_lo - 1.0 };
        let _ = write!(d, "{}{:.2},{:.2}", if j == 0 { "M" } else { " L" }, sx(xc), sy(y));
    }
    let _ = writeln!(
        o,
        r##"<path id="normal-pdf" d="{d}" fill="none" stroke="#e45756" stroke-width="1.8" clip-path="url(#plot-area)"/>"##
    );

    // The largest sample the unit can produce at all, on both sides.
    let reach = stats.capability.sigma;
    let _ =
        writeln!(o, r##"<g id="tail-reach" stroke="#54a24b" stroke-width="1.2" stroke-dasharray="5 4">"##);
    for x in [-reach, reach] {
        let _ = writeln!(o, r#"<line x1="{0:.2}" y1="{top}" x2="{0:.2}" y2="{1:.2}"/>"#, sx(x), top + ph);
    }
    let _ = writeln!(o, "</g>");
    // Axes, tick labels and axis titles.
    let _ = writeln!(
        o,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black" stroke-width="1"/>"#
    );
    let _ = writeln!(o, r#"<g id="x-ticks" text-anchor="middle">"#);
    for x in -8..=8 {
        let px = sx(f64::from(x));
        let _ = writeln!(
            o,
            r#"<line x1="{px:.2}" y1="{0:.2}" x2="{px:.2}" y2="{1:.2}" stroke="black"/><text x="{px:.2}" y="{2:.2}">{x}</text>"#,
            top + ph,
            top + ph + 5.0,
            top + ph + 19.0
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g id="y-ticks" text-anchor="end">"#);
    for y in (y_lo as i64)..=(y_hi as i64) {
        let py = sy(y as f64);
        let _ = writeln!(
            o,
            r#"<line x1="{0:.2}" y1="{py:.2}" x2="{left}" y2="{py:.2}" stroke="black"/><text x="{1:.2}" y="{2:.2}">{y}</text>"#,
            left - 5.0,
            left - 8.0,
            py + 4.0
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g id="density-ticks" text-anchor="start">"#);
    for dens in ((y_lo - density_offset).ceil() as i64)..=((y_hi - density_offset).floor() as i64) {
        let py = sy(dens as f64 + density_offset);
        let _ = writeln!(
            o,
            r#"<line x1="{0:.2}" y1="{py:.2}" x2="{1:.2}" y2="{py:.2}" stroke="black"/><text x="{2:.2}" y="{3:.2}">{dens}</text>"#,
            left + pw,
            left + pw + 5.0,
            left + pw + 8.0,
            py + 4.0
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">sample value (σ)</text>"#,
        left + pw / 2.0,
        height - 12.0
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate(24 {0:.1}) rotate(-90)" text-anchor="middle">log10 count per 0.1σ bin</text>"#,
        top + ph / 2.0
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate({0:.1} {1:.1}) rotate(90)" text-anchor="middle">log10 density (per σ)</text>"#,
        width - 22.0,
        top + ph / 2.0
    );

    // Legend and the headline numbers, in the empty upper corners of the log plot.
    let (lx, ly) = (left + pw - 280.0, top + 18.0);
    let _ = writeln!(o, r#"<g id="legend">"#);
    let _ = writeln!(
        o,
        r##"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" fill="#4c78a8"/><text x="{:.1}" y="{ly:.1}">measured (golden model)</text>"##,
        ly - 9.0,
        lx + 20.0
    );
    let _ = writeln!(
        o,
        r##"<line x1="{lx:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#e45756" stroke-width="1.8"/><text x="{2:.1}" y="{3:.1}">N(0,1) on the output grid</text>"##,
        ly + 14.0,
        lx + 14.0,
        lx + 20.0,
        ly + 18.0
    );
    let _ = writeln!(
        o,
        r##"<line x1="{lx:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#54a24b" stroke-width="1.2" stroke-dasharray="5 4"/><text x="{2:.1}" y="{3:.1}">tail reach ±{reach:.3}σ (largest possible)</text>"##,
        ly + 32.0,
        lx + 14.0,
        lx + 20.0,
        ly + 36.0
    );
    let _ = writeln!(o, "</g>");
    let m = &s.moments;
    let lines = [
        format!("mean {:+.2e}, variance {:.6}", m.mean, m.variance),
        format!("skewness {:+.2e}, excess kurtosis {:+.2e}", m.skewness, m.excess_kurtosis),
        format!(
            "χ² {:.1} / {} dof, p = {}",
            s.chi_square.statistic,
            s.chi_square.dof,
            fmt_p(s.chi_square.p_value)
        ),
        format!("KS D = {:.3e}, p = {}", s.ks.d, fmt_p(s.ks.p_value)),
        format!(
            "AD A² = {:.3} ({} samples), p = {}",
            s.anderson_darling.a2,
            thousands(s.anderson_darling.n),
            fmt_p(s.anderson_darling.p_value)
        ),
        format!("max |x| seen {:.4}σ, reach {:.4}σ", s.max_abs_sigma, stats.capability.sigma),
    ];
    let _ = writeln!(o, r#"<g id="summary" font-size="11">"#);
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            left + 30.0,
            top + 18.0 + 15.0 * i as f64,
            esc(line)
        );
    }
    let _ = writeln!(o, "</g>");
    o.push_str("</svg>");
    o
}

/// A human-readable table of `stats`.
pub fn summary(stats: &NoiseStats) -> String {
    let s = &stats.stats;
    let p = &stats.params;
    let m = &s.moments;
    let z = m.z_scores();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "SGU noise statistics: {} samples, seed {:#x}, {} lanes, {}-bit output / {} fraction bits, u0 {} bits",
        thousands(stats.samples),
        stats.seed,
        p.lanes,
        p.out_width,
        p.out_frac,
        p.u0_bits
    );
    let _ = writeln!(
        o,
        "  {:.2} s on {} threads ({:.1} Msamples/s)",
        stats.seconds,
        stats.threads,
        stats.samples as f64 / stats.seconds.max(1e-9) / 1e6
    );
    let _ =
        writeln!(o, "  {:<17} {:>14} {:>8} {:>11} {:>8}", "moment", "measured", "N(0,1)", "std error", "z");
    let rows = [
        ("mean", m.mean, 0.0),
        ("variance", m.variance, 1.0),
        ("skewness", m.skewness, 0.0),
        ("excess kurtosis", m.excess_kurtosis, 0.0),
    ];
    for (k, (name, value, ideal)) in rows.iter().enumerate() {
        let _ =
            writeln!(o, "  {name:<17} {value:>14.8} {ideal:>8.1} {:>11.3e} {:>+8.2}", m.std_errors[k], z[k]);
    }
    let c = &s.chi_square;
    let _ = writeln!(
        o,
        "  chi-square        {:.2} on {} dof ({} bins, min expected {:.1}), p = {}",
        c.statistic,
        c.dof,
        c.bins.len(),
        c.min_expected,
        fmt_p(c.p_value)
    );
    let ks = &s.ks;
    let _ = writeln!(
        o,
        "  Kolmogorov-Smirnov D = {:.4e} at {:+.4}σ (empirical {}), K = {:.4}, p = {}",
        ks.d,
        ks.at_sigma,
        if ks.empirical_above { "above" } else { "below" },
        ks.statistic,
        fmt_p(ks.p_value)
    );
    let ad = &s.anderson_darling;
    let _ = writeln!(
        o,
        "  Anderson-Darling  A² = {:.4} on {} samples (stride {}), p = {}",
        ad.a2,
        thousands(ad.n),
        ad.stride,
        fmt_p(ad.p_value)
    );
    let _ = writeln!(o, "  {:<17} {:>14} {:>14} {:>8} {:>8}", "tail", "observed", "expected", "ratio", "z");
    for t in &s.tails {
        let _ = writeln!(
            o,
            "  |x| > {}σ{:<10} {:>14} {:>14.2} {:>8.4} {:>+8.2}",
            t.k, "", t.observed, t.expected, t.ratio, t.z
        );
    }
    let _ = writeln!(o, "  max |sample| seen {:.6}σ (integer {})", s.max_abs_sigma, s.max_abs_value);
    let cap = &stats.capability;
    let _ = writeln!(
        o,
        "  tail reach        {:.6}σ = {} ({}), r = {} (m = {}, u1 = {}); f64 reference {:.6}σ, theory {:.6}σ",
        cap.sigma, cap.value, cap.output, cap.r_hex, cap.m, cap.u1, cap.reference_sigma, cap.theory_sigma
    );
    o
}

/// `vdx bench sgu-stats`: measures `samples` samples of the default SGU with [`BENCH_SEED`],
/// writes `sgu_stats.json` and `sgu_histogram.svg` into `out_dir`, and prints [`summary`].
pub fn run_bench(samples: u64, out_dir: &Path) -> anyhow::Result<NoiseStats> {
    use anyhow::Context as _;
    let params = SguParams::default();
    // Progress at every tenth, on stderr, so that stdout stays the summary.
    let reported = AtomicU64::new(0);
    let stats = measure(&params, BENCH_SEED, samples, |done| {
        let tenth = done * 10 / samples;
        if reported.fetch_max(tenth, Ordering::Relaxed) < tenth {
            eprintln!("sgu-stats: {}0% of {} samples", tenth, thousands(samples));
        }
    });
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let json = out_dir.join("sgu_stats.json");
    std::fs::write(&json, serde_json::to_string_pretty(&stats)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    let svg = out_dir.join("sgu_histogram.svg");
    std::fs::write(&svg, histogram_svg(&stats) + "\n")
        .with_context(|| format!("writing {}", svg.display()))?;
    print!("{}", summary(&stats));
    println!("  wrote {} and {}", json.display(), svg.display());
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// About 2·10^6 samples; not a multiple of a transfer's 512, so the partial transfer is
    /// exercised too.
    const N: u64 = 2_000_000;
    const SEED: u64 = 0x0123_4567_89ab_cdef;

    fn measured() -> &'static NoiseStats {
        static STATS: OnceLock<NoiseStats> = OnceLock::new();
        STATS.get_or_init(|| measure(&SguParams::default(), SEED, N, |_| {}))
    }

    /// The same samples, generated the plain way: transfer after transfer.
    fn sequential_values() -> &'static [i64] {
        static VALUES: OnceLock<Vec<i64>> = OnceLock::new();
        VALUES.get_or_init(|| {
            let mut model = SguModel::seeded(&SguParams::default(), SEED);
            let mut values = Vec::with_capacity(N as usize + 512);
            while (values.len() as u64) < N {
                values.extend(model.next_transfer().into_iter().flatten());
            }
            values.truncate(N as usize);
            values
        })
    }

    /// The golden samples scaled by 1.02: a generator whose σ is 2% too large.
    fn broken() -> &'static SampleStats {
        static STATS: OnceLock<SampleStats> = OnceLock::new();
        STATS.get_or_init(|| {
            let scaled: Vec<i64> =
                sequential_values().iter().map(|v| (*v as f64 * 1.02).round() as i64).collect();
            analyze_values(&scaled, SguParams::default().out_frac)
        })
    }

    /// The moment bounds for n = 2·10^6: standard errors are 7.1e-4 (mean), 1.0e-3 (variance),
    /// 1.7e-3 (skewness) and 3.5e-3 (excess kurtosis), so the bounds sit at 7, 10, 5.8 and 8.7
    /// standard errors: a correct unit fails them with probability < 10^-8, while a 2% error in
    /// σ (variance +0.04) or a skew of a few 10^-2 is caught.
    fn moments_ok(m: &Moments) -> bool {
        m.mean.abs() < 0.005
            && (m.variance - 1.0).abs() < 0.01
            && m.skewness.abs() < 0.01
            && m.excess_kurtosis.abs() < 0.03
    }

    #[test]
    fn moments_of_the_default_unit_are_gaussian() {
        let m = &measured().stats.moments;
        assert!(moments_ok(m), "{m:?}");
        assert!(!moments_ok(&broken().moments), "1.02σ passed: {:?}", broken().moments);
    }

    #[test]
    fn threaded_measurement_equals_the_sequential_stream() {
        let seq = analyze_values(sequential_values(), SguParams::default().out_frac);
        assert_eq!(measured().stats, seq);
        assert_eq!(measured().samples, N);
    }

    #[test]
    fn chi_square_accepts_the_unit_and_rejects_a_scaled_generator() {
        let c = &measured().stats.chi_square;
        assert!(c.p_value > 1e-3, "chi-square {} on {} dof, p = {}", c.statistic, c.dof, c.p_value);
        assert!(c.min_expected >= CHI_MIN_EXPECTED, "{}", c.min_expected);
        assert_eq!(c.bins.iter().map(|b| b.observed).sum::<u64>(), N);
        let expected: f64 = c.bins.iter().map(|b| b.expected).sum();
        assert!((expected / N as f64 - 1.0).abs() < 1e-12, "{expected}");
        // Bins tile the integers: each starts right after the previous one ends.
        for w in c.bins.windows(2) {
            assert_eq!(w[0].hi.map(|h| h + 1), w[1].lo);
        }
        let b = &broken().chi_square;
        assert!(b.p_value < 1e-6, "1.02σ: chi-square {} on {} dof, p = {}", b.statistic, b.dof, b.p_value);
    }

    #[test]
    fn ks_and_ad_accept_the_unit_and_reject_a_scaled_generator() {
        let s = &measured().stats;
        assert!(s.ks.p_value > 1e-3, "{:?}", s.ks);
        assert!(s.anderson_darling.p_value > 1e-3, "{:?}", s.anderson_darling);
        assert_eq!(s.anderson_darling.n, 1_000_000);
        let b = broken();
        assert!(b.ks.p_value < 1e-6, "{:?}", b.ks);
        assert!(b.anderson_darling.p_value < 1e-6, "{:?}", b.anderson_darling);
    }

    /// Perfectly spread quantized N(0,1) data, `round(Φ^-1((i - 1/2)/n) · 2^f)`: its empirical CDF
    /// is within `1/2n` of the quantized null at every grid point, whereas comparing against Φ at
    /// the grid point itself (not its upper half-integer edge) would be off by `φ(0)/2^(f+1)` ≈
    /// 10^-4.
    #[test]
    fn ks_compares_against_the_quantized_cdf() {
        use statrs::distribution::Normal;
        let n = 100_000;
        let normal = Normal::new(0.0, 1.0).unwrap();
        let values: Vec<i64> = (0..n)
            .map(|i| ((normal.inverse_cdf((i as f64 + 0.5) / n as f64)) * 2048.0).round() as i64)
            .collect();
        let ks = kolmogorov_smirnov(&ValueCounts::from_values(values), 11);
        assert!(ks.d <= 0.5 / n as f64 + 1e-9, "{ks:?}");
    }

    #[test]
    fn p_value_series_match_published_values() {
        // Kolmogorov: P(K > 1) = 0.26999967, P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01.
        assert!((kolmogorov_sf(1.0) - 0.269_999_67).abs() < 1e-7);
        assert!((kolmogorov_sf(1.3581) - 0.05).abs() < 1e-4);
        assert!((kolmogorov_sf(1.6276) - 0.01).abs() < 1e-4);
        // Both series agree where they hand over.
        let below = kolmogorov_sf(1.0 - 1e-12);
        assert!((below - kolmogorov_sf(1.0)).abs() < 1e-10, "{below}");
        // Anderson-Darling: the tabulated 5% point 2.492, and the 1% point 3.878 (older tables
        // say 3.857, which is P = 0.01024).
        assert!((anderson_darling_sf(2.492) - 0.05).abs() < 5e-5);
        assert!((anderson_darling_sf(3.878) - 0.01).abs() < 5e-6);
        // The series and the tail form agree where they hand over, and tiny p-values survive.
        let below = anderson_darling_sf(20.0);
        assert!((below / anderson_darling_sf(20.0 + 1e-9) - 1.0).abs() < 0.01, "{below}");
        assert!(anderson_darling_sf(40.0) > 1e-19 && anderson_darling_sf(40.0) < 1e-18);
    }

    /// Transcription errors in a series show up in its integral: `∫ P(X > x) dx = E[X]`, which is
    /// `√(π/2) ln 2` for the Kolmogorov distribution and `Σ 1/(j(j+1)) = 1` for A².
    #[test]
    fn p_value_functions_integrate_to_the_known_means() {
        let integral = |sf: fn(f64) -> f64, hi: f64| {
            let steps = 40_000;
            let dx = hi / steps as f64;
            (0..steps).map(|k| sf((k as f64 + 0.5) * dx) * dx).sum::<f64>()
        };
        let ks_mean = (std::f64::consts::PI / 2.0).sqrt() * std::f64::consts::LN_2;
        assert!((integral(kolmogorov_sf, 10.0) - ks_mean).abs() < 1e-7);
        assert!((integral(anderson_darling_sf, 60.0) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn tails_and_maximum_are_consistent() {
        let s = &measured().stats;
        let t4 = &s.tails[0];
        assert_eq!(t4.k, 4);
        // 2(1 - Φ(4))·2·10^6 ≈ 127: within 5 Poisson standard deviations.
        assert!((t4.expected - 126.7).abs() < 0.5, "{t4:?}");
        assert!(t4.z.abs() < 5.0, "{t4:?}");
        assert!(
            s.max_abs_sigma > 4.0 && s.max_abs_sigma <= measured().capability.sigma,
            "{}",
            s.max_abs_sigma
        );
    }

    #[test]
    fn tail_reach_is_eight_sigma_at_48_bits_and_below_seven_at_32() {
        let p = SguParams::default();
        let cap = tail_capability(&p);
        assert!(cap.sigma >= 8.0, "{cap:?}");
        assert!((cap.sigma - p.max_sigma()).abs() < 2e-3, "{cap:?}");
        assert!((cap.sigma - cap.reference_sigma).abs() <= 1.0 / 2048.0, "{cap:?}");
        assert_eq!((cap.m, cap.u1, cap.output), (0, 0, "x1"));
        let short = SguParams { u0_bits: 32, ..SguParams::default() };
        let cap32 = tail_capability(&short);
        assert!(cap32.sigma < 7.0, "{cap32:?}");
        assert!((cap32.sigma - short.max_sigma()).abs() < 2e-3, "{cap32:?}");
    }

    /// Checks that start and end tags nest: enough to catch a missing `</g>` or a stray `<`.
    fn tags_balance(svg: &str) -> Result<(), String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').ok_or("unterminated tag")? + open;
            let tag = &rest[open + 1..close];
            if tag.contains('<') {
                return Err(format!("'<' inside tag {tag}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(top) if top == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
            rest = &rest[close + 1..];
        }
        if stack.is_empty() { Ok(()) } else { Err(format!("unclosed {stack:?}")) }
    }

    #[test]
    fn svg_is_well_formed_and_deterministic() {
        let svg = histogram_svg(measured());
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<path id="normal-pdf" d="M"#));
        assert!(svg.contains("2,000,000 samples"));
        tags_balance(&svg).unwrap();
        // Same input, same bytes; and a fresh measurement of the same samples (a different run
        // time) draws the same picture.
        assert_eq!(svg, histogram_svg(measured()));
        let p = SguParams::default();
        let a = measure(&p, 7, 100_000, |_| {});
        let b = measure(&p, 7, 100_000, |_| {});
        assert_eq!(histogram_svg(&a), histogram_svg(&b));
        assert_ne!(histogram_svg(&a), histogram_svg(&measure(&p, 8, 100_000, |_| {})));
    }

    #[test]
    fn value_counts_grow_and_merge() {
        let mut a = ValueCounts::with_range(-2, 2);
        for v in [-5, 0, 9, 0, -5, 1000] {
            a.add(v);
        }
        assert_eq!((a.total(), a.count(-5), a.count(0), a.count(1000), a.count(3)), (6, 2, 2, 1, 0));
        assert_eq!(a.min_max(), Some((-5, 1000)));
        let mut b = ValueCounts::default();
        b.merge(&a);
        assert_eq!(b.iter().collect::<Vec<_>>(), a.iter().collect::<Vec<_>>());
        assert_eq!(b.total(), 6);
    }
}
