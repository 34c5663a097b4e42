//! Golden-model tests: the tiled, lane-split accumulation against the textbook GEMM, the tile
//! plan, widths and parameter checks.

use super::golden::{self, Gemm};
use super::{Span, SystolicParams};
use crate::blocks::BlockParams;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn small(rows: u32, cols: u32, weight_width: u32, signed: bool) -> SystolicParams {
    SystolicParams {
        rows,
        cols,
        weight_width,
        signed,
        max_k: 64,
        max_m: 64,
        max_n: 64,
        acc_rows: 4,
        ..Default::default()
    }
}

/// Reads slot `j` of a result beat as a signed (or unsigned) number.
fn slot(p: &SystolicParams, words: &[u32], j: u32) -> i128 {
    let acc = p.acc_bits();
    let v = i128::from(golden::unpack(words, j * acc, acc));
    if p.signed && v >> (acc - 1) & 1 == 1 { v - (1i128 << acc) } else { v }
}

#[test]
fn tiled_results_equal_the_textbook_gemm() {
    let mut rng = StdRng::seed_from_u64(7);
    for (rows, cols, ww, signed) in
        [(2, 2, 8, true), (3, 2, 8, false), (4, 3, 4, true), (1, 1, 8, true), (5, 4, 4, false)]
    {
        let p = small(rows, cols, ww, signed);
        for _ in 0..40 {
            let (m, k, n) = (rng.random_range(1..=11), rng.random_range(1..=13), rng.random_range(1..=17));
            let w4 = rng.random_bool(0.5);
            let g = Gemm::random(&p, &mut rng, m, k, n, w4);
            let exact = g.exact();
            let s = golden::streams(&p, std::slice::from_ref(&g), &mut || 0);
            // Results come chunk by chunk, column tile by column tile.
            let mut seen = vec![0usize; m * n];
            let mut beats = s.results.iter();
            for t in golden::plan(&p, m, k, n, g.w4).iter().filter(|t| t.last_k) {
                for i in 0..t.rows {
                    let beat = beats.next().expect("a beat per row");
                    for j in 0..p.lanes() * p.cols {
                        let v = slot(&p, &beat.data, j);
                        let col = t.n0 + j as usize;
                        if (j as usize) < t.cols {
                            assert_eq!(v, exact[(t.m0 + i) * n + col], "{p:?} {m}x{k}x{n} w4={}", g.w4);
                            seen[(t.m0 + i) * n + col] += 1;
                        } else {
                            assert_eq!(v, 0, "padding slot {j} must be zero");
                        }
                    }
                }
            }
            assert!(beats.next().is_none());
            assert!(seen.iter().all(|&c| c == 1), "every output exactly once");
            assert!(s.results.last().unwrap().last);
            assert_eq!(s.results.iter().filter(|r| r.last).count(), 1);
        }
    }
}

#[test]
fn streams_have_one_beat_per_real_row() {
    let p = small(4, 2, 8, true);
    let mut rng = StdRng::seed_from_u64(3);
    let g = Gemm::random(&p, &mut rng, 9, 10, 5, false);
    let s = golden::streams(&p, &[g], &mut || 0);
    let tiles = golden::plan(&p, 9, 10, 5, false);
    assert_eq!(s.weights.len(), tiles.iter().map(|t| t.k_rows).sum::<usize>());
    assert_eq!(s.acts.len(), tiles.iter().map(|t| t.rows).sum::<usize>());
    assert_eq!(s.results.len(), 9 * 3);
}

#[test]
fn spans_give_exact_widths() {
    assert_eq!(Span::of(8, true).bits(true), 8);
    assert_eq!(Span { lo: -128, hi: 128 }.bits(true), 9);
    assert_eq!(Span { lo: 0, hi: 255 }.bits(false), 8);
    assert_eq!(Span { lo: 0, hi: 256 }.bits(false), 9);
    let p = SystolicParams::default();
    // 16384 products of at most 128·128 = 2^14: 2^28 needs 30 signed bits.
    assert_eq!(p.required_acc_width(), 30);
    // 128 lane products in [-1920, 1905]: [-245760, 243840] needs 19 bits.
    assert_eq!(p.psum_width(), 19);
}

#[test]
fn bad_parameters_are_named() {
    let bad = SystolicParams { rows: 0, ..Default::default() };
    let issues = bad.validate();
    assert!(
        issues.iter().any(|i| i.field == "rows" && i.message.contains("0 is out of range 1..=256")),
        "{issues:?}"
    );
    let narrow = SystolicParams { acc_width: 24, max_k: 4096, ..Default::default() };
    let issues = narrow.validate();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field, "acc_width");
    assert!(issues[0].message.contains("too narrow for max_k = 4096"), "{}", issues[0].message);
    assert!(issues[0].message.contains("needs 28 bits"), "{}", issues[0].message);
    let odd = SystolicParams { weight_width: 6, max_k: 1000, ..Default::default() };
    let fields: Vec<String> = odd.validate().into_iter().map(|i| i.field).collect();
    assert_eq!(fields, ["weight_width", "max_k"]);
    assert!(SystolicParams::default().validate().is_empty());
}

#[test]
fn unpack_reads_back_what_the_packer_wrote() {
    let fields = [(-3i64, 5u32), (0x1234_5678_9abc, 48), (1, 1), (-1, 64), (77, 7)];
    let mut packer = golden::Packer::default();
    for &(v, w) in &fields {
        packer.put(v, w);
    }
    let words = packer.finish();
    let mut at = 0;
    for &(v, w) in &fields {
        let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
        assert_eq!(golden::unpack(&words, at, w), v as u64 & mask, "field at {at}, {w} bits");
        at += w;
    }
}
