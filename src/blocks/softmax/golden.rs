//! Bit-exact model of the online-softmax row unit, and the f64 softmax it is measured against.
//!
//! Everything here is integer arithmetic in the order the block's datasheet gives it
//! ([`super`]); the RTL reproduces it bit for bit. The f64 reference uses the exact `scale`
//! (not its `scale_bits` rounding), so the error figures include every rounding of the unit.

use super::OnlineSoftmaxParams;

/// `y = floor(x · C · 2^(exp_frac - shift))`: the base-2 exponent of score `x` with `exp_frac`
/// fraction bits.
pub fn exponent(p: &OnlineSoftmaxParams, x: i64) -> i64 {
    let c = p.scale_constant();
    let product = i128::from(x) * i128::from(c.constant);
    let down = c.shift - p.exp_frac as i32;
    let y = if down >= 0 { product >> down } else { product << (-down) };
    y as i64
}

/// Chord table of `f` on `[0, 1)`: `segments + 1` knots `round(f(i / segments) · 2^frac)`.
fn knots(segments: u32, frac: u32, f: impl Fn(f64) -> f64) -> Vec<u64> {
    (0..=segments)
        .map(|i| (f(f64::from(i) / f64::from(segments)) * 2f64.powi(frac as i32)).round() as u64)
        .collect()
}

/// The chord between knots `i` and `i + 1` at `delta` of `2^bits` steps: `a_i - (a_i - a_{i+1}) ·
/// delta / 2^bits`, rounded down in the product (the knots fall, so the result is in
/// `(a_{i+1}, a_i]`).
fn chord(knots: &[u64], i: usize, delta: u64, bits: u32) -> u64 {
    let drop = knots[i] - knots[i + 1];
    knots[i] - ((drop * delta) >> bits)
}

/// The unit's tables, derived from its parameters.
#[derive(Debug, Clone)]
pub struct Tables {
    /// `2^-g` at `g = i / segments`, `table_frac` fraction bits (`exp2[0] = 2^table_frac`).
    pub exp2: Vec<u64>,
    /// `1 / (1 + i / recip_segments)`, `recip_frac` fraction bits (`recip[0] = 2^recip_frac`).
    pub recip: Vec<u64>,
}

impl Tables {
    /// The tables for `p`.
    pub fn new(p: &OnlineSoftmaxParams) -> Self {
        Tables {
            exp2: knots(p.segments, p.table_frac(), |g| (-g).exp2()),
            recip: knots(p.recip_segments, p.recip_frac(), |x| 1.0 / (1.0 + x)),
        }
    }
}

/// One query row's running state: its maximum and one table-value sum per shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowState {
    /// Whether any score has counted (else `max` and `buckets` are meaningless zeros).
    pub valid: bool,
    /// `M`, an integer: no score of the row has a larger exponent.
    pub max: i64,
    /// `buckets[k]`: the table values of the scores `k` binary places below `M` (`0..=depth`),
    /// modulo `2^bucket_width`.
    pub buckets: Vec<u64>,
}

impl RowState {
    /// The state of a row with no scores.
    pub fn empty(p: &OnlineSoftmaxParams) -> Self {
        RowState { valid: false, max: 0, buckets: vec![0; p.depth() as usize + 1] }
    }

    /// The buckets seen from a maximum `by` places higher: bucket `k` moves to `k + by`, and
    /// those past the last bucket are dropped.
    fn lowered(&self, by: u64) -> Vec<u64> {
        let n = self.buckets.len();
        (0..n).map(|k| if (k as u64) < by { 0 } else { self.buckets[k - by as usize] }).collect()
    }

    /// The state of the union of two rows' scores: the larger maximum, both sets of buckets
    /// moved to it and added (modulo `2^bucket_width`). Exact, associative and commutative.
    pub fn merge(&self, other: &RowState, p: &OnlineSoftmaxParams) -> RowState {
        match (self.valid, other.valid) {
            (false, _) => return other.clone(),
            (_, false) => return self.clone(),
            _ => {}
        }
        let max = self.max.max(other.max);
        let a = self.lowered((max - self.max) as u64);
        let b = other.lowered((max - other.max) as u64);
        let mask = (1u64 << p.bucket_width()) - 1;
        RowState { valid: true, max, buckets: a.iter().zip(&b).map(|(x, y)| (x + y) & mask).collect() }
    }

