//! Unit tests of black boxes: names, file lists, models, errors.

use super::*;

/// A single-port synchronous-read SRAM model built from the memory primitive.
fn sram_model(width: u32, depth: u64) -> Module {
    let m = ModuleBuilder::new("vdx_sram_model");
    let req = m.input("req_i", 1);
    let we = m.input("we_i", 1);
    let addr = m.input("addr_i", index_bits(depth));
    let wdata = m.input("wdata_i", width);
    let mem = m.memory("mem", width, depth);
    mem.write(&req.and(&we), &addr, &wdata);
    m.output("rdata_o", &mem.read(&req.and(&we.not()), &addr));
    m.finish().unwrap()
}

fn sram(name: &str, width: u32, model: Option<&Module>) -> Module {
    let b = BlackBox::new(name)
        .clock("clk_i")
        .reset_n("rst_ni")
        .input("req_i", 1)
        .input("we_i", 1)
        .input("addr_i", 6)
        .input("wdata_i", width)
        .output("rdata_o", width);
    match model {
        Some(m) => b.model(m),
        None => b,
    }
    .finish()
    .unwrap()
}

fn top_with(macro_: &Module) -> Module {
    let m = ModuleBuilder::new("vdx_sram_top");
    let req = m.input("req_i", 1);
    let we = m.input("we_i", 1);
    let addr = m.input("addr_i", 6);
    let wdata = m.input("wdata_i", 16);
    let u = m.instance(
        "u_sram",
        macro_,
        &[("req_i", &req), ("we_i", &we), ("addr_i", &addr), ("wdata_i", &wdata)],
    );
    m.output("rdata_o", &u.output("rdata_o"));
    m.finish().unwrap()
}

#[test]
fn black_box_keeps_its_name_and_only_its_model_is_emitted_for_simulation() {
    let bb = sram("sram_sp_64x16", 16, Some(&sram_model(16, 64)));
    let out = Design::single(&top_with(&bb)).with_prefix("acme").emit();
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    let top = &out.tops[0];
    assert!(top.module.starts_with("acme_vdx_sram_top_"), "{}", top.module);
    assert_eq!(top.files, [format!("{}.v", top.module)]);
    assert_eq!(top.sim_models, ["sram_sp_64x16.v"]);
    assert_eq!(out.filelist(top), format!("{}.v\n", top.module));
    assert_eq!(out.files.len(), 1);
    let text = &out.files[0].text;
    assert!(text.contains("\n  sram_sp_64x16 u_sram (\n"), "{text}");
    assert!(text.contains(".clk_i   (clk_i)") && text.contains(".rst_ni  (rst_ni)"), "{text}");
    let model = &out.sim_models[0];
    assert_eq!(model.name, "sram_sp_64x16.v");
    assert!(model.text.contains("\nmodule sram_sp_64x16 (\n"), "{}", model.text);
    assert!(model.text.contains("for simulation only"), "{}", model.text);
    let src = out.sim_source(0);
    let names: Vec<&str> = src.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["sram_sp_64x16.v", top.files[0].as_str()]);
    assert_eq!(out.sim_filelist(top), format!("sim_models/sram_sp_64x16.v\n{}.v\n", top.module));
}

#[test]
fn the_model_does_not_change_the_names_of_the_modules_above() {
    let a = Design::single(&top_with(&sram("sram_sp_64x16", 16, None))).emit();
    let b = Design::single(&top_with(&sram("sram_sp_64x16", 16, Some(&sram_model(16, 64))))).emit();
    let c = Design::single(&top_with(&sram("sram_other", 16, None))).emit();
    assert_eq!(a.tops[0].module, b.tops[0].module, "synthesis text is the same");
    assert_ne!(a.tops[0].module, c.tops[0].module, "the black box name is part of the parent's text");
    assert!(a.sim_models.is_empty() && a.tops[0].sim_models.is_empty());
}

#[test]
fn clock_and_reset_pins_of_any_name_connect_to_the_parent() {
    let rom = BlackBox::new("ACME_ROM_256x8").clock("CLK").reset_n("RST_N").input("A", 8).output("Q", 8);
    let rom = rom.finish().unwrap();
    assert_eq!(rom.ports().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["CLK", "RST_N", "A", "Q"]);
    let m = ModuleBuilder::new("vdx_rom_user");
    let a = m.input("a_i", 8);
    let u = m.instance_array("u_rom", &rom, 2, &[("A", Conn::All(a))]);
    m.output("q_o", &u.output("Q"));
    let top = m.finish().unwrap();
    assert_eq!(top.ports()[..2].iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["clk_i", "rst_ni"]);
    let out = Design::single(&top).emit();
    let text = &out.files[0].text;
    assert!(text.contains("ACME_ROM_256x8 u_rom ("), "{text}");
    assert!(text.contains(".CLK   (clk_i)") && text.contains(".RST_N (rst_ni)"), "{text}");
    assert!(out.sim_models.is_empty());
}

