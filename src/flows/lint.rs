//! Lint of generated Verilog with Verilator and Yosys (verification layer 4 in the design notes).
//!
//! Each module is linted as a top module with all files given, so instances below it resolve:
//! - `verilator --lint-only -Wall -Wno-fatal --top-module M <files>`: every `%Warning…` or
//!   `%Error…` line is a finding. `-Wno-fatal` keeps warnings from stopping Verilator at one of its
//!   intermediate abort points, so one run reports everything; the exit status then only flags
//!   errors, which is why the output, not the status, decides.
//! - `yosys -q -p "read_verilog <files>; hierarchy -check -top M; proc; check -assert"`: every
//!   `Warning:` or `ERROR:` line is a finding (with `-q` Yosys prints nothing else), which covers the
//!   multiple-driver and undriven-wire problems `check -assert` fails on.
//!
//! Findings carry the module that was the top of the run that produced them. A warning inside a
//! submodule therefore shows up under the submodule and under each module above it, and Verilator
//! parse warnings about any file (such as `DECLFILENAME`) show up under every top: each row of the
//! report answers "is this module clean as a top with these files", which is what a user taking a
//! block out of the tree needs to know.
//!
//! Summary lines that only count the other findings (`%Error: Exiting due to N warning(s)`,
//! `ERROR: Found N problems in 'check -assert'`) are dropped when the same run produced other
//! findings; a run that fails without any recognisable line still yields one finding with its
//! output tail, so a failure can never look clean.

use crate::hdl::names::declared_modules;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Install hint shared by both tools: they come as a pair on every supported distribution.
const INSTALL_HINT: &str = "apt-get install verilator yosys";

/// How many characters of tool output a finding keeps when no recognisable line was printed.
const TAIL_CHARS: usize = 2000;

/// One warning or error reported by a lint tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFinding {
    /// `"verilator"` or `"yosys"`.
    pub tool: &'static str,
    /// The module that was the top of the run reporting it (see the module docs).
    pub module: String,
    /// The tool's message, on one line (Yosys continuation lines are joined on with `; `).
    pub message: String,
}

/// Result of linting a set of modules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintReport {
    /// The modules linted as tops, in the order given (for `lint_dir`: file order, then order
    /// within each file).
    pub modules: Vec<String>,
    /// Every finding, grouped by module in `modules` order, Verilator before Yosys.
    pub findings: Vec<LintFinding>,
}

impl LintReport {
    /// True when no tool reported anything: the design notes require zero warnings.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Findings of `tool` for `module`.
    pub fn findings_for<'a>(
        &'a self,
        module: &'a str,
        tool: &'a str,
    ) -> impl Iterator<Item = &'a LintFinding> + 'a {
        self.findings.iter().filter(move |f| f.module == module && f.tool == tool)
    }
}

