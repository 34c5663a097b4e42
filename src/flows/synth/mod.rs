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
//!   rename -enumerate c:*
//!   tee -o stat.rpt stat -liberty "<lib>"
//!   write_verilog -noattr -simple-lhs netlist.v
//!   write_json netlist.json
//!   ```
//!   `-simple-lhs` keeps concatenations off the left of `assign`s (Yosys writes
//!   `assign { x[3], x[1] } = …` where it merged flip-flops or alias bits, and this OpenSTA's
//!   Verilog reader rejects that). `dfflibmap` legalizes flip-flops itself in Yosys 0.23, so the
//!   `always @(posedge clk_i or negedge rst_ni)` registers vdx emits map onto OSU018's `DFFSR`
//!   (async set and reset; the unused one is tied high) without a separate `dfflegalize` pass.
//!   Anything left unmapped (a latch, for which OSU018's `LATCH` is not offered by `dfflibmap`)
//!   is an error rather than a report with a silently wrong area.
//!
//!   OpenSTA times `netlist.v`; vdx reads the same design from `netlist.json` (ports, cells with
//!   their connections as bit numbers, and every name a bit has). `rename -enumerate c:*` gives
//!   the cells Yosys named privately (`$abc$…`) the short names `_<n>_` in the design itself,
//!   so both files call every cell alike: left to itself, `write_verilog` invents such names
//!   while writing, and `write_json` keeps the private ones. Areas come from the text of
//!   `stat.rpt`, because Yosys 0.23's `stat -json` leaves the Liberty areas out.
//! - `sta.tcl` (run as `sta -no_init -no_splash -exit sta.tcl`, output kept in `sta.log`): reads
//!   the Liberty and `netlist.v`, links `<top>`, sets `set_cmd_units -time ns`, then
//!   - with a `clk_i` port: `create_clock -name clk -period P [get_ports {clk_i}]`, input delay 0
//!     on every other input and output delay 0 on every output, relative to `clk`;
//!   - without one (a purely combinational top): the same with a virtual clock `clk`, so every
//!     input-to-output path is checked against `P`;
//!
//!   and `report_checks -path_delay max -format full -digits 4`.
//!
//! With [`Memories::Macros`] the Yosys side runs in two scripts: `coarse.ys` stops `synth` before
//! its `fine` label, saves the design as `coarse.il` and lists its memories in `memories.json`;
//! vdx then writes the macro cells of the qualifying memories (`macros_map.v`, `macros_bb.v`,
//! `macros.lib`, see [`Memories`] and the `macros` module), and `synth.ys` reads `coarse.il`, maps
//! those memories onto the cells with `techmap`, runs `synth -run fine:` and the mapping above,
//! with `stat` also reading `macros.lib` (which OpenSTA then reads after the Liberty).
//!
//! The files are split by concern: `yosys` (script, run, `stat.rpt`, Liberty and JSON netlist
//! reading), `sta` (scripts, run, report parsing), `stages` (endpoints grouped into stages) and
//! `report` (tables).
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
//! Yosys keeps those names on the bits of the flip-flops' `Q` pins when it flattens (the cells
//! themselves lose them). One row per stage (its worst arrival is the depth of the logic in
//! front of it) shows whether the stages are balanced; [`format_stage_timing`] prints them.
//! High-fanout nets count too: nothing buffers them before layout, so a global enable or a table
//! address driving hundreds of flops can dominate every stage it reaches.
//!
//! # Why the STA script guards itself
//! This OpenSTA (Debian 2019 snapshot) keeps going after a failing command and exits with status
//! 0 even when told to `exit 1`, so the status cannot report failure. The script therefore runs
//! inside `catch`, checks `link_design`'s result, prints `VDX_STA_ERROR:` on failure and brackets
//! the report with `VDX_REPORT_BEGIN`/`VDX_REPORT_END`; any `Error` line, a missing bracket or the
//! error marker makes the run a [`SynthError::ToolFailed`].

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod error;
mod macros;
pub mod picture;
mod report;
mod sta;
mod stages;
mod yosys;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;

pub use error::SynthError;
pub use macros::{ARRAY_EFFICIENCY, BITCELL_UM2, MACRO_MIN_WORDS, MacroUse, Memories};

pub use report::{format_report, format_stage_timing};

/// Where Debian's `qflow-tech-osu018` installs the OSU 0.18 µm Liberty file.
pub const OSU018_LIBERTY: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lib";

/// The Debian package that provides [`OSU018_LIBERTY`].
pub const LIBERTY_PACKAGE: &str = "qflow-tech-osu018";

