//! Tests that need no tool: input checks, scripts, and the parsers of every report and of the
//! JSON netlist (on small hand-written inputs that cover their edge cases).

use super::sta::{
    STA_BEGIN, STA_END, STA_ERROR, StaEnd, parse_sta_ends, parse_sta_paths, sta_report_section, sta_script,
    tcl_word,
};
use super::stages::{flop_registers, group_stages, net_base, stage_of};
use super::yosys::{
    Netlist, coarse_script, fast_abc_script, liberty_flop_cells, macro_script, parse_stat, yosys_script,
    yosys_word,
};
use super::*;
use std::collections::BTreeSet;

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
    let nolib = SynthOptions { liberty: dir.path().join("none.lib"), ..opts.clone() };
    let err = synthesize(&f, "t", dir.path(), &nolib).unwrap_err();
    assert!(err.to_string().contains(LIBERTY_PACKAGE), "{err}");
    // A bad ABC constraint is refused before `synth.ys` is written (the work directory is
    // not even created).
    let work = dir.path().join("w");
    let cell = SynthOptions { drive_cell: "INV X1".into(), liberty: lib_file(dir.path()), ..opts };
    let err = synthesize(&f, "t", &work, &cell).unwrap_err();
    assert!(matches!(err, SynthError::BadConstraint { .. }), "{err}");
    assert!(!work.exists());
}

/// An empty file standing in for a Liberty ([`SynthOptions::validate`] only checks that it
/// exists).
fn lib_file(dir: &Path) -> PathBuf {
    let lib = dir.join("cells.lib");
    std::fs::write(&lib, "").unwrap();
    lib
}

#[test]
fn options_are_validated_without_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let ok = SynthOptions { liberty: lib_file(dir.path()), ..SynthOptions::default() };
    ok.validate("vdx_top").unwrap();
    ok.validate("_a$1").unwrap();
    for top in ["", "1a", "a b", "a;b", "a.b", "\\a", "a[0]"] {
        assert!(matches!(ok.validate(top), Err(SynthError::BadTop(t)) if t == top), "{top:?}");
    }
    for mhz in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, -100.0] {
        let opts = SynthOptions { clock_mhz: mhz, ..ok.clone() };
        let err = opts.validate("t").unwrap_err();
        assert!(matches!(err, SynthError::BadClock(f) if f.to_bits() == mhz.to_bits()), "{mhz}: {err}");
    }
    SynthOptions { clock_mhz: 1e-3, ..ok.clone() }.validate("t").unwrap();
    let missing = SynthOptions { liberty: dir.path().join("none.lib"), ..ok.clone() };
    let err = missing.validate("t").unwrap_err();
    assert!(matches!(&err, SynthError::LibertyMissing { path } if path == &missing.liberty), "{err}");
    let folder = SynthOptions { liberty: dir.path().to_path_buf(), ..ok.clone() };
    assert!(matches!(folder.validate("t"), Err(SynthError::LibertyMissing { .. })));
    for (cell, load) in [
        ("", 10.0),
        ("INV X1", 10.0),
        ("INVX1;", 10.0),
        ("INVX1", -1.0),
        ("INVX1", f64::NAN),
        ("INVX1", f64::INFINITY),
    ] {
        let opts = SynthOptions { drive_cell: cell.into(), output_load: load, ..ok.clone() };
        assert!(matches!(opts.validate("t"), Err(SynthError::BadConstraint { .. })), "{cell:?} {load}");
    }
    SynthOptions { drive_cell: "BUFX2".into(), output_load: 0.0, ..ok.clone() }.validate("t").unwrap();
    // The top is checked first, then the clock, then the Liberty.
    let all_bad = SynthOptions { clock_mhz: f64::NAN, ..missing };
    assert!(matches!(all_bad.validate("a b"), Err(SynthError::BadTop(_))));
    assert!(matches!(all_bad.validate("t"), Err(SynthError::BadClock(_))));
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
    let ys = yosys_script(
        &[PathBuf::from("/d/a.v"), PathBuf::from("/d/b.v")],
        "top",
        lib,
        10_000.0,
        AbcScript::Full,
    )
    .unwrap();
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
            "rename -enumerate c:*",
            "tee -o stat.rpt stat -liberty \"/l/osu.lib\"",
            "write_verilog -noattr -simple-lhs netlist.v",
            "write_json netlist.json",
        ]
    );
    let tcl = sta_script("top", &[lib.to_path_buf()], 10.0, true).unwrap();
    assert!(tcl.contains("create_clock -name clk -period 10.000000 [get_ports {clk_i}]"), "{tcl}");
    assert!(tcl.contains("[delete_from_list [all_inputs] [get_ports {clk_i}]]"), "{tcl}");
    let tcl = sta_script("top", &[lib.to_path_buf()], 2.5, false).unwrap();
    assert!(tcl.contains("create_clock -name clk -period 2.500000\n"), "{tcl}");
    assert!(tcl.contains("set_input_delay 0 -clock clk [all_inputs]"), "{tcl}");
    let two = [lib.to_path_buf(), PathBuf::from("/w/macros.lib")];
    let tcl = sta_script("top", &two, 2.5, true).unwrap();
    assert!(
        tcl.contains("read_liberty {/l/osu.lib}\n  read_liberty {/w/macros.lib}\n  read_verilog"),
        "{tcl}"
    );
}

