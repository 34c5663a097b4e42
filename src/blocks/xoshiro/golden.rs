//! Bit-exact golden model of the xoshiro256++ generator (Blackman & Vigna) and a cycle model of
//! the hardware lane `vdx_xoshiro_lane`.
//!
//! The algorithm is written out here instead of calling `rand_xoshiro`, so that the golden model
//! and the reference crate (used only by the tests) are two independent implementations: a bug
//! would have to be made twice, identically, to go unnoticed.

/// Jump polynomial for a 2^128-step jump, from the reference `xoshiro256plusplus.c`.
const JUMP: [u64; 4] =
    [0x180e_c6d3_3cfd_0aba, 0xd5a6_1266_f0c9_392c, 0xa958_2618_e03f_c9aa, 0x39ab_dc45_29b1_661c];

/// Golden-ratio increment of splitmix64; odd, so the counter walks all 2^64 values.
const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One step of splitmix64 (Vigna's `splitmix64.c`): advances `state` and returns the next output.
///
/// This is the generator `seed_from_u64` uses to expand a 64-bit seed into a 256-bit state, and
/// it is exposed so that seeding can be reproduced outside the crate (e.g. by a testbench that
/// must compute the `load_state_i` word of a lane).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(SPLITMIX_GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xoshiro256++ state and algorithm.
///
/// `s` is public because the hardware exposes the same four words on `load_state_i`, and
/// testbenches need to move states between the model and the DUT without ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xoshiro256pp {
    /// The four 64-bit state words `s0..s3`; `s[0]` is `s0` of the reference code.
    pub s: [u64; 4],
}

impl Xoshiro256pp {
    /// Wraps a raw state without any remapping.
    ///
    /// The all-zero state is accepted on purpose: the hardware can be loaded with it (and then
    /// outputs 0 forever), so the model must be able to represent it too.
    pub fn from_state(s: [u64; 4]) -> Self {
        Self { s }
    }

    /// Seeds the state with four consecutive splitmix64 outputs, bit-identical to
    /// `rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64`.
    ///
    /// `rand_core` fills the 32-byte seed with the little-endian bytes of each splitmix64 word and
    /// `rand_xoshiro` reads them back little-endian, so word `i` of the state is simply the `i`-th
    /// splitmix64 output. `rand_xoshiro` also swaps an all-zero seed for a fallback; that branch is
    /// unreachable here, because splitmix64's finaliser is a bijection and the four counter values
    /// differ, so at most one of the four words can be zero.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Self { s }
    }

    /// The `++` scrambler applied to the current state: `rotl(s0 + s3, 23) + s0`.
    ///
    /// Kept separate from [`advance`](Self::advance) because in hardware `rand_o` is a
    /// combinational function of the state registers, valid before the clock edge that updates
    /// them.
    pub fn output(&self) -> u64 {
        self.s[0].wrapping_add(self.s[3]).rotate_left(23).wrapping_add(self.s[0])
    }

    /// The linear state update (one step of the xoshiro256 engine).
    ///
    /// The statement order matters: each line reads words already modified by the previous ones,
    /// exactly as the reference C code and the generated `_d` logic do.
    pub fn advance(&mut self) {
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
    }

    /// Returns [`output`](Self::output) of the current state, then [`advance`](Self::advance)s —
    /// the order of the reference `next()`.
    pub fn next_u64(&mut self) -> u64 {
        let out = self.output();
        self.advance();
        out
    }

    /// Advances the state by 2^128 steps, as the reference `jump()`.
    ///
    /// The engine is linear over GF(2), so the jumped state is the XOR of the states at the step
    /// counts selected by the bits of the jump polynomial; 256 plain steps suffice.
    pub fn jump(&mut self) {
        let mut acc = [0u64; 4];
        for word in JUMP {
            for bit in 0..64 {
                if (word >> bit) & 1 != 0 {
                    for (a, s) in acc.iter_mut().zip(self.s) {
                        *a ^= s;
                    }
                }
                self.advance();
            }
        }
        self.s = acc;
    }

    /// State of lane `lane` of a multi-lane generator: `seed_from_u64(seed)` followed by `lane`
    /// jumps.
    ///
    /// Jumps of 2^128 steps give each lane its own non-overlapping subsequence, which is why the
    /// hardware lanes are loaded this way rather than with differently seeded states.
    pub fn lane(seed: u64, lane: u32) -> Self {
        let mut g = Self::seed_from_u64(seed);
        for _ in 0..lane {
            g.jump();
        }
        g
    }
}