/// Why linting could not be carried out (as opposed to findings, which are results).
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A lint tool is not installed.
    #[error("{tool} not found on PATH: install it with `{INSTALL_HINT}`")]
    ToolMissing {
        /// Executable name.
        tool: &'static str,
    },
    /// A lint tool is installed but could not be started.
    #[error("could not start {tool} ({path}): {source}", path = path.display())]
    Spawn {
        /// Executable name.
        tool: &'static str,
        /// The executable found on `PATH`.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// File system error, with the path it concerns.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// A path that the Yosys script language would misread.
    #[error("cannot lint {path}: {reason}", path = path.display())]
    BadPath {
        /// The offending path.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Nothing to lint: an empty file list, no top modules, or a directory without modules.
    #[error("nothing to lint: {0}")]
    Empty(String),
}

/// Lints every module in `tops` as a top module, giving the tools all of `files` so that the
/// hierarchy below each top resolves. Tops are linted in parallel; the report is in `tops` order.
pub fn lint_files(files: &[PathBuf], tops: &[String]) -> Result<LintReport, LintError> {
    if files.is_empty() {
        return Err(LintError::Empty("no Verilog files given".into()));
    }
    let jobs: Vec<(String, Vec<PathBuf>)> = tops.iter().map(|t| (t.clone(), files.to_vec())).collect();
    lint_each(&jobs)
}

/// Lints each `(top, files)` pair: the module `top` as the top, with exactly `files` (its own
/// file and those of the modules below it), so a broken file is blamed only on the modules that
/// use it. Jobs run in parallel; the report is in job order.
pub fn lint_each(jobs: &[(String, Vec<PathBuf>)]) -> Result<LintReport, LintError> {
    let labelled: Vec<(String, String, Vec<PathBuf>)> =
        jobs.iter().map(|(top, files)| (top.clone(), top.clone(), files.clone())).collect();
    lint_each_labelled(&labelled)
}

/// [`lint_each`] with a label per job, `(label, top, files)`: the report names each job by its
/// label (e.g. the module and its folder, when one module name stands for different files).
pub fn lint_each_labelled(jobs: &[(String, String, Vec<PathBuf>)]) -> Result<LintReport, LintError> {
    if jobs.is_empty() {
        return Err(LintError::Empty("no top modules given".into()));
    }
    let verilator = find_tool("verilator")?;
    let yosys = find_tool("yosys")?;
    let mut args = Vec::new();
    for (_, top, files) in jobs {
        if files.is_empty() {
            return Err(LintError::Empty(format!("no Verilog files given for `{top}`")));
        }
        for f in files {
            std::fs::metadata(f).map_err(|source| LintError::Io { path: f.clone(), source })?;
        }
        args.push(ToolArgs { files: file_args(files), read_script: yosys_read_command(files)? });
    }

    let results: Vec<Mutex<Option<TopResult>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((label, top, _)) = jobs.get(i) else { break };
                    let r = lint_top(&verilator, &yosys, &args[i], top, label);
                    // A poisoned slot only means another worker panicked; the scope re-raises it.
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });

    let mut findings = Vec::new();
    for (slot, (label, _, _)) in results.into_iter().zip(jobs) {
        match slot.into_inner().ok().flatten() {
            Some(r) => findings.extend(r?),
            None => return Err(LintError::Empty(format!("no lint result for `{label}`"))),
        }
    }
    Ok(LintReport { modules: jobs.iter().map(|(l, _, _)| l.clone()).collect(), findings })
}

/// A port-only stand-in for `module` from its vdx-generated Verilog (the `module … );` header
/// with nothing inside), marked `(* blackbox *)` for Yosys and with Verilator's undriven and unused
/// warnings off: a top that instantiates it is linted against its ports without elaborating
/// it. `None` when the text has no such header.
pub fn port_stub(verilog: &str, module: &str) -> Option<String> {
    let start = verilog.find(&format!("module {module} ("))?;
    let end = start + verilog[start..].find("\n);")? + 3;
    Some(format!(
        "// port stub of {module} for linting the modules that instantiate it\n\
         `default_nettype none\n\
         /* verilator lint_off UNDRIVEN */\n\
         /* verilator lint_off UNUSEDSIGNAL */\n\
         (* blackbox *)\n\
         {}\n\
         endmodule\n\
         /* verilator lint_on UNUSEDSIGNAL */\n\
         /* verilator lint_on UNDRIVEN */\n\
         `default_nettype wire\n",
        &verilog[start..end]
    ))
}

/// Lints every `*.v` file in `dir` (sorted by name), with every module declared in them as a top
/// candidate.
pub fn lint_dir(dir: &Path) -> Result<LintReport, LintError> {
    let io_err = |source| LintError::Io { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if path.extension().is_some_and(|e| e == "v") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut tops: Vec<String> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|source| LintError::Io { path: f.clone(), source })?;
        for m in declared_modules(&text) {
            // A module defined twice is linted once; the tools report the redefinition.
            if !tops.contains(&m) {
                tops.push(m);
            }
        }
    }
    if tops.is_empty() {
        return Err(LintError::Empty(format!("no `module` declarations in *.v files of {}", dir.display())));
    }
    lint_files(&files, &tops)
}