#[test]
fn macro_scripts_are_as_documented() {
    let coarse = coarse_script(&[PathBuf::from("/d/a.v")], "top").unwrap();
    let body: Vec<&str> = coarse.lines().skip(1).collect();
    assert_eq!(
        body,
        [
            "read_verilog \"/d/a.v\"",
            "hierarchy -check -top top",
            "synth -top top -flatten -run :fine",
            "write_rtlil coarse.il",
            "delete c:* t:$mem_v2 %d",
            "write_json memories.json",
        ]
    );
    let ys = macro_script("top", Path::new("/l/osu.lib"), 10_000.0, AbcScript::Full).unwrap();
    let body: Vec<&str> = ys.lines().skip(1).collect();
    assert_eq!(
        body,
        [
            "read_rtlil coarse.il",
            "read_verilog -lib macros_bb.v",
            "techmap -map macros_map.v t:$mem_v2",
            "synth -top top -run fine:",
            "dfflibmap -liberty \"/l/osu.lib\"",
            "abc -D 10000 -constr abc.constr -liberty \"/l/osu.lib\"",
            "opt_clean",
            "rename -enumerate c:* t:vdx_sram_1r1w_* %d",
            "tee -o stat.rpt stat -liberty \"/l/osu.lib\" -liberty macros.lib",
            "write_verilog -noattr -simple-lhs netlist.v",
            "write_json netlist.json",
        ]
    );
}

