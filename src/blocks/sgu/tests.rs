//! Accuracy of the fixed-point pair unit against the f64 reference.

use super::SguParams;
use super::golden::{BoxMuller, reference, round_to_fixed};

/// Largest distance, in output ulps, between the unit and the correctly rounded reference over
/// `inputs`; also returns the input where it occurs.
fn worst_ulps(bm: &BoxMuller, inputs: impl Iterator<Item = u64>) -> (i64, u64, usize) {
    let mut worst = (0, 0, 0);
    let mut n = 0;
    for r in inputs {
        n += 1;
        let got = bm.sample(r);
        let want = reference(r, bm.u0_bits);
        for k in 0..2 {
            let d = (got[k] - round_to_fixed(want[k], bm.out_frac)).abs();
            if d > worst.0 {
                worst = (d, r, n);
            }
        }
    }
    (worst.0, worst.1, n)
}

/// Inputs that stress the extremes: the smallest and largest `m` (largest and smallest `e`),
/// every power of two (every leading-zero count), and all 2^16 angles for some of them.
fn extreme_inputs(u0_bits: u32) -> Vec<u64> {
    let mut ms: Vec<u64> = (0..64).collect();
    let top = (1u64 << u0_bits) - 1;
    ms.extend((0..64).map(|k| top - k));
    for b in 0..u0_bits {
        ms.extend([(1u64 << b).saturating_sub(1), 1 << b, (1 << b) + 1]);
    }
    let mut out = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        let angles: Box<dyn Iterator<Item = u64>> =
            if i % 16 == 0 { Box::new(0..65536) } else { Box::new((0..65536).step_by(257)) };
        for u1 in angles {
            out.push((m << (64 - u0_bits)) | u1);
        }
    }
    out
}

#[test]
fn default_unit_is_within_one_ulp_over_ten_million_inputs() {
    let p = SguParams::default();
    let bm = BoxMuller::new(&p);
    let (extreme, at, n_extreme) = worst_ulps(&bm, extreme_inputs(p.u0_bits).into_iter());
    assert!(extreme <= 1, "{extreme} ulps at r = {at:#018x}");
    let mut state = 0x5eed_u64;
    let random = (0..10_000_000).map(|_| crate::blocks::xoshiro::golden::splitmix64(&mut state));
    let (worst, at, n) = worst_ulps(&bm, random);
    println!(
        "max error {worst} ulp over {n} random and {n_extreme} extreme inputs (worst random at {at:#018x})"
    );
    assert!(worst <= 1, "{worst} ulps at r = {at:#018x}");
}

#[test]
fn narrower_u0_and_coarser_tables_stay_within_one_ulp() {
    for p in [
        SguParams { u0_bits: 32, ..SguParams::default() },
        SguParams { out_width: 18, out_frac: 13, ..SguParams::default() },
        SguParams {
            ln_segments_log2: 7,
            sqrt_segments_log2: 4,
            trig_segments_log2: 5,
            ..SguParams::default()
        },
    ] {
        let bm = BoxMuller::new(&p);
        let mut state = 7;
        let random = (0..300_000).map(|_| crate::blocks::xoshiro::golden::splitmix64(&mut state));
        let inputs = extreme_inputs(p.u0_bits).into_iter().step_by(7).chain(random);
        let (worst, at, _) = worst_ulps(&bm, inputs);
        assert!(worst <= 1, "{p:?}: {worst} ulps at r = {at:#018x}");
    }
}

#[test]
fn the_tail_reaches_eight_sigma() {
    let p = SguParams::default();
    let bm = BoxMuller::new(&p);
    // m = 0 is the smallest u0; θ near 0 puts it all on the cosine.
    let r = 0x0000_0000_0000_0000u64;
    let [_, x1] = bm.sample(r);
    let sigma = x1 as f64 / f64::from(1u32 << p.out_frac);
    assert!(sigma > 8.0, "largest sample {sigma}");
    assert!((sigma - p.max_sigma()).abs() < 0.01, "{sigma} vs {}", p.max_sigma());
}

#[test]
fn output_width_too_small_for_the_tail_is_rejected() {
    let p = SguParams { out_width: 14, out_frac: 11, ..SguParams::default() };
    let issues = p.check();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].message.contains("the tail reaches 8.24"), "{}", issues[0].message);
    let p = SguParams { lanes: 0, u0_bits: 31, ..SguParams::default() };
    let fields: Vec<String> = p.check().into_iter().map(|i| i.field).collect();
    assert_eq!(fields, ["lanes", "u0_bits"]);
}
