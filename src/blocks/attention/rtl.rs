//! Builders of `vdx_spatial_attention` (lanes side by side) and `vdx_attention_lane`. The lane
//! instantiates `systolic_ws`'s mesh (`vdx_systolic_array`, weight slot and delay cells) twice and
//! `online_softmax`'s unit once; per-column cells are instance arrays, so the Verilog grows with
//! the number of distinct modules, not with `d × bk` or `lanes`.

use super::SpatialAttentionParams;
use crate::blocks::BlockParams;
use crate::blocks::softmax::OnlineSoftmaxParams;
use crate::blocks::softmax::rtl::STAGES as SOFTMAX_STAGES;
use crate::blocks::systolic::SystolicParams;
use crate::blocks::systolic::rtl::{array, below, count_up_down, delay_cell, delay_line, queue, weight_slot};
use crate::hdl::{
    Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamConn, StreamType, cat, index_bits,
    value_bits,
};

/// Cycles from a row's last accumulator write to its output beat (the reader not behind): the
/// ready count, the ring read, the normalisation register and the output queue.
pub const READ_STAGES: u64 = 4;

const BLOCK: &str = <SpatialAttentionParams as BlockParams>::BLOCK;

fn header(m: &ModuleBuilder, p: &SpatialAttentionParams) {
    m.block(BLOCK)
        .param("d", p.d)
        .param("bk", p.bk)
        .param("bq", p.bq)
        .param("q_width", p.q_width)
        .param("max_keys", p.max_keys)
        .param("score_width", p.score_bits())
        .param("prob_width", p.prob_width)
        .param("acc_width", p.acc_width())
        .param("out_width", p.out_width)
        .param("out_frac", p.out_frac);
}

/// One mesh column's result from its two lane sums: `16 · hi + lo`, sign-extended to `width`.
fn widen(mesh: &SystolicParams, name: &str, width: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new(name);
    m.block(BLOCK).param("psum_width", mesh.psum_width()).param("width", width);
    let pw = mesh.psum_width();
    let lanes = m.input("lanes_i", 2 * pw);
    m.section("A column's result from its two lane sums: 16 * hi + lo.");
    let lo = lanes.slice(pw - 1, 0).named("lo_lane").as_signed().resize(width).named("lo_wide");
    let hi = lanes.slice(2 * pw - 1, pw).named("hi_lane").as_signed().resize(width).named("hi_wide");
    m.output("value_o", &hi.shl(4).add(&lo).as_unsigned());
    m.finish()
}

/// A probability as a signed activation of the output mesh: one more bit, always positive.
fn prob_slot(p: &SpatialAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_attention_prob_slot");
    m.block(BLOCK).param("prob_width", p.prob_width);
    let prob = m.input("prob_i", p.prob_width);
    m.output("act_o", &prob.zext(p.prob_width + 1));
    m.finish()
}

/// One output accumulator: `P·V` on a row's first block, else `(old >>> shift) + P·V`.
fn acc_cell(p: &SpatialAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_attention_acc");
    m.block(BLOCK).param("acc_width", p.acc_width()).param("pv_width", p.pv_width());
    let aw = p.acc_width();
    let old = m.input("old_i", aw);
    let pv = m.input("pv_i", p.pv_width());
    let shift = m.input("shift_i", p.softmax().shift_width());
    let first = m.input("first_i", 1);
    m.section("The old accumulator, moved to the row's new maximum (zero on its first block), plus P.V.");
    let kept = old.as_signed().sra_by(&shift).named("rescaled");
    let base = first.mux(&kept.lit(0), &kept);
    m.output("sum_o", &base.add(&pv.as_signed().resize(aw)).as_unsigned());
    m.finish()
}

/// The output normalisation of an attention lane, shared by the SAE and the TAE: accumulators
/// of `acc_width` bits, `1/l` from `softmax`, outputs of `out_width` bits with `out_frac`
/// fraction bits.
#[derive(Debug, Clone)]
pub struct Norm {
    /// Bits of a signed output accumulator.
    pub acc_width: u32,
    /// The row unit that gives `1/l`.
    pub softmax: OnlineSoftmaxParams,
    /// Bits of an output element.
    pub out_width: u32,
    /// Fraction bits of an output element.
    pub out_frac: u32,
}

impl Norm {
    /// The SAE lane's normalisation.
    pub fn of(p: &SpatialAttentionParams) -> Self {
        Norm { acc_width: p.acc_width(), softmax: p.softmax(), out_width: p.out_width, out_frac: p.out_frac }
    }

