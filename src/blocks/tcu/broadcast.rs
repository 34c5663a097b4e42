//! The conditioning broadcast of `vdx_timestep_cond`: two tables loaded before inference (the
//! step table, one row per denoising step, and the layer table, one row per transformer block,
//! each row `vectors × width` values) and a request stream that streams row `step` plus row
//! `layer`, added with saturation, `lanes` values per beat. This is Wan's AdaLN-Zero
//! modulation (`block.modulation + time_projection(t_emb)`, six vectors of the model width),
//! whose sum structure lets the whole schedule fit in `(steps + layers)` rows instead of
//! `steps × layers`.

use super::TimestepCondParams;
use super::rtl::VALUE_BITS;
use crate::hdl::{ModuleBuilder, Reset, Signal, Stream, StreamType, cat, index_bits};

/// Adds the broadcast's streams and logic to `m` (the unit's top).
pub fn add(m: &ModuleBuilder, p: &TimestepCondParams) {
    let lanes = p.lanes;
    let w = lanes * VALUE_BITS;
    let beats = u64::from(p.row_beats());
    let bw = index_bits(beats);
    let lit = |v: u64, width: u32| m.lit(v, width);
    let (sw, lw) = (index_bits(u64::from(p.steps)), index_bits(u64::from(p.layers)));

    let load_ty = StreamType::new(&[("table", 1), ("addr", p.load_addr_bits()), ("data", w)]);
    let load = m.sink("load", &load_ty);
    let cond = m.sink("cond", &StreamType::new(&[("step", sw), ("layer", lw)]));
    let vec_ty = StreamType::new(&[("data", w), ("last", 1)]);
    let vec = m.source("vec", &vec_ty);

    m.section(
        "Conditioning tables: a load beat writes lanes values of the step table (table 0) or the\n\
         layer table (table 1) at its beat address (row * beats per row + beat); always ready.\n\
         A beat beyond its table is dropped and flagged in load_range_error_o the next cycle.",
    );
    // Depths rounded up to powers of two, as memories of the HDL are; the words past the last
    // row are never addressed.
    let step_mem = m.memory("step_table", w, (u64::from(p.steps) * beats).next_power_of_two().max(2));
    let layer_mem = m.memory("layer_table", w, (u64::from(p.layers) * beats).next_power_of_two().max(2));
    let (saw, law) = (step_mem.addr_width(), layer_mem.addr_width());
    let table = load.field("table");
    let addr = load.field("addr");
    // A beat beyond its table's rows is dropped (it would land in another row once the
    // address is cut to the memory's width) and flagged in load_range_error_o the next cycle.
    let aw = p.load_addr_bits();
    let rows_end = |rows: u32| lit(u64::from(rows) * beats, aw + 1);
    let load_ok = table
        .mux(&addr.zext(aw + 1).lt(&rows_end(p.layers)), &addr.zext(aw + 1).lt(&rows_end(p.steps)))
        .named("load_in_range");
    let write = load.valid().and(&load_ok).named("load_write");
    step_mem.write(&write.and(&table.not()), &addr.resize(saw), &load.field("data"));
    layer_mem.write(&write.and(&table), &addr.resize(law), &load.field("data"));
    load.drive_ready(&lit(1, 1));
    let load_error = m.reg("load_range_error", 1, Reset::Zero);
    m.next(&load_error, &load.valid().and(&load_ok.not()));
    m.output("load_range_error_o", &load_error);

    let out_valid = m.reg("vec_out_valid", 1, Reset::Zero);
    let advance = out_valid.not().or(&vec.ready()).named("vec_advance");
    m.section(
        "Requests: taken when idle; a step or layer beyond the tables is dropped and flagged in\n\
         cond_range_error_o the next cycle. The rows' first beats are kept as bases.",
    );
    let busy = m.reg("vec_busy", 1, Reset::Zero);
    let beat = m.reg("vec_beat", bw, Reset::Zero);
    let step_base = m.reg("step_base", saw, Reset::Zero);
    let layer_base = m.reg("layer_base", law, Reset::Zero);
    let (step, layer) = (cond.field("step"), cond.field("layer"));
    let take = cond.valid().and(&busy.not()).named("cond_take");
    cond.drive_ready(&busy.not());
    let below = |x: &Signal, n: u32, w: u32| x.zext(w + 1).lt(&lit(u64::from(n), w + 1));
    let in_range = below(&step, p.steps, sw).and(&below(&layer, p.layers, lw)).named("cond_in_range");
    let start = take.and(&in_range).named("cond_start");
    let range_error = m.reg("cond_range_error", 1, Reset::Zero);
    m.next(&range_error, &take.and(&in_range.not()));
    let base = |row: &Signal, aw: u32| row.resize(aw).mul(&lit(beats, aw), aw);
    m.next_when(&step_base, &start, &base(&step, saw));
    m.next_when(&layer_base, &start, &base(&layer, law));
    let issue = busy.and(&advance).named("vec_issue");
    let last_beat = beat.eq(&lit(beats - 1, bw)).named("vec_last_beat");
    m.next(&busy, &start.or(&busy.and(&issue.and(&last_beat).not())));
    m.next_when(&beat, &issue, &last_beat.mux(&lit(0, bw), &beat.add(&lit(1, bw))));

    m.section("Stage 1: both rows' beat read (registered); stage 2: the lanes' saturating sums.");
    // Read only for a request (words never loaded are unknown to a simulator).
    let s_read = step_mem.read(&issue, &step_base.add(&beat.resize(saw)));
    let l_read = layer_mem.read(&issue, &layer_base.add(&beat.resize(law)));
    let v1 = m.reg("vec_s1_valid", 1, Reset::Zero);
    let last1 = m.reg("vec_s1_last", 1, Reset::Zero);
    m.next_when(&v1, &advance, &busy);
    m.next_when(&last1, &advance, &last_beat);
    let max = (1u64 << (VALUE_BITS - 1)) - 1;
    let sums: Vec<Signal> = (0..lanes)
        .map(|l| {
            let lane = |s: &Signal, what: &str| {
                s.slice(VALUE_BITS * l + VALUE_BITS - 1, VALUE_BITS * l)
                    .named(&format!("vec_{what}{l}"))
                    .as_signed()
            };
            let sum =
                lane(&s_read, "step").sext(VALUE_BITS + 1).add(&lane(&l_read, "layer").sext(VALUE_BITS + 1));
            let sum = sum.as_unsigned().named(&format!("vec_sum{l}"));
            // Overflow when the two top bits differ: positive past max, or negative past min.
            let top = sum.bit(VALUE_BITS).named(&format!("vec_sum_sign{l}"));
            let next = sum.bit(VALUE_BITS - 1);
            let over = top.xor(&next);
            over.mux(
                &top.mux(&lit(max + 1, VALUE_BITS), &lit(max, VALUE_BITS)),
                &sum.slice(VALUE_BITS - 1, 0),
            )
        })
        .collect();
    let out_data = m.reg("vec_out_data", w, Reset::Zero);
    let out_last = m.reg("vec_out_last", 1, Reset::Zero);
    m.next_when(&out_valid, &advance, &v1);
    m.next_when(&out_last, &advance, &last1);
    let refs: Vec<&Signal> = sums.iter().rev().collect();
    m.next_when(&out_data, &advance.and(&v1), &cat(&refs).named("vec_sums"));
    vec.drive(&Stream::from_fields(&vec_ty, &out_valid, &[("data", &out_data), ("last", &out_last)]));
    m.output("cond_range_error_o", &range_error);
}
