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
//!   abc -D <period in ps> -constr abc.constr -liberty "<lib>"
//!   opt_clean
//!   tee -o stat.rpt stat -liberty "<lib>"
//!   write_verilog -noattr -simple-lhs netlist.v
//!   ```
//!   `-simple-lhs` keeps concatenations off the left of `assign`s (Yosys writes
//!   `assign { x[3], x[1] } = …` where it merged flip-flops or alias bits, and this OpenSTA's
//!   Verilog reader rejects that). `dfflibmap` legalizes flip-flops itself in Yosys 0.23, so the
//!   `always @(posedge clk_i or negedge rst_ni)` registers vdx emits map onto OSU018's `DFFSR`
//!   (async set and reset; the unused one is tied high) without a separate `dfflegalize` pass.
//!   Anything left unmapped (a latch, for which OSU018's `LATCH` is not offered by `dfflibmap`)
//!   is an error rather than a report with a silently wrong area.
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
//! # Stage balance
//! [`stage_timing`] reuses the netlist of a [`synthesize`] run and asks OpenSTA for the worst
//! path to *every* endpoint (`report_checks -format end`, one line per endpoint), then groups the
//! endpoints by pipeline stage: generated pipelines name their registers `<signal>_s<k>_q`, and
//! Yosys keeps those names on the flip-flops' `Q` nets when it flattens. One row per stage (its
//! worst arrival is the depth of the logic in front of it) shows whether the stages are
//! balanced; [`format_stage_timing`] prints them. High-fanout nets count too: nothing buffers
//! them before layout, so a global enable or a table address driving hundreds of flops can
//! dominate every stage it reaches.
//!
//! # Why the STA script guards itself
//! This OpenSTA (Debian 2019 snapshot) keeps going after a failing command and exits with status
//! 0 even when told to `exit 1`, so the status cannot report failure. The script therefore runs
//! inside `catch`, checks `link_design`'s result, prints `VDX_STA_ERROR:` on failure and brackets
//! the report with `VDX_REPORT_BEGIN`/`VDX_REPORT_END`; any `Error` line, a missing bracket or the
//! error marker makes the run a [`SynthError::ToolFailed`].

use crate::sim::tool::{display_command, tail};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Cell ABC assumes drives every input while it maps and buffers: without a drive and load,
    /// ABC inserts no buffers, and a global stall enable fanning out to thousands of flops
    /// shows up as a 40 ns inverter in every path.
    pub drive_cell: String,
    /// Load in femtofarads (ABC's unit for `set_load`) assumed on every output.
    pub output_load: f64,
}

impl Default for SynthOptions {
    /// 100 MHz (a clock OSU 0.18 µm logic of a few gates per stage can meet) on OSU018.
    fn default() -> Self {
        Self {
            clock_mhz: 100.0,
            liberty: PathBuf::from(OSU018_LIBERTY),
            drive_cell: "INVX1".into(),
            output_load: 10.0,
        }
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
    /// A drive cell or load ABC cannot be given (it goes into ABC's constraint file).
    #[error(
        "ABC constraint: drive cell `{cell}` must be a plain cell name and the load {load} a non-negative number"
    )]
    BadConstraint {
        /// The drive cell asked for.
        cell: String,
        /// The output load asked for.
        load: f64,
    },
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
    /// [`stage_timing`] found no netlist to time.
    #[error("{path} not found: run `synthesize` into this work directory first", path = path.display())]
    NoNetlist {
        /// Where the netlist was expected (`<work_dir>/netlist.v`).
        path: PathBuf,
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
    check_inputs(top, opts)?;
    let yosys = find_tool("yosys", "yosys")?;
    let sta = find_tool("sta", "opensta")?;

    // Absolute inputs, because both tools run inside `work_dir` (so the generated files need no
    // quoting at all, whatever the work directory is called).
    let liberty = canonical(&opts.liberty)?;
    let files: Vec<PathBuf> = files.iter().map(|f| canonical(f)).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(work_dir).map_err(|source| io_err(work_dir, source))?;

    let script = yosys_script(&files, top, &liberty, 1.0e6 / opts.clock_mhz)?;
    write(&work_dir.join("synth.ys"), &script)?;
    let plain_cell =
        !opts.drive_cell.is_empty() && opts.drive_cell.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !(plain_cell && opts.output_load >= 0.0 && opts.output_load.is_finite()) {
        return Err(SynthError::BadConstraint { cell: opts.drive_cell.clone(), load: opts.output_load });
    }
    write(
        &work_dir.join("abc.constr"),
        &format!("set_driving_cell {}\nset_load {}\n", opts.drive_cell, opts.output_load),
    )?;
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
    let (output, sta_log) = run_sta(&sta, work_dir, "sta", &sta_script(top, &liberty, period_ns, clocked)?)?;
    let report = sta_report_section(&output).unwrap_or_default();
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

/// `-group_count` of the stage report: more paths per group than any design has endpoints, so
/// that every endpoint is listed (OpenSTA's cost does not depend on it).
const ALL_ENDPOINTS: u32 = 1_000_000_000;

/// Name of the [`StageTiming`] group of the output ports.
pub const OUTPUTS_GROUP: &str = "outputs";

/// Worst setup timing of one group of endpoints: the flip-flops of one pipeline stage, of one
/// register outside the stage naming, or all output ports (see [`stage_timing`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTiming {
    /// `"s<k>"` for the registers named `<signal>_s<k>_q` (stage `k` of a generated pipeline,
    /// whatever the signal and wherever in the hierarchy); otherwise the flattened register name
    /// without its bit index (such as `u_lane.cnt_q`), or [`OUTPUTS_GROUP`] for the output ports.
    pub stage: String,
    /// Endpoints OpenSTA timed in the group: register bits (their flip-flops' `D` pins) or output
    /// port bits. A flip-flop whose `D` no path reaches (a constant) is not counted.
    pub endpoints: u64,
    /// Latest data arrival time at any endpoint of the group, in ns (launch edge at 0, so
    /// clock-to-Q plus the logic in front of the stage): the depth of the stage's logic cone.
    pub worst_arrival_ns: f64,
    /// Smallest setup slack in the group at [`SynthOptions::clock_mhz`], in ns.
    pub worst_slack_ns: f64,
    /// The endpoint with [`Self::worst_arrival_ns`] (the worse slack among equal arrivals): a
    /// register bit, named after its flip-flop's `Q` net as [`stage_timing`] describes
    /// (`u_pair.f_s14_q[7]`), or an output port bit (`y_o[3]`).
    pub worst_endpoint: String,
}

