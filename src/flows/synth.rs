//! ASIC synthesis and static timing of generated Verilog: Yosys maps the design onto a Liberty
//! standard-cell library (by default the OSU 0.18 µm cells Debian ships in `qflow-tech-osu018`),
//! OpenSTA times the mapped netlist, and the two reports become one [`SynthReport`] (the ASIC QoR
//! gate of the design notes, since no OpenROAD or PDK is available here).
//!
//! # The flow
//! Everything is written into the caller's `work_dir`, so a run can be repeated by hand:
//! - `synth.ys` (run as `yosys -q -l yosys.log -s synth.ys`):
//!   ```text
//!   read_verilog "<file>" …
//!   hierarchy -check -top <top>
//!   synth -top <top> -flatten
//!   dfflibmap -liberty "<lib>"
//!   abc -liberty "<lib>"
//!   opt_clean
//!   tee -o stat.rpt stat -liberty "<lib>"
//!   write_verilog -noattr netlist.v
//!   ```
//!   `dfflibmap` legalizes flip-flops itself in Yosys 0.23, so the `always @(posedge clk_i or
//!   negedge rst_ni)` registers vdx emits map onto OSU018's `DFFSR` (async set and reset; the
//!   unused one is tied high) without a separate `dfflegalize` pass. Anything left unmapped (a
//!   latch, for which OSU018's `LATCH` is not offered by `dfflibmap`) is an error rather than a
//!   report with a silently wrong area.
//! - `sta.tcl` (run as `sta -no_init -no_splash -exit sta.tcl`, output kept in `sta.log`): reads
//!   the Liberty and `netlist.v`, links `<top>`, sets `set_cmd_units -time ns`, then
//!   - with a `clk_i` port: `create_clock -name clk -period P [get_ports {clk_i}]`, input delay 0
//!     on every other input and output delay 0 on every output, relative to `clk`;
//!   - without one (a purely combinational top): the same with a virtual clock `clk`, so every
//!     input-to-output path is checked against `P`;
//!
//!   and `report_checks -path_delay max -format full -digits 4`.
//!
//! # What the figures mean
//! Clocks are ideal, inputs switch instantly and outputs drive no load (there is no placement, so
//! no wire model either): these are pre-layout figures for comparing designs, not sign-off.
//! The *critical path* is the setup path with the worst slack; paths in OpenSTA's internal groups
//! (`**async_default**`, the recovery/removal checks of the asynchronous reset) are left out,
//! because with an ideal `rst_ni` they say nothing about the design and reset-tree timing is a
//! layout matter. [`SynthReport::critical_path_ns`] is that path's data arrival time (launch edge
//! at 0, so clock-to-Q plus logic); [`SynthReport::fmax_mhz`] divides 1000 by the *minimum
//! period* of that path, `P − slack`, which is the arrival time plus the capturing flop's setup
//! time (plus the output delay, 0, for a path ending at a port). That is the period at which this
//! path's slack would be exactly zero, and it does not depend on the requested clock, because
//! every path vdx emits runs from a rising edge to the next rising edge of the one clock.
//!
//! # Why the STA script guards itself
//! This OpenSTA (Debian 2019 snapshot) keeps going after a failing command and exits with status
//! 0 even when told to `exit 1`, so the status cannot report failure. The script therefore runs
//! inside `catch`, checks `link_design`'s result, prints `VDX_STA_ERROR:` on failure and brackets
//! the report with `VDX_REPORT_BEGIN`/`VDX_REPORT_END`; any `Error` line, a missing bracket or the
//! error marker makes the run a [`SynthError::ToolFailed`].

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's `qflow-tech-osu018` installs the OSU 0.18 µm Liberty file.
pub const OSU018_LIBERTY: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lib";

/// The Debian package that provides [`OSU018_LIBERTY`].
pub const LIBERTY_PACKAGE: &str = "qflow-tech-osu018";

/// The clock port vdx emits; a top without it is timed against a virtual clock.
const CLOCK_PORT: &str = crate::sim::CLOCK_PORT;

/// Lines of tool output kept in a [`SynthError::ToolFailed`].
const TAIL_LINES: usize = 40;

/// Markers the generated STA script prints (see the module docs for why).
const STA_BEGIN: &str = "VDX_REPORT_BEGIN";
const STA_END: &str = "VDX_REPORT_END";
const STA_ERROR: &str = "VDX_STA_ERROR:";

/// What to synthesize for.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Requested clock in MHz: sets the period the slack is measured against. The critical path
    /// and Fmax do not depend on it.
    pub clock_mhz: f64,
    /// Liberty file of the target cells; its cells must include flip-flops `dfflibmap` can use.
    pub liberty: PathBuf,
}

impl Default for SynthOptions {
    /// 100 MHz (a clock OSU 0.18 µm logic of a few gates per stage can meet) on OSU018.
    fn default() -> Self {
        Self { clock_mhz: 100.0, liberty: PathBuf::from(OSU018_LIBERTY) }
    }
}

