//! Bit-exact model of the fixed-point Box-Muller pair unit, and the f64 reference it is measured
//! against.
//!
//! One 64-bit uniform `r` makes one pair. Its top `u0_bits` bits are `m`, its low 16 bits `u1`:
//! - `u0 = (2m + 1) / 2^(u0_bits+1)`: the midpoint of `m`'s interval, so never 0 (no infinite log)
//!   and never 1;
//! - `θ = 2π (u1 + 1/2) / 2^16`;
//! - outputs `x0 = sqrt(-2 ln u0) · sin θ` and `x1 = sqrt(-2 ln u0) · cos θ`.
//!
//! The fixed-point path (after Lee, Villasenor, Luk and Leong, "A Hardware Gaussian Noise
//! Generator Using the Box-Muller Method and Its Error Analysis", IEEE Trans. Computers, 2006):
//! 1. `x = 2m + 1` is normalised by its leading zeros `lz`: `u0 = t · 2^-(lz+1)`, `t ∈ [1, 2)`, so
//!    `e = -2 ln u0 = 2 (lz+1) ln 2 - 2 ln t` with `ln t` from a piecewise polynomial.
//! 2. `e = 2^q v`, `v ∈ [1, 2)`; `sqrt(e) = sqrt(v) · 2^(q/2)` for even `q`, `sqrt(2v) · 2^((q-1)/2)`
//!    for odd `q`: one table holds both `sqrt(1+x)` and `sqrt(2+2x)`, selected by the parity.
//! 3. `θ`'s two top bits pick the quadrant; `sin` and `cos` of the angle within it come from one
//!    table of `sin(π/2 · (a + 1/2) / 2^14)` read at `a` and at `2^14 - 1 - a`.
//! 4. `f · sin`, `f · cos` are rounded to the output format (half away from zero) and signed.
//!
//! Every step is integer arithmetic that the RTL reproduces exactly.

use super::SguParams;
use super::poly::PiecewisePoly;

/// Mantissa fraction bits of `t` that address the `ln` table (error of dropping the rest: 2^-30).
pub const LN_INPUT_BITS: u32 = 30;
/// Fraction bits of `ln t`.
pub const LN_FRAC: u32 = 32;
/// Fraction bits of `e`.
pub const E_FRAC: u32 = 30;
/// Width of `e`: `e < 2 · 49 · ln 2 < 68 < 2^7`.
pub const E_BITS: u32 = E_FRAC + 7;
/// Fraction bits of `v` that address the `sqrt` table.
pub const SQRT_INPUT_BITS: u32 = 24;
/// Fraction bits of `sqrt(v)`.
pub const SQRT_FRAC: u32 = 24;
/// Fraction bits of `f = sqrt(e)`.
pub const F_FRAC: u32 = 22;
/// Width of `f`: `f < 8.25 · 2^22 < 2^26`.
pub const F_BITS: u32 = F_FRAC + 4;
/// Bits of the angle within a quadrant.
pub const ANGLE_BITS: u32 = 14;
/// Fraction bits of `sin` and `cos`.
pub const TRIG_FRAC: u32 = 24;
/// Polynomial degree of every table.
pub const DEGREE: u32 = 2;

/// The fixed-point pair unit: tables and formats derived from [`SguParams`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxMuller {
    /// Bits of `u0`'s integer `m`.
    pub u0_bits: u32,
    /// Output width.
    pub out_width: u32,
    /// Output fraction bits.
    pub out_frac: u32,
    /// `ln(1 + x)`, `x ∈ [0, 1)`, input [`LN_INPUT_BITS`] bits.
    pub ln: PiecewisePoly,
    /// `sqrt(1 + x)` (top input bit 0) and `sqrt(2 + 2x)` (top input bit 1).
    pub sqrt: PiecewisePoly,
    /// `sin(π/2 · (a + 1/2) / 2^14)`.
    pub sin: PiecewisePoly,
    /// `2 ln 2` with [`E_FRAC`] fraction bits.
    pub two_ln2: u64,
}

/// One pair's intermediate values, for debugging the pipeline stage by stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairTrace {
    /// Leading zeros of `2m + 1` in `u0_bits + 1` bits.
    pub lz: u32,
    /// `ln t`, [`LN_FRAC`] fraction bits.
    pub ln_t: i64,
    /// `-2 ln u0`, [`E_FRAC`] fraction bits.
    pub e: u64,
    /// `sqrt(e)`, [`F_FRAC`] fraction bits.
    pub f: u64,
    /// `|sin θ|` and `|cos θ|`, [`TRIG_FRAC`] fraction bits.
    pub sin_cos: [i64; 2],
    /// The outputs `[f sin θ, f cos θ]` in the output format.
    pub out: [i64; 2],
}

