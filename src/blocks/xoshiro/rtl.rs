//! Builder of `vdx_xoshiro_lane`.

use super::XoshiroLaneParams;
use crate::hdl::{HdlError, Module, ModuleBuilder, Reset, Signal};

/// Builds one lane; see the block docs for ports and timing.
pub fn build(p: &XoshiroLaneParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_xoshiro_lane");
    m.block(<XoshiroLaneParams as crate::blocks::BlockParams>::BLOCK)
        .param("seed", format!("{:#x}", p.seed))
        .param("lane", p.lane);
    let load = m.input("load_i", 1);
    let load_state = m.input("load_state_i", 256);
    let en = m.input("en_i", 1);

    let reset = p.reset_state();
    let s: Vec<Signal> = (0..4).map(|i| m.reg(&format!("s{i}"), 64, Reset::Value(reset[i]))).collect();
    // `s0 + s3` is kept in a register of its own, computed from the next state: the output is
    // then one adder after the flops instead of two in series, which would be the slowest path
    // of a pipeline fed by this lane.
    let sum = m.reg("sum", 64, Reset::Value(reset[0].wrapping_add(reset[3])));
    m.output("rand_o", &sum.rotl(23).add(&s[0]));

    // The reference update, statement by statement: t = s1 << 17; s2 ^= s0; s3 ^= s1; s1 ^= s2;
    // s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45).
    let s2_mixed = s[2].xor(&s[0]).named("s2_mixed");
    let s3_mixed = s[3].xor(&s[1]).named("s3_mixed");
    let stepped = [s[0].xor(&s3_mixed), s[1].xor(&s2_mixed), s2_mixed.xor(&s[1].shl(17)), s3_mixed.rotl(45)];
    let update = load.or(&en).named("update");
    let next: Vec<Signal> = (0..4)
        .map(|i| {
            let loaded = load_state.slice(64 * i as u32 + 63, 64 * i as u32);
            load.mux(&loaded, &stepped[i]).named(&format!("s{i}_next"))
        })
        .collect();
    for (reg, value) in s.iter().zip(&next) {
        m.next_when(reg, &update, value);
    }
    m.next_when(&sum, &update, &next[0].add(&next[3]));
    m.finish()
}
