//! Unit tests of the IR and emitter: errors, dedup, naming, determinism.

use super::*;
use crate::hdl::names::module_base;

fn counter(name: &str, width: u32) -> Module {
    let m = ModuleBuilder::new(name);
    let en = m.input("en_i", 1);
    let count = m.reg("count", width, Reset::Zero);
    m.next_when(&count, &en, &count.add(&count.lit(1)));
    m.output("count_o", &count);
    m.finish().expect("counter is well formed")
}

#[test]
fn width_mismatch_names_both_signals_and_the_call_site() {
    let m = ModuleBuilder::new("bad");
    let a = m.input("a_i", 8);
    let b = m.input("b_i", 4);
    let line = line!() + 1;
    let sum = a.add(&b);
    m.output("sum_o", &sum);
    let err = m.finish().expect_err("8 + 4 bits must be rejected");
    assert_eq!(err.issues.len(), 1, "{err}");
    let text = err.to_string();
    assert!(text.contains("`a_i` (8 bits)") && text.contains("`b_i` (4 bits)"), "{text}");
    assert!(text.contains(&format!("src/hdl/tests.rs:{line}:")), "{text}");
    assert_eq!(sum.width(), 8, "building continues with the expected width");
}

#[test]
fn all_errors_are_reported_at_once() {
    let m = ModuleBuilder::new("bad");
    let a = m.input("a_i", 8);
    let r = m.reg("r", 8, Reset::Value(300));
    let _ = a.slice(9, 2);
    let _ = a.bit(0).mux(&a, &a.slice(3, 0));
    m.output("r_o", &r);
    let err = m.finish().unwrap_err();
    let messages: Vec<&str> = err.issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages[0].contains("reset value 0x12c does not fit in 8 bits"));
    assert!(messages[1].contains("slice [9:2] is outside input `a_i`"));
    assert!(messages[2].contains("mux: width mismatch"));
    assert!(messages[3].contains("register `r` never gets a next value"));
}

#[test]
fn register_rules() {
    let m = ModuleBuilder::new("regs");
    let a = m.input("a_i", 8);
    let r = m.reg("r", 8, Reset::Zero);
    m.next(&r, &a);
    m.next(&r, &a.not());
    m.next(&a, &a);
    m.next_when(&r, &a, &a);
    m.output("r_o", &r);
    let err = m.finish().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("register `r` already has a next value"), "{text}");
    assert!(text.contains("input `a_i` (8 bits) is not a register"), "{text}");
    assert!(text.contains("enable of register `r` must be 1 bit"), "{text}");
}

#[test]
fn signals_of_another_module_are_rejected() {
    let a = ModuleBuilder::new("a");
    let x = a.input("x_i", 4);
    let b = ModuleBuilder::new("b");
    let y = b.input("y_i", 4);
    b.output("z_o", &y.add(&x));
    let text = b.finish().unwrap_err().to_string();
    assert!(text.contains("belongs to module `a`, not to `b`"), "{text}");
}

#[test]
fn instance_connections_are_checked() {
    let child = counter("vdx_counter", 4);
    let m = ModuleBuilder::new("top");
    let wide = m.input("wide_i", 2);
    let u = m.instance("u_a", &child, &[("en_i", &wide), ("nope_i", &wide)]);
    m.output("o", &u.output("count_o"));
    let _ = u.output("missing_o");
    let v = m.instance("u_b", &child, &[]);
    m.output("p_o", &v.output("count_o"));
    let text = m.finish().unwrap_err().to_string();
    assert!(text.contains("input `en_i` needs 1 bits, got input `wide_i` (2 bits)"), "{text}");
    assert!(text.contains("has no input `nope_i`; inputs: en_i"), "{text}");
    assert!(text.contains("has no output `missing_o`; outputs: count_o"), "{text}");
    assert!(text.contains("instance `u_b`: input `en_i` of `vdx_counter` is not connected"), "{text}");
}