/// Times every endpoint of the netlist [`synthesize`] left in `work_dir` (`netlist.v`, with `top`
/// its top module, timed with the same constraints as `synthesize` at `opts.clock_mhz`) and
/// returns the worst arrival and slack of each pipeline stage, to show whether the stages are
/// balanced.
///
/// OpenSTA reports the worst max-delay path to every endpoint (`report_checks -path_delay max
/// -group_count <all> -endpoint_count 1 -format end`; script `stages.tcl`, output `stages.log`).
/// A flip-flop's `D` endpoint belongs to the register on its `Q` pin, read from `netlist.v` (the
/// cells themselves are called `_1234_` after flattening, but Yosys keeps the register names on
/// their `Q` nets): `<signal>_s<k>_q` is stage `"s<k>"`, any other register is its own group, and
/// the output ports make one group [`OUTPUTS_GROUP`]. Where Yosys named a `Q` net after an alias
/// that is no register (`x_s10_d`, the unchanged input of the next stage, or an output port), the
/// register among the net's `assign` aliases names it instead. The asynchronous reset's recovery
/// checks are left out, as in [`synthesize`].
///
/// Rows come in stage order (`s0`, `s1`, … by number), then the other registers by name, then
/// the outputs. An endpoint that is neither a flip-flop pin nor an output port is a
/// [`SynthError::Parse`] error rather than a silently dropped path.
pub fn stage_timing(work_dir: &Path, top: &str, opts: &SynthOptions) -> Result<Vec<StageTiming>, SynthError> {
    check_inputs(top, opts)?;
    let sta = find_tool("sta", "opensta")?;
    let liberty = canonical(&opts.liberty)?;
    let netlist_path = work_dir.join("netlist.v");
    if !netlist_path.is_file() {
        return Err(SynthError::NoNetlist { path: netlist_path });
    }
    let netlist = read(&netlist_path)?;
    let flops = flop_registers(&netlist, &liberty_flop_cells(&read(&liberty)?));
    let clocked = has_input_port(&netlist, CLOCK_PORT);
    if !flops.is_empty() && !clocked {
        return Err(SynthError::NoClock { top: top.to_string(), flops: flops.len() as u64 });
    }

    let period_ns = 1000.0 / opts.clock_mhz;
    let report = format!(
        "report_checks -path_delay max -group_count {ALL_ENDPOINTS} -endpoint_count 1 -format end -digits 4"
    );
    let script = sta_script_reporting(top, &liberty, period_ns, clocked, &report)?;
    let (output, log) = run_sta(&sta, work_dir, "stages", &script)?;
    let section = sta_report_section(&output).unwrap_or_default();
    let ends = parse_sta_ends(section, &log)?;
    group_stages(&ends, &flops, &log)
}

/// Renders [`stage_timing`] rows as a table, one line per row in the given order: stage,
/// endpoints, worst arrival and worst slack (ns, 3 decimals), worst endpoint, and a bar of `#`
/// proportional to the worst arrival (30 for the latest), so that an unbalanced stage stands out.
pub fn format_stage_timing(rows: &[StageTiming]) -> String {
    const BAR: f64 = 30.0;
    let longest = rows.iter().map(|r| r.worst_arrival_ns).fold(0.0, f64::max);
    let head = ["stage", "endpoints", "arrival ns", "slack ns", "worst endpoint"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.stage.clone(),
                r.endpoints.to_string(),
                format!("{:.3}", r.worst_arrival_ns),
                format!("{:.3}", r.worst_slack_ns),
                r.worst_endpoint.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells.iter().map(|c| c[i].chars().count()).chain([head[i].chars().count()]).max().unwrap_or(0)
    };
    let w: Vec<usize> = (0..5).map(width).collect();
    let line = |c: [&str; 5], bar: &str| {
        format!(
            "{:<w0$} | {:>w1$} | {:>w2$} | {:>w3$} | {:<w4$} | {bar}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4],
        )
        .trim_end()
        .trim_end_matches(" |")
        .trim_end()
        .to_string()
            + "\n"
    };
    let mut out = line(head, "");
    for (r, c) in rows.iter().zip(&cells) {
        let n = if longest > 0.0 { (r.worst_arrival_ns / longest * BAR).round() as usize } else { 0 };
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]], &"#".repeat(n)));
    }
    out
}

