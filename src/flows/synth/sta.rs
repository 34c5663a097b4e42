//! The OpenSTA side of the flow: the scripts and their runs, and the two report formats.

use super::{CLOCK_PORT, NETLIST_V, SynthError, TAIL_LINES, run, write};
use crate::sim::tool::{display_command, tail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Markers the generated STA script prints (see the module docs of [`super`] for why).
pub(super) const STA_BEGIN: &str = "VDX_REPORT_BEGIN";
pub(super) const STA_END: &str = "VDX_REPORT_END";
pub(super) const STA_ERROR: &str = "VDX_STA_ERROR:";

/// `-group_count` of the stage report: more paths per group than any design has endpoints, so
/// that every endpoint is listed (OpenSTA's cost does not depend on it).
const ALL_ENDPOINTS: u32 = 1_000_000_000;

/// One path of `report_checks -format full`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StaPath {
    /// OpenSTA's path group (`clk`, `**async_default**`, …).
    pub(super) group: String,
    /// The `Startpoint:` line's value: name and kind.
    pub(super) startpoint: String,
    /// The `Endpoint:` line's value: name and kind.
    pub(super) endpoint: String,
    /// `"pin (cell) edge time ns"` for every pin of the data path, in order.
    pub(super) points: Vec<String>,
    /// Data arrival time, ns.
    pub(super) arrival: f64,
    /// Setup slack, ns.
    pub(super) slack: f64,
}

/// One endpoint line of `report_checks -format end`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StaEnd {
    /// OpenSTA's path group (`clk`, `**async_default**`, …).
    pub(super) group: String,
    /// `inst/pin` or a port bit.
    pub(super) name: String,
    /// What OpenSTA puts in parentheses after the name: the cell type, or `output`.
    pub(super) kind: String,
    /// Data arrival time, ns.
    pub(super) arrival: f64,
    /// Setup slack, ns.
    pub(super) slack: f64,
}

/// Times `netlist.v` in `work_dir` (script `sta.tcl`, output `sta.log`) and returns the setup path
/// with the worst slack outside OpenSTA's internal `**…**` groups.
pub(super) fn worst_path(
    sta: &Path,
    work_dir: &Path,
    top: &str,
    libraries: &[PathBuf],
    period_ns: f64,
    clocked: bool,
) -> Result<StaPath, SynthError> {
    let (output, log) = run_sta(sta, work_dir, "sta", &sta_script(top, libraries, period_ns, clocked)?)?;
    let paths = parse_sta_paths(sta_report_section(&output).unwrap_or_default(), &log)?;
    paths
        .into_iter()
        .filter(|p| !p.group.starts_with("**"))
        .min_by(|a, b| a.slack.total_cmp(&b.slack))
        .ok_or_else(|| SynthError::Parse {
            file: log.clone(),
            expected: "a `Startpoint:` block of a setup path in a clock's `Path Group:` \
                       (the design has no timed path)"
                .into(),
        })
}

/// Times `netlist.v` in `work_dir` (script `stages.tcl`, output `stages.log`) and returns the
/// worst path to every endpoint, with the log they came from.
pub(super) fn all_endpoints(
    sta: &Path,
    work_dir: &Path,
    top: &str,
    libraries: &[PathBuf],
    period_ns: f64,
    clocked: bool,
) -> Result<(Vec<StaEnd>, PathBuf), SynthError> {
    let report = format!(
        "report_checks -path_delay max -group_count {ALL_ENDPOINTS} -endpoint_count 1 -format end -digits 4"
    );
    let script = sta_script_reporting(top, libraries, period_ns, clocked, &report)?;
    let (output, log) = run_sta(sta, work_dir, "stages", &script)?;
    let ends = parse_sta_ends(sta_report_section(&output).unwrap_or_default(), &log)?;
    Ok((ends, log))
}

