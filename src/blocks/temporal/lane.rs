//! Builder of `vdx_tae_lane`: one position's attention across frames, one (query, key) pair
//! per cycle. See the block docs for what a lane does; the ports are:
//!
//! | port | width | meaning |
//! |---|---|---|
//! | `load_valid_i` | 1 | write one row of Q, K or V |
//! | `load_tensor_i` | 2 | 0: Q, 1: K, 2: V |
//! | `load_addr_i` | log2 `2·t_max` | `slot · t_max + frame` |
//! | `load_data_i` | `d · 8` | the row (element `c` in bits `[8c +: 8]`) |
//! | `job_valid_i`, `job_ready_o` | 1, 1 | compute the job in `job_slot_i` with its mask |
//! | `job_frames_i`, `job_causal_i`, `job_window_i`, `job_skip_i` | | `T − 1` and the mask |
//! | `out_valid_o`, `out_ready_i`, `out_data_o` | 1, 1, `d · out_width` | one output row |
//! | `out_frame_o`, `out_job_last_o` | log2 `t_max`, 1 | its query frame; the job's last row |
//! | `release_o` | 1 | the last job's slot will not be read again |

use super::{DATA_WIDTH, TemporalAttentionParams};
use crate::blocks::BlockParams;
use crate::blocks::systolic::rtl::{count_up_down, queue};
use crate::hdl::{
    Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamConn, StreamType, cat, value_bits,
};

const BLOCK: &str = <TemporalAttentionParams as BlockParams>::BLOCK;

/// Cycles from a pair's issue to its score at the collector: memory read, products, sum.
pub const SCORE_STAGES: u64 = 3;

/// Cycles from an output pair's issue to its accumulator: memory read, products, sum.
pub const VALUE_STAGES: u64 = 3;

/// The key mask of query row `row`: bit `j` set when key frame `j` counts.
fn row_mask(m: &ModuleBuilder, t_max: u32, regs: &MaskRegs, row: &Signal) -> Signal {
    let fb = row.width();
    let wide = regs.window.width().max(fb) + 1;
    let (w, i) = (regs.window.zext(wide).named("window_ext"), row.zext(wide).named("row_ext"));
    let no_window = regs.window.eq(&regs.window.lit(0)).named("no_window");
    let bits: Vec<Signal> = (0..t_max)
        .rev()
        .map(|j| {
            let jl = m.lit(u64::from(j), fb);
            let jw = m.lit(u64::from(j), wide);
            let (inside, causal_ok) = if j == 0 {
                (m.lit(1, 1), m.lit(1, 1))
            } else {
                (jl.le(&regs.frames), regs.causal.not().or(&jl.le(row)))
            };
            let kept = regs.skip.bit(j).not();
            let after = jw.add(&w).gt(&i);
            let before = regs.causal.or(&i.add(&w).gt(&jw));
            let window_ok = no_window.or(&after.and(&before)).named(&format!("key_in_window{j}"));
            let seen = inside.and(&kept).and(&causal_ok).named(&format!("key_seen{j}"));
            seen.and(&window_ok).named(&format!("key_counts{j}"))
        })
        .collect();
    cat(&bits.iter().collect::<Vec<_>>()).named("row_mask")
}

struct MaskRegs {
    frames: Signal,
    causal: Signal,
    window: Signal,
    skip: Signal,
}

/// The lowest set bit of `bits`: `(one_hot, index)`.
fn lowest(m: &ModuleBuilder, name: &str, bits: &Signal, index_width: u32) -> (Signal, Signal) {
    let one_hot = bits.and(&bits.not().add(&bits.lit(1))).named(&format!("{name}_one_hot"));
    let mut index = m.lit(0, index_width);
    for j in 1..bits.width() {
        let term = one_hot.bit(j).repeat(index_width).and(&m.lit(u64::from(j), index_width));
        index = index.or(&term).named(&format!("{name}_index_upto{j}"));
    }
    (one_hot, index.named(&format!("{name}_index")))
}