/// Cycle model of the hardware lane `vdx_xoshiro_lane`.
///
/// Ports: `load_i`, `load_state_i[255:0]` (`s0` in bits 63:0, `s1` in 127:64, `s2` in 191:128,
/// `s3` in 255:192), `en_i`, `rand_o[63:0]`. In each cycle `rand_o` shows
/// [`Xoshiro256pp::output`] of the current state; at the clock edge `load_i` has priority
/// (state ← `load_state_i`), otherwise `en_i` advances the state; the asynchronous reset sets
/// the state to the `reset_state` given at construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XoshiroLaneModel {
    /// Value of the state registers after reset (their reset constant in the RTL).
    reset_state: [u64; 4],
    /// Current contents of the state registers.
    regs: Xoshiro256pp,
}

impl XoshiroLaneModel {
    /// Creates the model in its post-reset state.
    ///
    /// `reset_state` is whatever constant the RTL builder bakes into the registers' reset values.
    pub fn new(reset_state: [u64; 4]) -> Self {
        Self { reset_state, regs: Xoshiro256pp::from_state(reset_state) }
    }

    /// Applies the asynchronous reset: the state returns to the construction-time `reset_state`.
    pub fn reset(&mut self) {
        self.regs = Xoshiro256pp::from_state(self.reset_state);
    }

    /// Simulates one clock cycle and returns `rand_o` as seen during it (before the edge).
    ///
    /// The output is sampled before the edge is applied because `rand_o` is driven from the
    /// state registers, so a load or an enable only becomes visible in the next cycle.
    pub fn cycle(&mut self, load: bool, load_state: [u64; 4], en: bool) -> u64 {
        let rand_o = self.regs.output();
        if load {
            self.regs = Xoshiro256pp::from_state(load_state);
        } else if en {
            self.regs.advance();
        }
        rand_o
    }

    /// Current contents of the state registers, `[s0, s1, s2, s3]`.
    pub fn state(&self) -> [u64; 4] {
        self.regs.s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};
    use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

    /// Seeds used against `rand_xoshiro`: the edge values plus a few arbitrary ones.
    const SEEDS: [u64; 7] = [
        0,
        1,
        u64::MAX,
        0x0123_4567_89ab_cdef,
        0xdead_beef_cafe_f00d,
        1_477_776_061_723_855_037,
        0x8000_0000_0000_0000,
    ];

