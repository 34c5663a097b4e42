//! Golden model of the sinusoidal timestep embedding, bit-exact with `vdx_timestep_cond`.
//!
//! Embedding value `n` of `dim` for timestep `t` (`half = dim / 2`): `cos(t·f_n)` for `n < half`,
//! `sin(t·f_(n−half))` after, with `f_i = max_period^(−i / half)` radians per step (the DiT and
//! Wan convention, cosines first). In fixed point:
//! - each frequency is a 32-bit fraction of a turn per step, `F_i = round(f_i / 2π · 2^32)`; the
//!   phase is `t·F_i mod 2^32` (exact), plus a quarter turn (`2^30`) for a cosine;
//! - the phase's top two bits pick the quadrant; in quadrants 1 and 3 the position within the
//!   quadrant is mirrored (`2^30 − p`); its top 7 bits index a quarter-wave table of
//!   `2^TABLE_BITS + 1` sines in Q1.14 and the next `FRAC_BITS` interpolate linearly to the next
//!   entry, rounding half up; quadrants 2 and 3 negate.
//!
//! Values are Q1.14 (`1.0` = 16384) in 16-bit two's complement. Against f64 the error is at most
//! about 1.6e-4 (interpolation 7.5e-5, table and output rounding); see the tests.

/// Bits of the phase accumulator (a fraction of a turn).
pub const PHASE_BITS: u32 = 32;
/// Log2 of the segments of the quarter-wave table.
pub const TABLE_BITS: u32 = 6;
/// Bits of the linear interpolation between table entries.
pub const FRAC_BITS: u32 = 10;
/// Fraction bits of an output value (Q1.14).
pub const OUT_FRAC: u32 = 14;

/// Frequency `i` of `half` (`max_period^(−i/half)` radians per step) in turns per step, as a
/// 32-bit fraction.
pub fn freq_turns(i: u32, half: u32, max_period: u32) -> u32 {
    let f = f64::from(max_period).powf(-f64::from(i) / f64::from(half)) / std::f64::consts::TAU;
    // f ≤ 1/2π < 1: the fraction fits in 32 bits.
    (f * 2f64.powi(PHASE_BITS as i32)).round() as u32
}

/// The quarter-wave table: `sin(j/2^TABLE_BITS · π/2)` in Q1.14 for `j = 0..=2^TABLE_BITS`, and
/// the last entry once more (the "next" entry of the last one).
pub fn quarter_table() -> Vec<i32> {
    let n = 1u32 << TABLE_BITS;
    let mut t: Vec<i32> = (0..=n)
        .map(|j| {
            let x = f64::from(j) / f64::from(n) * std::f64::consts::FRAC_PI_2;
            (x.sin() * f64::from(1u32 << OUT_FRAC)).round() as i32
        })
        .collect();
    t.push(t[n as usize]);
    t
}

/// `sin(2π · phase / 2^32)` in Q1.14, as the hardware computes it.
pub fn sin_turns(table: &[i32], phase: u32) -> i16 {
    let quadrant = phase >> 30;
    let p = phase & ((1 << 30) - 1);
    let pm = if quadrant & 1 == 1 { (1u32 << 30) - p } else { p };
    let idx = (pm >> (30 - TABLE_BITS)) as usize;
    let frac = (pm >> (30 - TABLE_BITS - FRAC_BITS)) & ((1 << FRAC_BITS) - 1);
    let (a, b) = (table[idx], table[idx + 1]);
    let v = a + (((b - a) * frac as i32 + (1 << (FRAC_BITS - 1))) >> FRAC_BITS);
    (if quadrant >= 2 { -v } else { v }) as i16
}

/// The phase of embedding value `n` of `dim` at timestep `t`.
pub fn phase(n: u32, dim: u32, max_period: u32, t: u32) -> u32 {
    let half = dim / 2;
    let (i, cos) = if n < half { (n, true) } else { (n - half, false) };
    let base = t.wrapping_mul(freq_turns(i, half, max_period));
    if cos { base.wrapping_add(1 << 30) } else { base }
}