#[test]
fn port_names_must_be_legal_and_unique() {
    let m = ModuleBuilder::new("ports");
    let a = m.input("a i", 1);
    let _ = m.input("clk_i", 1);
    m.output("a_o", &a);
    m.output("a_o", &a);
    let text = m.finish().unwrap_err().to_string();
    assert!(text.contains("port name `a i` is not a legal identifier; use `a_i`"), "{text}");
    assert!(text.contains("port `clk_i` is reserved"), "{text}");
    assert!(text.contains("port `a_o` is declared twice"), "{text}");
}

#[test]
fn internal_names_are_legalized_and_unique() {
    let m = ModuleBuilder::new("Weird Name!");
    let a = m.input("a_i", 8);
    let r1 = m.reg("module", 8, Reset::Zero);
    let r2 = m.reg("module", 8, Reset::Zero);
    m.next(&r1, &a.named("wire"));
    m.next(&r2, &r1.xor(&a).named("x y"));
    m.output("o", &r2);
    let module = m.finish().unwrap();
    assert_eq!(module.name(), "weird_name");
    let text = &Design::single(&module).emit().files[0].text;
    for decl in
        ["reg  [7:0] module_x_q;", "reg  [7:0] module_x_q_1;", "wire [7:0] wire_x;", "wire [7:0] x_y;"]
    {
        assert!(text.contains(decl), "missing `{decl}` in\n{text}");
    }
}

#[test]
fn identical_modules_are_emitted_once_and_different_ones_get_distinct_names() {
    let a = counter("vdx_counter", 4);
    let b = counter("vdx_counter", 4);
    let c = counter("vdx_counter", 5);
    let m = ModuleBuilder::new("top");
    let en = m.input("en_i", 1);
    let outs: Vec<Signal> = [(&a, "u_a"), (&b, "u_b"), (&c, "u_c")]
        .iter()
        .map(|(x, n)| m.instance(n, x, &[("en_i", &en)]).output("count_o"))
        .collect();
    m.output("o", &cat(&[&outs[0], &outs[1], &outs[2]]));
    let top = m.finish().unwrap();
    let out = Design::single(&top).emit();
    let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
    let bases: Vec<_> = names.iter().map(|n| module_base(n.trim_end_matches(".v"))).collect();
    assert_eq!(bases, [Some("vdx_counter"), Some("vdx_counter"), Some("top")]);
    assert_ne!(names[0], names[1]);
    let (four, five) = (names[0].trim_end_matches(".v"), names[1].trim_end_matches(".v"));
    let top_text = &out.files[2].text;
    assert_eq!(top_text.matches(&format!("{four} u_")).count(), 2, "{top_text}");
    assert_eq!(top_text.matches(&format!("{five} u_c")).count(), 1, "{top_text}");
    assert_eq!(out.tops[0].files, names);
}

#[test]
fn module_names_are_global_across_designs_and_prefixes() {
    // The same module gets the same name alone, inside a top, and next to other modules.
    let four = || counter("vdx_counter", 4);
    let alone = Design::single(&four()).emit();
    let m = ModuleBuilder::new("top");
    let en = m.input("en_i", 1);
    let a = m.instance("u_a", &counter("vdx_counter", 5), &[("en_i", &en)]).output("count_o");
    let b = m.instance("u_b", &four(), &[("en_i", &en)]).output("count_o");
    m.output("o", &a.concat(&b));
    let inside = Design::single(&m.finish().unwrap()).emit();
    let name = &alone.tops[0].module;
    assert!(inside.files.iter().any(|f| f.name == format!("{name}.v")), "{name} not in {:?}", inside.files);
    let same: Vec<_> = inside.files.iter().filter(|f| f.name == format!("{name}.v")).collect();
    assert_eq!(same[0].text, alone.files[0].text, "one name, one text");
    assert_eq!(alone.find_module("vdx_counter"), Some(name.as_str()));
    assert_eq!(inside.find_module("vdx_counter"), None, "two counters: the base is ambiguous");
    // A prefix namespaces every module, the instantiated ones included.
    let prefixed = Design::single(&m_with_child()).with_prefix("acme").emit();
    assert!(prefixed.files.iter().all(|f| f.name.starts_with("acme_vdx_")), "{:?}", prefixed.files);
    let top = prefixed.files.last().unwrap();
    assert!(top.text.contains(&format!("{} u_c", prefixed.tops[0].files[0].trim_end_matches(".v"))));
}

