//! Builders of `vdx_sgu` and its pair unit `vdx_sgu_pair`.
//!
//! Every pipeline register of the unit loads on one global `advance` (`!out_valid | out_ready`):
//! when the consumer stalls, the whole pipeline and the generators hold, so no sample is lost or
//! repeated, and with `out_ready` high one pair per lane leaves every cycle.

use super::SguParams;
use super::golden::{
    ANGLE_BITS, BoxMuller, E_BITS, E_FRAC, F_BITS, F_FRAC, LN_FRAC, LN_INPUT_BITS, SQRT_INPUT_BITS, TRIG_FRAC,
};
use super::poly::PiecewisePoly;
use crate::blocks::BlockParams;
use crate::blocks::xoshiro::XoshiroLaneParams;
use crate::hdl::{Bits, Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamType, arith};

/// Pipeline registers from the uniform (`r`, stage 0) to the output pair.
pub const PAIR_LATENCY: u32 = 16;

/// Registers that all load on one enable; `stage` names them `<name>_s<stage>_q`.
struct Pipe<'a> {
    m: &'a ModuleBuilder,
    advance: Signal,
}

impl Pipe<'_> {
    /// `value` one stage later, at `stage`.
    fn stage(&self, name: &str, stage: u32, value: &Signal) -> Signal {
        let r = self.m.reg(&format!("{name}_s{stage}"), value.width(), Reset::Zero);
        self.m.next_when(&r, &self.advance, value);
        if value.is_signed() { r.as_signed() } else { r }
    }

    /// `value` (at `from`) carried to stage `to`.
    fn delay(&self, name: &str, from: u32, to: u32, value: &Signal) -> Signal {
        (from + 1..=to).fold(value.clone(), |v, s| self.stage(name, s, &v))
    }

    /// A piecewise polynomial of `input` (available at `stage`), ready at `stage + 1 + 2·degree`:
    /// one registered table per coefficient, read in the cycle before it is needed, and one
    /// stage for each multiply and each add of Horner's rule.
    fn poly(&self, name: &str, stage: u32, input: &Signal, poly: &PiecewisePoly) -> (Signal, u32) {
        let acc_w = poly.acc_width();
        let r = poly.delta_bits;
        let seg = input.slice(r + poly.seg_bits - 1, r).named(&format!("{name}_seg_in"));
        let delta = input.slice(r - 1, 0);
        let table = |k: usize| -> Vec<Bits> {
            let mask = if acc_w >= 64 { u64::MAX } else { (1u64 << acc_w) - 1 };
            poly.coefs.iter().map(|c| Bits::from_u64(c[k] as u64 & mask, acc_w)).collect()
        };
        let d = poly.degree as usize;
        let mut s = stage;
        let mut acc = self.m.rom(&format!("{name}_c{d}"), &self.advance, &seg, &table(d)).as_signed();
        let (mut seg, mut delta) = (
            self.stage(&format!("{name}_seg"), s + 1, &seg),
            self.stage(&format!("{name}_delta"), s + 1, &delta),
        );
        s += 1;
        for k in (0..d).rev() {
            let delta_ext = delta.zext(r + 1).named(&format!("{name}_delta{k}_ext")).as_signed();
            let full = acc.mul(&delta_ext, acc_w + r + 1).named(&format!("{name}_mul{k}"));
            let product = full.sra(r).named(&format!("{name}_mul{k}_scaled")).resize(acc_w);
            let product = self.stage(&format!("{name}_p{k}"), s + 1, &product);
            let coef = self.m.rom(&format!("{name}_c{k}"), &self.advance, &seg, &table(k)).as_signed();
            acc = self.stage(&format!("{name}_acc{k}"), s + 2, &product.add(&coef));
            if k > 0 {
                seg = self.delay(&format!("{name}_seg"), s, s + 2, &seg);
                delta = self.delay(&format!("{name}_delta"), s, s + 2, &delta);
            }
            s += 2;
        }
        (acc, s)
    }
}

/// The parameters every SGU module lists in its header.
fn header_params<'a>(m: &'a ModuleBuilder, p: &SguParams) -> &'a ModuleBuilder {
    m.param("out_width", p.out_width)
        .param("out_frac", p.out_frac)
        .param("u0_bits", p.u0_bits)
        .param("ln_segments_log2", p.ln_segments_log2)
        .param("sqrt_segments_log2", p.sqrt_segments_log2)
        .param("trig_segments_log2", p.trig_segments_log2)
}

