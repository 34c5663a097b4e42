//! QoR of the systolic PE: its area against the sum of the parts its dataflow needs, each
//! synthesised alone, and its critical path.
//!
//! The array's area is `rows × cols` PEs, so a PE that carries logic beyond its dataflow costs
//! that logic tens of thousands of times. The check: synthesise `vdx_systolic_pe` and, separately,
//! every part a weight-stationary MAC cannot do without —
//! - one multiplier per lane (`act × lane weight`, the product width the PE uses),
//! - one adder per lane (`psum_width` bits, both operands from ports),
//! - the weight and shadow weight registers with their enables,
//! - the activation register,
//! - the partial-sum registers (`lanes × psum_width` bits),
//!
//! each built with the same builder expressions, widths and signedness as [`super::rtl::pe`],
//! and compare. The 1-bit switch register the PE also has is glue (control that travels with the
//! data), not a part, so it shows up as part of the difference. A ratio near 1 means the PE holds
//! nothing else; well below 1 would mean the parts are not what the PE contains.
//!
//! Combinational parts have no `clk_i`: [`synthesize`] times them against a virtual clock, and
//! they get no extra registers around them, because the PE has none beyond the ones counted as
//! register parts (its multipliers read `a_i` and the weight register, its adders feed the
//! partial-sum registers).

use super::SystolicParams;
use crate::blocks::BlockParams;
use crate::flows::synth::{SynthError, SynthOptions, SynthReport, synthesize};
use crate::hdl::{Design, HdlError, Module, ModuleBuilder, Reset, Signal};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One part of the PE's dataflow as a module of its own.
#[derive(Debug, Clone)]
pub struct Part {
    /// Short identifier, also the name of the part's work folder (`mul0`, `add1`, `weights`, …).
    pub id: String,
    /// What the part is, for the table.
    pub what: String,
    /// The part's module.
    pub module: Module,
}

/// Area and size of one part synthesised alone.
#[derive(Debug, Clone, Serialize)]
pub struct PartQor {
    /// Short identifier (see [`Part::id`]).
    pub name: String,
    /// What the part is.
    pub what: String,
    /// The synthesised top module.
    pub module: String,
    /// Cell area in µm².
    pub area_um2: f64,
    /// Standard cells.
    pub cells: u64,
    /// Flip-flops among them.
    pub flops: u64,
    /// Worst path through the part alone (input to output for a combinational part), in ns.
    pub critical_path_ns: f64,
}

/// The PE against its parts.
#[derive(Debug, Clone, Serialize)]
pub struct PeQor {
    /// The whole PE's report; its critical path is the PE's.
    pub pe: SynthReport,
    /// Every part, in [`parts`] order.
    pub parts: Vec<PartQor>,
    /// Sum of the parts' areas in µm².
    pub parts_area_um2: f64,
    /// `pe.area_um2 / parts_area_um2`: above 1 by what the PE holds beyond its dataflow.
    pub ratio: f64,
    /// Where the PE's critical path starts: the register bit (`weight_q[5]`) when the start is
    /// a flip-flop whose `Q` net could be read from the netlist, else OpenSTA's name for it.
    pub critical_from: String,
    /// Where it ends, named the same way.
    pub critical_to: String,
}

