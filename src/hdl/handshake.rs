//! Handshake primitives on valid/ready streams, emitted as small reusable modules (compare pulp
//! common_cells' `stream_register` and `spill_register`). Both take a sink `in` and give a source
//! `out` of one [`StreamType`], register `out_valid_o` and the payload (so they cut the forward
//! path), reset asynchronously (`rst_ni`, active low) to empty, and move one beat per cycle when
//! both sides are always ready. They differ in the backward path:
//!
//! | module | entries | `in_ready_o` |
//! |---|---|---|
//! | [`stream_register`] | 1 | combinational: `~valid_q \| out_ready_i` |
//! | [`skid_buffer`] | 2 | registered: `~skid_valid_q` |
//!
//! The register slice is the cheaper one; the skid buffer also cuts the ready path (a long
//! chain of combinational readies is what limits the clock of a deep stream pipeline).

use super::builder::{HdlError, Module, ModuleBuilder, Reset};
use super::stream::{Stream, StreamType};

/// Header parameters shared by both primitives.
fn header(m: &ModuleBuilder, ty: &StreamType) {
    let fields: Vec<String> = ty.fields().iter().map(|(n, w)| format!("{n}:{w}")).collect();
    m.block("stream").param("width", ty.width()).param("fields", fields.join(","));
}

/// A register slice (`vdx_stream_register`): one entry, registered valid and payload, ready
/// passed through combinationally (`in_ready_o = ~valid_q | out_ready_i`), so a beat can enter
/// in the cycle the held one leaves: full throughput, one cycle of latency.
pub fn stream_register(ty: &StreamType) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_stream_register");
    header(&m, ty);
    let input = m.sink("in", ty);
    let out = m.source("out", ty);
    let valid = m.reg("valid", 1, Reset::Zero);
    let data = m.reg("data", ty.width(), Reset::Zero);
    input.drive_ready(&valid.not().or(&out.ready()).named("in_ready"));
    // An empty slice, or one whose beat leaves now, takes whatever is offered.
    m.next_when(&valid, &input.ready(), &input.valid());
    m.next_when(&data, &input.fire(), &input.data());
    out.drive(&Stream::new(ty, &valid, &data));
    m.finish()
}

/// A skid buffer (`vdx_skid_buffer`): two entries, the output register and a skid register that
/// catches the beat accepted in the cycle the output stalls. `in_ready_o = ~skid_valid_q` is a
/// register output, so no combinational path runs from `out_ready_i` to `in_ready_o`; full
/// throughput, one cycle of latency.
pub fn skid_buffer(ty: &StreamType) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_skid_buffer");
    header(&m, ty);
    let input = m.sink("in", ty);
    let out = m.source("out", ty);
    let out_valid = m.reg("out_valid", 1, Reset::Zero);
    let out_data = m.reg("out_data", ty.width(), Reset::Zero);
    let skid_valid = m.reg("skid_valid", 1, Reset::Zero);
    let skid_data = m.reg("skid_data", ty.width(), Reset::Zero);
    input.drive_ready(&skid_valid.not().named("in_ready"));
    let in_data = if ty.fields().len() > 1 { input.data().named("in_data") } else { input.data() };
    let in_fire = input.fire().named("in_fire");
    // The output register loads when it is empty or its beat leaves: from the skid register if
    // that holds a beat (it is older), else from the input.
    let load_out = out_valid.not().or(&out.ready()).named("load_out");
    let offered = skid_valid.or(&input.valid()).named("offered");
    m.next_when(&out_valid, &load_out, &offered);
    m.next_when(&out_data, &load_out.and(&offered), &skid_valid.mux(&skid_data, &in_data));
    // A beat accepted while the output stalls waits in the skid register (empty, since the
    // input was ready); the skid register drains whenever the output loads.
    let stalled = load_out.not().named("stalled");
    m.next(&skid_valid, &stalled.and(&skid_valid.or(&in_fire)));
    m.next_when(&skid_data, &in_fire.and(&stalled), &in_data);
    out.drive(&Stream::new(ty, &out_valid, &out_data));
    m.finish()
}

/// A FIFO (`vdx_stream_fifo`) of `depth` entries (a power of two, 2..=64) in registers: sink `in`,
/// source `out`, and `level_o`, the number of beats held. `in_ready_o` is high while the FIFO is
/// not full and `out_valid_o` while it is not empty, both straight from registers; a beat
/// written into an empty FIFO leaves one cycle later. Full throughput: a beat can enter and one
/// leave in the same cycle, also when full.
#[track_caller]
pub fn stream_fifo(ty: &StreamType, depth: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_stream_fifo");
    header(&m, ty);
    m.param("depth", depth);
    let input = m.sink("in", ty);
    let out = m.source("out", ty);
    if !(2..=64).contains(&depth) || !depth.is_power_of_two() {
        m.issue(
            std::panic::Location::caller(),
            format!("stream_fifo: depth {depth} must be a power of two in 2..=64"),
        );
        return m.finish();
    }
    let ab = super::bits::index_bits(u64::from(depth));
    let lb = super::bits::value_bits(u64::from(depth));
    let wptr = m.reg("wptr", ab, Reset::Zero);
    let rptr = m.reg("rptr", ab, Reset::Zero);
    let level = m.reg("level", lb, Reset::Zero);
    let full = level.eq(&level.lit(u64::from(depth))).named("full");
    let empty = level.eq(&level.lit(0)).named("empty");
    // A full FIFO whose head leaves now still takes a beat: it lands in the slot just freed.
    input.drive_ready(&full.not().or(&out.ready()).named("in_ready"));
    let push = input.fire().named("push");
    let pop = empty.not().and(&out.ready()).named("pop");
    let in_data = input.data().named("in_data");
    let mut slots = Vec::new();
    for i in 0..depth {
        let slot = m.reg(&format!("slot{i}"), ty.width(), Reset::Zero);
        let here = push.and(&wptr.eq(&wptr.lit(u64::from(i)))).named(&format!("write{i}"));
        m.next_when(&slot, &here, &in_data);
        slots.push(slot);
    }
    m.next_when(&wptr, &push, &wptr.add(&wptr.lit(1)));
    m.next_when(&rptr, &pop, &rptr.add(&rptr.lit(1)));
    let up = level.add(&level.lit(1));
    let down = level.sub(&level.lit(1));
    m.next(&level, &push.mux(&pop.mux(&level, &up), &pop.mux(&down, &level)));
    let mut head = slots[0].clone();
    for (i, s) in slots.iter().enumerate().skip(1) {
        head = rptr.eq(&rptr.lit(i as u64)).mux(s, &head);
    }
    let head = head.named("head");
    out.drive(&Stream::new(ty, &empty.not().named("out_valid"), &head));
    m.output("level_o", &level);
    m.finish()
}
