//! Stream width converters: a narrow stream gathered into a wide one ([`stream_upsizer`]) and a
//! wide one cut into narrow beats ([`stream_downsizer`]). A wide beat of `w` bits is
//! `n = ceil(w / narrow)` narrow beats, the first one its least significant bits; the last narrow
//! beat's bits above `w` are zero going down and ignored going up. Both move one narrow beat per
//! cycle with every side ready, register their outputs and reset to empty. They are how a die's
//! stream switch (one fabric width) meets blocks whose streams are wider or narrower.

use super::bits::index_bits;
use super::builder::{HdlError, Module, ModuleBuilder, Reset, cat};
use super::stream::{Stream, StreamType};

fn header(m: &ModuleBuilder, narrow: u32, wide: &StreamType) -> u32 {
    let fields: Vec<String> = wide.fields().iter().map(|(n, w)| format!("{n}:{w}")).collect();
    m.block("stream").param("narrow", narrow).param("wide", wide.width()).param("fields", fields.join(","));
    wide.width().div_ceil(narrow.max(1))
}

/// `vdx_stream_upsize`: sink `in` of `narrow` bits, source `out` of type `wide`. Narrow beats fill
/// the parts of the wide word in order; the wide beat is offered once its last part is in, and
/// the first part of the next can enter in the cycle it leaves.
#[track_caller]
pub fn stream_upsizer(narrow: u32, wide: &StreamType) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_stream_upsize");
    let n = header(&m, narrow, wide);
    let input = m.sink("in", &StreamType::data(narrow.max(1)));
    let out = m.source("out", wide);
    if narrow == 0 {
        m.issue(std::panic::Location::caller(), "stream_upsizer: the narrow width is 0".into());
        return m.finish();
    }
    let full = m.reg("full", 1, Reset::Zero);
    let part = m.reg("part", index_bits(u64::from(n)), Reset::Zero);
    let in_ready = full.not().or(&out.ready()).named("in_ready");
    input.drive_ready(&in_ready);
    let take = input.fire().named("take");
    let last = part.eq(&part.lit(u64::from(n - 1))).named("last_part");
    let mut parts = Vec::new();
    for i in 0..n {
        let r = m.reg(&format!("part{i}"), narrow, Reset::Zero);
        let here = if n == 1 { take.clone() } else { take.and(&part.eq(&part.lit(u64::from(i)))) };
        m.next_when(&r, &here.named(&format!("fill{i}")), &input.data());
        parts.push(r);
    }
    m.next_when(&part, &take, &last.mux(&part.lit(0), &part.add(&part.lit(1))));
    // Offered once the last part is in; taken away when it leaves and no new last part arrives.
    let done = take.and(&last).named("done");
    m.next(&full, &done.or(&full.and(&out.ready().not())));
    let refs: Vec<&crate::hdl::Signal> = parts.iter().rev().collect();
    let word = cat(&refs).slice(wide.width() - 1, 0).named("word");
    out.drive(&Stream::new(wide, &full, &word));
    m.finish()
}

/// `vdx_stream_downsize`: sink `in` of type `wide`, source `out` of `narrow` bits. A wide beat is
/// held in a shift register and leaves as its parts, least significant first; the next wide
/// beat enters in the cycle its last part leaves.
#[track_caller]
pub fn stream_downsizer(wide: &StreamType, narrow: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_stream_downsize");
    let n = header(&m, narrow, wide);
    let input = m.sink("in", wide);
    let out = m.source("out", &StreamType::data(narrow.max(1)));
    if narrow == 0 {
        m.issue(std::panic::Location::caller(), "stream_downsizer: the narrow width is 0".into());
        return m.finish();
    }
    let width = n * narrow;
    let valid = m.reg("valid", 1, Reset::Zero);
    let part = m.reg("part", index_bits(u64::from(n)), Reset::Zero);
    let data = m.reg("data", width, Reset::Zero);
    let last = part.eq(&part.lit(u64::from(n - 1))).named("last_part");
    let step = valid.and(&out.ready()).named("step");
    let in_ready = valid.not().or(&step.and(&last)).named("in_ready");
    input.drive_ready(&in_ready);
    let load = input.fire().named("load");
    let in_data = input.data().resize(width).named("in_data");
    let shifted = if n == 1 { data.clone() } else { data.shr(narrow).named("shifted") };
    m.next_when(&data, &load.or(&step), &load.mux(&in_data, &shifted));
    m.next_when(&part, &load.or(&step), &load.mux(&part.lit(0), &part.add(&part.lit(1))));
    m.next(&valid, &load.or(&valid.and(&step.and(&last).not())));
    out.drive(&Stream::new(&StreamType::data(narrow), &valid, &data.slice(narrow - 1, 0)));
    m.finish()
}
