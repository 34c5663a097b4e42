//! Helpers shared by the co-simulation tests.
#![allow(dead_code)]

/// Whether Verilator can be used. Panics with install instructions when it is missing, unless
/// `VDX_SKIP_COSIM=1` asks to skip (which is then printed).
pub fn verilator() -> bool {
    tool("verilator", "verilator")
}

/// Whether Icarus Verilog can be used (same rules as [`verilator`]).
pub fn icarus() -> bool {
    tool("iverilog", "iverilog")
}

/// Whether Verilator and Yosys can be used for lint (same rules as [`verilator`]).
pub fn lint_tools() -> bool {
    tool("verilator", "verilator") && tool("yosys", "yosys")
}

fn tool(name: &str, package: &str) -> bool {
    match vdx::sim::require_tool(name, package) {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(e) => panic!("{e}"),
    }
}

/// Asserts that every module of `emitted` passes Verilator `-Wall` lint and the Yosys check
/// (when the tools are present; see [`lint_tools`]).
pub fn assert_lint_clean(emitted: &vdx::hdl::Emitted) {
    if !lint_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    emitted.write_to(dir.path()).expect("writing the design");
    let report = vdx::flows::lint::lint_dir(dir.path()).expect("running lint");
    assert!(report.is_clean(), "{}", vdx::flows::lint::format_report(&report));
}

/// Asserts that the files of `src` (a top with the behavioural models of its black boxes) pass
/// Verilator `-Wall` lint and the Yosys check, every module as a top.
pub fn assert_sim_lint_clean(src: &vdx::hdl::SimSource) {
    if !lint_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    for f in src.files.iter().filter(|f| !f.is_verilator_control()) {
        std::fs::write(dir.path().join(&f.name), &f.text).expect("writing the design");
    }
    let report = vdx::flows::lint::lint_dir(dir.path()).expect("running lint");
    assert!(report.is_clean(), "{}", vdx::flows::lint::format_report(&report));
}