/// Renders `report` as a table (module | verilator warnings | yosys check) followed by every
/// finding, for the CLI and for test failure messages.
pub fn format_report(report: &LintReport) -> String {
    let rows: Vec<(String, String, String)> = report
        .modules
        .iter()
        .map(|m| {
            let v = report.findings_for(m, "verilator").count();
            let y = report.findings_for(m, "yosys").count();
            let check = if y == 0 { "pass".to_string() } else { format!("FAIL ({y})") };
            (m.clone(), v.to_string(), check)
        })
        .collect();
    let head = ("module", "verilator warnings", "yosys check");
    let w0 = rows.iter().map(|r| r.0.len()).chain([head.0.len()]).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).chain([head.1.len()]).max().unwrap_or(0);
    let mut out = format!("{:<w0$} | {:<w1$} | {}\n", head.0, head.1, head.2);
    out.push_str(&format!("{}-+-{}-+-{}\n", "-".repeat(w0), "-".repeat(w1), "-".repeat(head.2.len())));
    for (m, v, y) in &rows {
        out.push_str(&format!("{m:<w0$} | {v:<w1$} | {y}\n"));
    }
    if report.findings.is_empty() {
        out.push_str("\nclean: no findings\n");
    } else {
        out.push_str(&format!("\n{} finding(s):\n", report.findings.len()));
        for f in &report.findings {
            out.push_str(&format!("  [{}] {}: {}\n", f.tool, f.module, f.message));
        }
    }
    out
}

/// Findings of one top's runs, filled in by whichever worker thread linted it.
type TopResult = Result<Vec<LintFinding>, LintError>;

/// Arguments shared by every top's runs, prepared once.
struct ToolArgs {
    /// File paths as Verilator arguments.
    files: Vec<String>,
    /// `read_verilog "<f1>" "<f2>" …` for the Yosys script.
    read_script: String,
}

fn find_tool(tool: &'static str) -> Result<PathBuf, LintError> {
    crate::sim::find_on_path(tool).ok_or(LintError::ToolMissing { tool })
}

/// Paths as arguments; a leading `-` would be read as an option, so such paths get `./`.
fn file_args(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| {
            let s = f.display().to_string();
            if s.starts_with('-') { format!("./{s}") } else { s }
        })
        .collect()
}

/// Builds the `read_verilog` command, each path in double quotes (so spaces survive). `;`
/// separates script commands and a line break ends one; Yosys 0.23 happens to keep a quoted `;`
/// together, but whether a path is split should not hinge on the quoting rules of one Yosys
/// version, so such paths, and `"` (which would end the quoting), are refused outright.
fn yosys_read_command(files: &[PathBuf]) -> Result<String, LintError> {
    let mut cmd = String::from("read_verilog");
    for (f, arg) in files.iter().zip(file_args(files)) {
        let reason = if arg.contains(';') {
            Some("the path contains `;`, which separates Yosys script commands")
        } else if arg.contains(['\n', '\r']) {
            Some("the path contains a line break, which ends a Yosys script command")
        } else if arg.contains('"') {
            Some("the path contains `\"`, which Yosys cannot quote")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(LintError::BadPath { path: f.clone(), reason });
        }
        cmd.push_str(&format!(" \"{arg}\""));
    }
    Ok(cmd)
}

/// Runs both tools for one top; both are started before either is waited for.
fn lint_top(
    verilator: &Path,
    yosys: &Path,
    args: &ToolArgs,
    top: &str,
    label: &str,
) -> Result<Vec<LintFinding>, LintError> {
    let mut vcmd = Command::new(verilator);
    vcmd.args(["--lint-only", "-Wall", "-Wno-fatal", "--top-module", top]).args(&args.files);
    let script = format!("{}; hierarchy -check -top {top}; proc; check -assert", args.read_script);
    let mut ycmd = Command::new(yosys);
    ycmd.args(["-q", "-p", &script]);

    let vchild = spawn(&mut vcmd, "verilator", verilator)?;
    let ychild = spawn(&mut ycmd, "yosys", yosys)?;
    let vout = vchild.wait_with_output().map_err(|source| LintError::Spawn {
        tool: "verilator",
        path: verilator.to_path_buf(),
        source,
    })?;
    let yout = ychild.wait_with_output().map_err(|source| LintError::Spawn {
        tool: "yosys",
        path: yosys.to_path_buf(),
        source,
    })?;

    let mut findings = parse_verilator(label, &combined(&vout), vout.status);
    findings.extend(parse_yosys(label, &combined(&yout), yout.status));
    Ok(findings)
}

