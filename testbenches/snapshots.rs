//! Snapshots of emitted Verilog for small configurations: any change to the generated text
//! shows up in review as a diff of `testbenches/snapshots/`. Every snapshotted design is also
//! linted.

mod common;

use vdx::blocks::BlockParams;
use vdx::blocks::xoshiro::XoshiroLaneParams;
use vdx::hdl::{Conn, Design, ModuleBuilder, Reset};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn xoshiro_lane_default() {
    let module = XoshiroLaneParams::default().build().unwrap();
    let emitted = Design::single(&module).emit();
    let text = emitted.files[0].text.clone();
    settings().bind(|| insta::assert_snapshot!("xoshiro_lane_default", text));
    common::assert_lint_clean(&emitted);
}

#[test]
fn hierarchy_with_generate_loop_and_memory() {
    let child = {
        let m = ModuleBuilder::new("vdx_acc_lane");
        let en = m.input("en_i", 1);
        let x = m.input_signed("x_i", 4);
        let acc = m.reg("acc", 6, Reset::Zero);
        m.next_when(&acc, &en, &acc.add(&x.resize(6).as_unsigned()));
        m.output("acc_o", &acc);
        m.finish().unwrap()
    };
    let m = ModuleBuilder::new("vdx_acc_array");
    m.param("lanes", 2);
    let en = m.input("en_i", 1);
    let x = m.input("x_i", 8);
    let lanes =
        m.instance_array("u_lane", &child, 2, &[("en_i", Conn::All(en.clone())), ("x_i", Conn::Each(x))]);
    let mem = m.memory("hist", 12, 4);
    let addr = m.input("addr_i", 2);
    mem.write(&en, &addr, &lanes.output("acc_o"));
    m.output("hist_o", &mem.read(&en.not(), &addr));
    let out = Design::single(&m.finish().unwrap()).emit();
    let text: String = out.files.iter().map(|f| format!("==> {}\n{}", f.name, f.text)).collect();
    settings().bind(|| insta::assert_snapshot!("acc_array", text));
    common::assert_lint_clean(&out);
}

#[test]
fn systolic_2x2_all_modules() {
    let p = vdx::blocks::systolic::SystolicParams {
        rows: 2,
        cols: 2,
        max_k: 16,
        max_m: 16,
        max_n: 16,
        acc_rows: 4,
        ..Default::default()
    };
    let out = Design::single(&p.build().unwrap()).emit();
    let text: String = out.files.iter().map(|f| format!("==> {}\n{}", f.name, f.text)).collect();
    settings().bind(|| insta::assert_snapshot!("systolic_2x2", text));
    common::assert_lint_clean(&out);
}

/// The names a builder gets when it names nothing: the emitter's operation names.
const AUTO_NAMES: &[&str] = &[
    "input", "const", "not", "neg", "red_and", "red_or", "red_xor", "add", "sub", "mul", "and", "or", "xor",
    "eq", "ne", "lt", "le", "gt", "ge", "shl", "shr", "sra", "rotl", "slice", "concat", "repeat", "mux",
    "ext", "cast", "rom", "inst_out", "alias", "wire",
];

/// Internal wires and registers declared in `text` (ports are declared with a direction).
fn declared_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("wire ").or_else(|| l.trim().strip_prefix("reg ")))
        .map(|rest| {
            let rest = rest.trim_start();
            let rest = if rest.starts_with('[') { &rest[rest.find(']').unwrap() + 1..] } else { rest };
            let name = rest.trim().split([' ', ';']).next().unwrap();
            name.to_string()
        })
        .collect()
}

/// Every module of every implemented block (defaults, and the systolic variants with one lane
/// and unsigned operands) names its wires: no wire is called after an operation (`and_x`,
/// `slice_1`), none carries a port suffix, and the control-heavy tops explain themselves in
/// section comments.
#[test]
fn generated_names_carry_meaning() {
    let mut designs: Vec<(String, vdx::hdl::Module)> = Vec::new();
    for entry in vdx::blocks::REGISTRY {
        let Some(kind) = entry.kind else { continue };
        let block = kind.elaborate(&toml::Table::new()).unwrap();
        designs.push((entry.name.to_string(), block.build().unwrap()));
    }
    for (label, weight_width, signed) in [("systolic_w4", 4, true), ("systolic_unsigned", 8, false)] {
        let p = vdx::blocks::systolic::SystolicParams {
            rows: 4,
            cols: 4,
            weight_width,
            signed,
            ..Default::default()
        };
        designs.push((label.to_string(), p.build().unwrap()));
    }
    let mut bad = Vec::new();
    for (label, top) in &designs {
        let out = Design::single(top).emit();
        for f in &out.files {
            for name in declared_names(&f.text) {
                let stem = name.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches('_');
                let stem = stem.strip_suffix("_x").unwrap_or(stem);
                let port_suffix = ["_i", "_o", "_io", "_ni", "_no"].iter().any(|s| name.ends_with(s));
                if AUTO_NAMES.contains(&stem) || port_suffix {
                    bad.push(format!("{label}: {}: `{name}`", f.name));
                }
            }
        }
        let top_text = &out.files.last().unwrap().text;
        let sections = top_text.lines().filter(|l| l.starts_with("  // ")).count();
        if top.block() != "xoshiro_lane" {
            assert!(sections >= 3, "{label}: only {sections} section comment lines in the top");
        }
    }
    assert!(bad.is_empty(), "wires without a meaningful name:\n{}", bad.join("\n"));
}