    /// Reads the state of a reference generator back as words, via its little-endian byte form.
    fn ref_state(r: &Xoshiro256PlusPlus) -> [u64; 4] {
        let bytes = r.state();
        std::array::from_fn(|i| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap()))
    }

    /// Builds a reference generator holding exactly `s`. `from_seed` remaps the all-zero seed,
    /// so callers must not pass it.
    fn ref_from_state(s: [u64; 4]) -> Xoshiro256PlusPlus {
        assert_ne!(s, [0; 4], "rand_xoshiro cannot hold the all-zero state");
        let mut bytes = [0u8; 32];
        for (chunk, w) in bytes.chunks_exact_mut(8).zip(s) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let r = Xoshiro256PlusPlus::from_seed(bytes);
        assert_eq!(ref_state(&r), s);
        r
    }

    #[test]
    fn published_vectors_state_1234() {
        let mut g = Xoshiro256pp::from_state([1, 2, 3, 4]);
        let expected: [u64; 5] =
            [41_943_041, 58_720_359, 3_588_806_011_781_223, 3_591_011_842_654_386, 9_228_616_714_210_784_205];
        for (i, &e) in expected.iter().enumerate() {
            assert_eq!(g.next_u64(), e, "output {i}");
        }
    }

    #[test]
    fn published_jump_vector() {
        let mut g = Xoshiro256pp::from_state([0, 0, 0, 1]);
        g.jump();
        assert_eq!(
            g.s,
            [0x934d_05e8_b207_6310, 0xeabd_d0bf_76a1_be51, 0x75dd_6a99_2acc_b1e8, 0xc660_c602_a733_0187,]
        );
        assert_eq!(g.next_u64(), 0x88f9_a31a_fdb4_39f5);
    }

    #[test]
    fn output_then_advance_is_next_u64() {
        let mut a = Xoshiro256pp::seed_from_u64(42);
        let mut b = a;
        for _ in 0..100 {
            let o = b.output();
            b.advance();
            assert_eq!(a.next_u64(), o);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn splitmix64_published_seed0() {
        let mut x = 0u64;
        assert_eq!(splitmix64(&mut x), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut x), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(splitmix64(&mut x), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn splitmix64_matches_rand_xoshiro() {
        for seed in SEEDS {
            let mut r = SplitMix64::seed_from_u64(seed);
            let mut x = seed;
            for i in 0..100 {
                assert_eq!(splitmix64(&mut x), r.next_u64(), "seed {seed:#x}, output {i}");
            }
        }
    }

    #[test]
    fn seed_from_u64_matches_rand_xoshiro() {
        for seed in SEEDS {
            let mut g = Xoshiro256pp::seed_from_u64(seed);
            let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
            assert_eq!(g.s, ref_state(&r), "seed {seed:#x}: initial state");
            for i in 0..1000 {
                assert_eq!(g.next_u64(), r.next_u64(), "seed {seed:#x}, output {i}");
            }
        }
    }

    #[test]
    fn jump_matches_rand_xoshiro_from_arbitrary_states() {
        // Seeded states all come from splitmix64; also exercise the jump on hand-picked states.
        for s in [[1, 2, 3, 4], [u64::MAX; 4], [0, 0, 0, 1], [1 << 63, 0, 0, 0]] {
            let mut g = Xoshiro256pp::from_state(s);
            let mut r = ref_from_state(s);
            g.jump();
            r.jump();
            assert_eq!(g.s, ref_state(&r), "state {s:x?}");
        }
    }

    #[test]
    fn lane_matches_rand_xoshiro_jumps() {
        for seed in SEEDS {
            for k in [0u32, 1, 2, 255] {
                let mut g = Xoshiro256pp::lane(seed, k);
                let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
                for _ in 0..k {
                    r.jump();
                }
                assert_eq!(g.s, ref_state(&r), "seed {seed:#x}, lane {k}");
                for i in 0..16 {
                    assert_eq!(g.next_u64(), r.next_u64(), "seed {seed:#x}, lane {k}, output {i}");
                }
            }
        }
    }

    #[test]
    fn lanes_are_distinct() {
        // A broken jump that returned the input state (or zero) would make lanes collide.
        let lanes: Vec<_> = (0..8).map(|k| Xoshiro256pp::lane(7, k).s).collect();
        for i in 0..lanes.len() {
            assert_ne!(lanes[i], [0; 4]);
            for j in 0..i {
                assert_ne!(lanes[i], lanes[j], "lanes {i} and {j}");
            }
        }
    }

    #[test]
    fn lane_model_load_has_priority_over_en() {
        let reset = Xoshiro256pp::seed_from_u64(3).s;
        let loaded = [5, 6, 7, 8];
        let mut m = XoshiroLaneModel::new(reset);
        // The loading cycle still shows the old state's output.
        assert_eq!(m.cycle(true, loaded, true), Xoshiro256pp::from_state(reset).output());
        assert_eq!(m.state(), loaded, "load must win over en, without an extra step");
        assert_eq!(m.cycle(false, [0; 4], false), Xoshiro256pp::from_state(loaded).output());
        assert_eq!(m.state(), loaded, "no en: state holds");
    }

    #[test]
    fn lane_model_en_steps_like_the_generator() {
        let reset = Xoshiro256pp::lane(11, 3).s;
        let mut m = XoshiroLaneModel::new(reset);
        let mut r = ref_from_state(reset);
        for i in 0..50 {
            assert_eq!(m.cycle(false, [!0; 4], true), r.next_u64(), "cycle {i}");
        }
        assert_eq!(m.state(), ref_state(&r));
    }

    #[test]
    fn lane_model_reset_restores_reset_state() {
        let reset = [9, 10, 11, 12];
        let mut m = XoshiroLaneModel::new(reset);
        assert_eq!(m.state(), reset);
        for _ in 0..5 {
            m.cycle(false, [0; 4], true);
        }
        m.cycle(true, [1, 2, 3, 4], false);
        assert_ne!(m.state(), reset);
        m.reset();
        assert_eq!(m.state(), reset);
        assert_eq!(m.cycle(false, [0; 4], false), Xoshiro256pp::from_state(reset).output());
    }

    #[test]
    fn lane_model_zero_state_is_stuck_at_zero() {
        let mut m = XoshiroLaneModel::new([1, 2, 3, 4]);
        m.cycle(true, [0; 4], false);
        for _ in 0..10 {
            assert_eq!(m.cycle(false, [0; 4], true), 0);
        }
        assert_eq!(m.state(), [0; 4]);
    }

    /// One stimulus step for the lane model.
    #[derive(Clone, Debug)]
    enum Op {
        Cycle { load: bool, load_state: [u64; 4], en: bool },
        Reset,
    }

    fn state_strategy() -> impl Strategy<Value = [u64; 4]> {
        // Mostly arbitrary states, sometimes the degenerate all-zero one the hardware can hold.
        prop_oneof![9 => any::<[u64; 4]>(), 1 => Just([0u64; 4])]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            20 => (prop::bool::weighted(0.15), state_strategy(), any::<bool>())
                .prop_map(|(load, load_state, en)| Op::Cycle { load, load_state, en }),
            1 => Just(Op::Reset),
        ]
    }

    /// Reference step built on `rand_xoshiro`; the all-zero state is a fixed point with output 0,
    /// which `rand_xoshiro` cannot represent, so it is handled explicitly.
    fn ref_output_and_next(s: [u64; 4]) -> (u64, [u64; 4]) {
        if s == [0; 4] {
            return (0, s);
        }
        let mut r = ref_from_state(s);
        let out = r.next_u64();
        (out, ref_state(&r))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn lane_model_matches_rederived_state_sequence(
            reset_state in state_strategy(),
            ops in prop::collection::vec(op_strategy(), 1..200),
        ) {
            // Re-derive the register contents cycle by cycle, then the outputs from them.
            let mut states = vec![reset_state];
            let mut expected = Vec::new();
            for op in &ops {
                let cur = *states.last().unwrap();
                match *op {
                    Op::Reset => states.push(reset_state),
                    Op::Cycle { load, load_state, en } => {
                        let (out, stepped) = ref_output_and_next(cur);
                        expected.push(out);
                        states.push(if load {
                            load_state
                        } else if en {
                            stepped
                        } else {
                            cur
                        });
                    }
                }
            }

            let mut m = XoshiroLaneModel::new(reset_state);
            let mut got = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Reset => m.reset(),
                    Op::Cycle { load, load_state, en } => got.push(m.cycle(load, load_state, en)),
                }
                prop_assert_eq!(m.state(), states[i + 1], "state after op {}", i);
            }
            prop_assert_eq!(got, expected);
        }
    }
}