#[test]
fn fast_abc_runs_one_mapping_pass_from_its_own_file() {
    let lib = Path::new("/l/osu.lib");
    let abc_line = |ys: String| ys.lines().find(|l| l.starts_with("abc ")).unwrap().to_string();
    let expected = "abc -script fast.abc -D 1250 -constr abc.constr -liberty \"/l/osu.lib\"";
    let flat = yosys_script(&[PathBuf::from("/d/a.v")], "top", lib, 1250.0, AbcScript::Fast).unwrap();
    assert_eq!(abc_line(flat), expected);
    assert_eq!(abc_line(macro_script("top", lib, 1250.0, AbcScript::Fast).unwrap()), expected);
    // ABC sources the file itself, so the period is written in, not left as Yosys' `{D}`.
    assert_eq!(fast_abc_script(1250.0), "strash\ndretime\nmap -D 1250\ntopo\nbuffer -p\ntopo\nstime -p\n");
    assert!(super::WORK_FILES.contains(&"fast.abc"));
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
    assert!(err.to_string().contains("slack (MET|VIOLATED)") && err.to_string().contains("`_1_"), "{err}");
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
            (r.stage.as_str(), r.endpoints, r.worst_arrival_ns, r.worst_slack_ns, r.worst_endpoint.as_str())
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
        // A work directory of a vdx that wrote no JSON netlist.
        std::fs::write(dir.path().join("netlist.v"), "module t; endmodule\n").unwrap();
        let err = stage_timing(dir.path(), "t", &opts).unwrap_err();
        assert!(matches!(&err, SynthError::NoNetlist { path } if path.ends_with("netlist.json")), "{err}");
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
fn report_table_shows_the_figures() {
    let r = SynthReport {
        top: "t".into(),
        clock_mhz: 100.0,
        cells: 3,
        area_um2: 123.0,
        macros: Vec::new(),
        macro_area_um2: 0.0,
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
    let with_macro = SynthReport {
        macros: vec![MacroUse {
            cell: "vdx_sram_1r1w_64x8".into(),
            words: 64,
            width: 8,
            count: 2,
            area_um2: 40.0,
        }],
        macro_area_um2: 80.0,
        ..r.clone()
    };
    let t = format_report(&with_macro);
    for want in [
        "standard cells",
        "| 43.0 µm²",
        "SRAM macros (est.)",
        "| 80.0 µm²",
        "2 × 64 words × 8 bits, 40.0 µm² each",
    ] {
        assert!(t.contains(want), "missing `{want}` in\n{t}");
    }
    let inf = SynthReport { fmax_mhz: f64::INFINITY, ..r };
    assert!(format_report(&inf).contains("unbounded"));
}

/// A `write_json` netlist written by hand, cut down to what vdx reads, with the cases
/// [`flop_registers`] has to tell apart (the cell and net names follow what Yosys 0.23 writes
/// after `rename -enumerate c:*`).
const JSON_NETLIST: &str = include_str!("testdata/netlist_cases.json");

#[test]
fn flops_are_named_after_the_register_names_of_their_q_bits() {
    let netlist = Netlist::parse(JSON_NETLIST, "t", Path::new("netlist.json")).unwrap();
    let cells = BTreeSet::from(["DFFSR".to_string(), "DFFPOSX1".to_string()]);
    let q_names = netlist.flop_q_names(&cells);
    // Every name of the bit, with bit indices from the offset and direction of each wire;
    // a flop with nothing or a constant on `Q`, and cells that are no flip-flops, are left out.
    let names = |cell: &str| q_names[cell].iter().map(|b| (b.name.as_str(), b.hidden)).collect::<Vec<_>>();
    assert_eq!(names("_1_"), [("$techmap$u_lane.s0_q", true), ("u_lane.s0_q[1]", false)]);
    assert_eq!(names("_3_"), [("e_zero_s9_q", false), ("up_q[2]", false)]);
    assert_eq!(names("_5_"), [("mix[0]", false), ("other_q[0]", false), ("r_q[3]", false)]);
    assert_eq!(names("_11_"), []);
    let listed: Vec<&str> = q_names.keys().map(String::as_str).collect();
    assert_eq!(listed, ["_10_", "_11_", "_12_", "_13_", "_1_", "_3_", "_4_", "_5_", "_6_", "u_x.odd$name"]);

    let flops = flop_registers(&q_names);
    let want = [
        // A register name from the design, not Yosys' own `_q`-ending one.
        ("_1_", "u_lane.s0_q[1]"),
        // The register, not the next stage's unchanged input that shares its bits.
        ("u_x.odd$name", "half_shift_s9_q[4]"),
        // A stage register before another register, whatever the order of the names.
        ("_3_", "e_zero_s9_q"),
        ("_4_", "mix_s3_q[1]"),
        // A register before a plain wire, the lexically first of two registers.
        ("_5_", "other_q[0]"),
        // A register before the output port it drives.
        ("_6_", "other_q[1]"),
        // Without a register name: another name from the design, else the pin (never a name
        // Yosys made up, which netlist.v spells differently).
        ("_12_", "a_w"),
        ("_10_", "_10_/Q"),
        ("_11_", "_11_/Q"),
        // Two merged stage registers: the lexically first.
        ("_13_", "a_s12_q"),
    ];
    let want: BTreeMap<String, String> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(flops, want);
}

#[test]
fn clock_port_is_found_in_the_netlist() {
    let netlist = Netlist::parse(JSON_NETLIST, "t", Path::new("netlist.json")).unwrap();
    assert!(netlist.has_input("clk_i"));
    // An inout, an output, a net that is no port and a missing name are not inputs.
    for not_input in ["io", "y_o", "a_w", "clk"] {
        assert!(!netlist.has_input(not_input), "{not_input}");
    }
    let other = Netlist::parse(JSON_NETLIST, "other", Path::new("netlist.json")).unwrap();
    assert!(!other.has_input("clk_i"));
    assert!(other.flop_q_names(&BTreeSet::from(["DFFSR".to_string()])).is_empty());
}

#[test]
fn json_netlist_errors_name_the_file_and_what_is_wrong() {
    let file = Path::new("w/netlist.json");
    let err = Netlist::parse(JSON_NETLIST, "nope", file).unwrap_err();
    let text = err.to_string();
    assert!(matches!(&err, SynthError::Parse { file: f, .. } if f == file), "{text}");
    assert!(text.contains("`nope`") && text.contains("other, t"), "{text}");
    let bad_type = JSON_NETLIST.replace(r#""type": "LATCH""#, r#""type": 7"#);
    let text = Netlist::parse(&bad_type, "t", file).unwrap_err().to_string();
    assert!(text.contains("modules.t.cells._7_.type"), "{text}");
    let bad_direction = JSON_NETLIST.replace(r#""direction": "inout""#, r#""direction": "sideways""#);
    let text = Netlist::parse(&bad_direction, "t", file).unwrap_err().to_string();
    assert!(text.contains("modules.t.ports.io.direction"), "{text}");
    let text = Netlist::parse(&JSON_NETLIST[..200], "t", file).unwrap_err().to_string();
    assert!(text.contains("w/netlist.json") && text.contains("write_json"), "{text}");
}

/// A `$mem_v2` cell of a coarse `write_json` design with the given parameters (binary strings).
fn mem_cell(size: u64, width: u64, rd: u64, wr: u64, rd_clk: &str) -> serde_json::Value {
    let bin = |v: u64| format!("{v:032b}");
    serde_json::json!({
        "type": "$mem_v2",
        "parameters": {
            "SIZE": bin(size), "WIDTH": bin(width), "ABITS": bin(64 - (size - 1).leading_zeros() as u64),
            "OFFSET": bin(0), "RD_PORTS": bin(rd), "WR_PORTS": bin(wr), "RD_CLK_ENABLE": rd_clk,
            "RD_CLK_POLARITY": rd_clk, "WR_CLK_ENABLE": "1", "WR_CLK_POLARITY": "1", "MEMID": "\\m"
        }
    })
}

#[test]
fn only_large_one_read_one_write_clocked_memories_become_macros() {
    let design = serde_json::json!({ "modules": { "top": { "cells": {
        "a": mem_cell(64, 1024, 1, 1, "1"),
        "b": mem_cell(64, 1024, 1, 1, "1"),
        "c": mem_cell(32, 8, 1, 1, "1"),
        "small": mem_cell(16, 8, 1, 1, "1"),
        "rom": mem_cell(64, 8, 1, 0, "1"),
        "two_reads": mem_cell(64, 8, 2, 1, "11"),
        "async_read": mem_cell(64, 8, 1, 1, "0"),
        "adder": { "type": "$add", "parameters": {} }
    } } } });
    let shapes = macros::memory_shapes(&design.to_string(), Path::new("memories.json")).unwrap();
    let found: Vec<(String, u64)> = shapes.iter().map(|(s, n)| (s.cell(), *n)).collect();
    assert_eq!(found, [("vdx_sram_1r1w_32x8".to_string(), 1), ("vdx_sram_1r1w_64x1024".to_string(), 2)]);
    let err = macros::memory_shapes("{", Path::new("memories.json")).unwrap_err();
    assert!(err.to_string().contains("memories.json"), "{err}");
    // The files name each shape's cell once and in the same way.
    let map = macros::techmap_verilog(shapes.keys());
    let bb = macros::blackbox_verilog(shapes.keys());
    let lib = macros::liberty(shapes.keys());
    for cell in ["vdx_sram_1r1w_32x8", "vdx_sram_1r1w_64x1024"] {
        assert_eq!(map.matches(&format!("{cell} _TECHMAP_REPLACE_")).count(), 1, "{map}");
        assert_eq!(bb.matches(&format!("module {cell} (")).count(), 1, "{bb}");
        assert_eq!(lib.matches(&format!("cell ({cell})")).count(), 1, "{lib}");
    }
    assert!(bb.contains("output [1023:0] RD_DATA") && bb.contains("input [5:0] WR_ADDR"), "{bb}");
    let area = 64.0 * 1024.0 * macros::BITCELL_UM2 / macros::ARRAY_EFFICIENCY;
    assert!(lib.contains(&format!("area : {area:.1};")), "{lib}");
    assert_eq!(lib.matches('{').count(), lib.matches('}').count(), "{lib}");
}
