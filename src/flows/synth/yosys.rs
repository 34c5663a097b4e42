//! The Yosys side of the flow: the script and its run, the `stat` report, the flip-flops of the
//! Liberty, and the JSON netlist.

use super::macros::{self, Memories, Shape};
use super::{
    AbcScript, FAST_ABC_FILE, NETLIST_JSON, NETLIST_V, SynthError, SynthOptions, TAIL_LINES, read, run, write,
};
use crate::sim::tool::{display_command, tail};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `stat -liberty` report the script writes.
pub(super) const STAT_FILE: &str = "stat.rpt";

/// The flip-flop pin whose bit carries the register's name. OSU018's flip-flops (`DFFPOSX1`,
/// `DFFNEGX1`, `DFFSR`) all call their output `Q`.
const FLOP_Q_PIN: &str = "Q";

/// Writes the Yosys scripts and `abc.constr` into `work_dir` and runs Yosys there (see the module
/// docs of [`super`]); `files` and `liberty` are absolute. With [`Memories::Macros`] a first run
/// (`coarse.ys`) stops before the fine mapping and lists the memories, the macro files are
/// written, and `synth.ys` continues from the saved coarse design; the qualifying memory shapes
/// and their counts are returned (none with [`Memories::Flops`]).
pub(super) fn run_yosys(
    yosys: &Path,
    files: &[PathBuf],
    top: &str,
    liberty: &Path,
    opts: &SynthOptions,
    work_dir: &Path,
) -> Result<BTreeMap<Shape, u64>, SynthError> {
    let period_ps = 1.0e6 / opts.clock_mhz;
    write(
        &work_dir.join("abc.constr"),
        &format!("set_driving_cell {}\nset_load {}\n", opts.drive_cell, opts.output_load),
    )?;
    if opts.abc == AbcScript::Fast {
        write(&work_dir.join(FAST_ABC_FILE), &fast_abc_script(period_ps))?;
    }
    let shapes = match opts.memories {
        Memories::Flops => {
            write(&work_dir.join("synth.ys"), &yosys_script(files, top, liberty, period_ps, opts.abc)?)?;
            BTreeMap::new()
        }
        Memories::Macros => {
            write(&work_dir.join(COARSE_SCRIPT), &coarse_script(files, top)?)?;
            run_script(yosys, work_dir, COARSE_SCRIPT, "coarse.log")?;
            let json = work_dir.join(macros::MEMORIES_JSON);
            let shapes = macros::memory_shapes(&read(&json)?, &json)?;
            write(&work_dir.join(macros::MAP_FILE), &macros::techmap_verilog(shapes.keys()))?;
            write(&work_dir.join(macros::BLACKBOX_FILE), &macros::blackbox_verilog(shapes.keys()))?;
            write(&work_dir.join(macros::LIBERTY_FILE), &macros::liberty(shapes.keys()))?;
            write(&work_dir.join("synth.ys"), &macro_script(top, liberty, period_ps, opts.abc)?)?;
            shapes
        }
    };
    run_script(yosys, work_dir, "synth.ys", "yosys.log")?;
    Ok(shapes)
}

/// The first script of a [`Memories::Macros`] run.
pub(super) const COARSE_SCRIPT: &str = "coarse.ys";

/// The coarse design a [`Memories::Macros`] run saves between its two scripts.
pub(super) const COARSE_RTLIL: &str = "coarse.il";

/// Runs `yosys -q -l <log> -s <script>` in `work_dir`.
fn run_script(yosys: &Path, work_dir: &Path, script: &str, log: &str) -> Result<(), SynthError> {
    let mut cmd = Command::new(yosys);
    cmd.args(["-q", "-l", log, "-s", script]).current_dir(work_dir);
    let (status, output) = run(&mut cmd, yosys)?;
    if !status.success() {
        return Err(SynthError::ToolFailed {
            tool: "yosys",
            command: display_command(&cmd),
            status: status.to_string(),
            output: tail(&output, TAIL_LINES),
            log: work_dir.join(log),
        });
    }
    Ok(())
}

