//! Golden model of `stride_walker`: the address sequence of a walk (by the textbook formula, not
//! by the walker's pointer scheme), its range check, and what the walker gives for a walk that
//! leaves the buffer.

use super::StrideWalkerParams;

/// One walk: a base and, per level (level 0 innermost), a bound (iterations, ≥ 1) and a stride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The first address.
    pub base: u64,
    /// Iterations of each level.
    pub bounds: Vec<u64>,
    /// Address step of each level.
    pub strides: Vec<u64>,
}

/// Why a walk does not fit the walker or its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// The offending field: `base`, `bounds[l]` or `strides[l]`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Walk {
    /// Every address in walk order: `base + Σ_l i[l] · stride[l]`, level 0 fastest.
    pub fn addresses(&self) -> Vec<u64> {
        let total: u64 = self.bounds.iter().product();
        (0..total)
            .map(|n| {
                let mut rest = n;
                let mut addr = self.base;
                for (b, s) in self.bounds.iter().zip(&self.strides) {
                    addr += (rest % b) * s;
                    rest /= b;
                }
                addr
            })
            .collect()
    }

    /// The largest address of the walk.
    pub fn max_address(&self) -> u128 {
        let span: u128 =
            self.bounds.iter().zip(&self.strides).map(|(&b, &s)| u128::from(b - 1) * u128::from(s)).sum();
        u128::from(self.base) + span
    }

    /// Whether the walker takes this walk and finishes it: fields fit their ports and every
    /// address is below the buffer's limit. Names the first field at fault.
    pub fn check(&self, p: &StrideWalkerParams) -> Result<(), WalkError> {
        let err = |field: String, message: String| Err(WalkError { field, message });
        if self.bounds.len() != p.levels as usize || self.strides.len() != p.levels as usize {
            return err("bounds".into(), format!("a walk of this walker has {} levels", p.levels));
        }
        let top = 1u64 << p.addr_width;
        if self.base >= p.words() {
            return err("base".into(), format!("{} is not below the limit {}", self.base, p.words()));
        }
        for (l, (&b, &s)) in self.bounds.iter().zip(&self.strides).enumerate() {
            if b == 0 || b > 1 << p.count_width {
                return err(
                    format!("bounds[{l}]"),
                    format!("{b} is out of range 1..={}", 1u64 << p.count_width),
                );
            }
            if s >= top {
                return err(format!("strides[{l}]"), format!("{s} needs more than {} bits", p.addr_width));
            }
        }
        if self.max_address() >= u128::from(p.words()) {
            // Name the level whose span first takes the walk past the limit.
            let mut reach = u128::from(self.base);
            for (l, (&b, &s)) in self.bounds.iter().zip(&self.strides).enumerate() {
                reach += u128::from(b - 1) * u128::from(s);
                if reach >= u128::from(p.words()) {
                    return err(
                        format!("strides[{l}]"),
                        format!("the walk reaches address {} (limit {})", self.max_address(), p.words()),
                    );
                }
            }
        }
        Ok(())
    }

    /// What the walker gives: every address up to the first one at or above the limit (which it
    /// does not give), and whether it stopped there.
    pub fn emitted(&self, p: &StrideWalkerParams) -> (Vec<u64>, bool) {
        let limit = p.words();
        if self.base >= limit {
            return (Vec::new(), true);
        }
        let all = self.addresses();
        match all.iter().position(|&a| a >= limit) {
            Some(cut) => (all[..cut].to_vec(), true),
            None => (all, false),
        }
    }

    /// `out_wrap_o` of each address: bit `l` when levels `0..=l` are at their last iteration.
    pub fn wraps(&self) -> Vec<u64> {
        let total: u64 = self.bounds.iter().product();
        (0..total)
            .map(|n| {
                let mut rest = n;
                let mut bits = 0u64;
                let mut all = true;
                for (l, b) in self.bounds.iter().enumerate() {
                    all &= rest % b == b - 1;
                    rest /= b;
                    if all {
                        bits |= 1 << l;
                    }
                }
                bits
            })
            .collect()
    }
}