/// The pair unit: one xoshiro256++ lane and the Box-Muller pipeline.
pub fn pair_unit(p: &SguParams, bm: &BoxMuller) -> Result<Module, HdlError> {
    let lane = XoshiroLaneParams::default().build()?;
    let m = ModuleBuilder::new("vdx_sgu_pair");
    header_params(m.block("sgu"), p);
    let advance = m.input("advance_i", 1);
    let step = m.input("step_i", 1);
    let load = m.input("load_i", 1);
    let load_state = m.input("load_state_i", 256);
    let pipe = Pipe { m: &m, advance };

    let generator =
        m.instance("u_lane", &lane, &[("load_i", &load), ("load_state_i", &load_state), ("en_i", &step)]);
    let r = pipe.stage("r", 0, &generator.output("rand_o"));

    m.section("Stage 0 -> 1: u0 = (2m+1) / 2^(u0_bits+1), normalised; the angle's quadrant and offsets.");
    let x = r.slice(63, 64 - p.u0_bits).concat(&m.lit(1, 1));
    let (lz, x_norm) = arith::normalize(&m, "u0", &x);
    let ln_in = x_norm.slice(p.u0_bits - 1, p.u0_bits - LN_INPUT_BITS);
    let angle = r.slice(ANGLE_BITS - 1, 0);
    let ln_in = pipe.stage("ln_in", 1, &ln_in);
    let lz = pipe.stage("lz", 1, &lz);
    let angle = pipe.stage("angle", 1, &angle);
    let quadrant = pipe.stage("quadrant", 1, &r.slice(15, ANGLE_BITS));

    m.section("Stages 1 -> 6: ln t, and sin at the angle and at its complement (= cos).");
    let (ln_t, s_ln) = pipe.poly("ln", 1, &ln_in, &bm.ln);
    let (sin_a, s_trig) = pipe.poly("sin", 1, &angle, &bm.sin);
    let (cos_a, _) = pipe.poly("cos", 1, &angle.not().named("angle_complement"), &bm.sin);
    let two_ln2 = m.lit(bm.two_ln2, E_BITS);
    let scaled_lz = lz.zext(E_BITS).add(&lz.zext(E_BITS).lit(1)).mul(&two_ln2, E_BITS);
    let scaled_lz = pipe.delay("lz_ln2", 2, s_ln, &pipe.stage("lz_ln2", 2, &scaled_lz));

    m.section("Stage 6 -> 7: e = 2 (lz+1) ln 2 - 2 ln t, clamped at 0.");
    let ext = E_BITS + 2;
    let twice_ln_t = ln_t.sra(LN_FRAC - E_FRAC - 1).named("twice_ln_t").resize(ext);
    let e_signed = scaled_lz.zext(ext).as_signed().sub(&twice_ln_t).named("e_signed");
    let e = e_signed.bit(ext - 1).mux(&m.lit(0, E_BITS), &e_signed.as_unsigned().slice(E_BITS - 1, 0));
    let e = pipe.stage("e", s_ln + 1, &e);

    m.section("Stage 7 -> 8: e = 2^q v; the table input is the parity of the shift and v's fraction.");
    let s_e = s_ln + 1;
    let (clz, e_norm) = arith::normalize(&m, "e", &e);
    let parity = clz.bit(0);
    let sqrt_in = parity.concat(&e_norm.slice(E_BITS - 2, E_BITS - 1 - SQRT_INPUT_BITS));
    let clz_plus_one =
        clz.zext(clz.width() + 1).add(&clz.zext(clz.width() + 1).lit(1)).named("e_lz_plus_one");
    let half_shift = clz_plus_one.shr(1);
    let sqrt_in = pipe.stage("sqrt_in", s_e + 1, &sqrt_in);
    let half_shift = pipe.stage("half_shift", s_e + 1, &half_shift);
    let e_zero = pipe.stage("e_zero", s_e + 1, &e.reduce_or().not());

    m.section("Stages 8 -> 13: sqrt of v (or 2v); then f = root * 2^(1 - ceil(clz/2)) in F_FRAC bits.");
    let (root, s_root) = pipe.poly("sqrt", s_e + 1, &sqrt_in, &bm.sqrt);
    let half_shift = pipe.delay("half_shift", s_e + 1, s_root, &half_shift);
    let e_zero = pipe.delay("e_zero", s_e + 1, s_root, &e_zero);
    let root = root.as_unsigned().resize(F_BITS + 1);
    let f = root.shl(1).shr_by(&half_shift).named("root_shifted").slice(F_BITS - 1, 0);
    let f = e_zero.mux(&m.lit(0, F_BITS), &f);
    let s_f = s_root + 1;
    let f = pipe.stage("f", s_f, &f);

    m.section("Stage 14 -> 15: f * |sin|, f * |cos|, with the quadrant deciding which table is which.");
    let trig_w = TRIG_FRAC + 1;
    let sin_a = pipe.delay("sin_mag", s_trig, s_f, &sin_a.as_unsigned().resize(trig_w));
    let cos_a = pipe.delay("cos_mag", s_trig, s_f, &cos_a.as_unsigned().resize(trig_w));
    let quadrant = pipe.delay("quadrant", 1, s_f, &quadrant);
    let swap = quadrant.bit(0).named("swap");
    let sin_mag = swap.mux(&cos_a, &sin_a);
    let cos_mag = swap.mux(&sin_a, &cos_a);
    let prod_w = F_BITS + trig_w;
    let sin_prod = pipe.stage("sin_prod", s_f + 1, &f.mul(&sin_mag.zext(F_BITS), prod_w));
    let cos_prod = pipe.stage("cos_prod", s_f + 1, &f.mul(&cos_mag.zext(F_BITS), prod_w));
    let sin_neg = pipe.stage("sin_neg", s_f + 1, &quadrant.bit(1));
    let cos_neg = pipe.stage("cos_neg", s_f + 1, &quadrant.bit(1).xor(&quadrant.bit(0)));

    m.section("Stage 15 -> 16: round half away from zero (on the magnitude), then the sign.");
    let shift = F_FRAC + TRIG_FRAC - p.out_frac;
    let w = p.out_width;
    let round = |name: &str, prod: &Signal, neg: &Signal| {
        // One bit for the rounding carry, and enough for an output wider than the magnitude.
        let prod = prod.zext((prod.width() + 1).max(shift + w));
        let rounded = prod.add(&prod.lit(1 << (shift - 1))).named(&format!("{name}_rounded"));
        let magnitude = rounded.slice(shift + w - 1, shift).named(&format!("{name}_magnitude"));
        neg.mux(&magnitude.neg(), &magnitude)
    };
    let x0 = pipe.stage("x0", s_f + 2, &round("sin", &sin_prod, &sin_neg));
    let x1 = pipe.stage("x1", s_f + 2, &round("cos", &cos_prod, &cos_neg));
    debug_assert_eq!(s_f + 2, PAIR_LATENCY);
    m.output("pair_o", &x1.concat(&x0));
    m.finish()
}