/// Name of the [`StageTiming`] group of the output ports.
pub const OUTPUTS_GROUP: &str = "outputs";

/// The clock port vdx emits; a top without it is timed against a virtual clock.
const CLOCK_PORT: &str = crate::sim::CLOCK_PORT;

/// Lines of tool output kept in a [`SynthError::ToolFailed`].
const TAIL_LINES: usize = 40;

/// The netlist OpenSTA reads.
const NETLIST_V: &str = "netlist.v";

/// The same netlist as Yosys JSON, which vdx reads (see the module docs).
const NETLIST_JSON: &str = "netlist.json";

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
    /// Whether large memories become SRAM macro cells or flip-flops (see [`Memories`]).
    pub memories: Memories,
    /// Which ABC script maps the logic onto the Liberty's gates (see [`AbcScript`]).
    pub abc: AbcScript,
}

/// The ABC script that maps the flattened logic onto the Liberty's gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbcScript {
    /// Yosys' own Liberty script (`abc -D <period> -constr abc.constr -liberty <lib>`): fraiging
    /// and structural choices before mapping, then buffering and gate sizing against the drive
    /// and load of `abc.constr`. The best netlist, but its `&fraig -x` does not finish in an
    /// hour on a design of some 10^5 gates full of multipliers and barrel shifters (one
    /// temporal-attention lane).
    #[default]
    Full,
    /// One delay-driven mapping pass and buffering, written to `fast.abc` as
    /// `strash; dretime; map -D <period>; topo; buffer -p; topo; stime -p` and run with
    /// `abc -script fast.abc -D <period> -constr abc.constr -liberty <lib>`: no fraiging and no
    /// gate sizing. Minutes where [`Self::Full`] takes hours, at a somewhat larger area and a
    /// longer critical path than [`Self::Full`] would give. The `buffer` is needed: without it
    /// a lane's high-fanout nets time at microseconds. (The `topo` before it is too: on an
    /// unsorted network ABC's `buffer` stops at a node without fanout; and its `upsize` and
    /// `dnsize` crash ABC on a temporal-attention lane, so they are left out.)
    Fast,
}

/// The ABC script file of [`AbcScript::Fast`].
const FAST_ABC_FILE: &str = "fast.abc";

impl Default for SynthOptions {
    /// 100 MHz (a clock OSU 0.18 µm logic of a few gates per stage can meet) on OSU018.
    fn default() -> Self {
        Self {
            clock_mhz: 100.0,
            liberty: PathBuf::from(OSU018_LIBERTY),
            drive_cell: "INVX1".into(),
            output_load: 10.0,
            memories: Memories::Flops,
            abc: AbcScript::Full,
        }
    }
}

impl SynthOptions {
    /// Checks everything [`synthesize`] and [`stage_timing`] would put into tool scripts, without
    /// running a tool or writing a file, so that a caller can refuse bad input before it writes
    /// anything: `top` must be a plain Verilog identifier ([`SynthError::BadTop`]),
    /// [`Self::clock_mhz`] a positive finite number (NaN, infinities, zero and negative values
    /// are [`SynthError::BadClock`]), [`Self::liberty`] an existing file
    /// ([`SynthError::LibertyMissing`]), and [`Self::drive_cell`] a plain cell name with
    /// [`Self::output_load`] finite and non-negative ([`SynthError::BadConstraint`]). Whether
    /// the drive cell exists in the Liberty is left to ABC.
    pub fn validate(&self, top: &str) -> Result<(), SynthError> {
        if !is_identifier(top) {
            return Err(SynthError::BadTop(top.to_string()));
        }
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0) {
            return Err(SynthError::BadClock(self.clock_mhz));
        }
        if !self.liberty.is_file() {
            return Err(SynthError::LibertyMissing { path: self.liberty.clone() });
        }
        let plain_cell = !self.drive_cell.is_empty()
            && self.drive_cell.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !(plain_cell && self.output_load >= 0.0 && self.output_load.is_finite()) {
            return Err(SynthError::BadConstraint { cell: self.drive_cell.clone(), load: self.output_load });
        }
        Ok(())
    }

    /// The clock period in ns.
    fn period_ns(&self) -> f64 {
        1000.0 / self.clock_mhz
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
    /// Total cell area from Yosys `stat -liberty`, in the Liberty's area unit (µm² for OSU018),
    /// including the estimated area of any SRAM macros ([`Self::macro_area_um2`]).
    pub area_um2: f64,
    /// The SRAM macro cells of a [`Memories::Macros`] run, one entry per shape (empty otherwise).
    pub macros: Vec<MacroUse>,
    /// Estimated area of all macros in µm² (see [`Memories`]); `area_um2 − macro_area_um2` is the
    /// standard cells'.
    pub macro_area_um2: f64,
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
    /// register bit, named after its flip-flop's `Q` bit as [`stage_timing`] describes
    /// (`u_pair.f_s14_q[7]`), or an output port bit (`y_o[3]`).
    pub worst_endpoint: String,
}

