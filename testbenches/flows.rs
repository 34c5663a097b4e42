//! Every flow file `vdx gen` writes, consumed by the tool it is for: Verilator `-F` filelists
//! from another directory, FuseSoC cores (lint, and a lint failure caught), the SDC read by
//! OpenSTA on a synthesized netlist, the ORFS `config.mk` parsed by GNU make, the C header
//! compiled by the C compiler, and the manifest's records.

mod common;

use common::vdx;
use std::path::Path;
use std::process::Command;

/// A config with two small blocks on one die, at 250 MHz.
const CONFIG: &str = "name = 'fl'\nclock_mhz = 250.0\n\
    [dies.d.blocks.r]\nblock = 'xoshiro_lane'\nlane = 2\n\
    [dies.d.blocks.s]\nblock = 'sgu'\nlanes = 2\n";

fn generate(dir: &Path) -> serde_json::Value {
    std::fs::write(dir.join("fl.toml"), CONFIG).unwrap();
    let (ok, _, stderr) = vdx(&["gen", "--config", "fl.toml", "--out", "out"], dir);
    assert!(ok, "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest.json")).unwrap()).unwrap()
}

#[test]
fn manifest_records_ports_clock_latency_and_file_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let m = generate(tmp.path());
    assert_eq!(m["clock"]["port"], "clk_i");
    assert_eq!(m["clock"]["mhz"], 250.0);
    assert_eq!(m["reset"]["port"], "rst_ni");
    assert_eq!(m["reset"]["active"], "low");
    let sgu = m["blocks"].as_array().unwrap().iter().find(|b| b["instance"] == "s").unwrap();
    let out = sgu["ports"].as_array().unwrap().iter().find(|p| p["name"] == "out_data_o").unwrap();
    assert_eq!((out["direction"].as_str(), out["width"].as_u64()), (Some("output"), Some(2 * 2 * 16)));
    assert_eq!(sgu["latency"]["cycles"], 17);
    assert_eq!(sgu["derived"]["latency"], 17, "the header's derived values are recorded");
    for f in m["files"].as_array().unwrap() {
        let bytes = std::fs::read(tmp.path().join("out").join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["sha256"].as_str().unwrap(), vdx::generate::write::sha256_hex(&bytes));
    }
    let listed: std::collections::BTreeSet<&str> =
        m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    for e in std::fs::read_dir(tmp.path().join("out")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name == "manifest.json" || listed.contains(name.as_str()), "{name} is not listed");
    }
    // The derived accumulator width of a systolic array, not the 0 the config asks for.
    let (ok, _, stderr) = vdx(
        &[
            "gen",
            "--die",
            "compute0",
            "--block",
            "systolic_ws",
            "--set",
            "rows=2",
            "--set",
            "cols=2",
            "--out",
            "sys",
        ],
        tmp.path(),
    );
    assert!(ok, "{stderr}");
    let sys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("sys/manifest.json")).unwrap())
            .unwrap();
    let block = &sys["blocks"][0];
    assert_eq!(block["params"]["acc_width"], 0);
    assert_eq!(block["derived"]["acc_width"], 30);
}