/// One endpoint line of `report_checks -format end`.
#[derive(Debug, Clone, PartialEq)]
struct StaEnd {
    /// OpenSTA's path group (`clk`, `**async_default**`, …).
    group: String,
    /// `inst/pin` or a port bit.
    name: String,
    /// What OpenSTA puts in parentheses after the name: the cell type, or `output`.
    kind: String,
    arrival: f64,
    slack: f64,
}

/// Parses `report_checks -format end`: a `max_delay/setup group <name>` line opens each group,
/// and each endpoint line is `<endpoint> (<kind>) <required> <arrival> <slack> (MET|VIOLATED)`.
fn parse_sta_ends(text: &str, file: &Path) -> Result<Vec<StaEnd>, SynthError> {
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

/// Which [`StageTiming`] group an endpoint belongs to; the order is the row order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum StageKey {
    Stage(u32),
    Register(String),
    Outputs,
}

impl StageKey {
    fn label(&self) -> String {
        match self {
            StageKey::Stage(k) => format!("s{k}"),
            StageKey::Register(r) => r.clone(),
            StageKey::Outputs => OUTPUTS_GROUP.to_string(),
        }
    }
}

/// The stage of register `reg` (a net name without bit index): `k` when it ends in `_s<k>_q`.
fn stage_of(reg: &str) -> Option<u32> {
    let head = reg.strip_suffix("_q")?;
    let digits = &head[head.rfind("_s")? + 2..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A net name without its bit index: `u_lane.s0_q[3]` → `u_lane.s0_q`.
fn net_base(net: &str) -> &str {
    match net.strip_suffix(']').and_then(|n| n.rfind('[').map(|i| &n[..i])) {
        Some(base) => base,
        None => net,
    }
}

/// Groups the endpoints of the clock groups (not OpenSTA's `**…**` groups) into rows; `flops`
/// maps flip-flop instance names (as [`flop_q_nets`] gives them) to their `Q` nets.
fn group_stages(
    ends: &[StaEnd],
    flops: &BTreeMap<String, String>,
    file: &Path,
) -> Result<Vec<StageTiming>, SynthError> {
    let mut groups: BTreeMap<StageKey, StageTiming> = BTreeMap::new();
    for end in ends.iter().filter(|e| !e.group.starts_with("**")) {
        let (key, label) = if end.kind == "output" {
            (StageKey::Outputs, end.name.clone())
        } else {
            let inst = end.name.rsplit_once('/').map_or(end.name.as_str(), |(i, _)| i).replace('\\', "");
            let q = flops.get(&inst).ok_or_else(|| SynthError::Parse {
                file: file.to_path_buf(),
                expected: format!(
                    "endpoints on flip-flops of netlist.v or on output ports, not `{} ({})`",
                    end.name, end.kind
                ),
            })?;
            let reg = net_base(q);
            let key = stage_of(reg).map_or_else(|| StageKey::Register(reg.to_string()), StageKey::Stage);
            (key, q.clone())
        };
        let stage = key.label();
        let row = groups.entry(key).or_insert_with(|| StageTiming {
            stage,
            endpoints: 0,
            worst_arrival_ns: f64::NEG_INFINITY,
            worst_slack_ns: f64::INFINITY,
            worst_endpoint: String::new(),
        });
        row.endpoints += 1;
        let later = end.arrival > row.worst_arrival_ns
            || (end.arrival == row.worst_arrival_ns && end.slack < row.worst_slack_ns);
        if later {
            row.worst_arrival_ns = end.arrival;
            row.worst_endpoint = label;
        }
        row.worst_slack_ns = row.worst_slack_ns.min(end.slack);
    }
    Ok(groups.into_values().collect())
}

/// Tokens of a Yosys `write_verilog` netlist: escaped identifiers (`\\u_lane.s0_q`, backslash
/// kept), words (identifiers, numbers, sized constants such as `1'h1`) and single punctuation
/// characters; comments and `(* … *)` attributes are skipped.
fn netlist_tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'\'';
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if rest.starts_with("//") {
            i = rest.find('\n').map_or(bytes.len(), |e| i + e);
        } else if let Some(body) = rest.strip_prefix("/*") {
            i = body.find("*/").map_or(bytes.len(), |e| i + 2 + e + 2);
        } else if let Some(body) = rest.strip_prefix("(*").filter(|b| !b.starts_with(')')) {
            i = body.find("*)").map_or(bytes.len(), |e| i + 2 + e + 2);
        } else if c == b'\\' {
            let len = rest.find(|ch: char| ch.is_ascii_whitespace()).unwrap_or(rest.len());
            tokens.push(&rest[..len]);
            i += len;
        } else if word(c) {
            let len = rest.bytes().position(|b| !word(b)).unwrap_or(rest.len());
            tokens.push(&rest[..len]);
            i += len;
        } else {
            let len = rest.chars().next().map_or(1, char::len_utf8);
            tokens.push(&rest[..len]);
            i += len;
        }
    }
    tokens
}