    /// `l = Σ_k buckets[k] · 2^-k` in units of `2^-(table_frac + depth)`.
    pub fn sum(&self, p: &OnlineSoftmaxParams) -> u128 {
        let d = p.depth();
        self.buckets.iter().enumerate().map(|(k, &b)| u128::from(b) << (d - k as u32)).sum()
    }
}

/// One score's path through the exponent stage, relative to its beat's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Power {
    /// Whole binary places below the beat maximum.
    pub k: u64,
    /// `2^-g` from the table, `table_frac` fraction bits.
    pub table: u64,
}

/// `2^(y - M)` as a shift `k` and a table value `2^-g`, for `M · 2^exp_frac >= y`.
pub fn power(p: &OnlineSoftmaxParams, t: &Tables, y: i64, max: i64) -> Power {
    let f = p.exp_frac;
    let d = ((max << f) - y) as u64;
    let g = d & ((1 << f) - 1);
    let sb = p.segment_bits();
    let idx = (g >> (f - sb)) as usize;
    let delta = g & ((1 << (f - sb)) - 1);
    Power { k: d >> f, table: chord(&t.exp2, idx, delta, f - sb) }
}

/// The probability a power gives when the row maximum is `extra` places above the beat's:
/// `table · 2^(prob_width - table_frac - k - extra)` rounded half up, at most
/// `2^prob_width - 1`.
pub fn probability(p: &OnlineSoftmaxParams, pw: Power, extra: u64) -> u64 {
    // `table_frac > prob_width`, so the shift is at least 1 and the rounding bit exists.
    let shift = pw.k + extra + u64::from(p.table_frac() - p.prob_width);
    let v = if shift > 63 { 0 } else { ((pw.table >> (shift - 1)) + 1) >> 1 };
    v.min((1 << p.prob_width) - 1)
}

/// `1/l` of a row: `(mantissa, exponent)` with `1/l ≈ mantissa · 2^-(recip_frac + exponent)`,
/// from a chord seed and one Newton step. `None` when no score counted.
pub fn reciprocal(p: &OnlineSoftmaxParams, t: &Tables, state: &RowState) -> Option<(u64, i64)> {
    if !state.valid {
        return None;
    }
    let l = state.sum(p);
    let r = p.recip_frac();
    let top = 127 - l.leading_zeros(); // l > 0: the maximum's bucket holds at least 2^(table_frac-1)
    let exponent = i64::from(top) - i64::from(p.table_frac() + p.depth());
    let x = (if top >= r { l >> (top - r) } else { l << (r - top) }) as u64; // [2^r, 2^(r+1))
    let sb = p.recip_segments.trailing_zeros();
    let idx = ((x >> (r - sb)) & ((1 << sb) - 1)) as usize;
    let delta = x & ((1 << (r - sb)) - 1);
    let seed = chord(&t.recip, idx, delta, r - sb);
    let xr = (u128::from(x) * u128::from(seed)) >> r;
    let two = 2u128 << r;
    let refined = (u128::from(seed) * (two - xr)) >> r;
    Some((refined as u64, exponent))
}

/// One beat into the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    /// `row_width` signed scores.
    pub scores: Vec<i64>,
    /// Which scores count.
    pub keep: Vec<bool>,
    /// The query row.
    pub row: u64,
    /// The row's first block: its stored state is ignored.
    pub first: bool,
    /// The row's last block: `1/l` is computed.
    pub last: bool,
}

/// One beat out of the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeatOut {
    /// `row_width` probabilities.
    pub prob: Vec<u64>,
    /// Places the row maximum moved with this beat.
    pub shift: u64,
    /// Passed through.
    pub row: u64,
    /// Passed through.
    pub first: bool,
    /// Passed through.
    pub last: bool,
    /// `1/l` mantissa on a last beat with a counted score, else 0.
    pub inv_l: u64,
    /// `1/l` exponent on a last beat with a counted score, else 0.
    pub inv_exp: i64,
    /// A last beat of a row in which no score counted.
    pub empty: bool,
}