/// The whole embedding of timestep `t`: `dim` values in Q1.14, cosines first.
pub fn embedding(dim: u32, max_period: u32, t: u32) -> Vec<i16> {
    let table = quarter_table();
    (0..dim).map(|n| sin_turns(&table, phase(n, dim, max_period, t))).collect()
}

/// The same embedding in f64 (the reference the error is measured against).
pub fn embedding_f64(dim: u32, max_period: u32, t: u32) -> Vec<f64> {
    let half = dim / 2;
    (0..dim)
        .map(|n| {
            let i = if n < half { n } else { n - half };
            let x = f64::from(t) * f64::from(max_period).powf(-f64::from(i) / f64::from(half));
            if n < half { x.cos() } else { x.sin() }
        })
        .collect()
}

/// Largest absolute error of [`embedding`] against [`embedding_f64`] over the timesteps `ts`.
pub fn max_error(dim: u32, max_period: u32, ts: impl IntoIterator<Item = u32>) -> f64 {
    let scale = f64::from(1u32 << OUT_FRAC);
    let mut worst = 0f64;
    for t in ts {
        let q = embedding(dim, max_period, t);
        for (v, r) in q.iter().zip(embedding_f64(dim, max_period, t)) {
            worst = worst.max((f64::from(*v) / scale - r).abs());
        }
    }
    worst
}

/// The conditioning tables as loaded: per table (0 steps, 1 layers) the beats written so far.
#[derive(Debug, Clone, Default)]
pub struct CondTables {
    beats: [std::collections::HashMap<u64, Vec<i16>>; 2],
}

impl CondTables {
    /// A load beat: `lanes` values at beat address `addr` of table `table`.
    pub fn load(&mut self, table: usize, addr: u64, values: &[i16]) {
        self.beats[table].insert(addr, values.to_vec());
    }

    /// The broadcast of (`step`, `layer`) with `row_beats` beats per row: each value the
    /// saturating sum of the two rows' values; `None` if a beat of either row was never loaded.
    pub fn broadcast(&self, row_beats: u64, step: u64, layer: u64) -> Option<Vec<Vec<i16>>> {
        (0..row_beats)
            .map(|b| {
                let s = self.beats[0].get(&(step * row_beats + b))?;
                let l = self.beats[1].get(&(layer * row_beats + b))?;
                Some(s.iter().zip(l).map(|(a, c)| a.saturating_add(*c)).collect())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_against_f64_is_below_two_ten_thousandths() {
        // Every timestep of a 10-bit counter (Wan's 0..=1000 and more), the default 256 values.
        let e = max_error(256, 10_000, 0..1024);
        eprintln!("timestep embedding, dim 256, t 0..1024: max error {e:.3e}");
        assert!(e < 2.0e-4, "max error {e}");
        // A small period and an odd count of frequencies.
        let e = max_error(6, 2, 0..1024);
        assert!(e < 2.0e-4, "max error {e}");
    }

    #[test]
    fn quadrant_edges_are_exact() {
        let t = quarter_table();
        assert_eq!(sin_turns(&t, 0), 0);
        assert_eq!(sin_turns(&t, 1 << 30), 16384, "a quarter turn is 1.0");
        assert_eq!(sin_turns(&t, 2 << 30), 0);
        assert_eq!(sin_turns(&t, 3 << 30), -16384);
        assert_eq!(embedding(4, 10_000, 0), vec![16384, 16384, 0, 0], "t = 0: cos 1, sin 0");
    }

    #[test]
    fn sine_is_odd_and_cosine_even_to_the_bit() {
        let t = quarter_table();
        for phase in (0..=u32::MAX).step_by(65_537) {
            if phase & ((1 << 30) - 1) != 0 {
                assert_eq!(sin_turns(&t, phase.wrapping_neg()), -sin_turns(&t, phase), "phase {phase:#x}");
            }
        }
    }
}