/// `read_verilog` of `files`.
fn read_files(files: &[PathBuf]) -> Result<String, SynthError> {
    let mut read = String::from("read_verilog");
    for f in files {
        read.push(' ');
        read.push_str(&yosys_word(f)?);
    }
    Ok(read)
}

/// The ABC script of [`AbcScript::Fast`]: ABC reads its file as is, so the period is written
/// in (Yosys substitutes its `{D}` only in its own scripts).
pub(super) fn fast_abc_script(period_ps: f64) -> String {
    format!("strash\ndretime\nmap -D {period_ps:.0}\ntopo\nbuffer -p\ntopo\nstime -p\n")
}

/// The script's common tail: flip-flops and gates onto the Liberty, names, reports, netlists;
/// `stat` also reads `extra_stat_lib` (the macros' Liberty) when given.
fn mapping_tail(lib: &str, period_ps: f64, abc: AbcScript, extra_stat_lib: Option<&str>) -> String {
    let stat_libs = match extra_stat_lib {
        Some(extra) => format!("-liberty {lib} -liberty {extra}"),
        None => format!("-liberty {lib}"),
    };
    // Macro instances keep the memories' names, so that reports can say which memory they are.
    let renamed =
        if extra_stat_lib.is_some() { format!("c:* t:{}* %d", macros::MACRO_PREFIX) } else { "c:*".into() };
    let script = match abc {
        AbcScript::Full => String::new(),
        AbcScript::Fast => format!("-script {FAST_ABC_FILE} "),
    };
    format!(
        "dfflibmap -liberty {lib}\n\
         abc {script}-D {period_ps:.0} -constr abc.constr -liberty {lib}\n\
         opt_clean\n\
         rename -enumerate {renamed}\n\
         tee -o {STAT_FILE} stat {stat_libs}\n\
         write_verilog -noattr -simple-lhs {NETLIST_V}\n\
         write_json {NETLIST_JSON}\n"
    )
}

/// The Yosys script (see the module docs of [`super`]).
pub(super) fn yosys_script(
    files: &[PathBuf],
    top: &str,
    liberty: &Path,
    period_ps: f64,
    abc: AbcScript,
) -> Result<String, SynthError> {
    let lib = yosys_word(liberty)?;
    Ok(format!(
        "# vdx: synthesis of {top} onto {lib} (generated by vdx::flows::synth)\n\
         {read}\n\
         hierarchy -check -top {top}\n\
         synth -top {top} -flatten\n\
         {tail}",
        read = read_files(files)?,
        tail = mapping_tail(&lib, period_ps, abc, None),
    ))
}

/// The first script of a [`Memories::Macros`] run: coarse synthesis (up to the `fine` label of
/// `synth`, where memories are still `$mem_v2` cells), the design saved as RTLIL, then everything
/// but the memories deleted and the rest written as JSON for [`macros::memory_shapes`].
pub(super) fn coarse_script(files: &[PathBuf], top: &str) -> Result<String, SynthError> {
    Ok(format!(
        "# vdx: coarse synthesis of {top} and its memories (generated by vdx::flows::synth)\n\
         {read}\n\
         hierarchy -check -top {top}\n\
         synth -top {top} -flatten -run :fine\n\
         write_rtlil {COARSE_RTLIL}\n\
         delete c:* t:$mem_v2 %d\n\
         write_json {json}\n",
        read = read_files(files)?,
        json = macros::MEMORIES_JSON,
    ))
}