fn spawn(cmd: &mut Command, tool: &'static str, path: &Path) -> Result<std::process::Child, LintError> {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| LintError::Spawn { tool, path: path.to_path_buf(), source })
}

fn combined(out: &std::process::Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

/// Findings from Verilator output: one per `%Warning…`/`%Error…` line (context lines dropped).
fn parse_verilator(top: &str, text: &str, status: std::process::ExitStatus) -> Vec<LintFinding> {
    let lines: Vec<&str> =
        text.lines().filter(|l| l.starts_with("%Warning") || l.starts_with("%Error")).collect();
    let is_summary = |l: &&str| l.starts_with("%Error: Exiting due to");
    let has_real = lines.iter().any(|l| !is_summary(l));
    let mut findings: Vec<LintFinding> = lines
        .into_iter()
        .filter(|l| !(has_real && is_summary(l)))
        .map(|l| finding("verilator", top, l.trim_end().to_string()))
        .collect();
    if findings.is_empty() && !status.success() {
        findings.push(finding("verilator", top, failure_message(status, text)));
    }
    findings
}

/// Findings from Yosys output: one per `Warning:`/`ERROR:` line, with its indented continuation
/// lines (such as the list of conflicting drivers) joined on.
fn parse_yosys(top: &str, text: &str, status: std::process::ExitStatus) -> Vec<LintFinding> {
    let mut messages: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        if line.starts_with("Warning:") || line.starts_with("ERROR:") {
            messages.push(line.trim_end().to_string());
            open = true;
        } else if open && line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
            if let Some(last) = messages.last_mut() {
                last.push_str(if last.ends_with(':') { " " } else { "; " });
                last.push_str(line.trim());
            }
        } else {
            open = false;
        }
    }
    let is_summary = |m: &String| m.starts_with("ERROR: Found ") && m.contains("problems in 'check");
    let has_real = messages.iter().any(|m| !is_summary(m));
    let mut findings: Vec<LintFinding> = messages
        .into_iter()
        .filter(|m| !(has_real && is_summary(m)))
        .map(|m| finding("yosys", top, m))
        .collect();
    if findings.is_empty() && !status.success() {
        findings.push(finding("yosys", top, failure_message(status, text)));
    }
    findings
}

fn finding(tool: &'static str, module: &str, message: String) -> LintFinding {
    LintFinding { tool, module: module.to_string(), message }
}