fn m_with_child() -> crate::hdl::Module {
    let m = ModuleBuilder::new("vdx_top");
    let en = m.input("en_i", 1);
    let c = m.instance("u_c", &counter("vdx_counter", 3), &[("en_i", &en)]).output("count_o");
    m.output("o", &c);
    m.finish().unwrap()
}

#[test]
fn emission_is_deterministic() {
    let build = || {
        let child = counter("vdx_counter", 3);
        let m = ModuleBuilder::new("top");
        let en = m.input("en_i", 4);
        let arr = m.instance_array("u_lane", &child, 4, &[("en_i", Conn::Each(en.clone()))]);
        let x = arr.output("count_o");
        m.output("sum_o", &x.slice(5, 0).add(&x.slice(11, 6)).rotl(2));
        Design::single(&m.finish().unwrap()).emit().files
    };
    let first = build();
    for _ in 0..5 {
        assert_eq!(build(), first);
    }
}

#[test]
fn registers_have_async_reset_and_no_initial() {
    let text = Design::single(&counter("c", 8)).emit().files[0].text.clone();
    assert!(text.contains("always @(posedge clk_i or negedge rst_ni)"), "{text}");
    assert!(text.contains("if (!rst_ni) begin"), "{text}");
    assert!(!text.contains("initial"), "{text}");
}

#[test]
fn unused_bits_go_to_a_lint_sink() {
    let m = ModuleBuilder::new("sink");
    let a = m.input("a_i", 16);
    let b = m.input("b_i", 4);
    m.output("o", &a.slice(11, 4));
    let _ = b;
    let text = Design::single(&m.finish().unwrap()).emit().files[0].text.clone();
    assert!(text.contains("assign unused_bits = ^{a_i[3:0], a_i[15:12], b_i};"), "{text}");
}

#[test]
fn signedness_shows_in_comparisons_and_extension() {
    let build = |mixed: bool| {
        let m = ModuleBuilder::new("s");
        let a = m.input_signed("a_i", 8);
        let b = m.input_signed("b_i", 8);
        let u = m.input("u_i", 8);
        m.output("lt_o", &a.lt(&b));
        m.output("ult_o", &u.lt(&a.as_unsigned()));
        m.output("ext_o", &a.resize(12));
        m.output("uext_o", &u.resize(12));
        if mixed {
            m.output("mix_o", &a.add(&u));
        }
        m.finish()
    };
    let err = build(true).unwrap_err().to_string();
    assert!(err.contains("signedness mismatch"), "{err}");

    let text = Design::single(&build(false).unwrap()).emit().files[0].text.clone();
    assert!(text.contains("assign lt_o = $signed(a_i) < $signed(b_i);"), "{text}");
    assert!(text.contains("assign ult_o = u_i < a_i;"), "{text}");
    assert!(text.contains("assign ext_o = {{4{a_i[7]}}, a_i};"), "{text}");
    assert!(text.contains("assign uext_o = {4'h0, u_i};"), "{text}");
}

#[test]
fn add_carry_checks_widths_before_extending() {
    let m = ModuleBuilder::new("addc");
    let a = m.input("a_i", 8);
    let b = m.input("b_i", 12);
    let sum = a.add_carry(&b);
    assert_eq!(sum.width(), 9);
    m.output("s_o", &sum);
    let text = m.finish().unwrap_err().to_string();
    assert!(
        text.contains("add_carry: width mismatch: input `a_i` (8 bits) vs input `b_i` (12 bits)"),
        "{text}"
    );
}