    /// Bits of the normalisation shift `prob_width + recip_frac + inv_exp - out_frac - 1`.
    pub fn shift_bits(&self) -> u32 {
        let sp = &self.softmax;
        value_bits(u64::from(sp.prob_width + sp.recip_frac() + sp.sum_width()))
    }

    /// `vdx_attention_norm`, one output element: `o · inv_l` shifted right by `shift_i + 1`,
    /// rounded half up, saturated.
    pub fn cell(&self) -> Result<Module, HdlError> {
        let m = ModuleBuilder::new("vdx_attention_norm");
        let (aw, rw, ow) = (self.acc_width, self.softmax.recip_frac() + 1, self.out_width);
        m.block(BLOCK).param("acc_width", aw).param("inv_width", rw).param("out_width", ow);
        let o = m.input("acc_i", aw);
        let inv = m.input("inv_l_i", rw);
        let shift = m.input("shift_i", self.shift_bits());
        m.section("o * inv_l >> (shift_i + 1), rounded half up, saturated to the output width.");
        let pw = aw + rw + 1;
        let factor = inv.zext(rw + 1).named("factor").as_signed();
        let product = o.as_signed().mul(&factor, pw).named("product");
        let half = product.sra_by(&shift).named("half_units");
        let rounded = half.add(&half.lit(1)).named("half_up").sra(1).named("rounded");
        let top = (1u64 << (ow - 1)) - 1;
        let mask = if pw == 64 { u64::MAX } else { (1u64 << pw) - 1 };
        let (hi, lo) = (rounded.lit(top), rounded.lit(!top & mask));
        let sat = rounded.gt(&hi).mux(&hi, &rounded.lt(&lo).mux(&lo, &rounded)).named("saturated");
        m.output("out_o", &sat.slice(ow - 1, 0));
        m.finish()
    }

    /// The cell's `shift_i` for a row's `inv_exp` (signed, `exp_width` bits).
    pub fn shift(&self, m: &ModuleBuilder, inv_exp: &Signal) -> Signal {
        let (sp, shb) = (&self.softmax, self.shift_bits());
        let bias = i64::from(sp.prob_width + sp.recip_frac()) - i64::from(self.out_frac) - 1;
        let sum = inv_exp
            .as_signed()
            .resize(shb + 1)
            .add(&m.lit(bias as u64, shb + 1).as_signed())
            .named("norm_shift_sum");
        sum.as_unsigned().slice(shb - 1, 0).named("norm_shift")
    }
}

/// The weight loader of one mesh (the `systolic_ws` protocol): `rows` beats per block, the
/// deepest mesh row first; a block may start `cols - 1` cycles after a switch, while no loaded
/// block waits, and when `start` is high.
struct Loader {
    /// The loader would take a beat (the source's ready).
    ready: Signal,
    /// A beat is taken this cycle.
    fire: Signal,
    /// The beat taken is the block's last.
    loaded: Signal,
    /// Mesh rows that shift their shadow weights (registered).
    shift: Signal,
    /// A loaded block waits for its switch.
    have_next: Signal,
}

struct LoaderIo<'a> {
    /// Loads may happen at all.
    allow: &'a Signal,
    /// A block's first beat may be taken.
    start: &'a Signal,
    /// The source offers a beat.
    valid: &'a Signal,
    /// The mesh switches to the loaded block (at its issue stage).
    switch: &'a Signal,
}