/// One-line description of a failed run that printed nothing recognisable.
fn failure_message(status: std::process::ExitStatus, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return format!("exited with {status} and printed nothing");
    }
    let mut start = text.len().saturating_sub(TAIL_CHARS);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("exited with {status}: {}", text[start..].replace('\n', " | "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::require_tool;

    /// False only when a tool is missing and VDX_SKIP_COSIM=1; otherwise a missing tool panics.
    fn have_tools() -> bool {
        require_tool("verilator", "verilator").unwrap().is_some()
            && require_tool("yosys", "yosys").unwrap().is_some()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const LEAF: &str = "\
`default_nettype none
module vdx_lint_leaf (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] d_i,
  output wire [7:0] q_o
);
  reg [7:0] q_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) q_q <= 8'd0;
    else         q_q <= d_i;
  end
  assign q_o = q_q;
endmodule
`default_nettype wire
";

    const PARENT: &str = "\
`default_nettype none
// module vdx_lint_commented (must not become a top)
module vdx_lint_parent (
  input  wire       clk_i,
  input  wire       rst_ni,
  input  wire [7:0] d_i,
  output wire [7:0] q_o
);
  wire [7:0] mid;
  vdx_lint_leaf u_a (.clk_i(clk_i), .rst_ni(rst_ni), .d_i(d_i), .q_o(mid));
  vdx_lint_leaf u_b (.clk_i(clk_i), .rst_ni(rst_ni), .d_i(mid), .q_o(q_o));
endmodule
`default_nettype wire
";

    #[test]
    fn clean_hierarchy_is_clean() {
        if !have_tools() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "vdx_lint_leaf.v", LEAF);
        write(dir.path(), "vdx_lint_parent.v", PARENT);
        let report = lint_dir(dir.path()).unwrap();
        assert_eq!(report.modules, ["vdx_lint_leaf", "vdx_lint_parent"]);
        assert!(report.is_clean(), "{}", format_report(&report));
        assert!(format_report(&report).contains("vdx_lint_parent | 0"));
    }

    #[test]
    fn unused_input_and_width_mismatch_are_verilator_findings() {
        if !have_tools() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // `spare_i`, not `unused_i`: Verilator's default --unused-regexp silences names with
        // "unused" in them.
        let f = write(
            dir.path(),
            "vdx_lint_bad.v",
            "\
`default_nettype none
module vdx_lint_bad (
  input  wire [3:0] a_i,
  input  wire       spare_i,
  output wire [7:0] y_o
);
  assign y_o = a_i;
endmodule
`default_nettype wire
",
        );
        let report = lint_files(&[f], &["vdx_lint_bad".to_string()]).unwrap();
        let text = format_report(&report);
        assert!(!report.is_clean());
        let v: Vec<&LintFinding> = report.findings_for("vdx_lint_bad", "verilator").collect();
        assert!(v.iter().any(|f| f.message.contains("UNUSED") && f.message.contains("spare_i")), "{text}");
        assert!(v.iter().any(|f| f.message.contains("WIDTH") && f.message.contains("a_i")), "{text}");
        assert!(!v.iter().any(|f| f.message.contains("Exiting due to")), "{text}");
        // Width and usage problems are not what `check -assert` looks at.
        assert_eq!(report.findings_for("vdx_lint_bad", "yosys").count(), 0, "{text}");
    }

    #[test]
    fn conflicting_drivers_and_undriven_wire_fail_yosys_check() {
        if !have_tools() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "vdx_lint_multi.v",
            "\
`default_nettype none
module vdx_lint_multi (
  input  wire a_i,
  input  wire b_i,
  output wire y_o,
  output wire z_o
);
  wire w;
  wire floating;
  assign w = a_i;
  assign w = b_i;
  assign y_o = w;
  assign z_o = floating;
endmodule
`default_nettype wire
",
        );
        let report = lint_files(&[f], &["vdx_lint_multi".to_string()]).unwrap();
        let text = format_report(&report);
        let y: Vec<&LintFinding> = report.findings_for("vdx_lint_multi", "yosys").collect();
        assert!(y.iter().any(|f| f.message.contains("conflicting drivers")), "{text}");
        assert!(
            y.iter().any(|f| f.message.contains("floating") && f.message.contains("no driver")),
            "{text}"
        );
        assert!(!y.iter().any(|f| f.message.contains("problems in 'check")), "{text}");
        assert!(text.contains("FAIL"), "{text}");
    }

    #[test]
    fn submodule_problem_is_reported_under_its_parent_too() {
        if !have_tools() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "vdx_lint_leaf.v", &LEAF.replace("q_q <= d_i;", "q_q <= d_i[3:0];"));
        write(dir.path(), "vdx_lint_parent.v", PARENT);
        let report = lint_dir(dir.path()).unwrap();
        for m in ["vdx_lint_leaf", "vdx_lint_parent"] {
            assert!(report.findings_for(m, "verilator").count() > 0, "{}", format_report(&report));
        }
    }

    #[test]
    fn missing_top_is_a_finding_not_a_clean_report() {
        if !have_tools() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "vdx_lint_leaf.v", LEAF);
        let report = lint_files(&[f], &["no_such_module".to_string()]).unwrap();
        assert_eq!(report.findings_for("no_such_module", "verilator").count(), 1);
        assert_eq!(report.findings_for("no_such_module", "yosys").count(), 1);
    }

    #[test]
    fn paths_yosys_would_split_are_rejected() {
        for bad in ["a;b.v", "a\nb.v", "a\"b.v"] {
            let err = yosys_read_command(&[PathBuf::from(bad)]).unwrap_err();
            assert!(matches!(err, LintError::BadPath { .. }), "{err}");
        }
        assert_eq!(
            yosys_read_command(&[PathBuf::from("x y.v"), PathBuf::from("-z.v")]).unwrap(),
            "read_verilog \"x y.v\" \"./-z.v\""
        );
    }

    #[test]
    fn empty_inputs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(lint_dir(dir.path()), Err(LintError::Empty(_))));
        assert!(matches!(lint_files(&[], &["x".into()]), Err(LintError::Empty(_))));
    }
}