impl BoxMuller {
    /// Fits the tables for `p`.
    pub fn new(p: &SguParams) -> Self {
        let s_ln = p.ln_segments_log2;
        let ln = PiecewisePoly::fit(s_ln, LN_INPUT_BITS - s_ln, DEGREE, LN_FRAC, |seg, u| {
            (1.0 + (seg as f64 + u) / (1u64 << s_ln) as f64).ln()
        });
        let s_sq = p.sqrt_segments_log2;
        let sqrt = PiecewisePoly::fit(s_sq + 1, SQRT_INPUT_BITS - s_sq, DEGREE, SQRT_FRAC, |seg, u| {
            let odd = seg >> s_sq == 1;
            let x = ((seg & ((1 << s_sq) - 1)) as f64 + u) / (1u64 << s_sq) as f64;
            if odd { (2.0 + 2.0 * x).sqrt() } else { (1.0 + x).sqrt() }
        });
        let s_tr = p.trig_segments_log2;
        let delta_tr = ANGLE_BITS - s_tr;
        let sin = PiecewisePoly::fit(s_tr, delta_tr, DEGREE, TRIG_FRAC, |seg, u| {
            // The angle of integer `a = seg·2^delta + δ` is at `a + 1/2`, and `u = δ / 2^delta`.
            let a = (seg << delta_tr) as f64 + u * (1u64 << delta_tr) as f64 + 0.5;
            (std::f64::consts::FRAC_PI_2 * a / (1u64 << ANGLE_BITS) as f64).sin()
        });
        let two_ln2 = (2.0 * std::f64::consts::LN_2 * (E_FRAC as f64).exp2()).round() as u64;
        BoxMuller { u0_bits: p.u0_bits, out_width: p.out_width, out_frac: p.out_frac, ln, sqrt, sin, two_ln2 }
    }

    /// The pair made from one 64-bit uniform: `[f sin θ, f cos θ]` in the output format.
    pub fn sample(&self, r: u64) -> [i64; 2] {
        self.trace(r).out
    }

    /// [`Self::sample`] with every intermediate value.
    pub fn trace(&self, r: u64) -> PairTrace {
        let w = self.u0_bits + 1;
        let m = r >> (64 - self.u0_bits);
        let x = 2 * m + 1;
        let lz = x.leading_zeros() - (64 - w);
        let fraction = (x << lz) & ((1u64 << (w - 1)) - 1);
        let ln_t = self.ln.eval(fraction >> (self.u0_bits - LN_INPUT_BITS));
        let e = (i64::from(lz + 1) * self.two_ln2 as i64 - (ln_t >> (LN_FRAC - E_FRAC - 1))).max(0) as u64;
        let f = self.sqrt_of(e);

        let u1 = r & 0xffff;
        let quadrant = u1 >> ANGLE_BITS;
        let a = u1 & ((1 << ANGLE_BITS) - 1);
        let s = self.sin.eval(a);
        let c = self.sin.eval(!a & ((1 << ANGLE_BITS) - 1));
        // (|sin θ|, sin negative, |cos θ|, cos negative) per quadrant.
        let (sin_mag, sin_neg, cos_mag, cos_neg) = match quadrant {
            0 => (s, false, c, false),
            1 => (c, false, s, true),
            2 => (s, true, c, true),
            _ => (c, true, s, false),
        };
        let shift = F_FRAC + TRIG_FRAC - self.out_frac;
        let scale = |mag: i64, neg: bool| {
            let y = ((u128::from(f) * mag as u128 + (1u128 << (shift - 1))) >> shift) as i64;
            if neg { -y } else { y }
        };
        PairTrace {
            lz,
            ln_t,
            e,
            f,
            sin_cos: [sin_mag, cos_mag],
            out: [scale(sin_mag, sin_neg), scale(cos_mag, cos_neg)],
        }
    }

    /// `sqrt(e)` with [`F_FRAC`] fraction bits, for `e` with [`E_FRAC`].
    fn sqrt_of(&self, e: u64) -> u64 {
        if e == 0 {
            return 0;
        }
        // Normalise so the top bit of `e` sits at bit E_BITS-1; the shift's parity picks the table
        // half, half the shift (rounded up) the final scaling.
        let clz = e.leading_zeros() - (64 - E_BITS);
        let fraction = (e << clz) & ((1u64 << (E_BITS - 1)) - 1);
        let parity = u64::from(clz & 1);
        let input = (parity << SQRT_INPUT_BITS) | (fraction >> (E_BITS - 1 - SQRT_INPUT_BITS));
        let root = self.sqrt.eval(input) as u64;
        // sqrt(e) = root · 2^(3 - ceil(clz/2)) with SQRT_FRAC = F_FRAC + 2 fraction bits.
        (root << 1) >> clz.div_ceil(2)
    }
}

/// The f64 Box-Muller pair for the same `u0` and `θ` as the hardware (see the module docs).
pub fn reference(r: u64, u0_bits: u32) -> [f64; 2] {
    let m = r >> (64 - u0_bits);
    let u0 = (2 * m + 1) as f64 / ((u0_bits + 1) as f64).exp2();
    let radius = (-2.0 * u0.ln()).sqrt();
    let theta = std::f64::consts::TAU * ((r & 0xffff) as f64 + 0.5) / 65536.0;
    [radius * theta.sin(), radius * theta.cos()]
}

/// `value` correctly rounded to `frac` fraction bits (half away from zero), as an integer.
pub fn round_to_fixed(value: f64, frac: u32) -> i64 {
    (value * (frac as f64).exp2()).round() as i64
}
