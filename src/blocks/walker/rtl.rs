//! Builder of `vdx_stride_walker`: per level a counter, a pointer and one adder.

use super::StrideWalkerParams;
use crate::blocks::BlockParams;
use crate::hdl::{HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamType, cat};

/// Builds the walker. See the block docs for the ports.
pub fn build(p: &StrideWalkerParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_stride_walker");
    m.block(<StrideWalkerParams as BlockParams>::BLOCK)
        .param("levels", p.levels)
        .param("addr_width", p.addr_width)
        .param("count_width", p.count_width)
        .param("limit", p.words());
    let (n, aw, cw) = (p.levels, p.addr_width, p.count_width);
    let cmd = m.sink("cmd", &StreamType::new(&[("base", aw), ("bounds", n * cw), ("strides", n * aw)]));
    let out_ty = StreamType::new(&[("addr", aw), ("wrap", n), ("last", 1)]);
    let out = m.source("out", &out_ty);

    m.section("Command: taken when idle; a base at or above the limit is rejected at once.");
    let busy = m.reg("busy", 1, Reset::Zero);
    let error = m.reg("error", 1, Reset::Zero);
    let cmd_fire = cmd.valid().and(&busy.not()).named("cmd_fire");
    let limit = m.lit(p.words(), aw + 1);
    let base_ok = cmd.field("base").zext(aw + 1).lt(&limit).named("base_ok");
    let bounds: Vec<Signal> = (0..n).map(|l| m.reg(&format!("bound{l}"), cw, Reset::Zero)).collect();
    let strides: Vec<Signal> = (0..n).map(|l| m.reg(&format!("stride{l}"), aw, Reset::Zero)).collect();
    for l in 0..n {
        m.next_when(&bounds[l as usize], &cmd_fire, &cmd.field("bounds").slice((l + 1) * cw - 1, l * cw));
        m.next_when(&strides[l as usize], &cmd_fire, &cmd.field("strides").slice((l + 1) * aw - 1, l * aw));
    }

    m.section(
        "Loop state: level l is at its bound (at_l), levels 0..=l all are (wrap_l); the level that\n\
         advances is the lowest one not at its bound, and its pointer plus its stride becomes the\n\
         pointer of every level up to it.",
    );
    let counts: Vec<Signal> = (0..n).map(|l| m.reg(&format!("count{l}"), cw, Reset::Zero)).collect();
    let ptrs: Vec<Signal> = (0..n).map(|l| m.reg(&format!("ptr{l}"), aw, Reset::Zero)).collect();
    let mut wraps: Vec<Signal> = Vec::new();
    let mut advances: Vec<Signal> = Vec::new();
    let mut next_ptr = m.lit(0, aw + 1);
    for l in 0..n as usize {
        let at = counts[l].eq(&bounds[l]).named(&format!("at{l}"));
        let below = if l == 0 { m.lit(1, 1) } else { wraps[l - 1].clone() };
        let adv = below.and(&at.not()).named(&format!("advance{l}"));
        let sum = ptrs[l].zext(aw + 1).add(&strides[l].zext(aw + 1)).named(&format!("step{l}"));
        next_ptr = adv.mux(&sum, &next_ptr).named(&format!("next_ptr_to{l}"));
        wraps.push(below.and(&at).named(&format!("wrap{l}")));
        advances.push(adv);
    }
    let all = wraps[n as usize - 1].clone().named("all_done");
    let outside = all.not().and(&next_ptr.ge(&limit)).named("next_outside");
    let last = all.or(&outside).named("walk_last");
    let step = busy.and(&out.ready()).named("step");
    let go_on = step.and(&last.not()).named("go_on");

    let base = cmd.field("base");
    for l in 0..n as usize {
        let take = advances[l].or(&wraps[l]).named(&format!("take{l}"));
        let count_next = wraps[l].mux(&counts[l].lit(0), &counts[l].add(&counts[l].lit(1)));
        m.next_when(
            &counts[l],
            &cmd_fire.or(&go_on.and(&take)),
            &cmd_fire.mux(&counts[l].lit(0), &count_next),
        );
        m.next_when(
            &ptrs[l],
            &cmd_fire.or(&go_on.and(&take)),
            &cmd_fire.mux(&base, &next_ptr.slice(aw - 1, 0)),
        );
    }
    m.next_when(&busy, &cmd_fire.or(&step.and(&last)), &cmd_fire.and(&base_ok));
    m.next_when(&error, &cmd_fire.or(&step.and(&outside)), &cmd_fire.mux(&base_ok.not(), &m.lit(1, 1)));

    m.section("Outputs: the address is level 0's pointer.");
    let wrap_bits: Vec<&Signal> = wraps.iter().rev().collect();
    cmd.drive_ready(&busy.not());
    out.drive(&Stream::from_fields(
        &out_ty,
        &busy,
        &[("addr", &ptrs[0]), ("wrap", &cat(&wrap_bits).named("wrap_bits")), ("last", &last)],
    ));
    m.output("error_o", &error);
    m.finish()
}
