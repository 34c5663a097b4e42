use super::TemporalAttentionParams;
use super::golden::{Command, Mask, Operands, reference_job, run_job};
use crate::blocks::BlockParams;
use crate::blocks::latent::golden::Mapping;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn params() -> TemporalAttentionParams {
    TemporalAttentionParams {
        lanes: 4,
        t_max: 8,
        d: 8,
        banks: 8,
        depth: 64,
        pitch_width: 4,
        ..Default::default()
    }
}

#[test]
fn masks_keep_what_their_definition_says() {
    let full = Mask::default();
    assert_eq!(full.pairs(30), 900);
    let causal = Mask { causal: true, ..full };
    assert_eq!(causal.pairs(30), 30 * 31 / 2);
    let band = Mask { window: 2, ..full };
    assert!(band.keeps(10, 5, 4) && band.keeps(10, 5, 6) && !band.keeps(10, 5, 7) && !band.keeps(10, 5, 3));
    let trailing = Mask { causal: true, window: 3, ..full };
    let seen: Vec<usize> = (0..10).filter(|&j| trailing.keeps(10, 5, j)).collect();
    assert_eq!(seen, [3, 4, 5]);
    let skip = Mask { skip: 0b101, ..full };
    assert_eq!(skip.pairs(3), 3, "only frame 1 is seen");
    // Frame 0 causal with frame 0 skipped sees nothing: one cycle, no pair.
    let empty_row = Mask { causal: true, skip: 1, window: 0 };
    assert_eq!(empty_row.pairs(2), 1);
    assert_eq!(empty_row.cycles(2), 2);
}

#[test]
fn bad_commands_name_their_field() {
    let p = params();
    let good = Command::frame_major(&p, 8, 10, 2, 0);
    assert_eq!(good.check(&p), Ok(()));
    let field = |c: Command| c.check(&p).unwrap_err().field;
    assert_eq!(field(Command { frames: 0, ..good.clone() }), "frames");
    assert_eq!(field(Command { frames: 9, ..good.clone() }), "frames");
    assert_eq!(field(Command { mask: Mask { window: 9, ..Mask::default() }, ..good.clone() }), "window");
    assert_eq!(field(Command { positions: 3, ..good.clone() }), "positions", "4 lanes, 3 positions");
    assert_eq!(field(Command { heads: 0, ..good.clone() }), "heads");
    assert_eq!(field(Command { frame_stride: 1 << 30, ..good.clone() }), "frame_stride");
    assert_eq!(field(Command { pos_stride: 1 << 26, ..good.clone() }), "pos_stride");
    assert_eq!(field(Command { mask: Mask { skip: 1 << 8, ..Mask::default() }, ..good }), "skip");
}

#[test]
fn default_params_are_valid_and_bad_ones_named() {
    assert!(TemporalAttentionParams::default().validate().is_empty());
    let bad = |p: TemporalAttentionParams| p.validate().into_iter().map(|i| i.field).collect::<Vec<_>>();
    assert_eq!(bad(TemporalAttentionParams { t_max: 0, ..params() }), ["t_max"]);
    assert_eq!(bad(TemporalAttentionParams { lanes: 3, ..params() }), ["lanes"]);
    assert_eq!(bad(TemporalAttentionParams { banks: 5, ..params() }), ["banks"]);
}

#[test]
fn the_vdx1_gather_is_conflict_free_and_a_position_major_one_is_not() {
    let p = TemporalAttentionParams::default();
    // Wan-14B: 40 heads of Q, K and V in one token (120 words), 90x160 positions, 30 frames.
    let map = Mapping { banks: 256, depth: 1 << 30, pitch: 120, tokens: 1 << 40 };
    // The layout's strides, the first 512 positions and 2 heads of it.
    let part = |c: Command| Command { positions: 512, heads: 2, ..c };
    let frame_major = part(Command::frame_major(&p, 30, 14_400, 40, 0));
    assert!(frame_major.read_beats(&p).iter().all(|b| b.cycles(&map) == 1));
    let position_major = part(Command::position_major(&p, 30, 14_400, 40, 0));
    let worst = position_major.read_beats(&p).iter().map(|b| b.cycles(&map)).max().unwrap();
    assert_eq!(worst, 2, "tokens 30 apart: gcd(30, 256) = 2");
}

fn random_ops(rng: &mut StdRng, t: usize, d: usize) -> Operands {
    let mut m = || (0..t).map(|_| (0..d).map(|_| rng.random_range(-128..=127)).collect()).collect();
    Operands { q: m(), k: m(), v: m() }
}

proptest! {
    /// The lane's integer attention stays within 1.5 output units plus 1% of the largest value
    /// of the f64 attention on the same operands, for every mask.
    #[test]
    fn lane_is_close_to_the_f64_reference(seed in 0u64..1000, t in 1usize..=8, causal: bool, window in 0u32..=8, skip in 0u64..256) {
        let p = params();
        let mut rng = StdRng::seed_from_u64(seed);
        let ops = random_ops(&mut rng, t, p.d as usize);
        let mask = Mask { causal, window: window.min(t as u32), skip: skip & ((1 << t) - 1) };
        let got = run_job(&p, &ops, &mask);
        let want = reference_job(&p, &ops, &mask);
        let unit = f64::from(1u32 << p.out_frac);
        for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
            prop_assert!((*g as f64 / unit - w).abs() <= 1.5 / unit + 0.01 * 128.0, "{g} vs {w}");
        }
    }
}

/// Steady-state cycles between consecutive jobs' last beats, by the cycle model.
fn job_spacing(p: &TemporalAttentionParams, mask: &Mask, beat_cycles: &[u64]) -> Vec<u64> {
    let jobs = beat_cycles.len() as u64 / 90;
    let outs = super::golden::job_timing(p, 30, mask, jobs, 0, beat_cycles);
    let ends = super::golden::job_ends(&outs, 30);
    ends.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn full_attention_keeps_the_lanes_busy_and_sparse_masks_are_load_bound() {
    let p = TemporalAttentionParams::default();
    let full = job_spacing(&p, &Mask::default(), &[1; 12 * 90]);
    assert!(full.iter().all(|&c| c == 900), "{full:?}");
    for w in 1..=30 {
        for causal in [false, true] {
            let mask = Mask { causal, window: w, skip: 0 };
            let gaps = job_spacing(&p, &mask, &[1; 8 * 90]);
            let bound = mask.cycles(30).max(90);
            assert!(gaps.iter().all(|&c| c >= bound), "{mask:?}: {gaps:?} under {bound}");
        }
    }
}

#[test]
fn conflicts_delay_beats_by_at_most_their_cycles() {
    let p = TemporalAttentionParams::default();
    let mut rng = StdRng::seed_from_u64(3);
    for mask in [Mask::default(), Mask { window: 2, ..Mask::default() }] {
        let free = super::golden::job_timing(&p, 30, &mask, 6, 0, &[1; 6 * 90]);
        let ks: Vec<u64> =
            (0..6 * 90).map(|_| if rng.random_bool(0.2) { rng.random_range(2..5) } else { 1 }).collect();
        let slow = super::golden::job_timing(&p, 30, &mask, 6, 0, &ks);
        let lost: u64 = ks.iter().map(|k| k - 1).sum();
        for (f, s) in free.iter().zip(&slow) {
            assert!(f <= s && *s <= f + lost, "{f} -> {s} with {lost} conflict cycles");
        }
        assert!(slow.last() > free.last(), "conflicts cost nothing: {mask:?}");
    }
}