/// The second script of a [`Memories::Macros`] run: the saved coarse design, qualifying memories
/// turned into macro cells, then the rest of `synth` and the common mapping.
pub(super) fn macro_script(
    top: &str,
    liberty: &Path,
    period_ps: f64,
    abc: AbcScript,
) -> Result<String, SynthError> {
    let lib = yosys_word(liberty)?;
    Ok(format!(
        "# vdx: synthesis of {top} onto {lib} with SRAM macros (generated by vdx::flows::synth)\n\
         read_rtlil {COARSE_RTLIL}\n\
         read_verilog -lib {bb}\n\
         techmap -map {map} t:$mem_v2\n\
         synth -top {top} -run fine:\n\
         {tail}",
        bb = macros::BLACKBOX_FILE,
        map = macros::MAP_FILE,
        tail = mapping_tail(&lib, period_ps, abc, Some(macros::LIBERTY_FILE)),
    ))
}

/// A path as a double-quoted Yosys argument. `;` and line breaks end a Yosys command and `"`
/// ends the quoting, so those are refused (as in [`crate::flows::lint`]).
pub(super) fn yosys_word(path: &Path) -> Result<String, SynthError> {
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

/// Figures read from Yosys `stat -liberty`.
#[derive(Debug, PartialEq)]
pub(super) struct StatSummary {
    /// "Number of cells".
    pub(super) cells: u64,
    /// Cells per type.
    pub(super) counts: BTreeMap<String, u64>,
    /// Missing when a cell type has no Liberty area (Yosys then prints no chip area).
    pub(super) area: Option<f64>,
}

/// Parses Yosys `stat` text: "Number of cells:", the indented `<type> <count>` lines after it, and
/// "Chip area for module '…': <area>". After `-flatten` there is one module, so the first of each
/// is the design's.
///
/// This stays a text parser because the machine format of Yosys 0.23, `stat -json`, accepts
/// `-liberty` but prints only the counts, without any area (the JSON gains areas in later Yosys).
pub(super) fn parse_stat(text: &str, file: &Path) -> Result<StatSummary, SynthError> {
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
pub(super) fn liberty_flop_cells(text: &str) -> BTreeSet<String> {
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

/// The parts of Yosys' `write_json` output vdx reads (Yosys manual, `help write_json`); anything
/// else in the file (attributes, parameters, other modules) is ignored.
#[derive(Debug, Deserialize)]
struct JsonDesign {
    modules: BTreeMap<String, JsonModule>,
}

/// One module: its ports, cells and named nets.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonModule {
    ports: BTreeMap<String, JsonPort>,
    cells: BTreeMap<String, JsonCell>,
    netnames: BTreeMap<String, JsonNet>,
}

/// A port (only its direction is read).
#[derive(Debug, Deserialize)]
struct JsonPort {
    direction: Direction,
}

/// A port direction as `write_json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Input,
    Output,
    Inout,
}

/// A cell instance: its type (a Liberty cell after mapping), its parameters (those of Yosys'
/// internal cells before mapping) and the bits on each of its pins.
#[derive(Debug, Deserialize)]
struct JsonCell {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    connections: BTreeMap<String, Vec<Bit>>,
}

/// Parses a Yosys `write_json` design (`file` names it in errors).
fn parse_design(text: &str, file: &Path) -> Result<JsonDesign, SynthError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| SynthError::Parse {
        file: file.to_path_buf(),
        expected: format!("a Yosys `write_json` netlist (at `{}`: {})", e.path(), e.inner()),
    })
}

/// The parameters of every cell of type `kind` in any module of the Yosys `write_json` design
/// `text` (`file` names it in errors).
pub(super) fn cell_parameters(
    text: &str,
    kind: &str,
    file: &Path,
) -> Result<Vec<BTreeMap<String, serde_json::Value>>, SynthError> {
    let design = parse_design(text, file)?;
    Ok(design
        .modules
        .into_values()
        .flat_map(|m| m.cells.into_values())
        .filter(|c| c.kind == kind)
        .map(|c| c.parameters)
        .collect())
}

/// A named net (a wire of the design): its bits, least significant first, and how its indices
/// run: bit `i` is index `offset + i`, or `offset + width − 1 − i` for a `[lo:hi]` (`upto`) wire.
#[derive(Debug, Deserialize)]
struct JsonNet {
    bits: Vec<Bit>,
    /// 1 for a name Yosys made up (`$abc$…`), 0 for a name from the design.
    #[serde(default)]
    hide_name: u8,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    upto: u8,
}