/// Quality of results of one synthesis and timing run.
#[derive(Debug, Clone, Serialize)]
pub struct SynthReport {
    /// The top module.
    pub top: String,
    /// The clock the slack refers to, in MHz (from [`SynthOptions::clock_mhz`]).
    pub clock_mhz: f64,
    /// Standard cells after mapping (Yosys `stat`, "Number of cells").
    pub cells: u64,
    /// Total cell area from Yosys `stat -liberty`, in the Liberty's area unit (µm² for OSU018).
    pub area_um2: f64,
    /// Cells per Liberty cell type.
    pub cell_counts: BTreeMap<String, u64>,
    /// Flip-flops: cells whose Liberty description has an `ff` group.
    pub flops: u64,
    /// Data arrival time of the worst setup path, in ns (launch edge at 0).
    pub critical_path_ns: f64,
    /// Slack of that path at [`Self::clock_mhz`], in ns; negative when the clock is not met.
    pub slack_ns: f64,
    /// `1000 / (period − slack)`: the clock at which the worst path has zero slack (see the module
    /// docs). Infinite when that path has no delay at all (an input wired straight to an output).
    pub fmax_mhz: f64,
    /// The worst path: STA's startpoint (name and kind), then every pin the data passes as
    /// `"pin (cell) edge time ns"` (`^` rise, `v` fall; `(in)`/`(out)` for ports), then STA's
    /// endpoint (name and kind).
    pub critical_path: Vec<String>,
}

impl SynthReport {
    /// The critical path's startpoint as OpenSTA names it.
    pub fn startpoint(&self) -> &str {
        self.critical_path.first().map_or("", String::as_str)
    }

    /// The critical path's endpoint as OpenSTA names it.
    pub fn endpoint(&self) -> &str {
        self.critical_path.last().map_or("", String::as_str)
    }
}

/// Why synthesis or timing could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A tool is not installed.
    #[error("{tool} not found on PATH: install it with `apt-get install {package}`")]
    ToolMissing {
        /// Executable name.
        tool: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// The Liberty file does not exist.
    #[error(
        "Liberty file {path} not found (the default OSU 0.18 µm library comes from \
         `apt-get install {LIBERTY_PACKAGE}`)",
        path = path.display()
    )]
    LibertyMissing {
        /// The path given in [`SynthOptions::liberty`].
        path: PathBuf,
    },
    /// File system error, with the path it concerns.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A path that a generated script could not carry safely.
    #[error("cannot use {path} in a {language} script: {reason}", path = path.display())]
    BadPath {
        /// The offending path.
        path: PathBuf,
        /// `"Yosys"` or `"Tcl"`.
        language: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A top name that is not a plain Verilog identifier (it goes into both scripts).
    #[error("top module name `{0}` is not a plain Verilog identifier ([A-Za-z_][A-Za-z0-9_$]*)")]
    BadTop(String),
    /// A clock frequency that is not a positive finite number.
    #[error("clock frequency {0} MHz is not a positive finite number")]
    BadClock(f64),
    /// No Verilog files were given.
    #[error("no Verilog files given")]
    NoFiles,
    /// A tool ran and failed.
    #[error("{tool} failed ({status}) running `{command}` (full log: {log}):\n{output}", log = log.display())]
    ToolFailed {
        /// Executable name.
        tool: &'static str,
        /// The argument vector, joined for display only (it is never run through a shell).
        command: String,
        /// Exit status, or what showed the failure when the status did not.
        status: String,
        /// The tail of the tool's output.
        output: String,
        /// Where the whole output is.
        log: PathBuf,
    },
    /// Cells Yosys could not map onto the Liberty (such as latches); their area is unknown.
    #[error(
        "Yosys left cells the Liberty does not provide: {}; a design with latches or other \
         unmappable storage cannot be costed",
        cells.join(", ")
    )]
    Unmapped {
        /// Yosys internal cell types with their counts, e.g. `$_DLATCH_P_ ×1`.
        cells: Vec<String>,
    },
    /// The design has flip-flops but no `clk_i` port, so no clock could be defined.
    #[error(
        "`{top}` has {flops} flip-flop(s) but no `{CLOCK_PORT}` port: its register paths would be unconstrained"
    )]
    NoClock {
        /// The top module.
        top: String,
        /// Flip-flops found after mapping.
        flops: u64,
    },
    /// A report that did not have the expected shape.
    #[error("cannot parse {file}: expected {expected}", file = file.display())]
    Parse {
        /// The report file.
        file: PathBuf,
        /// Which line was expected.
        expected: String,
    },
}