#[test]
fn degenerate_constants_and_memories_are_errors() {
    let m = ModuleBuilder::new("mems");
    let a = m.input("a_i", 3);
    let empty = m.lit_bits(Bits::zero(0));
    let odd = m.memory("odd", 8, 5);
    let unread = m.memory("unread", 8, 8);
    unread.write(&a.bit(0), &a, &a.zext(8));
    m.output("o", &empty.concat(&odd.read(&a.bit(1), &a)));
    let text = m.finish().unwrap_err().to_string();
    assert!(text.contains("constant of width 0"), "{text}");
    assert!(
        text.contains("memory `odd` needs width >= 1 and a power-of-two depth >= 2 (got 8 x 5)"),
        "{text}"
    );
    assert!(text.contains("memory `odd` has no write port"), "{text}");
    assert!(text.contains("memory `unread` is never read"), "{text}");
}

#[test]
fn duplicate_instance_names_are_errors() {
    let child = counter("vdx_counter", 2);
    let m = ModuleBuilder::new("top");
    let en = m.input("en_i", 1);
    let a = m.instance("u_c", &child, &[("en_i", &en)]).output("count_o");
    let b = m.instance("u_c", &child, &[("en_i", &en)]).output("count_o");
    m.output("o", &a.concat(&b));
    let text = m.finish().unwrap_err().to_string();
    assert!(text.contains("instance name `u_c` is used twice"), "{text}");
}

#[test]
fn a_named_cast_gets_its_wire() {
    let m = ModuleBuilder::new("cast");
    let a = m.input("a_i", 8);
    let s = a.as_signed().named("a_signed");
    m.output("lt_o", &s.lt(&s.lit(3)));
    let text = Design::single(&m.finish().unwrap()).emit().files[0].text.clone();
    assert!(text.contains("wire [7:0] a_signed;") && text.contains("assign a_signed = a_i;"), "{text}");
    assert!(text.contains("$signed(a_signed) < $signed(8'h3)"), "{text}");
}

#[test]
fn instance_and_generate_names_never_capture_signals() {
    let child = counter("vdx_counter", 2);
    let m = ModuleBuilder::new("top");
    let en = m.input("en_i", 1);
    // A signal named like the loop's genvar, and a wire named like an instance.
    let captured = en.not().named("gi_lane");
    let lanes = m.instance_array("u_lane", &child, 2, &[("en_i", Conn::All(captured))]);
    let single = m.instance("u_one", &child, &[("en_i", &en.named("u_one"))]);
    m.output("o", &lanes.output("count_o").concat(&single.output("count_o")));
    let text = Design::single(&m.finish().unwrap()).emit().files[1].text.clone();
    assert!(text.contains("genvar gi_lane;") && text.contains("begin : gen_lane"), "{text}");
    assert!(
        text.contains("(gi_lane_1)") && text.contains("assign gi_lane_1 = ~en_i;"),
        "the wire must not be the genvar:\n{text}"
    );
    assert!(text.contains(" u_one (") && text.contains("assign u_one_1 = en_i;"), "{text}");
}

#[test]
fn large_generate_loops_are_marked_for_hierarchical_simulation() {
    let child = counter("vdx_counter", 2);
    let build = |count: u32| {
        let m = ModuleBuilder::new("top");
        let en = m.input("en_i", count);
        let arr = m.instance_array("u_lane", &child, count, &[("en_i", Conn::Each(en))]);
        m.output("o", &arr.output("count_o"));
        Design::single(&m.finish().unwrap()).emit()
    };
    let small = build(HIER_BLOCK_MIN_INSTANCES - 1);
    assert!(small.tops[0].hier_blocks.is_empty());
    assert!(!small.sim_source(0).files.iter().any(|f| f.is_verilator_control()));
    let large = build(HIER_BLOCK_MIN_INSTANCES);
    let child_name = large.tops[0].files[0].trim_end_matches(".v");
    assert_eq!(module_base(child_name), Some("vdx_counter"));
    assert_eq!(large.tops[0].hier_blocks, [child_name]);
    let src = large.sim_source(0);
    let control = src.files.last().unwrap();
    assert_eq!(control.name, format!("{}.vlt", large.tops[0].module));
    assert_eq!(control.text, format!("`verilator_config\nhier_block -module \"{child_name}\"\n"));
    assert!(large.files.iter().all(|f| f.name.ends_with(".v")), "control files are for simulators only");
}