/// One bit: a net number, shared by every port, pin and name on that net, or a constant
/// (`"0"`, `"1"`, `"x"`, `"z"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum Bit {
    Net(u64),
    Const(String),
}

/// One name of a net bit, as `write_verilog` spells it: `name[i]`, or `name` for a 1-bit wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct BitName {
    /// The bit's name.
    pub(super) name: String,
    /// Whether Yosys made the name up (`hide_name`) rather than taking it from the design.
    pub(super) hidden: bool,
}

/// The top module of a Yosys JSON netlist.
#[derive(Debug)]
pub(super) struct Netlist {
    module: JsonModule,
}

impl Netlist {
    /// Reads the JSON netlist `path` and keeps its module `top`.
    pub(super) fn read(path: &Path, top: &str) -> Result<Self, SynthError> {
        Self::parse(&read(path)?, top, path)
    }

    /// Parses a JSON netlist (`file` names it in errors) and keeps its module `top`.
    pub(super) fn parse(text: &str, top: &str, file: &Path) -> Result<Self, SynthError> {
        let bad = |expected: String| SynthError::Parse { file: file.to_path_buf(), expected };
        let mut design = parse_design(text, file)?;
        let module = design.modules.remove(top).ok_or_else(|| {
            let found: Vec<&str> = design.modules.keys().map(String::as_str).collect();
            bad(format!("a module `{top}` among the netlist's modules (it has: {})", found.join(", ")))
        })?;
        Ok(Self { module })
    }

    /// The instances whose cell type starts with `prefix`, sorted.
    pub(super) fn cells_of_prefix(&self, prefix: &str) -> Vec<String> {
        self.module.cells.iter().filter(|(_, c)| c.kind.starts_with(prefix)).map(|(n, _)| n.clone()).collect()
    }

    /// Whether the module has an input port `port`.
    pub(super) fn has_input(&self, port: &str) -> bool {
        self.module.ports.get(port).is_some_and(|p| p.direction == Direction::Input)
    }

    /// The flip-flops (cells whose type is in `flop_cells`) mapped to the names of the bit on
    /// their `Q` pin, sorted; a flip-flop whose `Q` bit has no name maps to an empty list, and
    /// one with nothing on `Q` is left out.
    pub(super) fn flop_q_names(&self, flop_cells: &BTreeSet<String>) -> BTreeMap<String, Vec<BitName>> {
        let q_bit = |cell: &JsonCell| match cell.connections.get(FLOP_Q_PIN).map(Vec::as_slice) {
            Some([Bit::Net(n)]) => Some(*n),
            _ => None,
        };
        let flops: Vec<(&String, u64)> = self
            .module
            .cells
            .iter()
            .filter(|(_, c)| flop_cells.contains(&c.kind))
            .filter_map(|(name, c)| Some((name, q_bit(c)?)))
            .collect();
        let wanted: BTreeSet<u64> = flops.iter().map(|&(_, bit)| bit).collect();
        let mut names: BTreeMap<u64, Vec<BitName>> = BTreeMap::new();
        for (net, n) in &self.module.netnames {
            let width = n.bits.len() as i64;
            for (i, bit) in n.bits.iter().enumerate() {
                let Bit::Net(id) = bit else { continue };
                if !wanted.contains(id) {
                    continue;
                }
                let index = if n.upto != 0 { n.offset + width - 1 - i as i64 } else { n.offset + i as i64 };
                let name = if width == 1 { net.clone() } else { format!("{net}[{index}]") };
                names.entry(*id).or_default().push(BitName { name, hidden: n.hide_name != 0 });
            }
        }
        flops
            .into_iter()
            .map(|(cell, bit)| {
                let mut bit_names = names.get(&bit).cloned().unwrap_or_default();
                bit_names.sort();
                (cell.clone(), bit_names)
            })
            .collect()
    }
}
