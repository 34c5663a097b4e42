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
