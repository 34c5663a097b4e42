//! Arithmetic building blocks that several blocks share, written with the builder's operations.

use super::builder::{ModuleBuilder, Signal, cat};

/// Leading zeros of `x` and `x` shifted left by them (its top bit set when `x` is not zero), by a
/// binary search of `log2` mux levels; for `x = 0` the count is all ones. Level `k` is the wire
/// `<name>_zero<k>` (the top `k` bits are zero) and `<name>_shift<k>` (shifted by `k` if so); the
/// results are `<name>_lz` (`log2` of the next power of two of the width, in bits) and
/// `<name>_norm` (the width of `x`).
pub fn normalize(m: &ModuleBuilder, name: &str, x: &Signal) -> (Signal, Signal) {
    let w = x.width();
    let padded = w.next_power_of_two();
    let mut v =
        if padded > w { x.concat(&m.lit(0, padded - w)).named(&format!("{name}_padded")) } else { x.clone() };
    let mut count_bits = Vec::new();
    let mut k = padded / 2;
    while k >= 1 {
        let top_zero = v.slice(padded - 1, padded - k).reduce_or().not().named(&format!("{name}_zero{k}"));
        v = top_zero.mux(&v.shl(k), &v).named(&format!("{name}_shift{k}"));
        count_bits.push(top_zero);
        k /= 2;
    }
    if count_bits.is_empty() {
        // A single bit: no search, no leading zero to count but its own absence.
        return (x.not().named(&format!("{name}_lz")), x.named(&format!("{name}_norm")));
    }
    let refs: Vec<&Signal> = count_bits.iter().collect();
    (cat(&refs).named(&format!("{name}_lz")), v.slice(padded - 1, padded - w).named(&format!("{name}_norm")))
}