fn loader(m: &ModuleBuilder, name: &str, mesh: &SystolicParams, io: LoaderIo<'_>) -> Loader {
    let (rows, cols) = (mesh.rows, mesh.cols);
    let have_next = m.reg(&format!("{name}_have_next"), 1, Reset::Zero);
    let guard = m.reg(&format!("{name}_guard"), index_bits(u64::from(cols)), Reset::Zero);
    let beat = m.reg(&format!("{name}_beat"), index_bits(u64::from(rows)), Reset::Zero);
    let begin = guard.eq(&guard.lit(0)).and(io.start);
    let ready = io
        .allow
        .and(&have_next.not())
        .and(&beat.ne(&beat.lit(0)).or(&begin))
        .named(&format!("{name}_may_load"));
    let fire = ready.and(io.valid).named(&format!("{name}_fire"));
    let last = beat.eq(&beat.lit(u64::from(rows - 1))).named(&format!("{name}_last_beat"));
    let loaded = fire.and(&last).named(&format!("{name}_loaded"));
    m.next_when(&beat, &fire, &last.mux(&beat.lit(0), &beat.add(&beat.lit(1))));
    let plus_one = beat.zext(beat.width() + 1).add(&m.lit(1, beat.width() + 1));
    let reached = below(m, &plus_one, rows).named(&format!("{name}_rows_reached"));
    let shift = m.reg(&format!("{name}_shift"), rows, Reset::Zero);
    m.next(&shift, &fire.repeat(rows).and(&reached));
    m.next_when(&have_next, &loaded.or(io.switch), &loaded);
    let start = guard.lit(u64::from(cols.saturating_sub(2)));
    let idle = guard.eq(&guard.lit(0));
    m.next(&guard, &io.switch.mux(&start, &idle.mux(&guard, &guard.sub(&guard.lit(1)))));
    Loader { ready, fire, loaded, shift, have_next }
}

/// Raw 8-bit weights of a beat as the mesh's stored weight slots (`{0, byte}`: W8A8).
fn slots(m: &ModuleBuilder, name: &str, mesh: &SystolicParams, raw: &Signal) -> Result<Signal, HdlError> {
    let cell = weight_slot(mesh)?;
    let conns = [
        ("raw_i", Conn::Each(raw.clone())),
        ("valid4_i", Conn::All(m.lit(3, 2))),
        ("valid8_i", Conn::All(m.lit(1, 1))),
        ("w4_i", Conn::All(m.lit(0, 1))),
    ];
    Ok(m.instance_array(name, &cell, mesh.cols, &conns).output("slot_o"))
}

/// `a + b` for unsigned `a`, `b` in `width` bits.
fn add_wide(a: &Signal, b: &Signal, width: u32) -> Signal {
    a.zext(width).add(&b.zext(width))
}