/// The flip-flop instances of a Yosys netlist (cells whose type is in `flop_cells`) mapped to the
/// net on their `Q` pin, both without escape backslashes: `_3357_` → `u_lane.s0_q[3]`.
/// Instances without a `Q` connection are left out.
fn flop_q_nets(t: &[&str], flop_cells: &BTreeSet<String>) -> BTreeMap<String, String> {
    let unescape = |tok: &str| tok.strip_prefix('\\').unwrap_or(tok).to_string();
    let mut flops = BTreeMap::new();
    let mut i = 0;
    while i + 2 < t.len() {
        if !(flop_cells.contains(t[i]) && t[i + 2] == "(" && t[i + 1] != "(") {
            i += 1;
            continue;
        }
        let inst = unescape(t[i + 1]);
        // The connection list: `.PIN(expr)` items up to the matching `)`.
        let mut j = i + 3;
        let mut depth = 1;
        let mut q = None;
        while j < t.len() && depth > 0 {
            match t[j] {
                "(" => depth += 1,
                ")" => depth -= 1,
                "." if depth == 1 && t.get(j + 1) == Some(&"Q") && t.get(j + 2) == Some(&"(") => {
                    let mut k = j + 3;
                    let mut net = String::new();
                    let mut d = 1;
                    while k < t.len() {
                        match t[k] {
                            "(" => d += 1,
                            ")" => d -= 1,
                            _ => {}
                        }
                        if d == 0 {
                            break;
                        }
                        net.push_str(&unescape(t[k]));
                        k += 1;
                    }
                    q = Some(net);
                    j = k + 1;
                    continue;
                }
                _ => {}
            }
            j += 1;
        }
        if let Some(q) = q.filter(|q| !q.is_empty()) {
            flops.insert(inst, q);
        }
        i = j;
    }
    flops
}

/// The flip-flops of a Yosys netlist mapped to the register bit each holds, named as in the
/// design: the net on the flop's `Q` pin ([`flop_q_nets`]) or, when Yosys gave that net another
/// of its names, an alias of it that names a register ([`register_alias`]).
fn flop_registers(netlist: &str, flop_cells: &BTreeSet<String>) -> BTreeMap<String, String> {
    let tokens = netlist_tokens(netlist);
    let aliases = netlist_aliases(&tokens);
    flop_q_nets(&tokens, flop_cells)
        .into_iter()
        .map(|(inst, q)| (inst, register_alias(&q, &aliases)))
        .collect()
}

/// Whether net bit `bit` (`name[i]` or `name`) is named like a register (`…_q`).
fn is_register_bit(bit: &str) -> bool {
    net_base(bit).ends_with("_q")
}

/// The name a flop's `Q` bit is reported under: the bit itself when it is named like a register;
/// otherwise, among the bits `assign` statements connect it to (directly or in a chain), a pipeline
/// stage register (`…_s<k>_q`) before any other register name (`…_q`), the lexically first of
/// each kind; otherwise the bit itself. Yosys names a net after one of its aliases, and when a
/// register `x_s9_q` drives `x_s10_d` unchanged it may pick the latter.
fn register_alias(q: &str, aliases: &HashMap<String, Vec<String>>) -> String {
    if is_register_bit(q) {
        return q.to_string();
    }
    let mut seen: BTreeSet<&str> = BTreeSet::from([q]);
    let mut todo = vec![q];
    while let Some(bit) = todo.pop() {
        for next in aliases.get(bit).into_iter().flatten() {
            if seen.insert(next) {
                todo.push(next);
            }
        }
    }
    let best = |stage: bool| {
        seen.iter()
            .find(|b| is_register_bit(b) && stage_of(net_base(b)).is_some() == stage)
            .map(|b| b.to_string())
    };
    best(true).or_else(|| best(false)).unwrap_or_else(|| q.to_string())
}

