//! Piecewise polynomials in fixed point: the function approximator behind `-2 ln u0`, `sqrt` and
//! `sin` in the Box-Muller datapath.
//!
//! The input is an unsigned integer of `seg_bits + delta_bits` bits. Its top `seg_bits` pick a
//! segment, the rest are the offset `δ` within it. Each segment holds a polynomial in
//! `u = δ / 2^delta_bits ∈ [0, 1)` with signed integer coefficients of `frac_bits` fraction bits,
//! fitted by interpolation at Chebyshev nodes (close to minimax) and rounded. Evaluation is
//! Horner's rule in integers, exactly as the hardware does it:
//!
//! ```text
//! acc = c[d];  for k in (0..d).rev() { acc = floor(acc * δ / 2^delta_bits) + c[k] }
//! ```
//!
//! so the golden model and the RTL agree bit for bit, and the only rounding is the floor of each
//! step and the rounding of the coefficients.

/// A fitted piecewise polynomial: coefficient tables and the integer evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiecewisePoly {
    /// Bits selecting the segment (there are `2^seg_bits` segments).
    pub seg_bits: u32,
    /// Bits of the offset within a segment.
    pub delta_bits: u32,
    /// Polynomial degree.
    pub degree: u32,
    /// Fraction bits of coefficients and result.
    pub frac_bits: u32,
    /// `coefs[segment][k]` multiplies `u^k`.
    pub coefs: Vec<Vec<i64>>,
}

impl PiecewisePoly {
    /// Fits `f(segment, u)` (the function on segment `segment` at `u ∈ [0, 1)`) on every segment.
    pub fn fit(
        seg_bits: u32,
        delta_bits: u32,
        degree: u32,
        frac_bits: u32,
        f: impl Fn(u64, f64) -> f64,
    ) -> Self {
        let coefs = (0..1u64 << seg_bits)
            .map(|seg| {
                chebyshev_monomial(degree, |u| f(seg, u))
                    .iter()
                    .map(|c| (c * (frac_bits as f64).exp2()).round() as i64)
                    .collect()
            })
            .collect();
        PiecewisePoly { seg_bits, delta_bits, degree, frac_bits, coefs }
    }

    /// Evaluates at `input` (`seg_bits + delta_bits` bits; higher bits are ignored).
    pub fn eval(&self, input: u64) -> i64 {
        let delta = input & ((1u64 << self.delta_bits) - 1);
        let seg = (input >> self.delta_bits) & ((1u64 << self.seg_bits) - 1);
        let c = &self.coefs[seg as usize];
        let mut acc = i128::from(c[self.degree as usize]);
        for k in (0..self.degree as usize).rev() {
            acc = ((acc * i128::from(delta)) >> self.delta_bits) + i128::from(c[k]);
        }
        acc as i64
    }

    /// Bits (with sign) a Horner accumulator needs: bounds every partial sum by the sum of the
    /// absolute coefficients of its segment (`|u| < 1`).
    pub fn acc_width(&self) -> u32 {
        let bound =
            self.coefs.iter().map(|c| c.iter().map(|x| x.unsigned_abs()).sum::<u64>()).max().unwrap_or(0);
        64 - bound.leading_zeros() + 1
    }
}

/// Coefficients (of `u^0..u^degree`) of the polynomial interpolating `f` at the Chebyshev nodes of
/// `[0, 1]`.
fn chebyshev_monomial(degree: u32, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let n = degree as usize + 1;
    let nodes: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * ((2 * i + 1) as f64 * std::f64::consts::PI / (2 * n) as f64).cos())
        .collect();
    // Solve the Vandermonde system; n <= 4, so Gaussian elimination with pivoting is exact enough.
    let mut a: Vec<Vec<f64>> = nodes.iter().map(|&x| (0..n).map(|k| x.powi(k as i32)).collect()).collect();
    let mut b: Vec<f64> = nodes.iter().map(|&x| f(x)).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_exact_for_polynomials() {
        let c = chebyshev_monomial(3, |u| 1.0 - 2.0 * u + 0.5 * u * u * u);
        for (got, want) in c.iter().zip([1.0, -2.0, 0.0, 0.5]) {
            assert!((got - want).abs() < 1e-12, "{c:?}");
        }
    }

    #[test]
    fn fitted_log_is_accurate_to_the_coefficient_precision() {
        // ln(1 + x) on [0, 1), 256 segments of degree 2, 22 offset bits, 32 fraction bits.
        let p = PiecewisePoly::fit(8, 22, 2, 32, |seg, u| (1.0 + (seg as f64 + u) / 256.0).ln());
        let mut worst: f64 = 0.0;
        for i in 0..200_000u64 {
            let input = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 34;
            let x = input as f64 / (1u64 << 30) as f64;
            let err = (p.eval(input) as f64 / 2f64.powi(32) - (1.0 + x).ln()).abs();
            worst = worst.max(err);
        }
        // Interpolation bound h^3/96 = 2^-30.6 for h = 2^-8, plus two Horner floors of 2^-32.
        assert!(worst < 2f64.powi(-29), "max error {worst:e}");
        assert!(worst > 2f64.powi(-34), "a fit this coarse cannot be exact: {worst:e}");
    }

    #[test]
    fn horner_floors_like_an_arithmetic_shift() {
        let p =
            PiecewisePoly { seg_bits: 0, delta_bits: 2, degree: 1, frac_bits: 0, coefs: vec![vec![0, -3]] };
        // -3 * 1 / 4 = -0.75 floors to -1.
        assert_eq!(p.eval(1), -1);
        assert_eq!(p.eval(0), 0);
    }
}