/// Consecutive fields of a packed signal, lowest first.
struct Fields {
    src: Signal,
    at: u32,
}

impl Fields {
    fn new(src: &Signal) -> Self {
        Fields { src: src.clone(), at: 0 }
    }

    fn take(&mut self, width: u32, name: &str) -> Signal {
        let f = self.src.slice(self.at + width - 1, self.at).named(name);
        self.at += width;
        f
    }
}

/// Signed element `c` of a row of `width`-bit elements.
fn element(row: &Signal, c: u32, width: u32, name: &str) -> Signal {
    row.slice((c + 1) * width - 1, c * width).as_signed().named(&format!("{name}{c}"))
}

/// The sum of signed `terms`, each extended to `width`, as a balanced tree.
fn sum_tree(terms: Vec<Signal>, width: u32, name: &str) -> Signal {
    let mut level: Vec<Signal> = terms.into_iter().map(|t| t.resize(width)).collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(2)
            .enumerate()
            .map(|(k, c)| {
                if c.len() == 2 {
                    c[0].add(&c[1]).named(&format!("{name}_l{depth}_{k}"))
                } else {
                    c[0].clone()
                }
            })
            .collect();
    }
    level.pop().expect("at least one term")
}

/// Builds one lane.
pub fn lane(p: &TemporalAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_tae_lane");
    m.block(BLOCK)
        .param("t_max", p.t_max)
        .param("d", p.d)
        .param("prob_width", p.prob_width)
        .param("out_width", p.out_width)
        .param("out_frac", p.out_frac)
        .param("rows_in_flight", p.rows_in_flight);
    let (t, d, fb, ow) = (p.t_max, p.d, p.frame_bits(), p.out_width);
    let (ab, ww, sw, pw) = (fb + 1, d * DATA_WIDTH, p.score_width(), p.prob_width);
    let smp = p.softmax();
    let load_valid = m.input("load_valid_i", 1);
    let load_tensor = m.input("load_tensor_i", 2);
    let load_addr = m.input("load_addr_i", ab);
    let load_data = m.input("load_data_i", ww);
    let job_ty = StreamType::new(&[
        ("slot", 1),
        ("frames", fb),
        ("causal", 1),
        ("window", p.window_bits()),
        ("skip", t),
    ]);
    let job = m.sink("job", &job_ty);
    let out_ty = StreamType::new(&[("data", d * ow), ("frame", fb), ("job_last", 1)]);
    let out = m.source("out", &out_ty);

    m.section("Q, K and V of two jobs: the loader fills one slot while the other computes.");
    let mems: Vec<_> = ["q", "k", "v"].iter().map(|n| m.memory(n, ww, u64::from(2 * t))).collect();
    for (x, mem) in mems.iter().enumerate() {
        let en = load_valid
            .and(&load_tensor.eq(&load_tensor.lit(x as u64)))
            .named(&format!("load_{}", ["q", "k", "v"][x]));
        mem.write(&en, &load_addr, &load_data);
    }

    m.section(
        "Score sequencer: per query row, the kept keys in order, one per cycle; a row with none\n\
         takes one cycle. A row starts only while fewer than rows_in_flight rows await output.",
    );
    let busy = m.reg("busy", 1, Reset::Zero);
    let slot = m.reg("slot", 1, Reset::Zero);
    let regs = MaskRegs {
        frames: m.reg("frames", fb, Reset::Zero),
        causal: m.reg("causal", 1, Reset::Zero),
        window: m.reg("window", p.window_bits(), Reset::Zero),
        skip: m.reg("skip", t, Reset::Zero),
    };
    let row = m.reg("row", fb, Reset::Zero);
    let rem = m.reg("rem", t, Reset::Zero);
    let started = m.reg("row_started", 1, Reset::Zero);
    let inflight = m.reg("inflight", value_bits(u64::from(p.rows_in_flight)), Reset::Zero);
    let mask = row_mask(&m, t, &regs, &row);
    let cur = started.mux(&rem, &mask).named("keys_left");
    let (one_hot, key) = lowest(&m, "key", &cur, fb);
    let empty = cur.eq(&cur.lit(0)).named("row_empty");
    let rest = cur.and(&one_hot.not()).named("keys_after");
    let row_last = rest.eq(&rest.lit(0)).named("row_last");
    let credit = inflight.lt(&inflight.lit(u64::from(p.rows_in_flight))).named("row_credit");
    let issue = busy.and(&started.or(&credit)).named("pair_issue");
    let job_end = issue.and(&row_last).and(&row.eq(&regs.frames)).named("job_end");
    let take = job.valid().and(&busy.not().or(&job_end)).named("job_take");
    m.next(&busy, &take.or(&busy.and(&job_end.not())));
    m.next_when(&slot, &take, &job.field("slot"));
    m.next_when(&regs.frames, &take, &job.field("frames"));
    m.next_when(&regs.causal, &take, &job.field("causal"));
    m.next_when(&regs.window, &take, &job.field("window"));
    m.next_when(&regs.skip, &take, &job.field("skip"));
    let next_row = row_last.mux(&row.add(&row.lit(1)), &row);
    m.next_when(&row, &take.or(&issue), &take.mux(&row.lit(0), &next_row));
    m.next_when(&started, &take.or(&issue), &take.not().and(&row_last.not()));
    m.next_when(&rem, &issue, &rest);
    let row_begin = issue.and(&started.not()).named("row_begin");

    m.section("Scores: read q_i and k_j, d products, their sum.");
    let q_row = mems[0].read(&issue, &slot.concat(&row));
    let k_row = mems[1].read(&issue.and(&empty.not()).named("key_read"), &slot.concat(&key));
    let ctl = cat(&[&slot, &mask, &job_end, &row, &key, &row_last, &issue]);
    let ctl1 = m.reg("score_ctl1", ctl.width(), Reset::Zero);
    m.next(&ctl1, &ctl);
    let products: Vec<Signal> = (0..d)
        .map(|c| {
            let (q, k) = (element(&q_row, c, DATA_WIDTH, "q"), element(&k_row, c, DATA_WIDTH, "k"));
            q.mul(&k, 2 * DATA_WIDTH).named(&format!("qk{c}"))
        })
        .collect();
    let prod_q = m.reg("score_products", d * 2 * DATA_WIDTH, Reset::Zero);
    let prod_bits: Vec<&Signal> = products.iter().rev().collect();
    m.next(&prod_q, &cat(&prod_bits).as_unsigned());
    let ctl2 = m.reg("score_ctl2", ctl.width(), Reset::Zero);
    m.next(&ctl2, &ctl1);
    let terms: Vec<Signal> = (0..d).map(|c| element(&prod_q, c, 2 * DATA_WIDTH, "qk_q")).collect();
    let score = m.reg("score", sw, Reset::Zero);
    m.next(&score, &sum_tree(terms, sw, "dot").as_unsigned());
    let ctl3 = m.reg("score_ctl3", ctl.width(), Reset::Zero);
    m.next(&ctl3, &ctl2);
    let mut c3 = Fields::new(&ctl3);
    let mut field = |w: u32, name: &str| c3.take(w, name);
    let s_valid = field(1, "scored_valid");
    let s_last = field(1, "scored_last");
    let s_key = field(fb, "scored_key");
    let s_row = field(fb, "scored_row");
    let s_job_last = field(1, "scored_job_last");
    let s_mask = field(t, "scored_mask");
    let s_slot = field(1, "scored_slot");

    m.section("Score row: each score in its key's slot; the row's last one sends it to the softmax.");
    let slots: Vec<Signal> = (0..t).map(|j| m.reg(&format!("score_slot{j}"), sw, Reset::Zero)).collect();
    let mut merged = Vec::new();
    for (j, s) in slots.iter().enumerate() {
        let here = s_valid.and(&s_key.eq(&s_key.lit(j as u64))).named(&format!("score_here{j}"));
        m.next_when(s, &here, &score);
        merged.push(here.mux(&score, s).named(&format!("score_merged{j}")));
    }
    let merged_bits: Vec<&Signal> = merged.iter().rev().collect();
    let sm_in_ty = StreamType::new(&[
        ("score", t * sw),
        ("keep", t),
        ("row", smp.row_bits()),
        ("first", 1),
        ("last", 1),
    ]);
    let one = m.lit(1, 1);
    let to_softmax = s_valid.and(&s_last).named("row_scored");
    let sm_in = Stream::from_fields(
        &sm_in_ty,
        &to_softmax,
        &[
            ("score", &cat(&merged_bits).named("score_row")),
            ("keep", &s_mask),
            ("row", &m.lit(0, smp.row_bits())),
            ("first", &one),
            ("last", &one),
        ],
    );
    let softmax = crate::blocks::softmax::rtl::build(&smp)?;
    let sm = m.instance_streams(
        "u_softmax",
        &softmax,
        &[],
        &[("in", StreamConn::Feed(&sm_in)), ("out", StreamConn::Ready(&one))],
    );
    let sm_out = sm.stream("out");

    m.section(
        "Rows between the softmax and the output pass: {mask, frame, job end, slot} queued as the\n\
         row enters the softmax, {probabilities, 1/l} as it leaves; rows_in_flight entries each,\n\
         so neither can overflow while the credit holds.",
    );
    let depth = p.rows_in_flight;
    let side = cat(&[&s_slot, &s_job_last, &s_row, &s_mask]).named("row_side_in");
    let a_pop = m.wire("row_pop", 1);
    let side_q = queue(&m, "row_side", depth, &to_softmax, &side, &a_pop);
    let probs =
        cat(&[&sm_out.field("inv_exp"), &sm_out.field("inv_l"), &sm_out.field("prob")]).named("row_prob_in");
    let prob_q = queue(&m, "row_prob", depth, sm_out.valid(), &probs, &a_pop);
    let mut sh = Fields::new(&side_q.data);
    let h_mask = sh.take(t, "out_row_mask");
    let h_row = sh.take(fb, "out_row_frame");
    let h_job_last = sh.take(1, "out_row_job_last");
    let h_slot = sh.take(1, "out_row_slot");
    let mut ph = Fields::new(&prob_q.data);
    let h_prob = ph.take(t * pw, "out_row_probs");
    let h_inv_l = ph.take(smp.recip_frac() + 1, "out_row_inv_l");
    let h_inv_exp = ph.take(smp.inv_exp_width(), "out_row_inv_exp");

    m.section("Output sequencer: the row's kept keys again, o += p_j * v_j one per cycle.");
    let a_started = m.reg("out_row_started", 1, Reset::Zero);
    let a_rem = m.reg("out_rem", t, Reset::Zero);
    let a_cur = a_started.mux(&a_rem, &h_mask).named("out_keys_left");
    let (a_one_hot, a_key) = lowest(&m, "out_key", &a_cur, fb);
    let a_empty = a_cur.eq(&a_cur.lit(0)).named("out_row_empty");
    let a_rest = a_cur.and(&a_one_hot.not()).named("out_keys_after");
    let a_last = a_rest.eq(&a_rest.lit(0)).named("out_row_last");
    let a_issue = prob_q.valid.clone().named("out_issue");
    m.drive(&a_pop, &a_issue.and(&a_last));
    m.next_when(&a_started, &a_issue, &a_last.not());
    m.next_when(&a_rem, &a_issue, &a_rest);
    let release = m.reg("release", 1, Reset::Zero);
    m.next(&release, &a_issue.and(&a_last).and(&h_job_last));
    let v_row = mems[2].read(&a_issue.and(&a_empty.not()).named("value_read"), &h_slot.concat(&a_key));
    let mut p_j = m.lit(0, pw);
    for j in 0..t {
        let here = a_key.eq(&a_key.lit(u64::from(j)));
        p_j = here.mux(&h_prob.slice((j + 1) * pw - 1, j * pw), &p_j).named(&format!("prob_upto{j}"));
    }
    let p_q = m.reg("out_prob", pw, Reset::Zero);
    m.next_when(&p_q, &a_issue, &a_empty.mux(&p_j.lit(0), &p_j.named("prob_of_key")));
    let octl = cat(&[&h_inv_exp, &h_inv_l, &h_job_last, &h_row, &a_last, &a_started.not(), &a_issue]);
    let octl1 = m.reg("out_ctl1", octl.width(), Reset::Zero);
    m.next(&octl1, &octl);
    let pv_w = p.pv_width();
    let p_signed = p_q.zext(pw + 1).named("out_prob_ext").as_signed();
    let pv: Vec<Signal> = (0..d)
        .map(|c| p_signed.mul(&element(&v_row, c, DATA_WIDTH, "v"), pv_w).named(&format!("pv{c}")))
        .collect();
    let pv_q = m.reg("out_products", d * pv_w, Reset::Zero);
    let pv_bits: Vec<&Signal> = pv.iter().rev().collect();
    m.next(&pv_q, &cat(&pv_bits).as_unsigned());
    let octl2 = m.reg("out_ctl2", octl.width(), Reset::Zero);
    m.next(&octl2, &octl1);
    let o_valid = octl2.bit(0).named("acc_valid");
    let o_first = octl2.bit(1).named("acc_first");
    let aw = p.acc_width();
    let acc = m.reg("acc", d * aw, Reset::Zero);
    let sums: Vec<Signal> = (0..d)
        .rev()
        .map(|c| {
            let old = o_first
                .mux(&m.lit(0, aw).as_signed(), &element(&acc, c, aw, "acc_old"))
                .named(&format!("acc_base{c}"));
            old.add(&element(&pv_q, c, pv_w, "pv_q").resize(aw)).named(&format!("acc_sum{c}"))
        })
        .collect();
    m.next_when(&acc, &o_valid, &cat(&sums.iter().collect::<Vec<_>>()).as_unsigned());
    let octl3 = m.reg("out_ctl3", octl.width(), Reset::Zero);
    m.next(&octl3, &octl2);

    m.section("Normalisation by 1/l and the output queue.");
    let mut o3 = Fields::new(&octl3);
    let mut f3 = |w: u32, name: &str| o3.take(w, name);
    let done_valid = f3(1, "acc_done_valid");
    let _first = f3(1, "acc_done_first");
    let done_last = f3(1, "acc_done_last");
    let done_row = f3(fb, "acc_done_frame");
    let done_job_last = f3(1, "acc_done_job_last");
    let done_inv_l = f3(smp.recip_frac() + 1, "acc_done_inv_l");
    let done_inv_exp = f3(smp.inv_exp_width(), "acc_done_inv_exp");
    let norm = p.norm();
    let shift = norm.shift(&m, &done_inv_exp);
    let normed = m.instance_array(
        "u_norm",
        &norm.cell()?,
        d,
        &[
            ("acc_i", Conn::Each(acc.clone())),
            ("inv_l_i", Conn::All(done_inv_l)),
            ("shift_i", Conn::All(shift)),
        ],
    );
    let row_done = done_valid.and(&done_last).named("row_done");
    let out_pop = m.wire("out_pop", 1);
    let entry = cat(&[&done_job_last, &done_row, &normed.output("out_o")]).named("out_entry");
    let oq = queue(&m, "out_queue", depth, &row_done, &entry, &out_pop);
    m.drive(&out_pop, &oq.valid.and(&out.ready()));
    count_up_down(&m, "inflight", &inflight, &row_begin, &out_pop);

    job.drive_ready(&busy.not().or(&job_end));
    let od = &oq.data;
    out.drive(&Stream::from_fields(
        &out_ty,
        &oq.valid,
        &[
            ("data", &od.slice(d * ow - 1, 0)),
            ("frame", &od.slice(d * ow + fb - 1, d * ow)),
            ("job_last", &od.bit(d * ow + fb)),
        ],
    ));
    m.output("release_o", &release);
    m.finish()
}