/// Builds one lane. See the block docs for the protocol.
pub fn lane(p: &SpatialAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_attention_lane");
    header(&m, p);
    let (sp, vp, smp) = (p.score_mesh(), p.value_mesh(), p.softmax());
    let (d, bk, qw, ow) = (p.d, p.bk, p.q_width, p.out_width);
    let (rb, kb) = (p.rows_bits(), p.key_bits());
    let pos = kb + 2; // positions and limits up to 2 · max_keys
    let ring = p.ring_rows();
    let ab = index_bits(ring);
    let cb = value_bits(p.bq); // a tile's row count
    let ub = value_bits(ring);
    let kv = super::KV_WIDTH;

    let cmd_ty = StreamType::new(&[("rows", rb), ("len", kb), ("causal", 1), ("q_pos", kb)]);
    let cmd = m.sink("cmd", &cmd_ty);
    let q_in = m.sink("q", &StreamType::data(d * qw));
    let k_in = m.sink("k", &StreamType::data(bk * kv));
    let v_in = m.sink("v", &StreamType::data(d * kv));
    let out_ty = StreamType::new(&[("data", d * ow), ("last", 1)]);
    let out = m.source("out", &out_ty);
    let switch = m.wire("block_switch", 1);

    m.section(
        "Command: accepted when the key loader is idle; the loader walks the command's key blocks\n\
         (limit = len, or min(len, q_pos + rows) when causal).",
    );
    let busy = m.reg("busy", 1, Reset::Zero);
    let cmd_fire = cmd.valid().and(&busy.not()).named("cmd_fire");
    let c_rows = m.reg("cmd_rows", cb, Reset::Zero);
    let c_len = m.reg("cmd_len", pos, Reset::Zero);
    let c_causal = m.reg("cmd_causal", 1, Reset::Zero);
    let c_q_pos = m.reg("cmd_q_pos", pos, Reset::Zero);
    let c_limit = m.reg("cmd_limit", pos, Reset::Zero);
    let rows_in = add_wide(&cmd.field("rows"), &m.lit(1, 1), cb).named("rows_in");
    let len_in = add_wide(&cmd.field("len"), &m.lit(1, 1), pos).named("len_in");
    let q_pos_in = cmd.field("q_pos").zext(pos).named("q_pos_in");
    let causal_end = q_pos_in.add(&rows_in.zext(pos)).named("causal_end");
    let causal_in = cmd.field("causal");
    let limit_in = causal_in.and(&causal_end.lt(&len_in)).mux(&causal_end, &len_in).named("limit_in");
    m.next_when(&c_rows, &cmd_fire, &rows_in);
    m.next_when(&c_len, &cmd_fire, &len_in);
    m.next_when(&c_causal, &cmd_fire, &causal_in);
    m.next_when(&c_q_pos, &cmd_fire, &q_pos_in);
    m.next_when(&c_limit, &cmd_fire, &limit_in);

    m.section("Key loader: d beats per block into the score mesh's shadow weights.");
    let one = m.lit(1, 1);
    let k_valid = k_in.valid();
    let kl = loader(&m, "key", &sp, LoaderIo { allow: &busy, start: &one, valid: &k_valid, switch: &switch });
    let key_base = m.reg("key_base", pos, Reset::Zero);
    let block_end = key_base.add(&key_base.lit(u64::from(bk))).named("block_end");
    let last_block = block_end.ge(&c_limit).named("last_block");
    m.next_when(&key_base, &cmd_fire.or(&kl.loaded), &cmd_fire.mux(&key_base.lit(0), &block_end));
    m.next_when(&busy, &cmd_fire.or(&kl.loaded.and(&last_block)), &cmd_fire);
    let k_top = m.reg("key_top", bk * sp.stored_weight_width(), Reset::Zero);
    let k_slots = slots(&m, "u_key_slot", &sp, &k_in.data())?;
    m.next_when(&k_top, &kl.fire, &k_slots);

    m.section("The loaded block's descriptor waits in next_* until the issue side switches to it.");
    let desc: Vec<(&str, Signal)> = vec![
        ("rows", c_rows.clone()),
        ("first", key_base.eq(&key_base.lit(0))),
        ("last", last_block.clone()),
        ("key_base", key_base.clone()),
        ("len", c_len.clone()),
        ("causal", c_causal.clone()),
        ("q_pos", c_q_pos.clone()),
    ];
    let mut cur = std::collections::BTreeMap::new();
    for (name, value) in &desc {
        let next = m.reg(&format!("next_{name}"), value.width(), Reset::Zero);
        m.next_when(&next, &kl.loaded, value);
        let now = m.reg(&format!("cur_{name}"), value.width(), Reset::Zero);
        m.next_when(&now, &switch, &next);
        cur.insert(*name, now);
    }
    let (cur_rows, cur_first, cur_last) = (cur["rows"].clone(), cur["first"].clone(), cur["last"].clone());

    m.section(
        "Value staging: two blocks of value rows; a block counts once all its rows are in, and a\n\
         switch claims one.",
    );
    let depth = p.stage_rows();
    let sb = index_bits(depth);
    let stage = m.memory("value_stage", d * kv, depth);
    let v_wr = m.reg("stage_wr", sb, Reset::Zero);
    let v_rd = m.reg("stage_rd", sb, Reset::Zero);
    let v_count = m.reg("stage_count", value_bits(depth), Reset::Zero);
    let v_ready = v_count.lt(&v_count.lit(depth)).named("stage_room");
    let v_push = v_in.valid().and(&v_ready).named("stage_push");
    stage.write(&v_push, &v_wr, &v_in.data());
    m.next_when(&v_wr, &v_push, &v_wr.add(&v_wr.lit(1)));
    let v_beat_in = m.reg("stage_beat", index_bits(u64::from(bk)), Reset::Zero);
    let v_in_last = v_beat_in.eq(&v_beat_in.lit(u64::from(bk - 1))).named("stage_block_in");
    m.next_when(&v_beat_in, &v_push, &v_in_last.mux(&v_beat_in.lit(0), &v_beat_in.add(&v_beat_in.lit(1))));
    let blocks_bits = value_bits(depth / u64::from(bk) + 1);
    let v_blocks = m.reg("stage_blocks", blocks_bits, Reset::Zero);
    count_up_down(&m, "stage_blocks", &v_blocks, &v_push.and(&v_in_last).named("stage_block_done"), &switch);

    m.section(
        "Value loader: a whole staged block, bk beats in a row, into the output mesh's shadow\n\
         weights once the output mesh has switched to the previous one.",
    );
    let pv_switch = m.wire("value_switch", 1);
    let whole = v_count.ge(&v_count.lit(u64::from(bk))).named("stage_has_block");
    let vl =
        loader(&m, "value", &vp, LoaderIo { allow: &one, start: &whole, valid: &one, switch: &pv_switch });
    let v_raw = stage.read(&vl.fire, &v_rd);
    m.next_when(&v_rd, &vl.fire, &v_rd.add(&v_rd.lit(1)));
    count_up_down(&m, "stage_count", &v_count, &v_push, &vl.fire);
    let v_slots = slots(&m, "u_value_slot", &vp, &v_raw)?;

    m.section(
        "Query ring: 2 * bq rows. The current tile's rows are the oldest held; they are released\n\
         when the tile's last block has issued its last row. Tiles take rows of the query ring and\n\
         of the output ring in the same order, so one base (tile_base) addresses both.",
    );
    let q_mem = m.memory("query_ring", d * qw, ring);
    let q_wr = m.reg("query_wr", ab, Reset::Zero);
    let q_held = m.reg("query_held", ub, Reset::Zero);
    let tile_base = m.reg("tile_base", ab, Reset::Zero);
    let q_ready = q_held.lt(&q_held.lit(ring)).named("query_room");
    let q_push = q_in.valid().and(&q_ready).named("query_push");
    q_mem.write(&q_push, &q_wr, &q_in.data());
    m.next_when(&q_wr, &q_push, &q_wr.add(&q_wr.lit(1)));

    m.section(
        "Issue: the current block's query rows, one per cycle. The last row carries the switch\n\
         when the next key block is loaded and its values are staged; ring_space holds a tile's\n\
         first block until its output rows are free.",
    );
    let active = m.reg("active", 1, Reset::Zero);
    let row = m.reg("row", cb, Reset::Zero);
    let cool = m.reg("cool", 1, Reset::Zero);
    let o_used = m.reg("out_used", ub, Reset::Zero);
    let rd_issue = m.wire("read_issue", 1);
    let next_ok = kl.have_next.and(&v_blocks.ne(&v_blocks.lit(0))).named("next_ready");
    let row_next = add_wide(&row, &m.lit(1, 1), cb + 1).named("row_next");
    let at_last = row_next.eq(&cur_rows.zext(cb + 1)).named("at_last");
    let have_q = row.zext(ub.max(cb)).lt(&q_held.zext(ub.max(cb))).named("query_here");
    let space = cur_first.not().or(&o_used.lt(&o_used.lit(ring))).named("ring_space");
    let nothing_next = busy.not().and(&kl.have_next.not());
    let row_fire = active
        .and(&cool.not())
        .and(&space)
        .and(&have_q)
        .and(&at_last.not().or(&next_ok).or(&nothing_next))
        .named("row_fire");
    let sw_row = row_fire.and(&at_last).and(&next_ok);
    let sw_alone = active.not().and(&next_ok).and(&cool.not());
    m.drive(&switch, &sw_row.or(&sw_alone).named("switch_now"));
    let block_done = row_fire.and(&at_last).named("block_done");
    let tile_end = block_done.and(&cur_last).named("tile_end");
    m.next_when(&active, &switch.or(&block_done), &switch);
    m.next_when(&row, &switch.or(&row_fire), &switch.mux(&row.lit(0), &row_next.slice(cb - 1, 0)));
    m.next(&cool, &block_done.and(&cur_rows.eq(&cur_rows.lit(1))));
    let released = tile_end.mux(&cur_rows.zext(ub), &m.lit(0, ub));
    m.next(&q_held, &q_held.add(&q_push.zext(ub)).sub(&released));
    m.next_when(&tile_base, &tile_end, &tile_base.add(&cur_rows.resize(ab)));
    count_up_down(&m, "out_used", &o_used, &row_fire.and(&cur_first).named("ring_alloc"), &rd_issue);
    let addr = tile_base.add(&row.resize(ab)).named("row_addr");
    let q_row = q_mem.read(&row_fire, &addr);

    m.section("Keys that count for this row in this block: min(bk, limit - key_base), at least 0.");
    let row_pos = add_wide(&cur["q_pos"], &row_next, pos).named("row_pos");
    let (len, base) = (&cur["len"], &cur["key_base"]);
    let limit = cur["causal"].and(&row_pos.lt(len)).mux(&row_pos, len).named("row_limit");
    let seen = limit.gt(base).mux(&limit.sub(base), &limit.lit(0)).named("keys_seen");
    let nb = value_bits(u64::from(bk));
    let cap = seen.lit(u64::from(bk));
    let keep_n = seen.gt(&cap).mux(&cap, &seen).named("keys_capped").resize(nb).named("keys_kept");

    m.section(
        "Issue stage: the query row (ring read), the switch pulse and the control word\n\
         {keep count, tile end, last, first, row, ring address, valid, switch}.",
    );
    let sw_q = m.reg("switch_issue", 1, Reset::Zero);
    m.next(&sw_q, &switch);
    let ctl = cat(&[&keep_n, &tile_end, &cur_last, &cur_first, &row.resize(rb), &addr, &row_fire, &switch]);
    let ctl_q = m.reg("ctl", ctl.width(), Reset::Zero);
    m.next(&ctl_q, &ctl);

    m.section("Score mesh: the scores of the row issued d + bk cycles ago (with its control word).");
    let score_mesh = array(&sp)?;
    let scores_raw = m
        .instance(
            "u_score",
            &score_mesh,
            &[("a_i", &q_row), ("sw_i", &sw_q), ("shadow_i", &k_top), ("shadow_en_i", &kl.shift)],
        )
        .output("bottom_o");
    let widen_s = widen(&sp, "vdx_attention_score_widen", p.score_bits())?;
    let scores = m.instance_array("u_score_widen", &widen_s, bk, &[("lanes_i", Conn::Each(scores_raw))]);
    let ctl_cell = delay_cell(BLOCK, "vdx_attention_ctl_stage", ctl.width())?;
    let ctl_s = delay_line(&m, "score_ctl", &ctl_cell, &ctl_q, d + bk);
    let mut at = 0;
    let mut field = |w: u32, name: &str| {
        let f = ctl_s.slice(at + w - 1, at).named(name);
        at += w;
        f
    };
    let s_sw = field(1, "score_switch");
    let s_valid = field(1, "score_valid");
    let s_addr = field(ab, "score_addr");
    let s_row = field(rb, "score_row");
    let s_first = field(1, "score_first");
    let s_last = field(1, "score_last");
    let s_end = field(1, "score_end");
    let s_keep = field(nb, "score_keep_count");

    m.section("Row unit: probabilities, rescale and 1/l; it never waits (out_ready_i is 1).");
    let softmax = crate::blocks::softmax::rtl::build(&smp)?;
    let sm_in_ty = StreamType::new(&[
        ("score", bk * smp.score_width),
        ("keep", bk),
        ("row", smp.row_bits()),
        ("first", 1),
        ("last", 1),
    ]);
    let keep = below(&m, &s_keep, bk).named("score_keep");
    let sm_in = Stream::from_fields(
        &sm_in_ty,
        &s_valid,
        &[
            ("score", &scores.output("value_o")),
            ("keep", &keep),
            ("row", &s_row.resize(smp.row_bits())),
            ("first", &s_first),
            ("last", &s_last),
        ],
    );
    let sm = m.instance_streams(
        "u_softmax",
        &softmax,
        &[],
        &[("in", StreamConn::Feed(&sm_in)), ("out", StreamConn::Ready(&one))],
    );
    let sm_out = sm.stream("out");
    let side = cat(&[&s_end, &s_addr, &s_sw]);
    let side_cell = delay_cell(BLOCK, "vdx_attention_side_stage", side.width())?;
    let side_d = delay_line(&m, "side", &side_cell, &side, SOFTMAX_STAGES);
    let p_sw = side_d.bit(0).named("prob_switch");
    let p_addr = side_d.slice(ab, 1).named("prob_addr");
    let p_end = side_d.bit(ab + 1).named("prob_end");
    m.drive(&pv_switch, &p_sw);
    let p_valid = sm_out.valid().clone();

    m.section("1/l of each finished row, kept beside the output ring until the reader takes it.");
    let sr = smp.recip_frac() + 1;
    let norm_w = sr + smp.inv_exp_width();
    let norm_mem = m.memory("norm", norm_w, ring);
    let inv = cat(&[&sm_out.field("inv_exp"), &sm_out.field("inv_l")]);
    norm_mem.write(&p_valid.and(&sm_out.field("last")).named("norm_write"), &p_addr, &inv);

    m.section(
        "Output mesh issue: the probability row, the switch pulse and the control word\n\
         {shift, tile end, last, first, ring address, valid}.",
    );
    let prob_cell = prob_slot(p)?;
    let acts =
        m.instance_array("u_prob_slot", &prob_cell, bk, &[("prob_i", Conn::Each(sm_out.field("prob")))]);
    let pv_act = m.reg("value_act", bk * (p.prob_width + 1), Reset::Zero);
    m.next(&pv_act, &acts.output("act_o"));
    let pv_sw = m.reg("value_switch_issue", 1, Reset::Zero);
    m.next(&pv_sw, &p_sw);
    let sh = sm_out.field("shift");
    let pctl = cat(&[&sh, &p_end, &sm_out.field("last"), &sm_out.field("first"), &p_addr, &p_valid]);
    let pctl_q = m.reg("value_ctl", pctl.width(), Reset::Zero);
    m.next(&pctl_q, &pctl);

    m.section(
        "Output mesh and accumulator ring: the P.V row of an issue arrives bk + d cycles later; the\n\
         ring row is read one cycle earlier (value_ctl_pre) and written back rescaled plus P.V.",
    );
    let value_mesh = array(&vp)?;
    let pv_raw = m
        .instance(
            "u_value",
            &value_mesh,
            &[("a_i", &pv_act), ("sw_i", &pv_sw), ("shadow_i", &v_slots), ("shadow_en_i", &vl.shift)],
        )
        .output("bottom_o");
    let widen_v = widen(&vp, "vdx_attention_value_widen", p.pv_width())?;
    let pv = m.instance_array("u_value_widen", &widen_v, d, &[("lanes_i", Conn::Each(pv_raw))]);
    let pctl_cell = delay_cell(BLOCK, "vdx_attention_value_ctl_stage", pctl.width())?;
    let pre = delay_line(&m, "value_ctl", &pctl_cell, &pctl_q, bk + d - 1).named("value_ctl_pre");
    let post = m.reg("value_ctl_bottom", pctl.width(), Reset::Zero);
    m.next(&post, &pre);
    let pf = |c: &Signal, at: u32, name: &str| c.bit(at).named(name);
    let (pre_valid, pre_first) = (pf(&pre, 0, "pre_valid"), pf(&pre, ab + 1, "pre_first"));
    let (b_valid, b_first, b_last, b_end) = (
        pf(&post, 0, "bottom_valid"),
        pf(&post, ab + 1, "bottom_first"),
        pf(&post, ab + 2, "bottom_last"),
        pf(&post, ab + 3, "bottom_end"),
    );
    let b_shift = post.slice(pctl.width() - 1, ab + 4).named("bottom_shift");
    let aw = p.acc_width();
    let o_mem = m.memory("out_ring", d * aw + 1, ring);
    let old = o_mem.read(&pre_valid.and(&pre_first.not()), &pre.slice(ab, 1).named("ring_read_addr"));
    let acc = acc_cell(p)?;
    let sums = m
        .instance_array(
            "u_acc",
            &acc,
            d,
            &[
                ("old_i", Conn::Each(old.slice(d * aw - 1, 0).named("ring_old"))),
                ("pv_i", Conn::Each(pv.output("value_o"))),
                ("shift_i", Conn::All(b_shift)),
                ("first_i", Conn::All(b_first)),
            ],
        )
        .output("sum_o");
    o_mem.write(&b_valid, &post.slice(ab, 1).named("ring_write_addr"), &b_end.concat(&sums));
    let final_write = b_valid.and(&b_last).named("final_write");

    m.section(
        "Reader: finished rows in ring order, while the output queue has room for every read in\n\
         flight; each is multiplied by its 1/l.",
    );
    let avail = m.reg("ready_rows", ub, Reset::Zero);
    let rd_ptr = m.reg("read_ptr", ab, Reset::Zero);
    let qdepth = 4u32;
    let outstanding = m.reg("out_outstanding", value_bits(u64::from(qdepth)), Reset::Zero);
    let issue =
        avail.ne(&avail.lit(0)).and(&outstanding.lt(&outstanding.lit(u64::from(qdepth)))).named("read_now");
    m.drive(&rd_issue, &issue);
    count_up_down(&m, "ready_rows", &avail, &final_write, &issue);
    m.next_when(&rd_ptr, &issue, &rd_ptr.add(&rd_ptr.lit(1)));
    let row_out = o_mem.read(&issue, &rd_ptr);
    let inv_out = norm_mem.read(&issue, &rd_ptr);
    let read_valid = m.reg("read_valid", 1, Reset::Zero);
    m.next(&read_valid, &issue);
    let inv_l = inv_out.slice(sr - 1, 0).named("read_inv_l");
    let inv_exp = inv_out.slice(norm_w - 1, sr).named("read_inv_exp");
    let norm_unit = Norm::of(p);
    let norm_shift = norm_unit.shift(&m, &inv_exp);
    let norm = norm_unit.cell()?;
    let normed = m.instance_array(
        "u_norm",
        &norm,
        d,
        &[
            ("acc_i", Conn::Each(row_out.slice(d * aw - 1, 0).named("read_acc"))),
            ("inv_l_i", Conn::All(inv_l)),
            ("shift_i", Conn::All(norm_shift)),
        ],
    );
    let out_v = m.reg("out_stage_valid", 1, Reset::Zero);
    m.next(&out_v, &read_valid);
    let out_d = m.reg("out_stage_data", d * ow + 1, Reset::Zero);
    m.next_when(&out_d, &read_valid, &row_out.bit(d * aw).concat(&normed.output("out_o")));
    m.section("Output queue of {last, data} rows.");
    let pop = m.wire("out_pop", 1);
    let oq = queue(&m, "out_queue", qdepth, &out_v, &out_d, &pop);
    m.drive(&pop, &oq.valid.and(&out.ready()));
    count_up_down(&m, "out_outstanding", &outstanding, &issue, &pop);

    cmd.drive_ready(&busy.not());
    q_in.drive_ready(&q_ready);
    k_in.drive_ready(&kl.ready);
    v_in.drive_ready(&v_ready);
    out.drive(&Stream::new(&out_ty, &oq.valid, &oq.data));
    m.finish()
}

