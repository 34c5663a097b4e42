//! Whole dies of the `tiny` package through their die tops (`vdx_tiny_<die>`), driven the way
//! software would drive them: over AXI4-Lite (the host of `vdx::die::host`) and the host
//! streams, with every output compared against the blocks' golden models. Plus: the whole
//! package elaborates in one Verilator run, the register map answers at every offset with its
//! reset values, and its SystemRDL compiles with PeakRDL into the same offsets.

mod common;

use vdx::config::DieConfig;
use vdx::die::DieTop;
use vdx::die::host::DieHost;
use vdx::die::regmap::Access;
use vdx::hdl::Design;
use vdx::sim::verilator::VerilatorDut;

fn tiny() -> DieConfig {
    DieConfig::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.toml")).unwrap()
}

fn die_dut(config: &DieConfig, die: &str) -> (DieTop, VerilatorDut) {
    let top = vdx::generate::build_die_top(config, die).unwrap();
    let dut = VerilatorDut::build(&Design::single(&top.module).emit().sim_source(0)).unwrap();
    (top, dut)
}

#[test]
fn tiny_package_elaborates_in_one_verilator_run() {
    if !common::lint_tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = common::vdx(
        &["gen", "--config", "configs/tiny.toml", "--out", tmp.path().to_str().unwrap()],
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert!(ok, "{stderr}");
    // Module names are global: the same name in two die folders is the same file.
    let mut files = std::collections::BTreeMap::new();
    for die in ["compute0", "utility"] {
        for e in std::fs::read_dir(tmp.path().join(die)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "v") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let text = std::fs::read(&p).unwrap();
                if let Some(prev) = files.insert(name.clone(), (p.clone(), text.clone())) {
                    assert_eq!(prev.1, text, "{name} differs between die folders");
                }
            }
        }
    }
    let tops: Vec<String> = files.keys().filter(|n| n.starts_with("vdx_tiny_")).cloned().collect();
    assert_eq!(tops.len(), 2, "{tops:?}");
    // The package folder's top wires both die tops; its filelist names every file once.
    let pkg = tmp.path().join("package");
    let top = std::fs::read_dir(&pkg)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".v").map(String::from))
        .find(|n| n.starts_with("vdx_tiny_package_"))
        .expect("a package top in the package folder");
    let out = std::process::Command::new("verilator")
        .args(["--lint-only", "-Wall", "-F"])
        .arg(pkg.join("package.sim.f"))
        .args(["--top-module", &top])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("%Warning"), "{text}");
    // And the synthesis filelist reads in Yosys, which checks the hierarchy below the top; the
    // SRAM macros it leaves out come as black boxes (`-lib`), as a macro library would.
    let list = std::fs::read_to_string(pkg.join("package.f")).unwrap();
    let sim = std::fs::read_to_string(pkg.join("package.sim.f")).unwrap();
    let mut script = String::new();
    for f in sim.lines().filter(|f| !list.lines().any(|l| l == *f)) {
        script.push_str(&format!("read_verilog -lib {}\n", pkg.join(f).display()));
    }
    for f in list.lines() {
        script.push_str(&format!("read_verilog -defer {}\n", pkg.join(f).display()));
    }
    script.push_str(&format!("hierarchy -check -top {top}\n"));
    let ys = tmp.path().join("package.ys");
    std::fs::write(&ys, script).unwrap();
    let out = std::process::Command::new("yosys").args(["-q", "-s"]).arg(&ys).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tiny_dies_run_every_job_end_to_end_against_the_golden_models() {
    if !common::verilator() {
        return;
    }
    let reports = vdx::die::jobs::run(&tiny(), None, 2026, |r| {
        eprintln!("{} {}: {} checks, {} cycles: {}", r.die, r.job, r.checks, r.cycles, r.detail)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<(String, String)> = reports.iter().map(|r| (r.die.clone(), r.job.clone())).collect();
    let want = [
        ("compute0", "gemm"),
        ("compute0", "spatial"),
        ("compute0", "temporal"),
        ("utility", "noise"),
        ("utility", "tcu"),
    ];
    assert_eq!(jobs, want.map(|(d, j)| (d.to_string(), j.to_string())));
    for r in &reports {
        assert!(r.checks > 50, "{} {} compared only {} values", r.die, r.job, r.checks);
    }
}

/// The package top of tiny: beats stream across its UCIe link both ways between the dies'
/// scratchpads, programmed over both dies' CSR ports, the second way with the link down in the
/// middle (see `vdx::die::link`).
#[test]
fn tiny_package_streams_across_its_ucie_link_both_ways() {
    if !common::verilator() {
        return;
    }
    let config = tiny();
    let reports =
        vdx::die::link::run(&config, 7, |r| eprintln!("{}: {} checks, {} cycles", r.die, r.checks, r.cycles))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reports.len(), config.links.len());
    // 160 beats each way (the utility scratchpad holds 512), the retrain, both adapters' credits.
    assert_eq!(reports[0].checks, 2 * 160 + 1 + 2, "{:?}", reports[0]);
}

#[test]
fn tcu_job_sees_requests_and_loads_beyond_its_tables_flagged_and_dropped() {
    if !common::verilator() {
        return;
    }
    // tiny's 4 steps and 4 layers fill their 2-bit fields, and its 32-beat tables the 5-bit load
    // address: nothing beyond a table can be sent. With 3 steps and 5 layers all three can.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let tables = "steps = 4\nlayers = 4\n";
    assert!(text.contains(tables), "tiny's tcu tables changed: update this test");
    let config = DieConfig::parse(&text.replace(tables, "steps = 3\nlayers = 5\n"), "tiny, 3 steps").unwrap();
    let reports = vdx::die::jobs::run(&config, Some("utility"), 7, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let r = reports.iter().find(|r| r.job == "tcu").expect("the tcu job ran");
    eprintln!("{}: {} checks, {} cycles: {}", r.job, r.checks, r.cycles, r.detail);
    assert!(
        r.detail
            .ends_with("range errors flagged, dropped and cleared: step 3, layer 5, load of table 0 at 32"),
        "{}",
        r.detail
    );
}

#[test]
fn every_register_answers_with_its_reset_value_and_unmapped_offsets_answer_slverr() {
    if !common::verilator() {
        return;
    }
    let config = tiny();
    let (top, mut dut) = die_dut(&config, "utility");
    let fabric = config.die("utility").unwrap().fabric.bits;
    let mut host = DieHost::new(&mut dut, &top.regmap, &top.sources, fabric);
    host.reset(3).unwrap();
    let mut checked = 0;
    for v in top.regmap.values() {
        for (reg, offset, bits, reset) in v.parts() {
            let (data, resp) = host.axi_read(offset).unwrap();
            assert_eq!(resp, 0, "{reg}");
            match v.access {
                Access::Pulse => assert_eq!(data, 0, "{reg} is a pulse register and reads 0"),
                Access::Rw | Access::W1c => assert_eq!(u64::from(data), reset, "{reg} after reset"),
                Access::Ro => {}
            }
            if v.access == Access::Rw && !v.name.starts_with("switch_route") && !v.name.ends_with("_en") {
                let pattern = (0xa5a5_5a5a_u64 & ((1u64 << bits) - 1)) as u32;
                assert_eq!(host.axi_write(offset, pattern).unwrap(), 0);
                assert_eq!(host.axi_read(offset).unwrap(), (pattern, 0), "{reg} reads back what was written");
                assert_eq!(host.axi_write(offset, reset as u32).unwrap(), 0);
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
    assert_eq!(host.get_value("die_fabric_bits").unwrap(), u64::from(fabric));
    let unmapped = top.regmap.span() + 0x100;
    assert_eq!(host.axi_read(unmapped).unwrap(), (0, 2), "an unmapped read answers SLVERR with 0");
    assert_eq!(host.axi_write(unmapped, 1).unwrap(), 2, "an unmapped write answers SLVERR");
    assert_eq!(host.axi_read(2).unwrap().1, 2, "an unaligned offset answers SLVERR");
}

#[test]
fn systemrdl_compiles_with_peakrdl_to_the_same_offsets() {
    let Some(peakrdl) = common::venv_tool("peakrdl", "peakrdl peakrdl-cheader") else { return };
    let python = peakrdl.with_file_name("python3");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/rdl_dump.py");
    let config = tiny();
    for die in ["compute0", "utility"] {
        let top = vdx::generate::build_die_top(&config, die).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let rdl = tmp.path().join("die.rdl");
        std::fs::write(&rdl, top.regmap.systemrdl("vdx test")).unwrap();
        // PeakRDL's own command compiles it into a C header ...
        let out = std::process::Command::new(&peakrdl)
            .arg("c-header")
            .arg(&rdl)
            .arg("-o")
            .arg(tmp.path().join("peak.h"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{die}: {}", String::from_utf8_lossy(&out.stderr));
        // ... and its compiler's elaborated model has every register where vdx's map says.
        let out = std::process::Command::new(&python).arg(&script).arg(&rdl).output().unwrap();
        assert!(out.status.success(), "{die}: {}", String::from_utf8_lossy(&out.stderr));
        let seen: Vec<(String, u64, u32, u64, String)> = serde_json::from_slice(&out.stdout).unwrap();
        let mut want = Vec::new();
        for v in top.regmap.values() {
            let sw = match v.access {
                Access::Rw | Access::W1c => "rw",
                Access::Ro => "r",
                Access::Pulse => "w",
            };
            for (reg, offset, bits, reset) in v.parts() {
                want.push((reg, u64::from(offset), bits, reset, sw.to_string()));
            }
        }
        assert_eq!(seen, want, "{die}: the SystemRDL elaborates to another map");
    }
}

#[test]
fn csr_port_passes_cocotbext_axi_on_every_die_top() {
    let Some(python) =
        common::venv_tool("cocotb-config", "cocotb cocotbext-axi").map(|p| p.with_file_name("python3"))
    else {
        return;
    };
    if !common::icarus() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny");
    let (ok, _, stderr) =
        common::vdx(&["gen", "--config", "configs/tiny.toml", "--out", out.to_str().unwrap()], root);
    assert!(ok, "{stderr}");
    for die in ["compute0", "utility"] {
        let folder = out.join(die);
        let top = common::verilog_of(&folder, &format!("vdx_tiny_{die}"));
        let top = top.file_stem().unwrap().to_str().unwrap().to_string();
        let build = tmp.path().join(format!("build_{die}"));
        let run = std::process::Command::new(&python)
            .arg(root.join("testbenches/cocotb/run_csr.py"))
            .arg(&folder)
            .arg(&top)
            .arg(&build)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let log =
            format!("{}\n{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
        assert!(run.status.success(), "{die}: {log}");
        let xml = std::fs::read_to_string(build.join("results.xml"))
            .unwrap_or_else(|e| panic!("{die}: no results ({e}): {log}"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        assert_eq!(cases.len(), 1, "{die}: {xml}");
        assert!(
            cases.iter().all(|c| !c.children().any(|k| k.has_tag_name("failure") || k.has_tag_name("error"))),
            "{die}: the cocotb test failed: {log}"
        );
    }
}

#[test]
fn the_estimates_cycle_terms_agree_with_die_co_simulation_within_5_percent() {
    use vdx::die::jobs::{Timed, timed};
    use vdx::estimate::cycles;
    if !common::verilator() {
        return;
    }
    let config = tiny();
    let d = config.die("compute0").unwrap();
    let fabric = d.fabric.bits;
    let block = |name: &str| -> toml::Value {
        toml::Value::Table(
            d.blocks.iter().find(|b| b.block == name).unwrap().elaborated.as_ref().unwrap().params_table(),
        )
    };
    let mesh: vdx::blocks::systolic::SystolicParams = block("systolic_ws").try_into().unwrap();
    let sae: vdx::blocks::attention::SpatialAttentionParams = block("spatial_attention").try_into().unwrap();
    let tae: vdx::blocks::temporal::TemporalAttentionParams = block("temporal_attention").try_into().unwrap();
    let cases = [
        (
            "linear W8A8 48×32×32",
            Timed::Gemm(48, 32, 32, false),
            cycles::gemm(&mesh, fabric, 48, 32, 32, false),
        ),
        (
            "linear W4A8 48×24×40",
            Timed::Gemm(48, 24, 40, true),
            cycles::gemm(&mesh, fabric, 48, 24, 40, true),
        ),
        ("spatial attention, 40 tokens", Timed::Spatial(40), cycles::spatial(&sae, fabric, 40, false)),
        (
            "temporal attention, 8 frames × 8 positions",
            Timed::Temporal(8, 8),
            cycles::temporal(&tae, fabric, 8, 8, 1),
        ),
    ];
    let mut table = String::new();
    for (name, job, predicted) in cases {
        let measured = timed(&config, "compute0", job, 5).unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = (measured as f64 - predicted.total() as f64).abs() / measured as f64;
        table.push_str(&format!(
            "{name}: co-simulated {measured}, estimated {} ({:+.1}%)\n",
            predicted.total(),
            100.0 * err
        ));
        assert!(err <= 0.05, "{name}: the estimate is {:.1}% off:\n{table}", 100.0 * err);
    }
    eprintln!("{table}");
}