#[test]
fn filelists_work_with_verilator_minus_capital_f_from_anywhere() {
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let m = generate(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for b in m["blocks"].as_array().unwrap() {
        let filelist = tmp.path().join("out").join(b["flow"]["filelist"].as_str().unwrap());
        let out = Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", b["top"].as_str().unwrap(), "-F"])
            .arg(&filelist)
            .current_dir(&elsewhere)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn fusesoc_lints_a_generated_core_and_catches_a_warning() {
    let Some(fusesoc) = common::venv_tool("fusesoc", "fusesoc") else { return };
    if !common::verilator() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let m = generate(tmp.path());
    let run = |cores: &Path, instance: &str| {
        let work = tempfile::tempdir().unwrap();
        let out = Command::new(&fusesoc)
            .arg("--cores-root")
            .arg(cores)
            .args(["run", "--target=lint", &format!("vdx:fl_d:{instance}:{}", env!("CARGO_PKG_VERSION"))])
            .current_dir(work.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    for instance in ["r", "s"] {
        let (ok, text) = run(&tmp.path().join("out"), instance);
        assert!(ok, "{instance}: {text}");
        assert!(!text.contains("deprecated"), "the core uses the flow API: {text}");
    }
    // The lint target is -Wall: an unused input added to a copy fails it.
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(tmp.path().join("out")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let top = m["blocks"].as_array().unwrap().iter().find(|b| b["instance"] == "r").unwrap()["top"]
        .as_str()
        .unwrap()
        .to_string();
    let file = copy.join(format!("{top}.v"));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("input  wire ", "input  wire         spare_i,\n  input  wire ", 1))
        .unwrap();
    let (ok, text) = run(&copy, "r");
    assert!(!ok && text.contains("spare_i"), "{text}");
}

#[test]
fn opensta_reads_the_sdc_on_a_synthesized_netlist() {
    use vdx::flows::synth::{SynthOptions, synthesize};
    if !common::lint_tools() || vdx::sim::find_on_path("sta").is_none() {
        panic!("OpenSTA (sta) and Yosys are needed: apt-get install opensta yosys qflow-tech-osu018");
    }
    let tmp = tempfile::tempdir().unwrap();
    let m = generate(tmp.path());
    let block = m["blocks"].as_array().unwrap().iter().find(|b| b["instance"] == "r").unwrap();
    let top = block["top"].as_str().unwrap();
    let out = tmp.path().join("out");
    let files: Vec<_> =
        block["verilog"].as_array().unwrap().iter().map(|f| out.join(f.as_str().unwrap())).collect();
    let work = tmp.path().join("work");
    let opts = SynthOptions::default();
    synthesize(&files, top, &work, &opts).unwrap_or_else(|e| panic!("{e}"));
    let sdc = out.join(block["flow"]["sdc"].as_str().unwrap());
    let script = format!(
        "read_liberty {}\nread_verilog {}\nlink_design {top}\nread_sdc {}\nreport_clock_properties\nreport_checks -path_delay max\nexit\n",
        opts.liberty.display(),
        work.join("netlist.v").display(),
        sdc.display()
    );
    std::fs::write(tmp.path().join("check.tcl"), script).unwrap();
    let run = Command::new("sta")
        .args(["-no_init", "-no_splash", "-exit"])
        .arg(tmp.path().join("check.tcl"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(!text.contains("Error"), "{text}");
    // 250 MHz: a 4 ns clock, and the paths are timed against it.
    assert!(text.contains("clk") && text.contains("4.00"), "{text}");
    assert!(text.contains("slack"), "{text}");
}

#[test]
fn orfs_config_mk_defines_the_required_variables_with_real_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let m = generate(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for b in m["blocks"].as_array().unwrap() {
        let mk = tmp.path().join("out").join(b["flow"]["orfs"].as_str().unwrap());
        // GNU make reads it as ORFS would (`include $(DESIGN_CONFIG)`), from another folder.
        let probe = format!(
            "include {}\nprint:\n\t@echo NAME=$(DESIGN_NAME)\n\t@echo PLATFORM=$(PLATFORM)\n\t@echo SDC=$(SDC_FILE)\n\t@echo PERIOD=$(CLOCK_PERIOD)\n\t@echo FILES=$(VERILOG_FILES)\n",
            mk.display()
        );
        std::fs::write(elsewhere.join("Makefile"), probe).unwrap();
        let out = Command::new("make").args(["-s", "print"]).current_dir(&elsewhere).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let get =
            |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap_or("").to_string();
        assert_eq!(get("NAME"), b["top"].as_str().unwrap());
        assert_eq!(get("PLATFORM"), "sky130hd");
        assert_eq!(get("PERIOD"), "4.000");
        assert!(Path::new(&get("SDC")).is_file(), "{text}");
        let files: Vec<String> = get("FILES").split_whitespace().map(str::to_string).collect();
        assert_eq!(files.len(), b["verilog"].as_array().unwrap().len(), "{text}");
        assert!(files.iter().all(|f| Path::new(f).is_absolute() && Path::new(f).is_file()), "{text}");
    }
}

#[test]
fn c_header_compiles_and_states_the_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let test = "#include \"s_params.h\"\n#include \"r_params.h\"\n#include \"s_params.h\"\n\
        _Static_assert(VDX_S_LANES == 2, \"lanes\");\n\
        _Static_assert(VDX_S_OUT_DATA_O_WIDTH == 64, \"port width\");\n\
        _Static_assert(VDX_S_LATENCY == 17, \"derived\");\n\
        _Static_assert(VDX_R_LANE == 2, \"lane\");\n\
        static const char *top = VDX_S_TOP;\nint main(void) { return top[0] == 'v' ? 0 : 1; }\n";
    std::fs::write(tmp.path().join("t.c"), test).unwrap();
    let out = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I", "out", "t.c", "-o", "t"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(Command::new(tmp.path().join("t")).status().unwrap().success());
}

/// A hierarchy too large to elaborate is linted against port stubs of its children: a stub
/// carries the child's ports exactly, so the parent lints clean against it, and a port the
/// parent does not connect (here: one added to the stub) is still found. The
/// manifest records each module's elaborated size, which decides the split.
#[test]
fn lint_against_port_stubs_checks_the_connections() {
    if !common::lint_tools() {
        return;
    }
    use vdx::blocks::BlockParams;
    use vdx::blocks::attention::SpatialAttentionParams;
    let tmp = tempfile::tempdir().unwrap();
    let p = SpatialAttentionParams { lanes: 3, d: 2, bk: 2, bq: 2, max_keys: 16, ..Default::default() };
    let emitted = vdx::hdl::Design::single(&p.build().unwrap()).emit();
    let top = emitted.files.last().unwrap();
    let lane = emitted.files.iter().find(|f| f.name.starts_with("vdx_attention_lane_")).unwrap();
    let (top_name, lane_name) = (top.name.trim_end_matches(".v"), lane.name.trim_end_matches(".v"));
    let lane_size = emitted.sizes[lane_name];
    assert_eq!(emitted.sizes[top_name], 1 + 3 * lane_size, "three lanes and the top");
    let stub = vdx::flows::lint::port_stub(&lane.text, lane_name).unwrap();
    std::fs::write(tmp.path().join(&top.name), &top.text).unwrap();
    let run = |stub: &str| {
        std::fs::write(tmp.path().join(&lane.name), stub).unwrap();
        let files = vec![tmp.path().join(&lane.name), tmp.path().join(&top.name)];
        vdx::flows::lint::lint_each(&[(top_name.to_string(), files)]).unwrap()
    };
    let clean = run(&stub);
    assert!(clean.is_clean(), "{}", vdx::flows::lint::format_report(&clean));
    let extra = stub.replacen("  input  wire", "  input  wire        spare_i,\n  input  wire", 1);
    assert_ne!(extra, stub, "the stub declares inputs:\n{stub}");
    let broken = run(&extra);
    let text = vdx::flows::lint::format_report(&broken);
    assert!(!broken.is_clean() && text.contains("spare_i"), "{text}");
}
