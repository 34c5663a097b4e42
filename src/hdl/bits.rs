//! Constant bit vectors of any width.

use std::fmt::Write;

/// A constant of `width` bits, stored as little-endian 64-bit words (word 0 = bits 63:0).
/// Bits above `width` are always zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bits {
    width: u32,
    words: Vec<u64>,
}

/// Widest literal vdx writes as one number: Verilator refuses wider ones ("Width of number
/// exceeds implementation limit").
pub const MAX_LITERAL_BITS: u32 = 65_536;

/// Bits of an index into `n` things (`0..n`), at least 1: an address width, a counter width.
pub fn index_bits(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Bits that hold the value `n` itself, at least 1: a count that may reach `n`.
pub fn value_bits(n: u64) -> u32 {
    (64 - n.leading_zeros()).max(1)
}

impl Bits {
    /// `value` truncated to `width` bits.
    pub fn from_u64(value: u64, width: u32) -> Self {
        Self::from_words(&[value], width)
    }

    /// A value given as little-endian 64-bit words, truncated to `width` bits; missing words are 0.
    pub fn from_words(words: &[u64], width: u32) -> Self {
        let n = width.div_ceil(64) as usize;
        let mut w: Vec<u64> = (0..n).map(|i| words.get(i).copied().unwrap_or(0)).collect();
        let rem = width % 64;
        if rem != 0
            && let Some(last) = w.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
        Bits { width, words: w }
    }

    /// All zeros.
    pub fn zero(width: u32) -> Self {
        Self::from_words(&[], width)
    }

    /// All ones.
    pub fn ones(width: u32) -> Self {
        Self::from_words(&vec![u64::MAX; width.div_ceil(64) as usize], width)
    }

    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The little-endian words.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Whether `value` (unsigned) fits in `width` bits without truncation.
    pub fn fits(value: u64, width: u32) -> bool {
        width >= 64 || value >> width == 0
    }

    /// Verilog literal, e.g. `8'h3f`, `1'b1`. A literal wider than [`MAX_LITERAL_BITS`] (past
    /// what Verilator accepts) is written as a concatenation of literals of at most that width
    /// (a replication that wide draws Verilator's WIDTHCONCAT warning).
    pub fn to_verilog(&self) -> String {
        if self.width > MAX_LITERAL_BITS {
            let chunk = MAX_LITERAL_BITS / 64;
            let parts: Vec<String> = self
                .words
                .chunks(chunk as usize)
                .enumerate()
                .rev()
                .map(|(i, words)| {
                    let w = (self.width - i as u32 * MAX_LITERAL_BITS).min(MAX_LITERAL_BITS);
                    Bits::from_words(words, w).to_verilog()
                })
                .collect();
            return format!("{{{}}}", parts.join(", "));
        }
        if self.width == 1 {
            return format!("1'b{}", self.words[0] & 1);
        }
        let digits = self.width.div_ceil(4) as usize;
        let mut hex = String::with_capacity(digits);
        for i in (0..digits).rev() {
            let nibble = (self.words[i / 16] >> ((i % 16) * 4)) & 0xf;
            write!(hex, "{nibble:x}").expect("writing to a String cannot fail");
        }
        let trimmed = hex.trim_start_matches('0');
        format!("{}'h{}", self.width, if trimmed.is_empty() { "0" } else { trimmed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_past_verilators_limit_are_split() {
        assert_eq!(Bits::zero(140_000).to_verilog(), "{8928'h0, 65536'h0, 65536'h0}");
        let mut words = vec![0u64; 70_000usize.div_ceil(64)];
        words[0] = 5;
        let text = Bits::from_words(&words, 70_000).to_verilog();
        assert_eq!(text, "{4464'h0, 65536'h5}");
    }

    #[test]
    fn literals_are_sized_and_masked() {
        assert_eq!(Bits::from_u64(0x1ff, 8).to_verilog(), "8'hff");
        assert_eq!(Bits::from_u64(1, 1).to_verilog(), "1'b1");
        assert_eq!(Bits::zero(64).to_verilog(), "64'h0");
        assert_eq!(Bits::from_words(&[0, 5], 70).to_verilog(), "70'h50000000000000000");
        assert_eq!(Bits::from_words(&[u64::MAX, u64::MAX], 65).words(), &[u64::MAX, 1]);
    }

    #[test]
    fn fits_checks_the_width() {
        assert!(Bits::fits(255, 8));
        assert!(!Bits::fits(256, 8));
        assert!(Bits::fits(u64::MAX, 64));
    }
}