/// Synthesizes `files` with `top` as the top module onto the Liberty of `opts`, times the netlist
/// with OpenSTA at `opts.clock_mhz`, and returns the figures. Scripts, logs, `stat.rpt` and
/// `netlist.v` are written into `work_dir` (created if missing; files of earlier runs are
/// overwritten).
pub fn synthesize(
    files: &[PathBuf],
    top: &str,
    work_dir: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    if files.is_empty() {
        return Err(SynthError::NoFiles);
    }
    if !is_identifier(top) {
        return Err(SynthError::BadTop(top.to_string()));
    }
    if !(opts.clock_mhz.is_finite() && opts.clock_mhz > 0.0) {
        return Err(SynthError::BadClock(opts.clock_mhz));
    }
    if !opts.liberty.is_file() {
        return Err(SynthError::LibertyMissing { path: opts.liberty.clone() });
    }
    let yosys = find_tool("yosys", "yosys")?;
    let sta = find_tool("sta", "opensta")?;

    // Absolute inputs, because both tools run inside `work_dir` (so the generated files need no
    // quoting at all, whatever the work directory is called).
    let liberty = canonical(&opts.liberty)?;
    let files: Vec<PathBuf> = files.iter().map(|f| canonical(f)).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(work_dir).map_err(|source| io_err(work_dir, source))?;

    let script = yosys_script(&files, top, &liberty)?;
    write(&work_dir.join("synth.ys"), &script)?;
    let log = work_dir.join("yosys.log");
    let mut cmd = Command::new(&yosys);
    cmd.args(["-q", "-l", "yosys.log", "-s", "synth.ys"]).current_dir(work_dir);
    let (status, output) = run(&mut cmd, &yosys)?;
    if !status.success() {
        return Err(SynthError::ToolFailed {
            tool: "yosys",
            command: display_command(&cmd),
            status: status.to_string(),
            output: tail(&output, TAIL_LINES),
            log,
        });
    }

    let stat_path = work_dir.join("stat.rpt");
    let stat = parse_stat(&read(&stat_path)?, &stat_path)?;
    let unmapped: Vec<String> =
        stat.counts.iter().filter(|(c, _)| c.starts_with('$')).map(|(c, n)| format!("{c} ×{n}")).collect();
    if !unmapped.is_empty() {
        return Err(SynthError::Unmapped { cells: unmapped });
    }
    let area_um2 = stat.area.ok_or_else(|| SynthError::Parse {
        file: stat_path.clone(),
        expected: "a line `Chip area for module '<top>': <area>`".into(),
    })?;
    let flop_cells = liberty_flop_cells(&read(&liberty)?);
    let flops = stat.counts.iter().filter(|(c, _)| flop_cells.contains(*c)).map(|(_, n)| n).sum();

    let netlist = work_dir.join("netlist.v");
    let clocked = has_input_port(&read(&netlist)?, CLOCK_PORT);
    if flops > 0 && !clocked {
        return Err(SynthError::NoClock { top: top.to_string(), flops });
    }

    let period_ns = 1000.0 / opts.clock_mhz;
    write(&work_dir.join("sta.tcl"), &sta_script(top, &liberty, period_ns, clocked)?)?;
    let sta_log = work_dir.join("sta.log");
    let mut cmd = Command::new(&sta);
    cmd.args(["-no_init", "-no_splash", "-exit", "sta.tcl"]).current_dir(work_dir);
    let (status, output) = run(&mut cmd, &sta)?;
    write(&sta_log, &output)?;
    let report = sta_report_section(&output).ok_or_else(|| SynthError::ToolFailed {
        tool: "sta",
        command: display_command(&cmd),
        status: sta_failure(status, &output),
        output: tail(&output, TAIL_LINES),
        log: sta_log.clone(),
    })?;
    let paths = parse_sta_paths(report, &sta_log)?;
    let worst = paths
        .into_iter()
        .filter(|p| !p.group.starts_with("**"))
        .min_by(|a, b| a.slack.total_cmp(&b.slack))
        .ok_or_else(|| SynthError::Parse {
            file: sta_log.clone(),
            expected: "a `Startpoint:` block of a setup path in a clock's `Path Group:` \
                       (the design has no timed path)"
                .into(),
        })?;

    let min_period = period_ns - worst.slack;
    let fmax_mhz = if min_period > 0.0 { 1000.0 / min_period } else { f64::INFINITY };
    let mut critical_path = vec![worst.startpoint];
    critical_path.extend(worst.points);
    critical_path.push(worst.endpoint);
    Ok(SynthReport {
        top: top.to_string(),
        clock_mhz: opts.clock_mhz,
        cells: stat.cells,
        area_um2,
        cell_counts: stat.counts,
        flops,
        critical_path_ns: worst.arrival,
        slack_ns: worst.slack,
        fmax_mhz,
        critical_path,
    })
}

/// Renders `r` as a two-column table of the headline figures, the critical path's ends and the
/// cell mix, for the CLI and test messages.
pub fn format_report(r: &SynthReport) -> String {
    let fmax = if r.fmax_mhz.is_finite() { format!("{:.1} MHz", r.fmax_mhz) } else { "unbounded".into() };
    let stages = r.critical_path.len().saturating_sub(2);
    let head: Vec<(String, String)> = vec![
        ("top".into(), r.top.clone()),
        ("cells".into(), r.cells.to_string()),
        ("area".into(), format!("{:.1} µm²", r.area_um2)),
        ("flip-flops".into(), r.flops.to_string()),
        ("critical path".into(), format!("{:.3} ns ({stages} pins)", r.critical_path_ns)),
        (format!("slack @ {} MHz", r.clock_mhz), format!("{:.3} ns", r.slack_ns)),
        ("Fmax".into(), fmax),
        ("startpoint".into(), r.startpoint().to_string()),
        ("endpoint".into(), r.endpoint().to_string()),
    ];
    let cells: Vec<(String, String)> =
        r.cell_counts.iter().map(|(c, n)| (format!("  {c}"), n.to_string())).collect();
    let w = head.iter().chain(&cells).map(|(k, _)| k.chars().count()).max().unwrap_or(0).max(9);
    let mut out = String::new();
    for (k, v) in &head {
        out.push_str(&format!("{k:<w$} | {v}\n"));
    }
    out.push_str(&format!("{:<w$} | count\n", "cell type"));
    for (k, v) in &cells {
        out.push_str(&format!("{k:<w$} | {v}\n"));
    }
    out
}

/// Figures read from Yosys `stat -liberty`.
#[derive(Debug, PartialEq)]
struct StatSummary {
    cells: u64,
    counts: BTreeMap<String, u64>,
    /// Missing when a cell type has no Liberty area (Yosys then prints no chip area).
    area: Option<f64>,
}