/// Synthesizes `files` with `top` as the top module onto the Liberty of `opts`, times the netlist
/// with OpenSTA at `opts.clock_mhz`, and returns the figures. Scripts, logs, `stat.rpt`,
/// `netlist.v` and `netlist.json` are written into `work_dir` (created if missing; files of
/// earlier runs are overwritten). Inputs are checked as [`SynthOptions::validate`] describes
/// before anything is written.
pub fn synthesize(
    files: &[PathBuf],
    top: &str,
    work_dir: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    if files.is_empty() {
        return Err(SynthError::NoFiles);
    }
    opts.validate(top)?;
    let yosys = find_tool("yosys", "yosys")?;
    let sta = find_tool("sta", "opensta")?;

    // Absolute inputs, because both tools run inside `work_dir` (so the generated files need no
    // quoting at all, whatever the work directory is called).
    let liberty = canonical(&opts.liberty)?;
    let files: Vec<PathBuf> = files.iter().map(|f| canonical(f)).collect::<Result<_, _>>()?;
    std::fs::create_dir_all(work_dir).map_err(|source| io_err(work_dir, source))?;
    let shapes = yosys::run_yosys(&yosys, &files, top, &liberty, opts, work_dir)?;

    let stat_path = work_dir.join(yosys::STAT_FILE);
    let stat = yosys::parse_stat(&read(&stat_path)?, &stat_path)?;
    let unmapped: Vec<String> =
        stat.counts.iter().filter(|(c, _)| c.starts_with('$')).map(|(c, n)| format!("{c} ×{n}")).collect();
    if !unmapped.is_empty() {
        return Err(SynthError::Unmapped { cells: unmapped });
    }
    let area_um2 = stat.area.ok_or_else(|| SynthError::Parse {
        file: stat_path.clone(),
        expected: "a line `Chip area for module '<top>': <area>`".into(),
    })?;
    let flop_cells = yosys::liberty_flop_cells(&read(&liberty)?);
    let flops = stat.counts.iter().filter(|(c, _)| flop_cells.contains(*c)).map(|(_, n)| n).sum();
    let macros: Vec<MacroUse> = shapes
        .keys()
        .filter_map(|s| {
            let count = *stat.counts.get(&s.cell())?;
            Some(MacroUse { cell: s.cell(), words: s.words, width: s.width, count, area_um2: s.area_um2() })
        })
        .collect();
    let macro_area_um2 = macros.iter().map(|m| m.count as f64 * m.area_um2).sum();

    let netlist = yosys::Netlist::read(&work_dir.join(NETLIST_JSON), top)?;
    let clocked = netlist.has_input(CLOCK_PORT);
    if flops > 0 && !clocked {
        return Err(SynthError::NoClock { top: top.to_string(), flops });
    }

    let period_ns = opts.period_ns();
    let libraries = libraries(&liberty, work_dir, opts)?;
    let worst = sta::worst_path(&sta, work_dir, top, &libraries, period_ns, clocked)?;
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
        macros,
        macro_area_um2,
        cell_counts: stat.counts,
        flops,
        critical_path_ns: worst.arrival,
        slack_ns: worst.slack,
        fmax_mhz,
        critical_path,
    })
}

