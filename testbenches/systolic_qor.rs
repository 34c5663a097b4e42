//! QoR of the systolic PE: Yosys on the OSU018 Liberty and OpenSTA. The area of one PE must be
//! within 10 % of the sum of the parts its dataflow needs, each synthesised alone (no wasted
//! logic), and not far below it (else the parts are not what the PE contains).

use std::path::Path;
use vdx::blocks::systolic::SystolicParams;
use vdx::blocks::systolic::qor::{format_pe_qor, pe_vs_parts};
use vdx::flows::synth::SynthOptions;

/// Whether Yosys and OpenSTA can be used; panics with install instructions when one is missing,
/// unless `VDX_SKIP_COSIM=1`.
fn synth_tools() -> bool {
    let found = |tool, package| match vdx::sim::require_tool(tool, package) {
        Ok(found) => found.is_some(),
        Err(e) => panic!("{e}"),
    };
    found("yosys", "yosys") && found("sta", "opensta")
}

/// Runs the comparison for `p` in a temporary folder, or in `$VDX_QOR_DIR/<label>` (kept, for
/// reading the `stat.rpt` of each part) when that is set.
fn run(p: &SystolicParams, label: &str) -> vdx::blocks::systolic::qor::PeQor {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = std::env::var_os("VDX_QOR_DIR")
        .map_or_else(|| tmp.path().to_path_buf(), |d| Path::new(&d).join(label));
    pe_vs_parts(p, &dir, &SynthOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pe_area_is_the_sum_of_its_parts() {
    if !synth_tools() {
        return;
    }
    let p = SystolicParams::default();
    let q = run(&p, "default");
    let table = format_pe_qor(&q);
    println!("{p:?}\n{table}");
    assert_eq!(q.parts.len(), 7, "two multipliers, two adders, three register parts\n{table}");
    // The PE's flip-flops are those of the register parts plus its 1-bit switch register.
    assert_eq!(q.pe.flops, q.parts.iter().map(|r| r.flops).sum::<u64>() + 1, "{table}");
    assert!(q.ratio <= 1.10, "PE carries logic beyond its dataflow: ratio {:.3}\n{table}", q.ratio);
    assert!(q.ratio >= 0.90, "parts do not match the PE: ratio {:.3}\n{table}", q.ratio);
    assert!(q.pe.critical_path_ns > 0.0 && q.pe.critical_path.len() > 2, "{table}");
    // The deepest logic is a lane's multiply-add, so the critical path ends in a partial sum.
    assert!(q.critical_to.starts_with("psum"), "critical path ends at {}\n{table}", q.critical_to);
}

/// The W4A8-only PE (about 1.01) and the unsigned one (about 0.96, where ABC maps the fused
/// multiply-add into fewer cells than the parts apart) hold to the same bounds.
#[test]
fn other_precisions() {
    if !synth_tools() {
        return;
    }
    for (label, p) in [
        ("w4", SystolicParams { weight_width: 4, ..Default::default() }),
        ("unsigned", SystolicParams { signed: false, ..Default::default() }),
    ] {
        let q = run(&p, label);
        let table = format_pe_qor(&q);
        println!("{label}: {p:?}\n{table}");
        assert!((0.90..=1.10).contains(&q.ratio), "{label}: ratio {:.3}\n{table}", q.ratio);
    }
}