#[test]
fn forward_wires_close_loops_through_instances() {
    let child = counter("vdx_counter", 3);
    let m = ModuleBuilder::new("top");
    let go = m.wire("go", 1);
    let u = m.instance("u_count", &child, &[("en_i", &go)]);
    let count = u.output("count_o");
    m.drive(&go, &count.lt(&count.lit(5)));
    m.output("count_o", &count);
    let text = Design::single(&m.finish().unwrap()).emit().files[1].text.clone();
    assert!(text.contains("assign go = count_count < 3'h5;"), "{text}");

    let m = ModuleBuilder::new("bad");
    let a = m.input("a_i", 2);
    let w = m.wire("w", 1);
    let never = m.wire("never", 1);
    m.drive(&w, &a);
    m.drive(&w, &a.bit(0));
    m.drive(&w, &a.bit(1));
    m.drive(&a, &a);
    m.output("o", &w.concat(&never));
    let text = m.finish().unwrap_err().to_string();
    assert!(text.contains("drive: signal `w` (1 bits) is 1 bits, its driver input `a_i` (2 bits)"), "{text}");
    assert!(text.contains("drive: signal `w` (1 bits) is already driven"), "{text}");
    assert!(text.contains("drive: input `a_i` (2 bits) was not made by wire()"), "{text}");
    assert!(text.contains("wire `never` is never driven"), "{text}");
}

/// The HDL sits below the simulators: no file under `src/hdl` may name the `sim` module (through
/// `crate`, `super` or the crate name). Every `.rs` file of the folder is read, so new files are covered too.
#[test]
fn hdl_does_not_depend_on_the_simulators() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/hdl is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/hdl"), &mut files);
    assert!(files.len() >= 6, "found only {files:?}");
    // Built at run time so that this file does not match itself.
    let needles = [format!("crate::{}", "sim"), format!("super::{}", "sim"), format!("vdx::{}", "sim")];
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for needle in &needles {
                let hit = line.match_indices(needle.as_str()).any(|(i, _)| {
                    !line[i + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                assert!(!hit, "{}:{}: the HDL must not use `{needle}`: {line}", f.display(), n + 1);
            }
        }
    }
}

#[test]
fn sections_group_wires_with_their_registers_and_bad_text_is_an_error() {
    let m = ModuleBuilder::new("vdx_two_parts");
    let a = m.input("a_i", 4);
    let b = m.input("b_i", 4);
    m.section("First part:\nthe sum, registered.");
    let sum = a.add(&b).named("sum");
    let sum_q = m.reg("sum", 4, Reset::Zero);
    m.section("An empty part is not written.");
    m.section("Second part: the difference.");
    let diff_q = m.reg("diff", 4, Reset::Zero);
    m.next(&diff_q, &a.sub(&b).named("diff"));
    m.next(&sum_q, &sum.xor(&sum.lit(1)));
    m.output("sum_o", &sum_q);
    m.output("diff_o", &diff_q);
    let text = Design::single(&m.finish().unwrap()).emit().files[0].text.clone();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("`{needle}` missing:\n{text}"));
    // The next value of `sum` follows its own section although it was set last.
    assert!(at("  // First part:\n  // the sum, registered.\n") < at("assign sum = "));
    assert!(at("assign sum = ") < at("assign sum_d = "));
    assert!(at("assign sum_d = ") < at("\n\n  // Second part"));
    assert!(at("// Second part") < at("assign diff = ") && at("assign diff = ") < at("assign diff_d"));
    assert!(at("assign diff_d") < at("// Outputs.") && at("// Outputs.") < at("assign sum_o"));
    assert!(!text.contains("An empty part"));

    let m = ModuleBuilder::new("vdx_bad_sections");
    m.output("x_o", &m.input("a_i", 1));
    m.section("  \n ");
    m.section("x \u{b7} y");
    let err = m.finish().unwrap_err().to_string();
    assert!(err.contains("the comment text is empty"), "{err}");
    assert!(err.contains("is not ASCII"), "{err}");
}