/// Parses Yosys `stat` text: "Number of cells:", the indented `<type> <count>` lines after it, and
/// "Chip area for module '…': <area>". After `-flatten` there is one module, so the first of each
/// is the design's.
fn parse_stat(text: &str, file: &Path) -> Result<StatSummary, SynthError> {
    let expected = |what: &str| SynthError::Parse { file: file.to_path_buf(), expected: what.to_string() };
    let mut lines = text.lines();
    let cells = lines
        .by_ref()
        .find_map(|l| l.trim().strip_prefix("Number of cells:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| expected("a line `Number of cells: <n>`"))?;
    let mut counts = BTreeMap::new();
    for line in lines.by_ref() {
        let mut tokens = line.split_whitespace();
        match (tokens.next(), tokens.next().and_then(|n| n.parse::<u64>().ok()), tokens.next()) {
            (Some(cell), Some(n), None) => {
                *counts.entry(cell.to_string()).or_insert(0) += n;
            }
            _ => break,
        }
    }
    let listed: u64 = counts.values().sum();
    if listed != cells {
        return Err(expected(&format!(
            "`<cell type> <count>` lines after `Number of cells: {cells}` adding up to {cells} (they add up to {listed})"
        )));
    }
    let area = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Chip area for module"))
        .and_then(|rest| rest.rsplit(':').next())
        .and_then(|a| a.trim().parse::<f64>().ok());
    Ok(StatSummary { cells, counts, area })
}

/// Names of the Liberty cells that contain an `ff (…)` group: the edge-triggered storage cells.
/// Latches (`latch`) are not flip-flops, and `ff_bank` (multi-bit) groups do not occur in OSU018.
/// Group heads are found by tokens, not lines, because Liberty does not require one group per
/// line; comments and strings are skipped so that a cell name in either cannot count.
fn liberty_flop_cells(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut flops = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if text[i..].starts_with("/*") {
            i = text[i + 2..].find("*/").map_or(bytes.len(), |e| i + 2 + e + 2);
        } else if c == b'"' {
            i = text[i + 1..].find('"').map_or(bytes.len(), |e| i + 1 + e + 1);
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let rest = text[i..].trim_start();
            if !rest.starts_with('(') {
                continue;
            }
            if word == "cell" {
                current = rest[1..].split(')').next().map(|n| n.trim().trim_matches('"').to_string());
            } else if let ("ff", Some(cell)) = (word, &current) {
                flops.insert(cell.clone());
            }
        } else {
            i += 1;
        }
    }
    flops
}

/// Whether a Yosys `write_verilog` netlist declares input `port` (`input clk_i;` or
/// `input [n:0] clk_i;`).
fn has_input_port(netlist: &str, port: &str) -> bool {
    netlist.lines().any(|l| {
        let t = l.trim();
        t.starts_with("input ") && t.strip_suffix(';').and_then(|d| d.split_whitespace().last()) == Some(port)
    })
}

/// One path of `report_checks -format full`.
#[derive(Debug, Clone, PartialEq)]
struct StaPath {
    group: String,
    startpoint: String,
    endpoint: String,
    /// `"pin (cell) edge time ns"` for every pin of the data path, in order.
    points: Vec<String>,
    arrival: f64,
    slack: f64,
}

/// The text between the script's report markers, or `None` when the run failed (see the module
/// docs).
fn sta_report_section(output: &str) -> Option<&str> {
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
fn parse_sta_paths(text: &str, file: &Path) -> Result<Vec<StaPath>, SynthError> {
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

/// The Yosys script (see the module docs).
fn yosys_script(files: &[PathBuf], top: &str, liberty: &Path) -> Result<String, SynthError> {
    let lib = yosys_word(liberty)?;
    let mut read = String::from("read_verilog");
    for f in files {
        read.push(' ');
        read.push_str(&yosys_word(f)?);
    }
    Ok(format!(
        "# vdx: synthesis of {top} onto {lib} (generated by vdx::flows::synth)\n\
         {read}\n\
         hierarchy -check -top {top}\n\
         synth -top {top} -flatten\n\
         dfflibmap -liberty {lib}\n\
         abc -liberty {lib}\n\
         opt_clean\n\
         tee -o stat.rpt stat -liberty {lib}\n\
         write_verilog -noattr netlist.v\n"
    ))
}

/// The OpenSTA script (see the module docs). `{clk_i}`-style braces keep Tcl from substituting
/// anything inside names and paths.
fn sta_script(top: &str, liberty: &Path, period_ns: f64, clocked: bool) -> Result<String, SynthError> {
    let lib = tcl_word(liberty)?;
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
         read_liberty {lib}\n  \
         read_verilog {{netlist.v}}\n  \
         if {{![link_design {{{top}}}]}} {{ error \"link_design {top} failed\" }}\n  \
         set_cmd_units -time ns\n\
         {constraints}  \
         set_output_delay 0 -clock clk [all_outputs]\n  \
         puts \"{STA_BEGIN}\"\n  \
         report_checks -path_delay max -format full -digits 4\n  \
         puts \"{STA_END}\"\n\
         }} err]}} {{\n  \
         puts \"{STA_ERROR} $err\"\n\
         }}\n"
    ))
}

/// A path as a double-quoted Yosys argument. `;` and line breaks end a Yosys command and `"`
/// ends the quoting, so those are refused (as in [`crate::flows::lint`]).
fn yosys_word(path: &Path) -> Result<String, SynthError> {
    let bad = |reason| SynthError::BadPath { path: path.to_path_buf(), language: "Yosys", reason };
    let s = path.to_str().ok_or_else(|| bad("the path is not valid UTF-8"))?;
    if s.contains(';') {
        return Err(bad("the path contains `;`, which separates Yosys script commands"));
    }
    if s.contains(['\n', '\r']) {
        return Err(bad("the path contains a line break, which ends a Yosys script command"));
    }
    if s.contains('"') {
        return Err(bad("the path contains `\"`, which Yosys cannot quote"));
    }
    Ok(format!("\"{s}\""))
}

/// A path as a brace-quoted Tcl word: nothing inside braces is substituted, so only characters
/// that change the brace matching (`{`, `}`, a backslash before them) or split the command (line
/// breaks) are refused.
fn tcl_word(path: &Path) -> Result<String, SynthError> {
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

/// `[A-Za-z_][A-Za-z0-9_$]*`: a Verilog simple identifier, which also needs no quoting in either
/// script.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn find_tool(tool: &'static str, package: &'static str) -> Result<PathBuf, SynthError> {
    crate::sim::find_on_path(tool).ok_or(SynthError::ToolMissing { tool, package })
}

fn canonical(path: &Path) -> Result<PathBuf, SynthError> {
    std::fs::canonicalize(path).map_err(|source| io_err(path, source))
}

fn io_err(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Io { path: path.to_path_buf(), source }
}

fn read(path: &Path) -> Result<String, SynthError> {
    std::fs::read_to_string(path).map_err(|source| io_err(path, source))
}

fn write(path: &Path, text: &str) -> Result<(), SynthError> {
    std::fs::write(path, text).map_err(|source| io_err(path, source))
}

/// Runs `cmd` to completion; returns its status and stdout followed by stderr.
fn run(cmd: &mut Command, program: &Path) -> Result<(std::process::ExitStatus, String), SynthError> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|source| io_err(program, source))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status, text))
}