/// Why [`pe_vs_parts`] produced no figures.
#[derive(Debug, thiserror::Error)]
pub enum QorError {
    /// The parameters are not valid for the block.
    #[error("invalid systolic_ws parameters: {0}")]
    Params(String),
    /// A module could not be built.
    #[error(transparent)]
    Hdl(#[from] HdlError),
    /// Synthesis or timing failed (or a tool is missing).
    #[error(transparent)]
    Synth(#[from] SynthError),
}

/// Widths of the lane weights the PE's multipliers take, lane 0 first (mirrors
/// [`super::rtl::pe`]): one 4-bit lane with 4-bit slots; with 8-bit slots, the low nibble
/// (plus the ninth, sign bit when signed: 5 bits) and the high nibble. All lanes share the
/// activation's signedness.
pub fn lane_weight_widths(p: &SystolicParams) -> Vec<u32> {
    match (p.lanes(), p.signed) {
        (1, _) => vec![4],
        (_, true) => vec![5, 4],
        (_, false) => vec![4, 4],
    }
}

fn part_builder(name: &str, p: &SystolicParams) -> ModuleBuilder {
    let m = ModuleBuilder::new(name);
    m.block(<SystolicParams as BlockParams>::BLOCK)
        .param("weight_width", p.weight_width)
        .param("act_width", p.act_width)
        .param("signed", u32::from(p.signed))
        .param("psum_width", p.psum_width());
    m
}

/// Reads `s` as the PE does: signed when the block is signed.
fn arith(p: &SystolicParams, s: Signal) -> Signal {
    if p.signed { s.as_signed() } else { s }
}

/// `vdx_systolic_part_mul<lane>`: the lane's multiplier, `a_i × w_i` into `product_o`, with the
/// PE's expression `a.mul(&w, act_width + w.width())`.
///
/// # Panics
/// When `lane` is not below `p.lanes()`.
pub fn part_mul(p: &SystolicParams, lane: u32) -> Result<Module, HdlError> {
    let widths = lane_weight_widths(p);
    assert!((lane as usize) < widths.len(), "lane {lane}: the PE has {} lane(s)", widths.len());
    let ww = widths[lane as usize];
    let m = part_builder(&format!("vdx_systolic_part_mul{lane}"), p);
    let a = arith(p, m.input("a_i", p.act_width));
    let w = arith(p, m.input("w_i", ww));
    let product = a.mul(&w, p.act_width + w.width());
    m.output("product_o", &product.as_unsigned());
    m.finish()
}

/// `vdx_systolic_part_add<lane>`: the lane's partial-sum adder, `psum_i + addend_i` on
/// `psum_width` bits (the PE's addend is the product extended to that width).
pub fn part_add(p: &SystolicParams, lane: u32) -> Result<Module, HdlError> {
    let pw = p.psum_width();
    let m = part_builder(&format!("vdx_systolic_part_add{lane}"), p);
    let psum = arith(p, m.input("psum_i", pw));
    let addend = arith(p, m.input("addend_i", pw));
    m.output("sum_o", &psum.add(&addend).as_unsigned());
    m.finish()
}

/// `vdx_systolic_part_weights`: the shadow weight (loaded from `shadow_i` when `shadow_en_i`)
/// and the active weight (loaded from the shadow when `sw_i`), `stored_weight_width` bits each.
pub fn part_weights(p: &SystolicParams) -> Result<Module, HdlError> {
    let ws = p.stored_weight_width();
    let m = part_builder("vdx_systolic_part_weights", p);
    let shadow_i = m.input("shadow_i", ws);
    let shadow_en_i = m.input("shadow_en_i", 1);
    let sw_i = m.input("sw_i", 1);
    let shadow_q = m.reg("shadow", ws, Reset::Zero);
    m.next_when(&shadow_q, &shadow_en_i, &shadow_i);
    let w_q = m.reg("weight", ws, Reset::Zero);
    m.next_when(&w_q, &sw_i, &shadow_q);
    m.output("shadow_o", &shadow_q);
    m.output("weight_o", &w_q);
    m.finish()
}

/// `vdx_systolic_part_act`: the activation register that passes `a_i` to the right neighbour.
pub fn part_act(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = part_builder("vdx_systolic_part_act", p);
    let a_i = m.input("a_i", p.act_width);
    let a_q = m.reg("a", p.act_width, Reset::Zero);
    m.next(&a_q, &a_i);
    m.output("a_o", &a_q);
    m.finish()
}

/// `vdx_systolic_part_psums`: one `psum_width`-bit register per lane, no enable (as in the PE).
pub fn part_psums(p: &SystolicParams) -> Result<Module, HdlError> {
    let (pw, lanes) = (p.psum_width(), p.lanes());
    let m = part_builder("vdx_systolic_part_psums", p);
    let d = m.input("psum_d_i", lanes * pw);
    let mut qs = Vec::new();
    for l in 0..lanes {
        let q = m.reg(&format!("psum{l}"), pw, Reset::Zero);
        m.next(&q, &d.slice((l + 1) * pw - 1, l * pw));
        qs.push(q);
    }
    qs.reverse();
    let qs: Vec<&Signal> = qs.iter().collect();
    m.output("psum_o", &crate::hdl::cat(&qs));
    m.finish()
}

/// Every part of the PE's dataflow: the multipliers and adders of each lane, then the weight,
/// activation and partial-sum registers.
pub fn parts(p: &SystolicParams) -> Result<Vec<Part>, HdlError> {
    let kind = if p.signed { "signed" } else { "unsigned" };
    let (aw, pw, ws, lanes) = (p.act_width, p.psum_width(), p.stored_weight_width(), p.lanes());
    let mut out = Vec::new();
    for (lane, ww) in (0u32..).zip(lane_weight_widths(p)) {
        out.push(Part {
            id: format!("mul{lane}"),
            what: format!("lane {lane} multiplier {aw}×{ww} {kind}"),
            module: part_mul(p, lane)?,
        });
    }
    for lane in 0..lanes {
        out.push(Part {
            id: format!("add{lane}"),
            what: format!("lane {lane} adder {pw} bit"),
            module: part_add(p, lane)?,
        });
    }
    out.push(Part {
        id: "weights".into(),
        what: format!("weight + shadow 2×{ws} bit, enables"),
        module: part_weights(p)?,
    });
    out.push(Part { id: "act".into(), what: format!("activation register {aw} bit"), module: part_act(p)? });
    out.push(Part {
        id: "psums".into(),
        what: format!("partial-sum registers {lanes}×{pw} bit"),
        module: part_psums(p)?,
    });
    Ok(out)
}

/// A synthesis job: Verilog already written, so that the worker threads need no `Module` (which
/// is not `Send`).
struct Job {
    files: Vec<PathBuf>,
    top: String,
    dir: PathBuf,
}

/// Writes `module`'s Verilog into `<dir>/rtl` and returns the job that synthesises it in `dir`.
fn prepare(module: &Module, dir: &Path) -> Result<Job, SynthError> {
    let emitted = Design::single(module).emit();
    let rtl = dir.join("rtl");
    let io = |source| SynthError::Io { path: rtl.clone(), source };
    std::fs::create_dir_all(&rtl).map_err(io)?;
    emitted.write_to(&rtl).map_err(io)?;
    Ok(Job {
        files: emitted.files.iter().map(|f| rtl.join(&f.name)).collect(),
        top: emitted.tops[0].module.clone(),
        dir: dir.to_path_buf(),
    })
}

/// Runs the jobs on as many threads as there are cores (each run is one Yosys and one OpenSTA
/// process, single-threaded), results in job order.
fn run_all(jobs: &[Job], opts: &SynthOptions) -> Vec<Result<SynthReport, SynthError>> {
    let slots: Vec<Mutex<Option<Result<SynthReport, SynthError>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = synthesize(&job.files, &job.top, &job.dir, opts);
                    // A poisoned slot only means another worker panicked; the scope re-raises it.
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    slots.into_iter().map(|s| s.into_inner().ok().flatten().expect("every job ran")).collect()
}

/// Synthesises the PE of `p` (in `<work_dir>/pe`) and each of its [`parts`] (in
/// `<work_dir>/<part id>`), in parallel, and compares their areas. Every folder keeps its
/// Verilog (`rtl/`), scripts, logs, `stat.rpt` (cells per type) and netlist.
pub fn pe_vs_parts(p: &SystolicParams, work_dir: &Path, opts: &SynthOptions) -> Result<PeQor, QorError> {
    let issues = p.validate();
    if !issues.is_empty() {
        let list: Vec<String> = issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
        return Err(QorError::Params(list.join("; ")));
    }
    let pe = super::rtl::pe(p)?;
    let parts = parts(p)?;
    let mut jobs = vec![prepare(&pe, &work_dir.join("pe"))?];
    for part in &parts {
        jobs.push(prepare(&part.module, &work_dir.join(&part.id))?);
    }
    let mut results = run_all(&jobs, opts).into_iter();
    let pe = results.next().expect("the PE job")?;
    let mut rows = Vec::new();
    for ((part, job), r) in parts.iter().zip(&jobs[1..]).zip(results) {
        let r = r?;
        rows.push(PartQor {
            name: part.id.clone(),
            what: part.what.clone(),
            module: job.top.clone(),
            area_um2: r.area_um2,
            cells: r.cells,
            flops: r.flops,
            critical_path_ns: r.critical_path_ns,
        });
    }
    let parts_area_um2: f64 = rows.iter().map(|r| r.area_um2).sum();
    let ratio = pe.area_um2 / parts_area_um2;
    let netlist_path = jobs[0].dir.join("netlist.v");
    let netlist = std::fs::read_to_string(&netlist_path)
        .map_err(|source| SynthError::Io { path: netlist_path.clone(), source })?;
    let critical_from = point_name(&netlist, pe.startpoint());
    let critical_to = point_name(&netlist, pe.endpoint());
    Ok(PeQor { pe, parts: rows, parts_area_um2, ratio, critical_from, critical_to })
}

/// Names an OpenSTA start- or endpoint (`_1742_ (rising edge-triggered flip-flop …)`, `a_i[3]
/// (input port …)`) after what it is in the design: a flattened flip-flop instance by its `Q` net,
/// which Yosys names after the register; anything else by OpenSTA's own name.
fn point_name(netlist: &str, point: &str) -> String {
    let inst = point.split_whitespace().next().unwrap_or(point);
    flop_q_net(netlist, inst).unwrap_or_else(|| inst.to_string())
}

/// The net on the `Q` pin of cell instance `inst` in a netlist Yosys wrote (one `.PIN(net)` per
/// line, the instance closed by `);`), unescaped (`\u_x.y [3]` → `u_x.y[3]`). Best effort: `None`
/// when the instance is not found or has no `Q` pin.
fn flop_q_net(netlist: &str, inst: &str) -> Option<String> {
    let mut lines = netlist.lines().map(str::trim);
    lines.find(|l| {
        let mut words = l.split_whitespace();
        words.next().is_some() && words.next().map(|w| w.trim_start_matches('\\')) == Some(inst)
    })?;
    let q = lines.take_while(|l| *l != ");").find_map(|l| l.strip_prefix(".Q("))?;
    let net = q.trim_end_matches(',').strip_suffix(')')?;
    Some(net.replace(['\\', ' '], ""))
}

/// The comparison as a table: one row per part, their sum, the PE, the ratio and the PE's
/// critical path.
pub fn format_pe_qor(q: &PeQor) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "part".into(),
        "what".into(),
        "cells".into(),
        "flops".into(),
        "area µm²".into(),
        "path ns".into(),
    ]];
    for r in &q.parts {
        rows.push([
            r.name.clone(),
            r.what.clone(),
            r.cells.to_string(),
            r.flops.to_string(),
            format!("{:.1}", r.area_um2),
            format!("{:.3}", r.critical_path_ns),
        ]);
    }
    let sum = |f: fn(&PartQor) -> u64| q.parts.iter().map(f).sum::<u64>().to_string();
    rows.push([
        "parts".into(),
        "sum of the parts".into(),
        sum(|r| r.cells),
        sum(|r| r.flops),
        format!("{:.1}", q.parts_area_um2),
        String::new(),
    ]);
    rows.push([
        "PE".into(),
        q.pe.top.clone(),
        q.pe.cells.to_string(),
        q.pe.flops.to_string(),
        format!("{:.1}", q.pe.area_um2),
        format!("{:.3}", q.pe.critical_path_ns),
    ]);
    let widths: Vec<usize> =
        (0..6).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        // Text columns left-aligned, figures right-aligned.
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, &w))| {
                let pad = " ".repeat(w - v.chars().count());
                if c < 2 { format!("{v}{pad}") } else { format!("{pad}{v}") }
            })
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
        if i == 0 || i == rows.len() - 3 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            out.push_str(&rule.join("-|-"));
            out.push('\n');
        }
    }
    let fmax =
        if q.pe.fmax_mhz.is_finite() { format!("{:.1} MHz", q.pe.fmax_mhz) } else { "unbounded".into() };
    out.push_str(&format!(
        "PE / parts: {:.3} ({:+.1} µm²)\nPE critical path: {:.3} ns (Fmax {fmax}), {} → {}\n",
        q.ratio,
        q.pe.area_um2 - q.parts_area_um2,
        q.pe.critical_path_ns,
        q.critical_from,
        q.critical_to,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_the_lanes_and_widths_of_the_pe() {
        let widths = |m: &Module| m.ports().iter().map(|p| (p.name.clone(), p.width)).collect::<Vec<_>>();
        let p = SystolicParams::default();
        let ids: Vec<String> = parts(&p).unwrap().into_iter().map(|x| x.id).collect();
        assert_eq!(ids, ["mul0", "mul1", "add0", "add1", "weights", "act", "psums"]);
        let w = |name: &str, width| (name.to_string(), width);
        assert_eq!(widths(&part_mul(&p, 0).unwrap()), [w("a_i", 8), w("w_i", 5), w("product_o", 13)]);
        assert_eq!(widths(&part_mul(&p, 1).unwrap()), [w("a_i", 8), w("w_i", 4), w("product_o", 12)]);
        assert_eq!(widths(&part_add(&p, 0).unwrap()), [w("psum_i", 19), w("addend_i", 19), w("sum_o", 19)]);
        let pe = super::super::rtl::pe(&p).unwrap();
        let pe_port = |n: &str| pe.ports().iter().find(|x| x.name == n).map(|x| x.width);
        let psums = part_psums(&p).unwrap();
        let psums_d = psums.ports().iter().find(|x| x.name == "psum_d_i").map(|x| x.width);
        assert_eq!(pe_port("psum_i"), psums_d);
        assert_eq!(pe_port("shadow_i"), Some(9));
        let w4 = SystolicParams { weight_width: 4, signed: false, ..p };
        assert_eq!(lane_weight_widths(&w4), [4]);
        assert_eq!(parts(&w4).unwrap().len(), 5);
    }

    #[test]
    fn flip_flops_are_named_by_their_q_net() {
        let netlist = "\
  DFFSR _1742_ (
    .CLK(clk_i),
    .D(_0014_),
    .Q(weight_q[5]),
    .R(rst_ni)
  );
  DFFSR \\u_a.b$c  (
    .Q(\\u_a.x_q [3])
  );
  NAND2X1 _7_ (
    .A(a),
    .Y(y)
  );
";
        assert_eq!(flop_q_net(netlist, "_1742_").as_deref(), Some("weight_q[5]"));
        assert_eq!(flop_q_net(netlist, "u_a.b$c").as_deref(), Some("u_a.x_q[3]"));
        assert_eq!(flop_q_net(netlist, "_7_"), None);
        assert_eq!(flop_q_net(netlist, "_174_"), None);
        let start = "_1742_ (rising edge-triggered flip-flop clocked by clk)";
        assert_eq!(point_name(netlist, start), "weight_q[5]");
        assert_eq!(point_name(netlist, "a_i[3] (input port clocked by clk)"), "a_i[3]");
    }
}
