//! Tests that run Yosys and OpenSTA on small designs (they panic with the package to install when
//! a tool is missing, unless `VDX_SKIP_COSIM=1`).

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

/// Emits `m` into `dir` and returns its files and its top's (content-hashed) module name.
fn emit(m: &Module, dir: &Path) -> (Vec<PathBuf>, String) {
    let out = Design::single(m).emit();
    out.write_to(dir).unwrap();
    (out.files.iter().map(|f| dir.join(&f.name)).collect(), out.tops[0].module.clone())
}

/// Synthesizes `m` at `mhz` and prints the table and the run time (`--nocapture` shows them).
fn synth_module(m: &Module, mhz: f64) -> SynthReport {
    let dir = tempfile::tempdir().unwrap();
    let (files, top) = emit(m, dir.path());
    let opts = SynthOptions { clock_mhz: mhz, ..SynthOptions::default() };
    let t = Instant::now();
    let r = synthesize(&files, &top, &dir.path().join("synth"), &opts)
        .unwrap_or_else(|e| panic!("synthesis of {top} failed: {e}"));
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
    let (files, top) = emit(&m, dir.path());
    let work = dir.path().join("synth");
    let opts = SynthOptions::default();
    let r = synthesize(&files, &top, &work, &opts).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let rows = stage_timing(&work, &top, &opts).unwrap_or_else(|e| panic!("{e}"));
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
/// because Yosys needs minutes for it (about 15 minutes of CPU time on a 2-core machine):
/// `cargo test --release --lib sgu_pair_unit_stage_table -- --ignored --nocapture`.
#[test]
#[ignore = "about 15 minutes of Yosys"]
fn sgu_pair_unit_stage_table() {
    if !have_flow() {
        return;
    }
    let p = crate::blocks::sgu::SguParams { lanes: 1, ..Default::default() };
    let bm = crate::blocks::sgu::golden::BoxMuller::new(&p);
    let m = crate::blocks::sgu::rtl::pair_unit(&p, &bm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (files, top) = emit(&m, dir.path());
    let work = dir.path().join("synth");
    let opts = SynthOptions::default();
    let t = Instant::now();
    let r = synthesize(&files, &top, &work, &opts).unwrap_or_else(|e| panic!("{e}"));
    let t_synth = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rows = stage_timing(&work, &top, &opts).unwrap_or_else(|e| panic!("{e}"));
    let t_stages = t.elapsed().as_secs_f64();
    let table = format_stage_timing(&rows);
    eprintln!("{}synthesize: {t_synth:.1} s, stage_timing: {t_stages:.1} s\n{table}", format_report(&r));
    check_consistent(&r);
    let stages: Vec<&str> =
        rows.iter().take_while(|r| r.stage.starts_with('s')).map(|r| r.stage.as_str()).collect();
    let want: Vec<String> = (0..=crate::blocks::sgu::rtl::PAIR_LATENCY).map(|k| format!("s{k}")).collect();
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
fn fast_abc_maps_the_same_registers_with_one_pass() {
    if !have_flow() {
        return;
    }
    let m = registered_adder(16);
    let dir = tempfile::tempdir().unwrap();
    let (files, top) = emit(&m, dir.path());
    let full = synthesize(&files, &top, &dir.path().join("full"), &SynthOptions::default()).unwrap();
    let fast_opts = SynthOptions { abc: AbcScript::Fast, ..SynthOptions::default() };
    let work = dir.path().join("fast");
    let fast = synthesize(&files, &top, &work, &fast_opts).unwrap();
    check_consistent(&fast);
    let text = format!("{}\n{}", format_report(&full), format_report(&fast));
    assert!(
        std::fs::read_to_string(work.join("synth.ys")).unwrap().contains("abc -script fast.abc -D 10000")
    );
    assert!(std::fs::read_to_string(work.join("fast.abc")).unwrap().contains("map -D 10000"));
    assert!(!dir.path().join("full/fast.abc").exists());
    assert_eq!(fast.cell_counts.get("DFFSR"), Some(&48), "{text}");
    // Same logic, mapped less carefully: an area of the same order as the full script's.
    assert!(fast.area_um2 > 0.8 * full.area_um2 && fast.area_um2 < 2.0 * full.area_um2, "{text}");
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
    let (files, top) = emit(&m, dir.path());
    assert_eq!(files.len(), 2, "one file per distinct module");
    let r = synthesize(&files, &top, &dir.path().join("w"), &SynthOptions::default()).unwrap();
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
    assert_eq!(crate::hdl::names::module_base(&r.top), Some("vdx_xoshiro_lane"));
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
    assert!(matches!(&err, SynthError::Unmapped { cells } if cells[0].starts_with("$_DLATCH_P_")), "{err}");
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

/// Registers whose `Q` bits carry other names too, written by hand so that every case is
/// there: a stage register whose unchanged output is named as the next stage's input, a
/// register driving an output port, a register Yosys merges with a stage register of the same
/// input, a 1-bit stage register, and a register inside an instance.
const ALIASED_REGISTERS: &str = "\
module vdx_alias_lane(input wire clk_i, input wire rst_ni, input wire [1:0] a_i, output wire [1:0] s_o);
  reg [1:0] s0_q;
  always @(posedge clk_i or negedge rst_ni) if (!rst_ni) s0_q <= 2'd0; else s0_q <= a_i;
  assign s_o = s0_q;
endmodule

module vdx_alias(input wire clk_i, input wire rst_ni, input wire [5:0] a_i, input wire [1:0] b_i,
                 output wire [5:0] y_o, output wire [1:0] z_o, output wire [3:0] m_o, output wire e_o,
                 output wire [1:0] l_o);
  reg [5:0] half_s9_q;
  wire [5:0] half_s10_d = half_s9_q;
  reg [5:0] half_s10_q;
  reg [1:0] other_q;
  reg [3:0] cnt_q;
  reg [3:0] acc_s3_q;
  reg e_zero_s9_q;
  always @(posedge clk_i or negedge rst_ni)
    if (!rst_ni) begin
      half_s9_q <= 6'd0; half_s10_q <= 6'd0; other_q <= 2'd0; cnt_q <= 4'd0; acc_s3_q <= 4'd0;
      e_zero_s9_q <= 1'b0;
    end else begin
      half_s9_q <= a_i;
      half_s10_q <= half_s10_d + 6'd1;
      other_q <= b_i;
      cnt_q <= a_i[3:0] ^ {b_i, b_i};
      acc_s3_q <= a_i[3:0] ^ {b_i, b_i};
      e_zero_s9_q <= a_i[0] & b_i[0];
    end
  assign y_o = half_s10_q;
  assign z_o = other_q;
  assign m_o = cnt_q ^ {acc_s3_q[2:0], acc_s3_q[3]};
  assign e_o = e_zero_s9_q;
  vdx_alias_lane u_lane(.clk_i(clk_i), .rst_ni(rst_ni), .a_i(~b_i), .s_o(l_o));
endmodule
";

#[test]
fn real_yosys_netlists_name_flops_after_their_registers() {
    if !have_flow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("vdx_alias.v");
    std::fs::write(&f, ALIASED_REGISTERS).unwrap();
    let work = dir.path().join("w");
    let opts = SynthOptions::default();
    let r = synthesize(&[f], "vdx_alias", &work, &opts).unwrap_or_else(|e| panic!("{e}"));
    let text = format_report(&r);
    // `cnt_q` and `acc_s3_q` sample the same bits with the same reset: Yosys keeps one of each
    // pair of flops.
    assert_eq!(r.flops, 6 + 6 + 2 + 4 + 1 + 2, "{text}");

    let netlist = yosys::Netlist::read(&work.join(NETLIST_JSON), "vdx_alias").unwrap();
    assert!(netlist.has_input(CLOCK_PORT) && netlist.has_input("b_i") && !netlist.has_input("y_o"));
    let flop_cells = yosys::liberty_flop_cells(&read(Path::new(OSU018_LIBERTY)).unwrap());
    let q_names = netlist.flop_q_names(&flop_cells);
    let flops = stages::flop_registers(&q_names);
    assert_eq!(flops.len() as u64, r.flops, "{flops:?}");
    // The cells of the JSON are the instances OpenSTA reads in netlist.v (see `rename` in the
    // module docs), and each names the register it holds.
    let verilog = read(&work.join(NETLIST_V)).unwrap();
    for inst in flops.keys() {
        assert!(verilog.contains(&format!("DFFSR {inst} (")), "{inst} is not an instance of netlist.v");
    }
    let mut held: Vec<&str> = flops.values().map(String::as_str).collect();
    held.sort();
    let bits = |name: &'static str, width: u32| (0..width).map(move |i| format!("{name}[{i}]"));
    let mut want: Vec<String> = bits("half_s9_q", 6)
        .chain(bits("half_s10_q", 6))
        .chain(bits("other_q", 2))
        .chain(bits("acc_s3_q", 4))
        .chain(bits("u_lane.s0_q", 2))
        .chain(["e_zero_s9_q".to_string()])
        .collect();
    want.sort();
    assert_eq!(held, want, "{q_names:#?}");
    // The names were really shared: each of these bits has a second name the rule passed over.
    let all: Vec<&str> = q_names.values().flatten().map(|b| b.name.as_str()).collect();
    for other in ["half_s10_d[4]", "z_o[1]", "cnt_q[2]", "e_o", "l_o[0]"] {
        assert!(all.contains(&other), "{other} is no flop's Q name: {q_names:#?}");
    }

    let rows = stage_timing(&work, "vdx_alias", &opts).unwrap_or_else(|e| panic!("{e}"));
    let table = format_stage_timing(&rows);
    eprintln!("{text}{table}");
    let summary: Vec<(&str, u64)> = rows.iter().map(|r| (r.stage.as_str(), r.endpoints)).collect();
    assert_eq!(
        summary,
        [
            ("s3", 4),
            ("s9", 7),
            ("s10", 6),
            ("other_q", 2),
            ("u_lane.s0_q", 2),
            (OUTPUTS_GROUP, 6 + 2 + 4 + 1 + 2)
        ],
        "{table}"
    );
    // The only logic in front of a register is the incrementer of `half_s10_q` (and one AND).
    let row = |name: &str| rows.iter().find(|r| r.stage == name).unwrap();
    assert!(row("s10").worst_endpoint.starts_with("half_s10_q["), "{table}");
    assert!(row("s10").worst_arrival_ns > row("s3").worst_arrival_ns, "{table}");
}

/// A memory of `words` × 8 bits inside `u_ram` (one write port, one read port), its read data
/// added to a registered input and registered: the adder path starts at the memory's read data.
fn memory_and_adder(words: u64) -> Module {
    let r = ModuleBuilder::new(&format!("vdx_synth_ram{words}"));
    let aw = crate::hdl::index_bits(words);
    let we = r.input("we_i", 1);
    let wa = r.input("waddr_i", aw);
    let wd = r.input("wdata_i", 8);
    let re = r.input("re_i", 1);
    let ra = r.input("raddr_i", aw);
    let mem = r.memory("store", 8, words);
    mem.write(&we, &wa, &wd);
    r.output("rdata_o", &mem.read(&re, &ra));
    let ram = r.finish().unwrap();
    let m = ModuleBuilder::new(&format!("vdx_synth_ram_top{words}"));
    let inputs: Vec<(&str, Signal)> =
        [("we_i", 1), ("waddr_i", aw), ("wdata_i", 8), ("re_i", 1), ("raddr_i", aw)]
            .iter()
            .map(|&(n, w)| (n, m.input(n, w)))
            .collect();
    let conns: Vec<(&str, &Signal)> = inputs.iter().map(|(n, s)| (*n, s)).collect();
    let u = m.instance("u_ram", &ram, &conns);
    let x = m.input("x_i", 8);
    let x_q = m.reg("x", 8, Reset::Zero);
    m.next(&x_q, &x);
    let sum = m.reg("sum", 8, Reset::Zero);
    m.next(&sum, &u.output("rdata_o").add(&x_q));
    m.output("sum_o", &sum);
    m.finish().unwrap()
}

#[test]
fn memories_become_macros_with_their_area_and_timing() {
    if !have_flow() {
        return;
    }
    let m = memory_and_adder(64);
    let dir = tempfile::tempdir().unwrap();
    let (files, top) = emit(&m, dir.path());
    let flops_opts = SynthOptions::default();
    let macro_opts = SynthOptions { memories: Memories::Macros, ..SynthOptions::default() };
    let as_flops = synthesize(&files, &top, &dir.path().join("flops"), &flops_opts).unwrap();
    let work = dir.path().join("macros");
    let r = synthesize(&files, &top, &work, &macro_opts).unwrap();
    let text = format_report(&r);
    check_consistent(&r);
    // One macro of the memory's shape, under the memory's own name, with the model's area.
    assert_eq!(r.macros.len(), 1, "{text}");
    let mac = &r.macros[0];
    assert_eq!(
        (mac.cell.as_str(), mac.words, mac.width, mac.count),
        ("vdx_sram_1r1w_64x8", 64, 8, 1),
        "{text}"
    );
    let expected = 64.0 * 8.0 * BITCELL_UM2 / ARRAY_EFFICIENCY;
    assert!((mac.area_um2 - expected).abs() < 0.1 && (r.macro_area_um2 - expected).abs() < 0.1, "{text}");
    assert_eq!(r.cell_counts.get("vdx_sram_1r1w_64x8"), Some(&1), "{text}");
    // `stat` counted the macro's Liberty area in the total.
    assert!(r.area_um2 > r.macro_area_um2 + 100.0, "{text}");
    // The 512 bits and the 8-bit read register left the flip-flops: 16 registers remain.
    assert_eq!(r.flops, 16, "{text}");
    assert!(as_flops.flops >= 16 + 512, "{}", format_report(&as_flops));
    // The macro's read data launches the adder path; its inputs are endpoints of their own.
    let netlist = std::fs::read_to_string(work.join("netlist.v")).unwrap();
    assert!(netlist.contains("vdx_sram_1r1w_64x8"), "{netlist}");
    let stages = stage_timing(&work, &top, &macro_opts).unwrap();
    let table = format_stage_timing(&stages);
    let macro_row = stages.iter().find(|s| s.stage.ends_with("(macro)")).unwrap_or_else(|| panic!("{table}"));
    assert!(macro_row.stage.contains("store"), "{table}");
    // write data, write enables (8), both addresses (12), read enable: every input pin is timed.
    assert_eq!(macro_row.endpoints, 8 + 8 + 12 + 1, "{table}");
    let sum = stages.iter().find(|s| s.stage == "sum_q").unwrap_or_else(|| panic!("{table}"));
    assert!(sum.worst_arrival_ns > 0.3, "{table}");
}

#[test]
fn memories_below_the_macro_size_stay_flops() {
    if !have_flow() {
        return;
    }
    let m = memory_and_adder(MACRO_MIN_WORDS / 2);
    let dir = tempfile::tempdir().unwrap();
    let (files, top) = emit(&m, dir.path());
    let opts = SynthOptions { memories: Memories::Macros, ..SynthOptions::default() };
    let r = synthesize(&files, &top, &dir.path().join("macros"), &opts).unwrap();
    let text = format_report(&r);
    assert!(r.macros.is_empty() && r.macro_area_um2 == 0.0, "{text}");
    assert!(r.flops >= 16 + 8 * MACRO_MIN_WORDS / 2, "{text}");
}