/// The last `lines` lines of `text`, saying how many were dropped.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = if start > 0 { format!("[... {start} earlier lines ...]\n") } else { String::new() };
    out.push_str(&all[start..].join("\n"));
    out
}

/// The command as a user could paste it into a shell (display only).
fn display_command(cmd: &Command) -> String {
    let quote = |s: &str| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=+,:@%".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut parts = vec![quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    let line = parts.join(" ");
    match cmd.get_current_dir() {
        Some(dir) => format!("cd {} && {line}", quote(&dir.to_string_lossy())),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::BlockParams;
    use crate::hdl::{Design, Module, ModuleBuilder, Reset};
    use crate::sim::{SKIP_ENV, require_tool};
    use std::time::Instant;

    /// False only when something is missing and VDX_SKIP_COSIM=1; otherwise a missing tool or
    /// Liberty panics with the package to install.
    fn have_flow() -> bool {
        if !Path::new(OSU018_LIBERTY).is_file() {
            if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
                eprintln!("{OSU018_LIBERTY} not found; skipping synthesis because {SKIP_ENV}=1");
                return false;
            }
            panic!("{OSU018_LIBERTY} not found: install it with `apt-get install {LIBERTY_PACKAGE}`");
        }
        let need = |tool, package| match require_tool(tool, package) {
            Ok(found) => found.is_some(),
            Err(e) => panic!("{e}"),
        };
        need("yosys", "yosys") && need("sta", "opensta")
    }

    /// Emits `m` into `dir` and returns its files.
    fn emit(m: &Module, dir: &Path) -> Vec<PathBuf> {
        let out = Design::single(m).emit();
        out.write_to(dir).unwrap();
        out.files.iter().map(|f| dir.join(&f.name)).collect()
    }

    /// Synthesizes `m` at `mhz` and prints the table and the run time (`--nocapture` shows them).
    fn synth_module(m: &Module, mhz: f64) -> SynthReport {
        let dir = tempfile::tempdir().unwrap();
        let files = emit(m, dir.path());
        let opts = SynthOptions { clock_mhz: mhz, ..SynthOptions::default() };
        let t = Instant::now();
        let r = synthesize(&files, m.name(), &dir.path().join("synth"), &opts)
            .unwrap_or_else(|e| panic!("synthesis of {} failed: {e}", m.name()));
        eprintln!("{}: {:.2} s\n{}", m.name(), t.elapsed().as_secs_f64(), format_report(&r));
        r
    }

    /// Inputs registered, their sum registered: 3 × `width` flops, a flop-to-flop adder path.
    fn registered_adder(width: u32) -> Module {
        let m = ModuleBuilder::new(&format!("vdx_synth_add{width}"));
        let a = m.input("a_i", width);
        let b = m.input("b_i", width);
        let a_q = m.reg("a", width, Reset::Zero);
        let b_q = m.reg("b", width, Reset::Zero);
        let sum = m.reg("sum", width, Reset::Zero);
        m.next(&a_q, &a);
        m.next(&b_q, &b);
        m.next(&sum, &a_q.add(&b_q));
        m.output("sum_o", &sum);
        m.finish().unwrap()
    }

    /// Checks that hold for every report.
    fn check_consistent(r: &SynthReport) {
        let text = format_report(r);
        assert_eq!(r.cell_counts.values().sum::<u64>(), r.cells, "{text}");
        assert!(r.area_um2 > 0.0 && r.critical_path_ns > 0.0, "{text}");
        let period = 1000.0 / r.clock_mhz;
        assert!((1000.0 / r.fmax_mhz - (period - r.slack_ns)).abs() < 1e-9, "{text}");
        assert!(r.critical_path.len() >= 3, "{text}");
    }

    #[test]
    fn registered_adders_grow_with_width() {
        if !have_flow() {
            return;
        }
        let r8 = synth_module(&registered_adder(8), 100.0);
        let r16 = synth_module(&registered_adder(16), 100.0);
        for (r, w) in [(&r8, 8), (&r16, 16)] {
            let text = format_report(r);
            check_consistent(r);
            assert_eq!(r.flops, 3 * w, "{text}");
            // Every vdx register has an async reset, and OSU018's only such flop is DFFSR.
            assert_eq!(r.cell_counts.get("DFFSR"), Some(&(3 * w)), "{text}");
            assert!(r.startpoint().contains("flip-flop") && r.endpoint().contains("flip-flop"), "{text}");
            assert!(r.startpoint().starts_with("_") && r.slack_ns > 0.0, "{text}");
        }
        assert!(r16.area_um2 > 1.5 * r8.area_um2, "{} vs {}", r16.area_um2, r8.area_um2);
        // A carry chain twice as long: at least a few more gate delays (~0.1 ns each here).
        assert!(
            r16.critical_path_ns > r8.critical_path_ns + 0.3,
            "{} vs {}",
            r16.critical_path_ns,
            r8.critical_path_ns
        );
        assert!(r16.fmax_mhz < r8.fmax_mhz);
    }

    #[test]
    fn hierarchy_is_flattened_across_files() {
        if !have_flow() {
            return;
        }
        let child = registered_adder(8);
        let m = ModuleBuilder::new("vdx_synth_add8x2");
        let a = m.input("a_i", 8);
        let b = m.input("b_i", 8);
        let first = m.instance("u_first", &child, &[("a_i", &a), ("b_i", &b)]);
        let second = m.instance("u_second", &child, &[("a_i", &first.output("sum_o")), ("b_i", &b)]);
        m.output("sum_o", &second.output("sum_o"));
        let m = m.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = emit(&m, dir.path());
        assert_eq!(files.len(), 2, "one file per distinct module");
        let r = synthesize(&files, m.name(), &dir.path().join("w"), &SynthOptions::default()).unwrap();
        let text = format_report(&r);
        check_consistent(&r);
        // 2 × 24 registers, but both `b` input registers sample `b_i`: after flattening, Yosys
        // merges them, which only happens if the hierarchy really was flattened.
        assert_eq!(r.flops, 40, "{text}");
        assert_eq!(r.cell_counts.get("DFFSR"), Some(&40), "{text}");
    }

    #[test]
    fn clock_changes_slack_but_not_the_path() {
        if !have_flow() {
            return;
        }
        let m = registered_adder(8);
        let slow = synth_module(&m, 100.0);
        // 0.5 ns is less than one DFFSR clock-to-Q, so this clock cannot be met.
        let fast = synth_module(&m, 2000.0);
        check_consistent(&fast);
        assert_eq!(slow.critical_path, fast.critical_path);
        assert_eq!(slow.critical_path_ns, fast.critical_path_ns);
        assert!(
            (slow.slack_ns - fast.slack_ns - (10.0 - 0.5)).abs() < 1e-3,
            "{} {}",
            slow.slack_ns,
            fast.slack_ns
        );
        assert!(fast.slack_ns < 0.0);
        assert!((slow.fmax_mhz - fast.fmax_mhz).abs() < 0.01 * slow.fmax_mhz);
    }

    #[test]
    fn combinational_top_is_timed_port_to_port() {
        if !have_flow() {
            return;
        }
        let m = ModuleBuilder::new("vdx_synth_mul8");
        let a = m.input("a_i", 8);
        let b = m.input("b_i", 8);
        m.output("p_o", &a.mul(&b, 16));
        let m = m.finish().unwrap();
        let r = synth_module(&m, 100.0);
        let text = format_report(&r);
        check_consistent(&r);
        assert_eq!(r.flops, 0, "{text}");
        assert!(!r.cell_counts.keys().any(|c| c.starts_with("DFF")), "{text}");
        assert!(r.startpoint().contains("(input port"), "{text}");
        assert!(r.endpoint().starts_with("p_o[") && r.endpoint().contains("(output port"), "{text}");
        // Output delay 0 and no capturing flop: the minimum period is the arrival time itself.
        assert!((r.slack_ns - (10.0 - r.critical_path_ns)).abs() < 1e-3, "{text}");
        assert!((r.fmax_mhz - 1000.0 / r.critical_path_ns).abs() < 0.1, "{text}");
        assert!(r.critical_path[1].ends_with("ns") && r.critical_path[1].contains("(in)"), "{text}");
    }

    #[test]
    fn xoshiro_lane_maps_and_its_output_adders_are_critical() {
        if !have_flow() {
            return;
        }
        let m = crate::blocks::xoshiro::XoshiroLaneParams::default().build().unwrap();
        let r = synth_module(&m, 100.0);
        let text = format_report(&r);
        check_consistent(&r);
        assert_eq!(r.top, "vdx_xoshiro_lane");
        assert_eq!(r.flops, 256, "{text}");
        assert_eq!(r.cell_counts.get("DFFSR"), Some(&256), "{text}");
        // rand_o is two 64-bit adders in series; the state update is XORs and a mux.
        assert!(r.endpoint().starts_with("rand_o[") && r.startpoint().contains("flip-flop"), "{text}");
        assert!(r.critical_path_ns > 5.0, "{text}");
    }

    #[test]
    fn latches_are_refused_as_unmapped() {
        if !have_flow() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("lat.v");
        std::fs::write(
            &f,
            "module lat(input wire en, input wire d, output reg q);\n  always @* if (en) q = d;\nendmodule\n",
        )
        .unwrap();
        let err = synthesize(&[f], "lat", dir.path(), &SynthOptions::default()).unwrap_err();
        assert!(
            matches!(&err, SynthError::Unmapped { cells } if cells[0].starts_with("$_DLATCH_P_")),
            "{err}"
        );
    }

    #[test]
    fn flops_without_clk_i_are_refused() {
        if !have_flow() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ff.v");
        std::fs::write(&f, "module ff(input wire clock, input wire d, output reg q);\n  always @(posedge clock) q <= d;\nendmodule\n")
            .unwrap();
        let err = synthesize(&[f], "ff", dir.path(), &SynthOptions::default()).unwrap_err();
        assert!(matches!(err, SynthError::NoClock { flops: 1, .. }), "{err}");
    }

    #[test]
    fn yosys_errors_carry_command_and_output() {
        if !have_flow() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.v");
        std::fs::write(&f, "module x(input wire a, output wire y);\n  assign y = a;\nendmodule\n").unwrap();
        let err = synthesize(&[f], "not_there", &dir.path().join("w"), &SynthOptions::default()).unwrap_err();
        let text = err.to_string();
        eprintln!("{text}");
        assert!(matches!(err, SynthError::ToolFailed { tool: "yosys", .. }), "{text}");
        assert!(text.contains("synth.ys") && text.contains("not_there"), "{text}");
    }

    #[test]
    fn bad_inputs_are_refused_before_any_tool_runs() {
        let dir = tempfile::tempdir().unwrap();
        let f = vec![dir.path().join("a.v")];
        let opts = SynthOptions::default();
        assert!(matches!(synthesize(&[], "t", dir.path(), &opts), Err(SynthError::NoFiles)));
        assert!(matches!(synthesize(&f, "a b", dir.path(), &opts), Err(SynthError::BadTop(_))));
        assert!(matches!(synthesize(&f, "t;x", dir.path(), &opts), Err(SynthError::BadTop(_))));
        let zero = SynthOptions { clock_mhz: 0.0, ..opts.clone() };
        assert!(matches!(synthesize(&f, "t", dir.path(), &zero), Err(SynthError::BadClock(_))));
        let nolib = SynthOptions { liberty: dir.path().join("none.lib"), ..opts };
        let err = synthesize(&f, "t", dir.path(), &nolib).unwrap_err();
        assert!(err.to_string().contains(LIBERTY_PACKAGE), "{err}");
    }

    #[test]
    fn paths_the_scripts_would_misread_are_rejected() {
        for bad in ["a;b.v", "a\nb.v", "a\"b.v"] {
            assert!(
                matches!(yosys_word(Path::new(bad)), Err(SynthError::BadPath { language: "Yosys", .. })),
                "{bad}"
            );
        }
        for bad in ["/a{b", "/a}b", "/a\\b", "/a\nb", "-x.lib"] {
            assert!(
                matches!(tcl_word(Path::new(bad)), Err(SynthError::BadPath { language: "Tcl", .. })),
                "{bad}"
            );
        }
        assert_eq!(yosys_word(Path::new("/x y/#1 $a.v")).unwrap(), "\"/x y/#1 $a.v\"");
        assert_eq!(tcl_word(Path::new("/x y/$a [b].lib")).unwrap(), "{/x y/$a [b].lib}");
    }

    #[test]
    fn scripts_are_as_documented() {
        let lib = Path::new("/l/osu.lib");
        let ys = yosys_script(&[PathBuf::from("/d/a.v"), PathBuf::from("/d/b.v")], "top", lib).unwrap();
        let body: Vec<&str> = ys.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "read_verilog \"/d/a.v\" \"/d/b.v\"",
                "hierarchy -check -top top",
                "synth -top top -flatten",
                "dfflibmap -liberty \"/l/osu.lib\"",
                "abc -liberty \"/l/osu.lib\"",
                "opt_clean",
                "tee -o stat.rpt stat -liberty \"/l/osu.lib\"",
                "write_verilog -noattr netlist.v",
            ]
        );
        let tcl = sta_script("top", lib, 10.0, true).unwrap();
        assert!(tcl.contains("create_clock -name clk -period 10.000000 [get_ports {clk_i}]"), "{tcl}");
        assert!(tcl.contains("[delete_from_list [all_inputs] [get_ports {clk_i}]]"), "{tcl}");
        let tcl = sta_script("top", lib, 2.5, false).unwrap();
        assert!(tcl.contains("create_clock -name clk -period 2.500000\n"), "{tcl}");
        assert!(tcl.contains("set_input_delay 0 -clock clk [all_inputs]"), "{tcl}");
    }

    #[test]
    fn stat_report_parses_and_checks_its_sum() {
        let text = "\
=== t ===

   Number of wires:                  9
   Number of cells:                  5
     DFFSR                           2
     NAND2X1                         3

   Chip area for module '\\t': 448.000000
";
        let s = parse_stat(text, Path::new("stat.rpt")).unwrap();
        assert_eq!(s.cells, 5);
        assert_eq!(s.counts, BTreeMap::from([("DFFSR".into(), 2), ("NAND2X1".into(), 3)]));
        assert_eq!(s.area, Some(448.0));
        let short = text.replace("NAND2X1                         3", "NAND2X1                         2");
        let err = parse_stat(&short, Path::new("stat.rpt")).unwrap_err();
        assert!(err.to_string().contains("adding up to 5"), "{err}");
        let err = parse_stat("nothing", Path::new("stat.rpt")).unwrap_err();
        assert!(err.to_string().contains("`Number of cells: <n>`"), "{err}");
    }

    #[test]
    fn sta_report_parses_every_path_and_the_async_group_is_skipped() {
        let text = "\
Startpoint: rst_ni (input port clocked by clk)
Endpoint: _5_ (recovery check against rising-edge clock clk)
Path Group: **async_default**
Path Type: max

    Delay      Time   Description
-------------------------------------------------------------
   0.0000    0.0000   clock clk (rise edge)
   0.0000    0.0000 ^ input external delay
   0.0000    0.0000 ^ rst_ni (in)
   0.0000    0.0000 ^ _5_/S (DFFSR)
             0.0000   data arrival time
-------------------------------------------------------------
            -1.0000   slack (VIOLATED)


Startpoint: _1_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: y_o[3] (output port clocked by clk)
Path Group: clk
Path Type: max

    Delay      Time   Description
-------------------------------------------------------------
   0.0000    0.0000   clock clk (rise edge)
   0.0000    0.0000 ^ _1_/CLK (DFFSR)
   0.4507    0.4507 ^ _1_/Q (DFFSR)
   0.1604    0.6111 v _2_/Y (OR2X1)
   0.0000    0.6111 v y_o[3] (out)
             0.6111   data arrival time

  10.0000   10.0000   clock clk (rise edge)
            10.0000   data required time
-------------------------------------------------------------
            10.0000   data required time
            -0.6111   data arrival time
-------------------------------------------------------------
             9.3889   slack (MET)
";
        let paths = parse_sta_paths(text, Path::new("sta.log")).unwrap();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[0].group, "**async_default**");
        let p = &paths[1];
        assert_eq!(p.group, "clk");
        assert_eq!(p.startpoint, "_1_ (rising edge-triggered flip-flop clocked by clk)");
        assert_eq!(p.endpoint, "y_o[3] (output port clocked by clk)");
        assert_eq!((p.arrival, p.slack), (0.6111, 9.3889));
        assert_eq!(
            p.points,
            [
                "_1_/CLK (DFFSR) ^ 0.0000 ns",
                "_1_/Q (DFFSR) ^ 0.4507 ns",
                "_2_/Y (OR2X1) v 0.6111 ns",
                "y_o[3] (out) v 0.6111 ns"
            ]
        );
        let cut = &text[..text.rfind("9.3889").unwrap()];
        let err = parse_sta_paths(cut, Path::new("sta.log")).unwrap_err();
        assert!(
            err.to_string().contains("slack (MET|VIOLATED)") && err.to_string().contains("`_1_"),
            "{err}"
        );
        assert!(parse_sta_paths("No paths found.\n", Path::new("sta.log")).unwrap().is_empty());
    }

    #[test]
    fn sta_failures_are_detected_despite_exit_status_zero() {
        let ok = format!("x\n{STA_BEGIN}\nreport\n{STA_END}\n");
        assert_eq!(sta_report_section(&ok), Some("\nreport\n"));
        assert_eq!(sta_report_section(&format!("{STA_ERROR} Error: cannot read file x.v\n")), None);
        assert_eq!(sta_report_section(&format!("{ok}Error: top is not a verilog module.\n")), None);
        assert_eq!(sta_report_section(&format!("{STA_BEGIN}\nreport\n")), None);
    }

    #[test]
    fn liberty_flops_are_the_cells_with_an_ff_group() {
        let text = "\
library(l) {
  cell (DFFPOSX1) {
    cell_footprint : \"dff\";
    ff (DS0000,P0002) {
      next_state : \"D\";
    }
  }
  cell(\"LATCH\") {
    latch (DS0000,P0000) {
    }
  }
  /* cell (NOTAFLOP) { ff (x) {} } */
  cell (BUFX2) {
    cell_leakage_power : 1;
    function : \"ff (A)\";
  }
  cell(DFFSR) { ff(P0002,P0003) {
  }}
}
";
        let flops: Vec<String> = liberty_flop_cells(text).into_iter().collect();
        assert_eq!(flops, ["DFFPOSX1", "DFFSR"]);
        if let Ok(osu) = std::fs::read_to_string(OSU018_LIBERTY) {
            let flops: Vec<String> = liberty_flop_cells(&osu).into_iter().collect();
            assert_eq!(flops, ["DFFNEGX1", "DFFPOSX1", "DFFSR"]);
        }
    }

    #[test]
    fn clock_port_is_found_in_the_netlist() {
        let n = "module t(clk_i, a);\n  input clk_i;\n  input [3:0] a;\n  input clk_i_x;\nendmodule\n";
        assert!(has_input_port(n, "clk_i"));
        assert!(has_input_port(n, "a"));
        assert!(!has_input_port("  input clk_i_x;\n  output clk_i;\n", "clk_i"));
    }

    #[test]
    fn report_table_shows_the_figures() {
        let r = SynthReport {
            top: "t".into(),
            clock_mhz: 100.0,
            cells: 3,
            area_um2: 123.0,
            cell_counts: BTreeMap::from([("DFFSR".into(), 1), ("INVX1".into(), 2)]),
            flops: 1,
            critical_path_ns: 1.25,
            slack_ns: 8.5,
            fmax_mhz: 666.7,
            critical_path: vec!["a (input port clocked by clk)".into(), "x".into(), "q (output port)".into()],
        };
        let t = format_report(&r);
        for want in [
            "area            | 123.0 µm²",
            "1.250 ns (1 pins)",
            "slack @ 100 MHz | 8.500 ns",
            "666.7 MHz",
            "  INVX1",
            "q (output port)",
        ] {
            assert!(t.contains(want), "missing `{want}` in\n{t}");
        }
        let inf = SynthReport { fmax_mhz: f64::INFINITY, ..r };
        assert!(format_report(&inf).contains("unbounded"));
    }
}
