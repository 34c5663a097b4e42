//! Builder of `vdx_timestep_cond`: a sequencer that issues one beat of `lanes` embedding values
//! per cycle, and a four-stage pipeline per lane (frequency ROM, phase product, mirror and
//! quarter-wave ROM, interpolation and sign) that stalls as a whole on output backpressure.

use super::TimestepCondParams;
use super::golden::{FRAC_BITS, TABLE_BITS, freq_turns, quarter_table};
use crate::blocks::BlockParams;
use crate::hdl::{Bits, HdlError, Module, ModuleBuilder, Reset, Stream, StreamType, cat, index_bits};

/// Bits of one output value (Q1.14).
pub const VALUE_BITS: u32 = 16;

/// Builds the block. See the datasheet for the ports.
pub fn build(p: &TimestepCondParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_timestep_cond");
    m.block(<TimestepCondParams as BlockParams>::BLOCK)
        .param("dim", p.dim)
        .param("lanes", p.lanes)
        .param("t_bits", p.t_bits)
        .param("max_period", p.max_period)
        .param("steps", p.steps)
        .param("layers", p.layers)
        .param("vectors", p.vectors)
        .param("width", p.width);
    let (lanes, half) = (p.lanes, p.dim / 2);
    let beats = u64::from(p.dim / lanes);
    let bw = index_bits(beats);
    let lit = |v: u64, w: u32| m.lit(v, w);

    let t_in = m.sink("t", &StreamType::data(p.t_bits));
    let emb_ty = StreamType::new(&[("data", lanes * VALUE_BITS), ("last", 1)]);
    let emb = m.source("emb", &emb_ty);
    let out_valid = m.reg("out_valid", 1, Reset::Zero);
    let advance = out_valid.not().or(&emb.ready()).named("advance");

    m.section("Sequencer: a timestep is taken when idle; its beats issue one per cycle the pipeline moves.");
    let busy = m.reg("busy", 1, Reset::Zero);
    let beat = m.reg("beat", bw, Reset::Zero);
    let t_q = m.reg("t", p.t_bits, Reset::Zero);
    let take = t_in.valid().and(&busy.not()).named("t_take");
    t_in.drive_ready(&busy.not());
    let issue = busy.and(&advance).named("issue");
    let last_beat = beat.eq(&lit(beats - 1, bw)).named("last_beat");
    m.next(&busy, &take.or(&busy.and(&issue.and(&last_beat).not())));
    m.next_when(&t_q, &take, &t_in.data());
    m.next_when(&beat, &issue, &last_beat.mux(&lit(0, bw), &beat.add(&lit(1, bw))));

    m.section(
        "Pipeline control, moving as a whole when the output register is free: valid, timestep,\n\
         cosine half and last beat of stages 1-3.",
    );
    let v1 = m.reg("s1_valid", 1, Reset::Zero);
    let t1 = m.reg("s1_t", p.t_bits, Reset::Zero);
    let cos1 = m.reg("s1_cos", 1, Reset::Zero);
    let last1 = m.reg("s1_last", 1, Reset::Zero);
    m.next_when(&v1, &advance, &busy);
    m.next_when(&t1, &advance, &t_q);
    m.next_when(&cos1, &advance, &beat.lt(&lit(beats / 2, bw)));
    m.next_when(&last1, &advance, &last_beat);

    let v2 = m.reg("s2_valid", 1, Reset::Zero);
    let last2 = m.reg("s2_last", 1, Reset::Zero);
    m.next_when(&v2, &advance, &v1);
    m.next_when(&last2, &advance, &last1);
    let quarter = cos1.mux(&lit(1 << 30, 32), &lit(0, 32)).named("quarter");

    let v3 = m.reg("s3_valid", 1, Reset::Zero);
    let last3 = m.reg("s3_last", 1, Reset::Zero);
    m.next_when(&v3, &advance, &v2);
    m.next_when(&last3, &advance, &last2);
    let table = quarter_table();
    let pairs: Vec<Bits> = (0..table.len() - 1)
        .map(|j| Bits::from_u64(((table[j + 1] as u64) << 16) | table[j] as u64, 32))
        .collect();

    m.section(
        "Per lane: stage 1 reads the lane's frequency F for the beat (ROM); stage 2 holds the phase\n\
         t * F (mod 2^32) plus a quarter turn for a cosine; stage 3 reads the quarter-wave pair\n\
         (sin_j, sin_j+1) at the mirrored position; stage 4 interpolates,\n\
         a + ((b - a) * frac + 1/2) >> 10, negated in quadrants 2 and 3.",
    );
    let mut values = Vec::new();
    for l in 0..lanes {
        let freqs: Vec<Bits> = (0..beats as u32)
            .map(|b| Bits::from_u64(u64::from(freq_turns((b * lanes + l) % half, half, p.max_period)), 32))
            .collect();
        let f = m.rom(&format!("freq{l}"), &advance, &beat, &freqs);
        let phase = m.reg(&format!("s2_phase{l}"), 32, Reset::Zero);
        m.next_when(&phase, &advance, &t1.zext(32).mul(&f, 32).add(&quarter));
        let pos = phase.slice(29, 0).zext(31).named(&format!("s2_in_quadrant{l}"));
        let mirrored = phase.bit(30).mux(&lit(1 << 30, 31).sub(&pos), &pos).named(&format!("s2_position{l}"));
        let idx = mirrored.slice(30, 30 - TABLE_BITS);
        let frac_now = mirrored.slice(29 - TABLE_BITS, 30 - TABLE_BITS - FRAC_BITS);
        let pair = m.rom(&format!("sine{l}"), &advance, &idx, &pairs);
        let frac = m.reg(&format!("s3_frac{l}"), FRAC_BITS, Reset::Zero);
        let neg = m.reg(&format!("s3_neg{l}"), 1, Reset::Zero);
        m.next_when(&frac, &advance, &frac_now);
        m.next_when(&neg, &advance, &phase.bit(31));
        let a = pair.slice(14, 0).named(&format!("s3_sin_lo{l}"));
        let b = pair.slice(30, 16);
        let step = b
            .sub(&a)
            .zext(25)
            .mul(&frac.zext(25), 25)
            .add(&lit(1 << (FRAC_BITS - 1), 25))
            .named(&format!("s3_step{l}"));
        let mag = a
            .zext(VALUE_BITS)
            .add(&step.slice(24, FRAC_BITS).resize(VALUE_BITS))
            .named(&format!("s3_mag{l}"));
        let value = neg.mux(&lit(0, VALUE_BITS).sub(&mag), &mag).named(&format!("s4_value{l}"));
        values.push(value);
    }
    m.section("Output register: one beat of lanes values, lane 0 in the low bits.");
    let out_data = m.reg("out_data", lanes * VALUE_BITS, Reset::Zero);
    let out_last = m.reg("out_last", 1, Reset::Zero);
    m.next_when(&out_valid, &advance, &v3);
    m.next_when(&out_last, &advance, &last3);
    let refs: Vec<&crate::hdl::Signal> = values.iter().rev().collect();
    m.next_when(&out_data, &advance, &cat(&refs));
    emb.drive(&Stream::from_fields(&emb_ty, &out_valid, &[("data", &out_data), ("last", &out_last)]));
    super::broadcast::add(&m, p);
    m.finish()
}