#[test]
fn instance_outputs_are_named_without_the_port_suffix() {
    let text = Design::single(&m_with_child()).emit().files[1].text.clone();
    assert!(text.contains("wire [2:0] c_count;"), "{text}");
    assert!(!text.contains("c_count_o"), "{text}");
}

/// A saturating counter with or without its assertions.
fn checked_counter(asserts: bool) -> Module {
    let m = ModuleBuilder::new("sat");
    let en = m.input("en_i", 1);
    let count = m.reg("count", 4, Reset::Zero);
    let full = count.eq(&count.lit(9)).named("full");
    m.next_when(&count, &en.and(&full.not()), &count.add(&count.lit(1)));
    m.output("count_o", &count);
    if asserts {
        // Reads `full` (named), an inlined node and logic only the assertions use.
        let low = count.slice(3, 1).add(&count.slice(3, 1).lit(1));
        m.assert_always("count_max", &count.le(&count.lit(9)), "Never above nine.");
        m.assert_always("low_bits", &full.or(&low.ne(&low.lit(0))), "Two lines\nof comment.");
    }
    m.finish().expect("well formed")
}

#[test]
fn assertions_sit_in_an_ifdef_and_leave_the_rest_of_the_text_alone() {
    let text = |m: &Module| {
        let e = Design::single(m).emit();
        e.files[0].text.replace(&e.tops[0].module, "M")
    };
    let (plain, checked) = (text(&checked_counter(false)), text(&checked_counter(true)));
    let (before, block) = checked.split_once("\n`ifdef FORMAL\n").expect("a FORMAL block");
    let plain_body = plain.strip_suffix("\nendmodule\n`default_nettype wire\n").expect("module end");
    assert_eq!(before, plain_body, "the module's own text must not change");
    assert!(
        block.contains("      // Never above nine.\n      count_max: assert (count_q <= 4'h9);"),
        "{block}"
    );
    assert!(block.contains("      // Two lines\n      // of comment.\n      low_bits: assert ("), "{block}");
    assert!(block.contains("if (rst_ni) begin"), "{block}");
    assert!(block.trim_end().ends_with("`endif\n\nendmodule\n`default_nettype wire"), "{block}");
    assert_eq!(checked_counter(true).assertions(), 2);
    assert_eq!(checked_counter(false).assertions(), 0);
}

#[test]
fn bad_assertions_are_reported() {
    let m = ModuleBuilder::new("bad");
    let a = m.input("a_i", 2);
    let r = m.reg("r", 2, Reset::Zero);
    m.next(&r, &a);
    m.output("r_o", &r);
    m.assert_always("wide", &a, "Two bits.");
    m.assert_always("twice", &a.bit(0), "Once.");
    m.assert_always("twice", &a.bit(1), "Again.");
    m.assert_always("bad label", &a.bit(1), "Spaces.");
    m.assert_always("empty", &a.bit(1), " ");
    let messages: Vec<String> = m.finish().unwrap_err().issues.into_iter().map(|i| i.message).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages[0].contains("`wide` must be 1 bit"), "{messages:?}");
    assert!(messages[1].contains("`twice` is used twice"), "{messages:?}");
    assert!(messages[2].contains("`bad label` is not a legal identifier"), "{messages:?}");
    assert!(messages[3].contains("`empty`: its comment"), "{messages:?}");

    let m = ModuleBuilder::new("comb");
    let a = m.input("a_i", 1);
    m.output("a_o", &a);
    m.assert_always("holds", &a, "No register here.");
    let err = m.finish().unwrap_err().to_string();
    assert!(err.contains("assertion `holds` holds out of reset, but the module has no register"), "{err}");
}