/// Times every endpoint of the netlist [`synthesize`] left in `work_dir` (`netlist.v` for
/// OpenSTA and `netlist.json` for the names, with `top` its top module, timed with the same
/// constraints as `synthesize` at `opts.clock_mhz`) and returns the worst arrival and slack of
/// each pipeline stage, to show whether the stages are balanced.
///
/// OpenSTA reports the worst max-delay path to every endpoint (`report_checks -path_delay max
/// -group_count <all> -endpoint_count 1 -format end`; script `stages.tcl`, output `stages.log`).
/// A flip-flop's `D` endpoint belongs to the register its `Q` pin drives, read from
/// `netlist.json`: the cells are called `_1234_` after flattening, but Yosys keeps the register
/// names on the bits of their `Q` pins, along with every other name those bits have (the
/// unchanged input `x_s10_d` of the next stage, an output port it drives). Among a `Q` bit's
/// names a pipeline stage register (`<signal>_s<k>_q`, stage `"s<k>"`) comes first, then any
/// other register (`…_q`, its own group), the lexically first of each kind; the output ports make
/// one group [`OUTPUTS_GROUP`]. A bit with no register name is named after the lexically first
/// other name it has in the design, and a bit without one after the cell's `Q` pin (`_12_/Q`).
/// The asynchronous reset's recovery checks are left out, as in [`synthesize`].
///
/// Rows come in stage order (`s0`, `s1`, … by number), then the other registers by name, then
/// the outputs. An endpoint that is neither a flip-flop pin nor an output port is a
/// [`SynthError::Parse`] error rather than a silently dropped path. Inputs are checked as
/// [`SynthOptions::validate`] describes before OpenSTA runs.
pub fn stage_timing(work_dir: &Path, top: &str, opts: &SynthOptions) -> Result<Vec<StageTiming>, SynthError> {
    opts.validate(top)?;
    let sta = find_tool("sta", "opensta")?;
    let liberty = canonical(&opts.liberty)?;
    for file in [NETLIST_V, NETLIST_JSON] {
        let path = work_dir.join(file);
        if !path.is_file() {
            return Err(SynthError::NoNetlist { path });
        }
    }
    let netlist = yosys::Netlist::read(&work_dir.join(NETLIST_JSON), top)?;
    let flop_cells = yosys::liberty_flop_cells(&read(&liberty)?);
    let mut flops = stages::flop_registers(&netlist.flop_q_names(&flop_cells));
    let clocked = netlist.has_input(CLOCK_PORT);
    if !flops.is_empty() && !clocked {
        return Err(SynthError::NoClock { top: top.to_string(), flops: flops.len() as u64 });
    }
    // A macro's inputs are endpoints too: each macro is a group of its own, named after it.
    for inst in netlist.cells_of_prefix(macros::MACRO_PREFIX) {
        flops.insert(inst.clone(), format!("{inst} (macro)"));
    }
    let libraries = libraries(&liberty, work_dir, opts)?;
    let (ends, log) = sta::all_endpoints(&sta, work_dir, top, &libraries, opts.period_ns(), clocked)?;
    stages::group_stages(&ends, &flops, &log)
}

/// The Liberty files OpenSTA reads: `liberty`, and with [`Memories::Macros`] the macros' Liberty
/// the run wrote into `work_dir` (absolute, like `liberty`).
fn libraries(liberty: &Path, work_dir: &Path, opts: &SynthOptions) -> Result<Vec<PathBuf>, SynthError> {
    let mut libs = vec![liberty.to_path_buf()];
    if opts.memories == Memories::Macros {
        let lib = work_dir.join(macros::LIBERTY_FILE);
        if !lib.is_file() {
            return Err(SynthError::NoNetlist { path: lib });
        }
        libs.push(canonical(&lib)?);
    }
    Ok(libs)
}

/// Every file [`synthesize`] and [`stage_timing`] may write into a work folder, so that a caller
/// can record them and overwrite them in a later run.
pub const WORK_FILES: &[&str] = &[
    "synth.ys",
    "abc.constr",
    FAST_ABC_FILE,
    "yosys.log",
    yosys::STAT_FILE,
    NETLIST_V,
    NETLIST_JSON,
    "sta.tcl",
    "sta.log",
    "stages.tcl",
    "stages.log",
    yosys::COARSE_SCRIPT,
    "coarse.log",
    yosys::COARSE_RTLIL,
    macros::MEMORIES_JSON,
    macros::MAP_FILE,
    macros::BLACKBOX_FILE,
    macros::LIBERTY_FILE,
];

/// `[A-Za-z_][A-Za-z0-9_$]*`: a Verilog simple identifier, which also needs no quoting in either
/// script.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// The executable `tool` from `PATH`, or [`SynthError::ToolMissing`] naming its `package`.
fn find_tool(tool: &'static str, package: &'static str) -> Result<PathBuf, SynthError> {
    crate::sim::find_on_path(tool).ok_or(SynthError::ToolMissing { tool, package })
}

/// `path` made absolute with links resolved.
fn canonical(path: &Path) -> Result<PathBuf, SynthError> {
    std::fs::canonicalize(path).map_err(|source| io_err(path, source))
}

/// A [`SynthError::Io`] about `path`.
fn io_err(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Io { path: path.to_path_buf(), source }
}

/// The text of `path`.
fn read(path: &Path) -> Result<String, SynthError> {
    std::fs::read_to_string(path).map_err(|source| io_err(path, source))
}

/// Writes `text` to `path`.
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
