//! Whole dies of the `tiny` package through their die tops (`vdx_tiny_<die>`), driven the way
//! software would drive them: over AXI4-Lite (the host of `vdx::die::host`) and the host
//! streams, with every output compared against the blocks' golden models. Plus: the whole
//! package elaborates in one Verilator run, the register map answers at every offset with its
//! reset values, and its SystemRDL compiles with PeakRDL into the same offsets.

mod common;

use rand::SeedableRng;
use rand::rngs::StdRng;
use vdx::blocks::sgu::SguParams;
use vdx::blocks::sgu::tb::SguModel;
use vdx::blocks::systolic::SystolicParams;
use vdx::blocks::systolic::golden::{Gemm, streams};
use vdx::blocks::xoshiro::golden::Xoshiro256pp;
use vdx::config::DieConfig;
use vdx::die::DieTop;
use vdx::die::host::{DieHost, from_fabric, to_fabric};
use vdx::die::regmap::Access;
use vdx::hdl::Design;
use vdx::sim::verilator::VerilatorDut;

fn tiny() -> DieConfig {
    DieConfig::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.toml")).unwrap()
}

fn params<P: serde::de::DeserializeOwned>(config: &DieConfig, die: &str, instance: &str) -> P {
    let d = config.die(die).unwrap();
    let b = d.blocks.iter().find(|b| b.instance == instance).unwrap();
    toml::Value::Table(b.elaborated.as_ref().unwrap().params_table()).try_into().unwrap()
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
    let (ok, _, stderr) = common::vdx(&["gen", "--config", "configs/tiny.toml", "--out", tmp.path().to_str().unwrap()], std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
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
    let out = std::process::Command::new("verilator")
        .args(["--lint-only", "-Wall", "-Wno-MULTITOP"])
        .args(files.values().map(|(p, _)| p))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("%Warning"), "{text}");
}

#[test]
fn compute_die_runs_a_gemm_from_its_memories() {
    if !common::verilator() {
        return;
    }
    let config = tiny();
    let (top, mut dut) = die_dut(&config, "compute0");
    let fabric = config.die("compute0").unwrap().fabric.bits;
    let p: SystolicParams = params(&config, "compute0", "mesh");
    let mut rng = StdRng::seed_from_u64(12);
    let mut junk_rng = StdRng::seed_from_u64(13);
    let gemms = [Gemm::random(&p, &mut rng, 7, 10, 9, false), Gemm::random(&p, &mut rng, 5, 6, 3, true)];
    let s = streams(&p, &gemms, &mut || rand::RngExt::random_range(&mut junk_rng, -8..8));
    let (ww, aw) = (p.cols * p.weight_width, p.rows * p.act_width);
    let fab = |beats: &[Vec<u32>], width: u32| -> Vec<Vec<u32>> {
        beats.iter().flat_map(|b| to_fabric(b, width, fabric)).collect()
    };
    let weights = fab(&s.weights, ww);
    let acts = fab(&s.acts, aw);
    let mut host = DieHost::new(&mut dut, &top.regmap, &top.sources, fabric);
    host.reset(3).unwrap();
    // Weights into the weight SRAM, activations into the scratchpad, through host_in.
    host.load("wsram_wr", 0, &weights).unwrap();
    host.load("spad_wr", 0, &acts).unwrap();
    // The GEMMs read both memories; results leave through host_out.
    host.route("mesh_wgt", Some("wsram_rd")).unwrap();
    host.route("mesh_act", Some("spad_rd0")).unwrap();
    host.route("host_out", Some("mesh_res")).unwrap();
    host.start_dma("wsram_rd", 0, weights.len() as u64).unwrap();
    host.start_dma("spad_rd0", 0, acts.len() as u64).unwrap();
    for c in &s.commands {
        host.set_value("mesh_cmd_m", c.m_minus_1).unwrap();
        host.set_value("mesh_cmd_k", c.k_minus_1).unwrap();
        host.set_value("mesh_cmd_n", c.n_minus_1).unwrap();
        host.set_value("mesh_cmd_w4", u64::from(c.w4)).unwrap();
        host.set_value("mesh_cmd_go", 1).unwrap();
        while host.get_value("mesh_cmd_pending").unwrap() == 1 {}
    }
    let res_width = p.lanes() * p.cols * p.acc_bits() + 1;
    let per = res_width.div_ceil(fabric) as usize;
    let want = s.results.len() * per;
    host.run_until("GEMM results", 20_000, |h| h.received.len() >= want).unwrap();
    let got = from_fabric(&host.received, res_width, fabric);
    assert_eq!(got.len(), s.results.len());
    for (i, (g, w)) in got.iter().zip(&s.results).enumerate() {
        let mut expect = w.data.clone();
        let data_bits = res_width - 1;
        expect.resize(res_width.div_ceil(32) as usize, 0);
        if w.last {
            expect[(data_bits / 32) as usize] |= 1 << (data_bits % 32);
        }
        assert_eq!(g, &expect, "result row {i} differs from the golden model");
    }
    assert_eq!(host.get_value("switch_beats_host_out").unwrap(), want as u64);
    assert_eq!(host.get_value("switch_conflict").unwrap(), 0);
    assert_eq!(host.get_value("wsram_rd_busy").unwrap(), 0, "every weight word was taken");
}