/// Bit-level connections of a netlist's `assign` statements, both ways: `assign a[1:0] = {b, c[4]};`
/// links `a[1]`–`b` and `a[0]`–`c[4]` (for a 1-bit `b`). Vector widths come from the `wire`,
/// `reg`, `input`, `output` and `inout` declarations; constant bits link nothing, and a statement
/// whose sides cannot be expanded (an unknown construct, different widths) is skipped.
fn netlist_aliases(t: &[&str]) -> HashMap<String, Vec<String>> {
    let name = |tok: &str| tok.strip_prefix('\\').unwrap_or(tok).to_string();
    let mut ranges: HashMap<String, (i64, i64)> = HashMap::new();
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            "wire" | "reg" | "input" | "output" | "inout" => {
                // `<kind> [signed] [[msb:lsb]] name {, name} ;`
                let mut j = i + 1;
                if t.get(j) == Some(&"signed") {
                    j += 1;
                }
                let mut range = None;
                if t.get(j) == Some(&"[") && t.get(j + 2) == Some(&":") && t.get(j + 4) == Some(&"]") {
                    if let (Ok(msb), Ok(lsb)) = (t[j + 1].parse::<i64>(), t[j + 3].parse::<i64>()) {
                        range = Some((msb, lsb));
                    }
                    j += 5;
                }
                while j < t.len() && t[j] != ";" {
                    if let (Some(r), false) = (range, t[j] == ",") {
                        ranges.insert(name(t[j]), r);
                    }
                    j += 1;
                }
                i = j;
            }
            "assign" => {
                let end = t[i..].iter().position(|&x| x == ";").map_or(t.len(), |e| i + e);
                let stmt = &t[i + 1..end];
                if let Some(eq) = stmt.iter().position(|&x| x == "=") {
                    let lhs = expand_bits(&stmt[..eq], &ranges);
                    let rhs = expand_bits(&stmt[eq + 1..], &ranges);
                    if let (Some(lhs), Some(rhs)) = (lhs, rhs)
                        && lhs.len() == rhs.len()
                    {
                        for (a, b) in lhs.into_iter().zip(rhs) {
                            if let (Some(a), Some(b)) = (a, b) {
                                links.entry(a.clone()).or_default().push(b.clone());
                                links.entry(b).or_default().push(a);
                            }
                        }
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    links
}

/// The bits of a netlist expression, most significant first: `None` for a constant bit, the
/// bit's name (`name[i]`, or `name` for a wire declared without a range) otherwise. Handles
/// names, bit and part selects, sized constants and `{…}` concatenations; `None` for anything
/// else.
fn expand_bits(t: &[&str], ranges: &HashMap<String, (i64, i64)>) -> Option<Vec<Option<String>>> {
    fn primary(
        t: &[&str],
        i: &mut usize,
        ranges: &HashMap<String, (i64, i64)>,
        out: &mut Vec<Option<String>>,
    ) -> Option<()> {
        let tok = *t.get(*i)?;
        *i += 1;
        if tok == "{" {
            loop {
                primary(t, i, ranges, out)?;
                match *t.get(*i)? {
                    "," => *i += 1,
                    "}" => {
                        *i += 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }
        if let Some((width, _)) = tok.split_once('\'') {
            // A sized constant such as 8'h00: only its width matters.
            let width: usize = width.parse().ok()?;
            out.extend(std::iter::repeat_n(None, width));
            return Some(());
        }
        let first = tok.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_' || first == '\\') {
            return None;
        }
        let name = tok.strip_prefix('\\').unwrap_or(tok);
        let bits = |hi: i64, lo: i64| -> Vec<Option<String>> {
            let step = if hi >= lo { -1 } else { 1 };
            let mut v = Vec::new();
            let mut b = hi;
            loop {
                v.push(Some(format!("{name}[{b}]")));
                if b == lo {
                    break;
                }
                b += step;
            }
            v
        };
        if t.get(*i) == Some(&"[") {
            let hi: i64 = t.get(*i + 1)?.parse().ok()?;
            if t.get(*i + 2) == Some(&"]") {
                *i += 3;
                out.extend(bits(hi, hi));
            } else if t.get(*i + 2) == Some(&":") && t.get(*i + 4) == Some(&"]") {
                let lo: i64 = t.get(*i + 3)?.parse().ok()?;
                *i += 5;
                out.extend(bits(hi, lo));
            } else {
                return None;
            }
        } else if let Some(&(msb, lsb)) = ranges.get(name) {
            out.extend(bits(msb, lsb));
        } else {
            out.push(Some(name.to_string()));
        }
        Some(())
    }
    let mut out = Vec::new();
    let mut i = 0;
    primary(t, &mut i, ranges, &mut out)?;
    (i == t.len()).then_some(out)
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

/// Checks what both the synthesis and the stage report put into tool scripts.
fn check_inputs(top: &str, opts: &SynthOptions) -> Result<(), SynthError> {
    if !is_identifier(top) {
        return Err(SynthError::BadTop(top.to_string()));
    }
    if !(opts.clock_mhz.is_finite() && opts.clock_mhz > 0.0) {
        return Err(SynthError::BadClock(opts.clock_mhz));
    }
    if !opts.liberty.is_file() {
        return Err(SynthError::LibertyMissing { path: opts.liberty.clone() });
    }
    Ok(())
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

/// The Yosys script (see the module docs).
fn yosys_script(files: &[PathBuf], top: &str, liberty: &Path, period_ps: f64) -> Result<String, SynthError> {
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
         abc -D {period_ps:.0} -constr abc.constr -liberty {lib}\n\
         opt_clean\n\
         tee -o stat.rpt stat -liberty {lib}\n\
         write_verilog -noattr -simple-lhs netlist.v\n"
    ))
}

/// The OpenSTA script (see the module docs). `{clk_i}`-style braces keep Tcl from substituting
/// anything inside names and paths.
fn sta_script(top: &str, liberty: &Path, period_ns: f64, clocked: bool) -> Result<String, SynthError> {
    sta_script_reporting(
        top,
        liberty,
        period_ns,
        clocked,
        "report_checks -path_delay max -format full -digits 4",
    )
}

/// [`sta_script`] with `report` (one Tcl command) in place of its `report_checks`.
fn sta_script_reporting(
    top: &str,
    liberty: &Path,
    period_ns: f64,
    clocked: bool,
    report: &str,
) -> Result<String, SynthError> {
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
         {report}\n  \
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::BlockParams;
    use crate::hdl::{Design, Module, ModuleBuilder, Reset, Signal};
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

    /// A 3-stage pipeline inside `u_pipe` of a top: stage 0 registers the inputs (2 × 16 bits),
    /// stage 1 their 32-bit product (the deep cone), stage 2 the sum of the product's halves
    /// (16 bits, a short adder); a free-running 4-bit counter `count_q` is a register outside
    /// the stage naming. Outputs: the stage-2 value and the counter, straight from their flops.
    fn three_stage_pipeline() -> Module {
        let p = ModuleBuilder::new("vdx_stage_pipe");
        let a = p.input("a_i", 16);
        let b = p.input("b_i", 16);
        let stage = |name: &str, value: &Signal| {
            let r = p.reg(name, value.width(), Reset::Zero);
            p.next(&r, value);
            r
        };
        let a0 = stage("a_s0", &a);
        let b0 = stage("b_s0", &b);
        let prod = stage("prod_s1", &a0.mul(&b0, 32));
        let sum = stage("sum_s2", &prod.slice(31, 16).add(&prod.slice(15, 0)));
        let count = p.reg("count", 4, Reset::Zero);
        p.next(&count, &count.add(&p.lit(1, 4)));
        p.output("y_o", &sum);
        p.output("count_o", &count);
        let pipe = p.finish().unwrap();
        let m = ModuleBuilder::new("vdx_stage_top");
        let a = m.input("a_i", 16);
        let b = m.input("b_i", 16);
        let u = m.instance("u_pipe", &pipe, &[("a_i", &a), ("b_i", &b)]);
        m.output("y_o", &u.output("y_o"));
        m.output("count_o", &u.output("count_o"));
        m.finish().unwrap()
    }

    #[test]
    fn stage_timing_finds_the_deep_stage() {
        if !have_flow() {
            return;
        }
        let m = three_stage_pipeline();
        let dir = tempfile::tempdir().unwrap();
        let files = emit(&m, dir.path());
        let work = dir.path().join("synth");
        let opts = SynthOptions::default();
        let r = synthesize(&files, m.name(), &work, &opts).unwrap_or_else(|e| panic!("{e}"));
        let t = Instant::now();
        let rows = stage_timing(&work, m.name(), &opts).unwrap_or_else(|e| panic!("{e}"));
        let table = format_stage_timing(&rows);
        eprintln!("stage_timing: {:.2} s\n{table}", t.elapsed().as_secs_f64());
        assert!(work.join("stages.tcl").is_file() && work.join("stages.log").is_file());

        // Stage order, then the other register, then the outputs; one endpoint per register or
        // output bit.
        let names: Vec<&str> = rows.iter().map(|r| r.stage.as_str()).collect();
        assert_eq!(names, ["s0", "s1", "s2", "u_pipe.count_q", OUTPUTS_GROUP], "{table}");
        let endpoints: Vec<u64> = rows.iter().map(|r| r.endpoints).collect();
        assert_eq!(endpoints, [2 * 16, 32, 16, 4, 16 + 4], "{table}");
        assert_eq!(endpoints[..4].iter().sum::<u64>(), r.flops, "{table}");
        let row = |name: &str| rows.iter().find(|r| r.stage == name).unwrap();

        // The multiplier's stage is by far the deepest; the input registers have no logic in
        // front of them (input delay 0), the adder's stage and the outputs little.
        let (s0, s1, s2) = (row("s0"), row("s1"), row("s2"));
        assert!(s0.worst_arrival_ns < 0.1, "{table}");
        assert!(s1.worst_arrival_ns > 1.5 * s2.worst_arrival_ns, "{table}");
        for other in rows.iter().filter(|r| r.stage != "s1") {
            assert!(other.worst_arrival_ns < s1.worst_arrival_ns, "{table}");
            assert!(other.worst_slack_ns > s1.worst_slack_ns, "{table}");
        }
        assert!(s1.worst_endpoint.starts_with("u_pipe.prod_s1_q["), "{table}");
        assert!(s2.worst_endpoint.starts_with("u_pipe.sum_s2_q["), "{table}");
        assert!(row(OUTPUTS_GROUP).worst_endpoint.ends_with(']'), "{table}");

        // The same endpoints and constraints as `synthesize`: its critical path is the deepest
        // stage's worst path, and each slack is the period minus setup minus arrival.
        assert!((s1.worst_arrival_ns - r.critical_path_ns).abs() < 1e-3, "{table}");
        assert!((s1.worst_slack_ns - r.slack_ns).abs() < 1e-3, "{table}");
        for r in &rows {
            let setup = 10.0 - r.worst_slack_ns - r.worst_arrival_ns;
            assert!((-1e-3..0.5).contains(&setup), "{}: {setup} ns\n{table}", r.stage);
        }
    }

    /// The SGU pair unit (one lane): every stage `s0`…`s16` of its pipeline has a row, the rows
    /// account for every flip-flop, and the table and run times are printed. Ignored by default
    /// because Yosys needs about six minutes for it: `cargo test --release --lib
    /// sgu_pair_unit_stage_table -- --ignored --nocapture`.
    #[test]
    #[ignore = "about 6 minutes of Yosys"]
    fn sgu_pair_unit_stage_table() {
        if !have_flow() {
            return;
        }
        let p = crate::blocks::sgu::SguParams { lanes: 1, ..Default::default() };
        let bm = crate::blocks::sgu::golden::BoxMuller::new(&p);
        let m = crate::blocks::sgu::rtl::pair_unit(&p, &bm).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = emit(&m, dir.path());
        let work = dir.path().join("synth");
        let opts = SynthOptions::default();
        let t = Instant::now();
        let r = synthesize(&files, "vdx_sgu_pair", &work, &opts).unwrap_or_else(|e| panic!("{e}"));
        let t_synth = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = stage_timing(&work, "vdx_sgu_pair", &opts).unwrap_or_else(|e| panic!("{e}"));
        let t_stages = t.elapsed().as_secs_f64();
        let table = format_stage_timing(&rows);
        eprintln!("{}synthesize: {t_synth:.1} s, stage_timing: {t_stages:.1} s\n{table}", format_report(&r));
        check_consistent(&r);
        let stages: Vec<&str> =
            rows.iter().take_while(|r| r.stage.starts_with('s')).map(|r| r.stage.as_str()).collect();
        let want: Vec<String> =
            (0..=crate::blocks::sgu::rtl::PAIR_LATENCY).map(|k| format!("s{k}")).collect();
        assert_eq!(stages, want, "{table}");
        let registers: u64 = rows.iter().filter(|r| r.stage != OUTPUTS_GROUP).map(|r| r.endpoints).sum();
        assert_eq!(registers, r.flops, "{table}");
        // The same endpoints as `synthesize` timed: the worst slack is the critical path's.
        let worst = rows.iter().map(|r| r.worst_slack_ns).fold(f64::INFINITY, f64::min);
        assert!((worst - r.slack_ns).abs() < 1e-3, "{} vs {table}", r.slack_ns);
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
    fn xoshiro_lane_maps_with_one_adder_per_path() {
        if !have_flow() {
            return;
        }
        let m = crate::blocks::xoshiro::XoshiroLaneParams::default().build().unwrap();
        let r = synth_module(&m, 100.0);
        let text = format_report(&r);
        check_consistent(&r);
        assert_eq!(r.top, "vdx_xoshiro_lane");
        // Four state words and the register holding s0 + s3.
        assert_eq!(r.flops, 320, "{text}");
        assert_eq!(r.cell_counts.get("DFFSR"), Some(&320), "{text}");
        // Every path holds one 64-bit adder: into the sum register after the state update's XORs
        // and mux, or from it to rand_o.
        assert!(r.startpoint().contains("flip-flop"), "{text}");
        assert!(r.endpoint().starts_with("rand_o[") || r.endpoint().contains("flip-flop"), "{text}");
        assert!(r.critical_path_ns > 3.0, "{text}");
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
        let ys =
            yosys_script(&[PathBuf::from("/d/a.v"), PathBuf::from("/d/b.v")], "top", lib, 10_000.0).unwrap();
        let body: Vec<&str> = ys.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "read_verilog \"/d/a.v\" \"/d/b.v\"",
                "hierarchy -check -top top",
                "synth -top top -flatten",
                "dfflibmap -liberty \"/l/osu.lib\"",
                "abc -D 10000 -constr abc.constr -liberty \"/l/osu.lib\"",
                "opt_clean",
                "tee -o stat.rpt stat -liberty \"/l/osu.lib\"",
                "write_verilog -noattr -simple-lhs netlist.v",
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
    fn stage_names_are_read_from_register_names() {
        assert_eq!(stage_of("ln_acc0_s5_q"), Some(5));
        assert_eq!(stage_of("u_pair.f_s14_q"), Some(14));
        assert_eq!(stage_of("a_s1_b_s12_q"), Some(12));
        for none in ["cnt_q", "x_s_q", "x_s1a_q", "x_s1_d", "s1_q", "x_s1_q_1"] {
            assert_eq!(stage_of(none), None, "{none}");
        }
        assert_eq!(net_base("u_lane.s0_q[3]"), "u_lane.s0_q");
        assert_eq!(net_base("e_zero_s9_q"), "e_zero_s9_q");
    }

    #[test]
    fn flops_are_named_after_their_q_nets_and_register_aliases() {
        let netlist = "\
/* Generated by Yosys 0.23 */
module t(clk_i, rst_ni, y_o);
  input clk_i;
  wire [5:0] half_shift_s10_d;
  wire [5:0] half_shift_s9_q;
  wire [1:0] \\u_lane.s0_q ;
  wire e_zero_s9_q;
  wire [3:0] mix;
  wire [1:0] mix_s3_q;
  wire [1:0] other_q;
  output [1:0] y_o;
  DFFSR _1_ (
    .CLK(clk_i),
    .D(_9_),
    .Q(\\u_lane.s0_q [1]),
    .R(rst_ni),
    .S(1'h1)
  );
  DFFSR \\u_x.odd$name  (
    .CLK(clk_i),
    .Q(half_shift_s10_d[4]),
    .R(rst_ni)
  );
  DFFPOSX1 _3_ (.CLK(clk_i), .D(_8_), .Q(e_zero_s9_q));
  DFFPOSX1 _4_ (.CLK(clk_i), .D(_8_), .Q(mix[2]));
  DFFPOSX1 _5_ (.CLK(clk_i), .D(_8_), .Q(mix[0]));
  DFFPOSX1 _6_ (.CLK(clk_i), .D(_8_), .Q(y_o[1]));
  NAND2X1 _7_ (.A(e_zero_s9_q), .B(mix[2]), .Y(_8_));
  DFFPOSX1 _10_ (.CLK(clk_i), .D(_8_));
  assign half_shift_s9_q = half_shift_s10_d;
  assign { mix_s3_q[1], other_q[0] } = { mix[2], mix[0] };
  assign other_q[1] = y_o[1];
  assign y_o[0] = 1'h0;
endmodule
";
        let cells = BTreeSet::from(["DFFSR".to_string(), "DFFPOSX1".to_string()]);
        let flops = flop_registers(netlist, &cells);
        let want = [
            ("_1_", "u_lane.s0_q[1]"),
            ("_3_", "e_zero_s9_q"),
            ("_4_", "mix_s3_q[1]"),
            ("_5_", "other_q[0]"),
            ("_6_", "other_q[1]"),
            ("u_x.odd$name", "half_shift_s9_q[4]"),
        ];
        let want: BTreeMap<String, String> =
            want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(flops, want);
        // Without the aliases, the raw Q nets.
        let raw = flop_q_nets(&netlist_tokens(netlist), &cells);
        assert_eq!(raw["u_x.odd$name"], "half_shift_s10_d[4]");
        assert_eq!(raw["_4_"], "mix[2]");
        assert!(!raw.contains_key("_7_") && !raw.contains_key("_10_"));
    }

    #[test]
    fn netlist_expressions_expand_to_bits() {
        let ranges = HashMap::from([("w".to_string(), (3, 0)), ("up".to_string(), (0, 1))]);
        let bits = |text: &str| {
            expand_bits(&netlist_tokens(text), &ranges)
                .map(|v| v.into_iter().map(|b| b.unwrap_or_else(|| "0".into())).collect::<Vec<_>>())
        };
        assert_eq!(bits("w").unwrap(), ["w[3]", "w[2]", "w[1]", "w[0]"]);
        assert_eq!(bits("up").unwrap(), ["up[0]", "up[1]"]);
        assert_eq!(
            bits("{ w[1:0], 2'h0, s, \\a.b [7] }").unwrap(),
            ["w[1]", "w[0]", "0", "0", "s", "a.b[7]"]
        );
        assert_eq!(bits("~w"), None);
        assert_eq!(bits("w[1:0] w"), None);
        assert_eq!(bits("{ w, }"), None);
    }

    #[test]
    fn sta_end_report_parses_and_groups_by_stage() {
        let text = "\
max_delay/setup group **async_default**

                                      Required    Actual
Endpoint                                 Delay     Delay     Slack
------------------------------------------------------------------
_1_/R (DFFSR)                          10.1172    0.0000   10.1172 (MET)

max_delay/setup group clk

                                      Required    Actual
Endpoint                                 Delay     Delay     Slack
------------------------------------------------------------------
_1_/D (DFFSR)                           9.9086   12.5485   -2.6399 (VIOLATED)
_2_/D (DFFSR)                           9.9088    5.5078    4.4010 (MET)
_3_/D (DFFSR)                           9.8000    5.5078    4.2922 (MET)
_4_/D (DFFSR)                           9.9085    1.3954    8.5131 (MET)
_5_/D (DFFSR)                           9.9085    0.3954    9.5131 (MET)
y_o[1] (output)                        10.0000    0.4781    9.5219 (MET)
y_o[0] (output)                        10.0000    0.4689    9.5311 (MET)
";
        let ends = parse_sta_ends(text, Path::new("stages.log")).unwrap();
        assert_eq!(ends.len(), 8);
        assert_eq!(
            ends[0],
            StaEnd {
                group: "**async_default**".into(),
                name: "_1_/R".into(),
                kind: "DFFSR".into(),
                arrival: 0.0,
                slack: 10.1172
            }
        );
        assert_eq!((ends[1].group.as_str(), ends[1].arrival, ends[1].slack), ("clk", 12.5485, -2.6399));
        assert_eq!((ends[6].name.as_str(), ends[6].kind.as_str()), ("y_o[1]", "output"));

        let flops: BTreeMap<String, String> = [
            ("_1_", "u.pipe.p_s10_q[0]"),
            ("_2_", "a_s2_q[1]"),
            ("_3_", "b_s2_q"),
            ("_4_", "cnt_q[0]"),
            ("_5_", "a_s2_q[0]"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let rows = group_stages(&ends, &flops, Path::new("stages.log")).unwrap();
        let table = format_stage_timing(&rows);
        let summary: Vec<(&str, u64, f64, f64, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.stage.as_str(),
                    r.endpoints,
                    r.worst_arrival_ns,
                    r.worst_slack_ns,
                    r.worst_endpoint.as_str(),
                )
            })
            .collect();
        // s2 before s10 (by number), the equal arrivals in s2 resolved by the worse slack, and
        // the async group left out.
        assert_eq!(
            summary,
            [
                ("s2", 3, 5.5078, 4.2922, "b_s2_q"),
                ("s10", 1, 12.5485, -2.6399, "u.pipe.p_s10_q[0]"),
                ("cnt_q", 1, 1.3954, 8.5131, "cnt_q[0]"),
                (OUTPUTS_GROUP, 2, 0.4781, 9.5219, "y_o[1]"),
            ],
            "{table}"
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "stage   | endpoints | arrival ns | slack ns | worst endpoint");
        assert_eq!(
            lines[2],
            format!("s10     |         1 |     12.549 |   -2.640 | u.pipe.p_s10_q[0] | {}", "#".repeat(30))
        );
        assert!(lines[1].ends_with(&format!("| {}", "#".repeat(13))), "{table}");
        assert!(lines.iter().all(|l| *l == l.trim_end()), "trailing blanks in\n{table}");
        assert!(format_stage_timing(&[]).starts_with("stage | endpoints"));

        // An endpoint that is neither a known flop nor an output port is an error, not a drop.
        let mut missing = flops.clone();
        missing.remove("_4_");
        let err = group_stages(&ends, &missing, Path::new("stages.log")).unwrap_err();
        assert!(err.to_string().contains("`_4_/D (DFFSR)`"), "{err}");
        let bad = text.replace("    5.5078    4.4010", "    x.5078    4.4010");
        let err = parse_sta_ends(&bad, Path::new("stages.log")).unwrap_err();
        assert!(err.to_string().contains("_2_/D (DFFSR)"), "{err}");
    }

    #[test]
    fn stage_timing_refuses_bad_inputs_before_running_sta() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions::default();
        assert!(matches!(stage_timing(dir.path(), "a b", &opts), Err(SynthError::BadTop(_))));
        let zero = SynthOptions { clock_mhz: -1.0, ..opts.clone() };
        assert!(matches!(stage_timing(dir.path(), "t", &zero), Err(SynthError::BadClock(_))));
        let nolib = SynthOptions { liberty: dir.path().join("none.lib"), ..opts.clone() };
        assert!(matches!(stage_timing(dir.path(), "t", &nolib), Err(SynthError::LibertyMissing { .. })));
        if Path::new(OSU018_LIBERTY).is_file() {
            let err = stage_timing(dir.path(), "t", &opts).unwrap_err();
            assert!(err.to_string().contains("netlist.v") && err.to_string().contains("synthesize"), "{err}");
        }
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