/// The SGU: `lanes` pair units behind one valid/ready output, and the seed load bus.
pub fn build(p: &SguParams) -> Result<Module, HdlError> {
    let bm = BoxMuller::new(p);
    let pair = pair_unit(p, &bm)?;
    let m = ModuleBuilder::new("vdx_sgu");
    header_params(m.block("sgu").param("lanes", p.lanes), p).param("latency", PAIR_LATENCY + 1);
    let en = m.input("en_i", 1);
    let seed_valid = m.input("seed_valid_i", 1);
    let seed_lane = m.input("seed_lane_i", lane_bits(p.lanes));
    let seed_state = m.input("seed_state_i", 256);
    // Every lane's pair each beat: `out_valid_o`, `out_data_o`, `out_ready_i`.
    let out = m.source("out", &StreamType::data(p.lanes * 2 * p.out_width));
    let ready = out.ready();

    m.section(
        "One valid bit per pipeline stage, the last one being the output's. Everything advances\n\
         together unless the output holds a pair the consumer has not taken.",
    );
    let valid: Vec<Signal> =
        (0..=PAIR_LATENCY).map(|s| m.reg(&format!("valid_s{s}"), 1, Reset::Zero)).collect();
    let out_valid = valid[PAIR_LATENCY as usize].clone();
    let advance = out_valid.not().or(&ready).named("advance");
    m.next_when(&valid[0], &advance, &en);
    for s in 1..valid.len() {
        m.next_when(&valid[s], &advance, &valid[s - 1]);
    }
    m.section("The generators step on advance while enabled; seed_load picks the lane to seed.");
    let step = advance.and(&en).named("step");
    let one_hot = m.lit(1, p.lanes).shl_by(&seed_lane).and(&seed_valid.repeat(p.lanes)).named("seed_load");

    let pairs = m.instance_array(
        "u_pair",
        &pair,
        p.lanes,
        &[
            ("advance_i", Conn::All(advance)),
            ("step_i", Conn::All(step)),
            ("load_i", Conn::Each(one_hot)),
            ("load_state_i", Conn::All(seed_state)),
        ],
    );
    out.drive(&Stream::new(out.ty(), &out_valid, &pairs.output("pair_o")));
    m.finish()
}

/// Width of the lane index on the seed bus.
pub fn lane_bits(lanes: u32) -> u32 {
    crate::hdl::index_bits(u64::from(lanes))
}
