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