#[test]
fn utility_die_fills_the_noise_buffer_from_the_sgu_and_reads_it_out() {
    if !common::verilator() {
        return;
    }
    let config = tiny();
    let (top, mut dut) = die_dut(&config, "utility");
    let fabric = config.die("utility").unwrap().fabric.bits;
    let sp: SguParams = params(&config, "utility", "sgu");
    let np: vdx::blocks::noise_buffer::NoiseBufferParams = params(&config, "utility", "noise");
    let mut host = DieHost::new(&mut dut, &top.regmap, &top.sources, fabric);
    host.reset(3).unwrap();
    let seed = 77;
    for lane in 0..sp.lanes {
        let state = Xoshiro256pp::lane(seed, lane).s;
        let words: Vec<u32> = state.iter().flat_map(|w| [*w as u32, (w >> 32) as u32]).collect();
        host.set_value("sgu_seed_lane", u64::from(lane)).unwrap();
        host.write("sgu_seed_state", &words).unwrap();
        host.set_value("sgu_seed_valid", 1).unwrap();
    }
    host.route("noise_in", Some("sgu_out")).unwrap();
    host.set_value("sgu_en", 1).unwrap();
    let words = np.words();
    let word_bits = np.word_bits();
    let mut model = SguModel::seeded(&sp, seed);
    host.route("host_out", Some("noise_rd")).unwrap();
    for bank in 0..2u64 {
        host.run_until("a full noise bank", 5_000, |_| true).unwrap();
        let t0 = host.cycle;
        while host.get_value("noise_rd_valid").unwrap() == 0 {
            assert!(host.cycle - t0 < 5_000, "bank {bank} never filled");
        }
        assert_eq!(host.get_value("noise_rd_bank").unwrap(), bank);
        host.received.clear();
        host.start_dma("noise_rd", 0, words).unwrap();
        let per = word_bits.div_ceil(fabric) as usize;
        host.run_until("reading a noise bank", 5_000, |h| h.received.len() >= words as usize * per).unwrap();
        let got = from_fabric(&host.received, word_bits, fabric);
        for (i, g) in got.iter().enumerate() {
            let want = model.next_transfer();
            for (lane, pair) in want.iter().enumerate() {
                for (k, v) in pair.iter().enumerate() {
                    let at = (lane * 2 + k) as u32 * sp.out_width;
                    let raw = vdx::blocks::systolic::golden::unpack(g, at, sp.out_width);
                    let value = ((raw << (64 - sp.out_width)) as i64) >> (64 - sp.out_width);
                    assert_eq!(value, *v, "bank {bank} word {i} lane {lane} sample {k}");
                }
            }
        }
        host.set_value("noise_release", 1).unwrap();
    }
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