/// Builds `vdx_spatial_attention`: `lanes` lanes in a generate loop, every stream's payload
/// split by lane; the lanes run in lockstep (same commands, same stream timing), so each ready
/// and valid is the AND over the lanes.
pub fn build(p: &SpatialAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_spatial_attention");
    header(&m, p);
    m.param("lanes", p.lanes);
    let lane = lane(p)?;
    let n = p.lanes;
    let (d, bk, qw, kv, ow) = (p.d, p.bk, p.q_width, super::KV_WIDTH, p.out_width);
    let cmd_ty = StreamType::new(&[
        ("rows", p.rows_bits()),
        ("len", p.key_bits()),
        ("causal", 1),
        ("q_pos", p.key_bits()),
    ]);
    let cmd = m.sink("cmd", &cmd_ty);
    let q_in = m.sink("q", &StreamType::data(n * d * qw));
    let k_in = m.sink("k", &StreamType::data(n * bk * kv));
    let v_in = m.sink("v", &StreamType::data(n * d * kv));
    let out_ty = StreamType::new(&[("data", n * d * ow), ("last", 1)]);
    let out = m.source("out", &out_ty);
    m.section("Lanes: one head each, every control input shared.");
    let lanes = m.instance_array(
        "u_lane",
        &lane,
        n,
        &[
            ("cmd_valid_i", Conn::All(cmd.valid())),
            ("cmd_rows_i", Conn::All(cmd.field("rows"))),
            ("cmd_len_i", Conn::All(cmd.field("len"))),
            ("cmd_causal_i", Conn::All(cmd.field("causal"))),
            ("cmd_q_pos_i", Conn::All(cmd.field("q_pos"))),
            ("q_valid_i", Conn::All(q_in.valid())),
            ("q_data_i", Conn::Each(q_in.data())),
            ("k_valid_i", Conn::All(k_in.valid())),
            ("k_data_i", Conn::Each(k_in.data())),
            ("v_valid_i", Conn::All(v_in.valid())),
            ("v_data_i", Conn::Each(v_in.data())),
            ("out_ready_i", Conn::All(out.ready())),
        ],
    );
    m.section(
        "The lanes see the same commands and stream timing, so each is ready (or valid) exactly\n\
         when all are: the AND over the lanes.",
    );
    let all = |port: &str| lanes.output(port).reduce_and().named(&format!("{port}_all"));
    cmd.drive_ready(&all("cmd_ready_o"));
    q_in.drive_ready(&all("q_ready_o"));
    k_in.drive_ready(&all("k_ready_o"));
    v_in.drive_ready(&all("v_ready_o"));
    m.section("Output rows: every lane's row side by side, lane 0 in the low bits.");
    let last = all("out_last_o");
    out.drive(&Stream::from_fields(
        &out_ty,
        &all("out_valid_o"),
        &[("data", &lanes.output("out_data_o")), ("last", &last)],
    ));
    m.finish()
}