/// Runs OpenSTA on `script` (written to `<name>.tcl` in `work_dir`), keeps its output in
/// `<name>.log`, and returns the output once it holds a complete report section; a run without
/// one is a failure whatever the exit status (this OpenSTA exits 0 after errors).
fn run_sta(sta: &Path, work_dir: &Path, name: &str, script: &str) -> Result<(String, PathBuf), SynthError> {
    let tcl = format!("{name}.tcl");
    write(&work_dir.join(&tcl), script)?;
    let log = work_dir.join(format!("{name}.log"));
    let mut cmd = Command::new(sta);
    cmd.args(["-no_init", "-no_splash", "-exit", &tcl]).current_dir(work_dir);
    let (status, output) = run(&mut cmd, sta)?;
    write(&log, &output)?;
    if sta_report_section(&output).is_none() {
        return Err(SynthError::ToolFailed {
            tool: "sta",
            command: display_command(&cmd),
            status: sta_failure(status, &output),
            output: tail(&output, TAIL_LINES),
            log,
        });
    }
    Ok((output, log))
}

/// The OpenSTA script (see the module docs of [`super`]). `{clk_i}`-style braces keep Tcl from
/// substituting anything inside names and paths.
pub(super) fn sta_script(
    top: &str,
    libraries: &[PathBuf],
    period_ns: f64,
    clocked: bool,
) -> Result<String, SynthError> {
    sta_script_reporting(
        top,
        libraries,
        period_ns,
        clocked,
        "report_checks -path_delay max -format full -digits 4",
    )
}

/// [`sta_script`] with `report` (one Tcl command) in place of its `report_checks`.
fn sta_script_reporting(
    top: &str,
    libraries: &[PathBuf],
    period_ns: f64,
    clocked: bool,
    report: &str,
) -> Result<String, SynthError> {
    let mut read_libs = String::new();
    for lib in libraries {
        read_libs.push_str(&format!("read_liberty {}\n  ", tcl_word(lib)?));
    }
    let constraints = if clocked {
        format!(
            "  create_clock -name clk -period {period_ns:.6} [get_ports {{{CLOCK_PORT}}}]\n  \
             set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports {{{CLOCK_PORT}}}]]\n"
        )
    } else {
        format!(
            "  # no {CLOCK_PORT}: a virtual clock times every input-to-output path\n  \
             create_clock -name clk -period {period_ns:.6}\n  \
             set_input_delay 0 -clock clk [all_inputs]\n"
        )
    };
    Ok(format!(
        "# vdx: static timing of {top} (generated by vdx::flows::synth)\n\
         # This OpenSTA neither stops nor sets its exit status on errors, hence catch and markers.\n\
         if {{[catch {{\n  \
         {read_libs}\
         read_verilog {{{NETLIST_V}}}\n  \
         if {{![link_design {{{top}}}]}} {{ error \"link_design {top} failed\" }}\n  \
         set_cmd_units -time ns\n\
         {constraints}  \
         set_output_delay 0 -clock clk [all_outputs]\n  \
         puts \"{STA_BEGIN}\"\n  \
         {report}\n  \
         puts \"{STA_END}\"\n\
         }} err]}} {{\n  \
         puts \"{STA_ERROR} $err\"\n\
         }}\n"
    ))
}

/// A path as a brace-quoted Tcl word: nothing inside braces is substituted, so only characters
/// that change the brace matching (`{`, `}`, a backslash before them) or split the command (line
/// breaks) are refused.
pub(super) fn tcl_word(path: &Path) -> Result<String, SynthError> {
    let bad = |reason| SynthError::BadPath { path: path.to_path_buf(), language: "Tcl", reason };
    let s = path.to_str().ok_or_else(|| bad("the path is not valid UTF-8"))?;
    if s.contains(['{', '}']) {
        return Err(bad("the path contains a brace, which would end Tcl's quoting"));
    }
    if s.contains('\\') {
        return Err(bad("the path contains a backslash, which escapes Tcl's closing brace"));
    }
    if s.contains(['\n', '\r']) {
        return Err(bad("the path contains a line break"));
    }
    if s.starts_with('-') {
        return Err(bad("the path starts with `-` and would be read as an option"));
    }
    Ok(format!("{{{s}}}"))
}

/// The text between the script's report markers, or `None` when the run failed (see the module
/// docs of [`super`]).
pub(super) fn sta_report_section(output: &str) -> Option<&str> {
    if output.contains(STA_ERROR) || output.lines().any(|l| l.starts_with("Error")) {
        return None;
    }
    let start = output.find(STA_BEGIN)? + STA_BEGIN.len();
    let len = output[start..].find(STA_END)?;
    Some(&output[start..start + len])
}

