//! Golden-model tests: the row state is order-free, the tables and the reciprocal stay within
//! their stated error, and bad parameters name their field.

use super::OnlineSoftmaxParams;
use super::golden::{self, Beat, RowState, RowUnit, Tables};
use crate::blocks::BlockParams;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn small() -> OnlineSoftmaxParams {
    OnlineSoftmaxParams { row_width: 8, max_rows: 4, ..Default::default() }
}

/// The state of `scores` (all kept) taken as one beat per chunk of `row_width`, merged in order.
fn state_of(p: &OnlineSoftmaxParams, t: &Tables, scores: &[i64]) -> RowState {
    scores.chunks(p.row_width as usize).fold(RowState::empty(p), |s, chunk| {
        let beat =
            Beat { scores: chunk.to_vec(), keep: vec![true; chunk.len()], row: 0, first: false, last: false };
        s.merge(&golden::beat_state(p, t, &beat).0, p)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Splitting a row into any blocks, taking them in any order and merging the partial states
    /// in any tree gives the bits of the whole row taken one element at a time.
    #[test]
    fn any_split_in_any_order_merges_to_the_same_bits(
        scores in prop::collection::vec(-(1i64 << 23)..(1i64 << 23), 1..80),
        narrow in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        seed in any::<u64>(),
    ) {
        let p = OnlineSoftmaxParams { row_width: 1, ..Default::default() };
        let t = Tables::new(&p);
        // Half the cases keep the scores within a few binary places, where every bucket is busy.
        let scores: Vec<i64> = if narrow { scores.iter().map(|x| x >> 8).collect() } else { scores };
        let one_by_one = state_of(&p, &t, &scores);
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(scores.len() + 1)).collect();
        bounds.extend([0, scores.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        let mut parts: Vec<RowState> = bounds.windows(2).map(|w| state_of(&p, &t, &scores[w[0]..w[1]])).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        while parts.len() > 1 {
            let a = parts.swap_remove(rng.random_range(0..parts.len()));
            let b = parts.swap_remove(rng.random_range(0..parts.len()));
            parts.push(if rng.random_bool(0.5) { a.merge(&b, &p) } else { b.merge(&a, &p) });
        }
        prop_assert_eq!(&parts[0], &one_by_one);
    }
}

#[test]
fn beats_of_different_widths_give_the_same_state() {
    let mut rng = StdRng::seed_from_u64(3);
    let scores: Vec<i64> = (0..300).map(|_| rng.random_range(-(1 << 20)..(1 << 20))).collect();
    let reference = {
        let p = OnlineSoftmaxParams { row_width: 1, ..Default::default() };
        state_of(&p, &Tables::new(&p), &scores)
    };
    for w in [3, 8, 128] {
        let p = OnlineSoftmaxParams { row_width: w, ..Default::default() };
        assert_eq!(state_of(&p, &Tables::new(&p), &scores), reference, "row_width {w}");
    }
}

#[test]
fn the_exp2_table_is_within_the_chord_bound() {
    for segments in [8u32, 16, 32] {
        let p = OnlineSoftmaxParams { segments, ..Default::default() };
        let t = Tables::new(&p);
        let one = 2f64.powi(p.table_frac() as i32);
        let mut worst = 0f64;
        for g in 0..(1u64 << p.exp_frac) {
            let y = -(g as i64);
            let pw = golden::power(&p, &t, y, 0);
            assert_eq!(pw.k, 0);
            let exact = (-(g as f64) / f64::from(1u32 << p.exp_frac)).exp2();
            worst = worst.max((pw.table as f64 / one - exact).abs());
        }
        // Chord error of 2^-g: h^2/8 * max|f''| = (ln 2)^2 / (8 S^2), plus the table's rounding.
        let bound = std::f64::consts::LN_2.powi(2) / (8.0 * f64::from(segments).powi(2)) + 2.0 / one;
        assert!(worst <= bound, "{segments} segments: {worst:e} > {bound:e}");
        assert!(worst > bound / 4.0, "{segments} segments: {worst:e} is far below the chord bound");
    }
}

#[test]
fn the_reciprocal_is_accurate_and_fits_its_port() {
    let p = OnlineSoftmaxParams::default();
    let t = Tables::new(&p);
    let mut rng = StdRng::seed_from_u64(5);
    let r = p.recip_frac();
    let mut worst = 0f64;
    for i in 0..20_000 {
        let mut s = RowState::empty(&p);
        s.valid = true;
        // l from its smallest (one score at the top of bucket 0) to max_len terms of 1.
        s.buckets[0] = if i == 0 {
            1 << (p.table_frac() - 1)
        } else {
            rng.random_range(1 << (p.table_frac() - 1)..=p.max_len << p.table_frac())
        };
        s.buckets[3] = rng.random_range(0..1 << 10);
        let (mant, exp) = golden::reciprocal(&p, &t, &s).unwrap();
        assert!(mant <= 1 << r, "1/x mantissa {mant} does not fit {} bits", r + 1);
        let l = s.sum(&p) as f64 * 2f64.powi(-((p.table_frac() + p.depth()) as i32));
        let got = mant as f64 * 2f64.powi(-(r as i32) - exp as i32);
        worst = worst.max((got * l - 1.0).abs());
    }
    assert!(worst < 4.0 * 2f64.powi(-(r as i32)), "relative error of 1/l {worst:e}");
    assert!(golden::reciprocal(&p, &t, &RowState::empty(&p)).is_none());
}

#[test]
fn probabilities_of_a_row_sum_to_one_and_match_the_reference() {
    let p = small();
    let mut unit = RowUnit::new(&p);
    let mut rng = StdRng::seed_from_u64(9);
    let scores: Vec<i64> = (0..40).map(|_| rng.random_range(-20_000..20_000)).collect();
    let keep: Vec<bool> = (0..40).map(|j| j % 7 != 3).collect();
    let outs: Vec<_> = scores
        .chunks(8)
        .zip(keep.chunks(8))
        .enumerate()
        .map(|(b, (s, k))| {
            unit.beat(&Beat { scores: s.to_vec(), keep: k.to_vec(), row: 2, first: b == 0, last: b == 4 })
        })
        .collect();
    let got = golden::normalised(&p, &outs);
    let want = golden::reference_softmax(&p, &scores, &keep);
    let sum: f64 = got.iter().sum();
    assert!((sum - 1.0).abs() < 1e-2, "sum {sum}");
    for (j, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 2f64.powi(-10), "score {j}: {g} vs {w}");
        if !keep[j] {
            assert_eq!(*g, 0.0);
        }
    }
    assert!(outs[4].last && !outs[4].empty && outs[4].inv_l > 0);
}

#[test]
fn a_masked_row_is_empty_and_a_first_beat_forgets_the_old_state() {
    let p = small();
    let mut unit = RowUnit::new(&p);
    let beat = |scores: Vec<i64>, keep: bool, first: bool| Beat {
        scores,
        keep: vec![keep; 8],
        row: 1,
        first,
        last: true,
    };
    let out = unit.beat(&beat(vec![5; 8], false, true));
    assert!(out.empty && out.inv_l == 0 && out.prob.iter().all(|&x| x == 0));
    let a = unit.beat(&beat(vec![1 << 20; 8], true, true));
    let b = unit.beat(&beat(vec![1 << 20; 8], true, true));
    assert_eq!(a, b, "a first beat must not see the row's earlier state");
}

#[test]
fn bad_parameters_name_their_field() {
    let cases: Vec<(OnlineSoftmaxParams, &str)> = vec![
        (OnlineSoftmaxParams { row_width: 0, ..Default::default() }, "row_width"),
        (OnlineSoftmaxParams { scale: -1.0, ..Default::default() }, "scale"),
        (OnlineSoftmaxParams { scale: f64::NAN, ..Default::default() }, "scale"),
        (OnlineSoftmaxParams { scale: 1e9, ..Default::default() }, "scale"),
        (OnlineSoftmaxParams { segments: 3, ..Default::default() }, "segments"),
        (OnlineSoftmaxParams { segments: 2048, exp_frac: 10, ..Default::default() }, "segments"),
        (OnlineSoftmaxParams { prob_width: 2, ..Default::default() }, "prob_width"),
        (OnlineSoftmaxParams { max_len: 100, ..Default::default() }, "max_len"),
        (OnlineSoftmaxParams { max_len: 64, row_width: 128, ..Default::default() }, "max_len"),
        (OnlineSoftmaxParams { max_rows: 0, ..Default::default() }, "max_rows"),
        (OnlineSoftmaxParams { recip_segments: 1, ..Default::default() }, "recip_segments"),
    ];
    for (p, field) in cases {
        let issues = p.validate();
        assert!(issues.iter().any(|i| i.field == field), "{field}: {issues:?}");
    }
    assert!(OnlineSoftmaxParams::default().validate().is_empty());
}