/// The local state of a beat (relative to the beat's own maximum) and each score's power.
pub fn beat_state(p: &OnlineSoftmaxParams, t: &Tables, b: &Beat) -> (RowState, Vec<Option<Power>>) {
    let ys: Vec<Option<i64>> =
        b.scores.iter().zip(&b.keep).map(|(&x, &keep)| keep.then(|| exponent(p, x))).collect();
    let mut state = RowState::empty(p);
    let Some(top) = ys.iter().flatten().max().copied() else {
        return (state, vec![None; ys.len()]);
    };
    let f = p.exp_frac;
    state.valid = true;
    state.max = (top + (1 << f) - 1) >> f;
    let powers: Vec<Option<Power>> = ys.iter().map(|y| y.map(|y| power(p, t, y, state.max))).collect();
    let mask = (1u64 << p.bucket_width()) - 1;
    for pw in powers.iter().flatten() {
        if pw.k <= u64::from(p.depth()) {
            let slot = &mut state.buckets[pw.k as usize];
            *slot = (*slot + pw.table) & mask;
        }
    }
    (state, powers)
}

/// The row unit: tables and every row's state.
#[derive(Debug, Clone)]
pub struct RowUnit {
    /// Parameters.
    pub params: OnlineSoftmaxParams,
    /// Tables.
    pub tables: Tables,
    /// State of each row.
    pub states: Vec<RowState>,
}

impl RowUnit {
    /// A unit with every row empty.
    pub fn new(p: &OnlineSoftmaxParams) -> Self {
        RowUnit {
            params: p.clone(),
            tables: Tables::new(p),
            states: vec![RowState::empty(p); p.max_rows as usize],
        }
    }

    /// Processes one beat.
    pub fn beat(&mut self, b: &Beat) -> BeatOut {
        let p = &self.params;
        let (local, powers) = beat_state(p, &self.tables, b);
        let row = b.row as usize;
        let old = if b.first { RowState::empty(p) } else { self.states[row].clone() };
        let new = old.merge(&local, p);
        let extra = if local.valid { (new.max - local.max) as u64 } else { 0 };
        let prob = powers.iter().map(|pw| pw.map_or(0, |pw| probability(p, pw, extra))).collect();
        let shift = if old.valid { (new.max - old.max) as u64 } else { 0 };
        let (inv_l, inv_exp, empty) = match (b.last, reciprocal(p, &self.tables, &new)) {
            (false, _) => (0, 0, false),
            (true, Some((m, e))) => (m, e, false),
            (true, None) => (0, 0, true),
        };
        self.states[row] = new;
        BeatOut { prob, shift, row: b.row, first: b.first, last: b.last, inv_l, inv_exp, empty }
    }
}

/// Softmax of the kept `scores` in f64 with the exact `scale` (base 2): 0 for masked ones.
pub fn reference_softmax(p: &OnlineSoftmaxParams, scores: &[i64], keep: &[bool]) -> Vec<f64> {
    let ys: Vec<f64> = scores.iter().map(|&x| x as f64 * p.scale).collect();
    let top = ys.iter().zip(keep).filter(|(_, k)| **k).map(|(y, _)| *y).fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = ys.iter().zip(keep).map(|(y, &k)| if k { (y - top).exp2() } else { 0.0 }).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// The normalised probabilities the unit's outputs stand for, for one row fed as `beats` (each
/// a beat's outputs): `p · 2^-prob_width`, moved by every later beat's shift, times `1/l` of the
/// last beat.
pub fn normalised(p: &OnlineSoftmaxParams, outs: &[BeatOut]) -> Vec<f64> {
    let Some(last) = outs.last() else { return Vec::new() };
    let inv = last.inv_l as f64 * 2f64.powi(-(p.recip_frac() as i32) - last.inv_exp as i32);
    let mut later = 0u64;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for o in outs.iter().rev() {
        let scale = 2f64.powi(-(p.prob_width as i32)) * 2f64.powi(-(later.min(1000) as i32)) * inv;
        rows.push(o.prob.iter().map(|&v| v as f64 * scale).collect());
        later += o.shift;
    }
    rows.into_iter().rev().flatten().collect()
}