/// Describes an STA failure for the `status` of a [`SynthError::ToolFailed`].
fn sta_failure(status: std::process::ExitStatus, output: &str) -> String {
    if !status.success() {
        status.to_string()
    } else if output.contains(STA_ERROR) || output.lines().any(|l| l.starts_with("Error")) {
        format!("{status}, but it reported an error")
    } else {
        format!("{status}, but the report between {STA_BEGIN} and {STA_END} is missing")
    }
}

/// Parses every path of `report_checks -path_delay max -format full` output: the `Startpoint:`,
/// `Endpoint:` and `Path Group:` lines, the data path pins up to the first `data arrival time`
/// line, and the `slack` line. An empty report (OpenSTA's "No paths found.") gives no paths.
pub(super) fn parse_sta_paths(text: &str, file: &Path) -> Result<Vec<StaPath>, SynthError> {
    let expected = |what: String| SynthError::Parse { file: file.to_path_buf(), expected: what };
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Startpoint:") {
            blocks.push(Vec::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push(line);
        }
    }
    let mut paths = Vec::new();
    for block in blocks {
        let field =
            |name: &str| block.iter().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
        let startpoint = field("Startpoint:").unwrap_or_default();
        let endpoint = field("Endpoint:")
            .ok_or_else(|| expected(format!("an `Endpoint:` line after `Startpoint: {startpoint}`")))?;
        let group = field("Path Group:")
            .ok_or_else(|| expected(format!("a `Path Group:` line after `Startpoint: {startpoint}`")))?;
        let mut points = Vec::new();
        let mut arrival = None;
        for line in &block {
            if line.trim_end().ends_with("data arrival time") {
                arrival = line.split_whitespace().next().and_then(|t| t.parse::<f64>().ok());
                break;
            }
            if let Some(p) = path_point(line) {
                points.push(p);
            }
        }
        let arrival = arrival.ok_or_else(|| {
            expected(format!("a `<time> data arrival time` line in the path from `{startpoint}`"))
        })?;
        let slack = block
            .iter()
            .find(|l| l.contains("slack ("))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or_else(|| {
                expected(format!("a `<time> slack (MET|VIOLATED)` line in the path from `{startpoint}`"))
            })?;
        paths.push(StaPath { group, startpoint, endpoint, points, arrival, slack });
    }
    Ok(paths)
}

/// A data path line `<delay> <time> <^|v> <pin> (<cell>)` as `"pin (cell) edge time ns"`; clock
/// and external-delay lines have no `(cell)` at the end and give `None`.
fn path_point(line: &str) -> Option<String> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() != 5 || t[0].parse::<f64>().is_err() || !matches!(t[2], "^" | "v") {
        return None;
    }
    let time = t[1].parse::<f64>().ok()?;
    let cell = t[4].strip_prefix('(')?.strip_suffix(')')?;
    Some(format!("{} ({cell}) {} {time:.4} ns", t[3], t[2]))
}

/// Parses `report_checks -format end`: a `max_delay/setup group <name>` line opens each group,
/// and each endpoint line is `<endpoint> (<kind>) <required> <arrival> <slack> (MET|VIOLATED)`.
pub(super) fn parse_sta_ends(text: &str, file: &Path) -> Result<Vec<StaEnd>, SynthError> {
    let mut group: Option<String> = None;
    let mut ends = Vec::new();
    for line in text.lines() {
        if let Some(g) = line.trim().strip_prefix("max_delay/setup group") {
            group = Some(g.trim().to_string());
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 5 || !matches!(t[t.len() - 1], "(MET)" | "(VIOLATED)") {
            continue;
        }
        let bad = || SynthError::Parse {
            file: file.to_path_buf(),
            expected: format!(
                "`<endpoint> (<kind>) <required> <arrival> <slack> (MET|VIOLATED)` under a \
                 `max_delay/setup group` line, not `{}`",
                line.trim()
            ),
        };
        let n = t.len();
        let num = |i: usize| t[i].parse::<f64>().map_err(|_| bad());
        let (arrival, slack) = (num(n - 3)?, num(n - 2)?);
        num(n - 4)?;
        let kind = t[1..n - 4].join(" ");
        let kind = kind.strip_prefix('(').and_then(|k| k.strip_suffix(')')).ok_or_else(bad)?;
        let group = group.clone().ok_or_else(bad)?;
        ends.push(StaEnd { group, name: t[0].to_string(), kind: kind.to_string(), arrival, slack });
    }
    Ok(ends)
}
