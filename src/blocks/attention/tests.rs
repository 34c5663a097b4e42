use super::golden::{Job, reference_head, run_head};
use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// A small engine for unit tests.
pub(crate) fn small() -> SpatialAttentionParams {
    SpatialAttentionParams { lanes: 2, d: 8, bk: 4, bq: 8, max_keys: 64, ..Default::default() }
}

#[test]
fn golden_outputs_follow_exact_attention() {
    let p = SpatialAttentionParams { scale: 1.0 / 64.0, ..small() };
    let mut rng = StdRng::seed_from_u64(3);
    for (rows, len, causal, q_pos) in [(5, 13, false, 0), (8, 30, true, 7), (1, 1, false, 0), (3, 9, true, 0)]
    {
        let job = Job::random(&p, &mut rng, rows, len, causal, q_pos);
        for h in &job.heads {
            let got = run_head(&p, &job, h);
            let want = reference_head(&p, &job, h);
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                let g = *g as f64 / f64::from(1u32 << p.out_frac);
                assert!(
                    (g - w).abs() < 0.02 * 128.0 / 8.0,
                    "{g} vs {w} ({rows} rows, len {len}, causal {causal})"
                );
            }
        }
    }
}

#[test]
fn bad_parameters_name_their_field() {
    let cases: [(SpatialAttentionParams, &str); 5] = [
        (SpatialAttentionParams { d: 0, ..small() }, "d"),
        (SpatialAttentionParams { bk: 300, ..small() }, "bk"),
        (SpatialAttentionParams { prob_width: 16, ..small() }, "prob_width"),
        (SpatialAttentionParams { score_width: 12, ..small() }, "score_width"),
        (SpatialAttentionParams { max_keys: 2, ..small() }, "max_keys"),
    ];
    for (p, field) in cases {
        let issues = p.validate();
        assert!(issues.iter().any(|i| i.field == field), "{field}: {issues:?}");
    }
    assert!(small().validate().is_empty(), "{:?}", small().validate());
    assert!(SpatialAttentionParams::default().validate().is_empty());
}