#[test]
fn model_children_are_simulation_files_unless_synthesis_uses_them() {
    let leaf = {
        let m = ModuleBuilder::new("vdx_leaf");
        let x = m.input("x_i", 16);
        m.output("y_o", &x.not());
        m.finish().unwrap()
    };
    let model = {
        let m = ModuleBuilder::new("vdx_model");
        let x = m.input("x_i", 16);
        let u = m.instance("u_leaf", &leaf, &[("x_i", &x)]);
        m.output("y_o", &u.output("y_o"));
        m.finish().unwrap()
    };
    let bb = BlackBox::new("ext_inv").input("x_i", 16).output("y_o", 16).model(&model).finish().unwrap();
    let user = |with_leaf: bool| {
        let m = ModuleBuilder::new("vdx_user");
        let x = m.input("x_i", 16);
        let u = m.instance("u_ext", &bb, &[("x_i", &x)]);
        m.output("y_o", &u.output("y_o"));
        if with_leaf {
            m.output("z_o", &m.instance("u_leaf", &leaf, &[("x_i", &x)]).output("y_o"));
        }
        m.finish().unwrap()
    };
    let only_model = Design::single(&user(false)).emit();
    let leaf_name = only_model.tops[0].sim_models[0].clone();
    assert!(leaf_name.starts_with("vdx_leaf_"), "{leaf_name}");
    assert_eq!(only_model.tops[0].sim_models[1], "ext_inv.v");
    assert_eq!(only_model.files.len(), 1, "only the user is synthesized");
    assert_eq!(only_model.sim_models.len(), 2);
    let both = Design::single(&user(true)).emit();
    assert_eq!(both.tops[0].sim_models, ["ext_inv.v"]);
    assert!(both.tops[0].files.contains(&leaf_name));
    assert_eq!(both.sim_source(0).files.len(), 3);
    assert_eq!(both.sim_filelist(&both.tops[0]).lines().next(), Some("sim_models/ext_inv.v"));
}

#[test]
fn write_to_keeps_models_out_of_the_synthesis_folder() {
    let out = Design::single(&top_with(&sram("sram_sp_64x16", 16, Some(&sram_model(16, 64))))).emit();
    let dir = tempfile::tempdir().unwrap();
    out.write_to(dir.path()).unwrap();
    let top = &out.tops[0].module;
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read(&format!("{top}.f")), format!("{top}.v\n"));
    assert_eq!(read(&format!("{top}.sim.f")), format!("sim_models/sram_sp_64x16.v\n{top}.v\n"));
    assert!(read("sim_models/sram_sp_64x16.v").contains("module sram_sp_64x16 ("));
    assert!(!dir.path().join("sram_sp_64x16.v").exists());
}

#[test]
fn clashing_black_boxes_are_reported() {
    let m = ModuleBuilder::new("vdx_two");
    let x = m.input("x_i", 4);
    let narrow = BlackBox::new("ext").input("x_i", 4).output("y_o", 4).finish().unwrap();
    let wide = BlackBox::new("ext").input("x_i", 4).output("y_o", 8).finish().unwrap();
    m.output("a_o", &m.instance("u_a", &narrow, &[("x_i", &x)]).output("y_o"));
    m.output("b_o", &m.instance("u_b", &wide, &[("x_i", &x)]).output("y_o"));
    let out = Design::single(&m.finish().unwrap()).emit();
    assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
    assert!(out.issues[0].contains("black boxes called `ext` differ"), "{:?}", out.issues);
}

#[test]
fn black_box_declaration_errors_are_recorded() {
    let line = line!() + 1;
    let err = BlackBox::new("3rom")
        .input("a", 2)
        .input("a", 2)
        .input("b", 0)
        .input("wire", 1)
        .finish()
        .unwrap_err();
    let text = err.to_string();
    for want in [
        "black box name `3rom` is not a plain Verilog identifier",
        "port `a` is declared twice",
        "port `b` has width 0",
        "port name `wire` is not a plain Verilog identifier",
        "black box `3rom` has no outputs",
        &format!("src/hdl/black_box_tests.rs:{line}:"),
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    let bad_model = sram_model(8, 64);
    let err = BlackBox::new("sram").clock("clk_i").input("addr_i", 6).output("rdata_o", 8).model(&bad_model);
    let text = err.finish().unwrap_err().to_string();
    assert!(text.contains("the ports of model `vdx_sram_model`"), "{text}");
    let bb = sram("sram_sp_64x16", 16, None);
    let text = BlackBox::new("x").output("y_o", 1).model(&bb).finish().unwrap_err().to_string();
    assert!(text.contains("the model of `x` is itself a black box"), "{text}");
}
