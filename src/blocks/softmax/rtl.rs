//! Builders of `vdx_online_softmax` and its parts. One lane module per score (a generate loop),
//! reduction trees as one instance array per level, so the Verilog grows with `log2(row_width)`,
//! not with `row_width`.
//!
//! Pipeline (every register loads on one `advance = !out_valid | out_ready`; `in_ready_o` is
//! `advance`), a beat's registers after stage `s` being `*_s<s>`:
//! 1. exponent `y` of every score; 2. beat maximum (tree), rounded up; 3. `M - y`, table read;
//! 4. chord `2^-g`; 5. bucket sums (tree), state read; 6. merge with the row state, state write;
//! 7. probabilities, `l`; 8. `l` normalised; 9. `1/x` seed read; 10. seed, `x · r`;
//! 11. Newton step: the output registers.

use super::OnlineSoftmaxParams;
use super::golden::Tables;
use crate::blocks::BlockParams;
use crate::hdl::{
    Bits, Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamType, arith, cat, value_bits,
};

/// Register stages from an `in` transfer to its `out` beat.
pub const STAGES: u32 = 11;

/// Stage after which the lanes' probabilities are registered.
const PROB_STAGE: u32 = 7;

fn header(m: &ModuleBuilder, p: &OnlineSoftmaxParams) {
    let c = p.scale_constant();
    m.block(<OnlineSoftmaxParams as BlockParams>::BLOCK)
        .param("row_width", p.row_width)
        .param("score_width", p.score_width)
        .param("scale_constant", c.constant)
        .param("scale_shift", c.shift)
        .param("exp_frac", p.exp_frac)
        .param("segments", p.segments)
        .param("prob_width", p.prob_width)
        .param("table_frac", p.table_frac())
        .param("depth", p.depth())
        .param("bucket_width", p.bucket_width());
}

/// Bits of a clamped shift `0..=depth + 1`.
fn shift_bits(p: &OnlineSoftmaxParams) -> u32 {
    value_bits(u64::from(p.depth() + 1))
}

/// `value` registered on `advance` as `<name>`.
fn stage(m: &ModuleBuilder, advance: &Signal, name: &str, value: &Signal) -> Signal {
    let r = m.reg(name, value.width(), Reset::Zero);
    m.next_when(&r, advance, value);
    if value.is_signed() { r.as_signed() } else { r }
}

/// `value` carried through registers `<name>_s<from+1>` ..= `<name>_s<to>`.
fn carry(m: &ModuleBuilder, advance: &Signal, name: &str, from: u32, to: u32, value: &Signal) -> Signal {
    (from + 1..=to).fold(value.clone(), |v, s| stage(m, advance, &format!("{name}_s{s}"), &v))
}

/// `min(value, limit)` in `width` bits (`value` unsigned), as the wire `name` (and `value` as
/// `<name>_raw`).
fn clamp(name: &str, value: &Signal, limit: u32, width: u32) -> Signal {
    let wide = value.zext(value.width().max(width)).named(&format!("{name}_raw"));
    let cap = wide.lit(u64::from(limit));
    let min = wide.gt(&cap).mux(&cap, &wide);
    if min.width() == width {
        min.named(name)
    } else {
        min.named(&format!("{name}_wide")).resize(width).named(name)
    }
}

/// A chord-table value `name`: `knot - (drop · delta >> bits)` from a registered `{knot, drop}`
/// entry.
fn chord(name: &str, entry: &Signal, knot_width: u32, delta: &Signal, bits: u32) -> Signal {
    let drop_width = entry.width() - knot_width;
    let knot = entry.slice(entry.width() - 1, drop_width).named(&format!("{name}_knot"));
    if bits == 0 {
        return knot.named(name);
    }
    let drop = entry.slice(drop_width - 1, 0);
    let full = drop.mul(delta, drop_width + bits).named(&format!("{name}_step_full"));
    let step = full.shr(bits).named(&format!("{name}_step_shifted")).resize(knot_width);
    knot.sub(&step).named(name)
}

/// Chord-table entries `{knot_i, knot_i - knot_{i+1}}` for `i` in `0..segments`.
fn chord_table(knots: &[u64], knot_width: u32, drop_width: u32) -> Vec<Bits> {
    knots
        .windows(2)
        .map(|w| Bits::from_u64((w[0] << drop_width) | (w[0] - w[1]), knot_width + drop_width))
        .collect()
}

/// One score's datapath: exponent (stage 1), distance to the beat maximum and table read (3),
/// chord (4), carried to 6, probability (7), carried to the output.
fn lane(p: &OnlineSoftmaxParams, tables: &Tables) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_softmax_lane");
    header(&m, p);
    let (f, sb, wt) = (p.exp_frac, p.segment_bits(), p.table_frac());
    let (yw, mw, kb) = (p.exp_width(), p.max_width(), shift_bits(p));
    let advance = m.input("advance_i", 1);
    let score = m.input_signed("score_i", p.score_width);
    let keep = m.input("keep_i", 1);
    let beat_max = m.input_signed("beat_max_i", mw);
    let extra = m.input("extra_i", kb);

    m.section("Stage 1: the base-2 exponent y = floor(score * C * 2^(exp_frac - scale_shift)).");
    let c = p.scale_constant();
    let constant = m.lit(c.constant, p.scale_bits + 1).named("scale_constant").as_signed();
    let product = score.mul(&constant, p.score_width + p.scale_bits + 1).named("product");
    let down = c.shift - f as i32;
    let y = if down >= 0 {
        product.sra(down as u32).named("exponent")
    } else {
        product.resize(product.width() + (-down) as u32).shl((-down) as u32)
    };
    let y1 = stage(&m, &advance, "y_s1", &y.resize(yw).as_signed());
    let keep1 = stage(&m, &advance, "keep_s1", &keep);
    let y2 = stage(&m, &advance, "y_s2", &y1);
    let keep2 = stage(&m, &advance, "keep_s2", &keep1);

    m.section(
        "Stage 3: M - y = k + g below the beat maximum; k clamped at depth + 1 (not counted);\n\
         the top bits of g read the 2^-g chord table.",
    );
    let dw = (mw + f).max(yw) + 1;
    let beat_max_wide = beat_max.resize(dw).named("beat_max_wide");
    let dist = beat_max_wide.shl(f).sub(&y2.resize(dw)).as_unsigned().named("distance");
    let k = clamp("dist_int", &dist.shr(f).named("dist_int_shifted").resize(dw - f), p.depth() + 1, kb);
    let seg = dist.slice(f - 1, f - sb).named("segment");
    let table = chord_table(&tables.exp2, wt + 1, wt);
    let entry = m.rom("exp2", &advance, &seg, &table);
    let delta3 =
        if f > sb { stage(&m, &advance, "delta_s3", &dist.slice(f - sb - 1, 0)) } else { m.lit(0, 1) };
    let k3 = stage(&m, &advance, "k_s3", &k);
    let keep3 = stage(&m, &advance, "keep_s3", &keep2);

    m.section("Stage 4: the chord 2^-g; stages 5 and 6 carry it while the row state is merged.");
    let t = chord("power", &entry, wt + 1, &delta3, f - sb);
    let t4 = stage(&m, &advance, "t_s4", &t);
    let k4 = stage(&m, &advance, "k_s4", &k3);
    let keep4 = stage(&m, &advance, "keep_s4", &keep3);
    // The score's table value in the slot of its bucket, zero elsewhere.
    let slots: Vec<Signal> = (0..=p.depth())
        .rev()
        .map(|b| keep4.and(&k4.eq(&k4.lit(u64::from(b)))).repeat(wt + 1).and(&t4))
        .collect();
    let slots: Vec<&Signal> = slots.iter().collect();
    m.output("contrib_o", &cat(&slots).named("contrib"));
    let t6 = carry(&m, &advance, "t", 4, 6, &t4);
    let k6 = carry(&m, &advance, "k", 4, 6, &k4);
    let keep6 = carry(&m, &advance, "keep", 4, 6, &keep4);

    m.section(
        "Stage 7: p = 2^-g >> (k + extra + table_frac - prob_width), rounded half up and saturated\n\
         at all ones; extra is how far the row maximum lies above the beat's.",
    );
    let total = clamp("total_shift", &k6.zext(kb + 1).add(&extra.zext(kb + 1)), p.depth() + 1, kb);
    // One place less, then the rounding bit added and dropped (table_frac > prob_width).
    let less = u64::from(wt - p.prob_width - 1);
    let amount = total.zext(kb + 1).add(&m.lit(less, kb + 1)).named("prob_shift");
    let halves = t6.shr_by(&amount).named("prob_halves");
    let rounded =
        halves.zext(wt + 2).add(&m.lit(1, wt + 2)).named("prob_plus_half").shr(1).named("prob_rounded");
    let w = p.prob_width;
    let over = rounded.slice(wt + 1, w).reduce_or();
    let prob = keep6.repeat(w).and(&over.mux(&m.lit((1 << w) - 1, w), &rounded.slice(w - 1, 0)));
    let prob7 = stage(&m, &advance, "prob_s7", &prob);
    m.output("prob_o", &carry(&m, &advance, "prob", PROB_STAGE, STAGES, &prob7));
    m.output("y_o", &keep1.concat(&y1));
    m.finish()
}

/// The larger of two `{keep, y}` exponents; a kept one wins over a dropped one.
fn max_cell(p: &OnlineSoftmaxParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_softmax_max2");
    header(&m, p);
    let yw = p.exp_width();
    let pair = m.input("pair_i", 2 * (yw + 1));
    let (b, a) = (pair.slice(2 * yw + 1, yw + 1).named("b_item"), pair.slice(yw, 0).named("a_item"));
    let (ka, kb) = (a.bit(yw), b.bit(yw));
    let (ya, yb) = (a.slice(yw - 1, 0).as_signed(), b.slice(yw - 1, 0).as_signed());
    let take_a = ka.and(&kb.not().or(&ya.ge(&yb))).named("take_a");
    m.output("max_o", &take_a.mux(&a, &b));
    m.finish()
}

/// Bucket-wise sum of two bucket vectors of `width`-bit sums, one bit wider.
fn add_cell(p: &OnlineSoftmaxParams, width: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_softmax_bucket_add");
    header(&m, p);
    m.param("width", width);
    let n = p.depth() + 1;
    let pair = m.input("pair_i", 2 * n * width);
    let sums: Vec<Signal> = (0..n)
        .rev()
        .map(|k| {
            let a = pair.slice((k + 1) * width - 1, k * width);
            let b = pair.slice((n + k + 1) * width - 1, (n + k) * width);
            a.zext(width + 1).add(&b.zext(width + 1))
        })
        .collect();
    let sums: Vec<&Signal> = sums.iter().collect();
    m.output("sum_o", &cat(&sums).named("sums"));
    m.finish()
}

/// A reduction tree over `count` items of `width` bits packed in `items` (item 0 lowest): one
/// instance array of the cell per level, each cell combining a pair (`pair_i`, the even item
/// low) into one item; an odd level is padded with a zero item. Returns the root and its width.
/// The combining cell of a [`tree`] level: its module for an item width, its output port, and
/// the item width it produces.
struct Combine<'a> {
    cell: &'a dyn Fn(u32) -> Result<Module, HdlError>,
    port: &'a str,
    grow: &'a dyn Fn(u32) -> u32,
}

fn tree(
    m: &ModuleBuilder,
    name: &str,
    items: &Signal,
    count: u32,
    width: u32,
    combine: &Combine<'_>,
) -> Result<(Signal, u32), HdlError> {
    let (mut level, mut n, mut w) = (items.clone(), count, width);
    let mut depth = 0;
    while n > 1 {
        if n % 2 == 1 {
            level = m.lit(0, w).concat(&level);
            n += 1;
        }
        level = m
            .instance_array(
                &format!("u_{name}_l{depth}"),
                &(combine.cell)(w)?,
                n / 2,
                &[("pair_i", Conn::Each(level))],
            )
            .output(combine.port);
        n /= 2;
        w = (combine.grow)(w);
        depth += 1;
    }
    Ok((level, w))
}

/// The state of a row packed as `{valid, max, buckets}` (bucket 0 lowest).
struct State {
    valid: Signal,
    max: Signal,
    buckets: Signal,
}

impl State {
    fn pack(&self) -> Signal {
        cat(&[&self.valid, &self.max.as_unsigned(), &self.buckets])
    }

    /// The fields of `packed`, as the wires `<name>_valid`, `<name>_max` and `<name>_buckets`.
    fn unpack(p: &OnlineSoftmaxParams, packed: &Signal, name: &str) -> State {
        let (mw, nb) = (p.max_width(), (p.depth() + 1) * p.bucket_width());
        State {
            valid: packed.bit(mw + nb).named(&format!("{name}_valid")),
            max: packed.slice(mw + nb - 1, nb).named(&format!("{name}_max")).as_signed(),
            buckets: packed.slice(nb - 1, 0).named(&format!("{name}_buckets")),
        }
    }

    fn width(p: &OnlineSoftmaxParams) -> u32 {
        1 + p.max_width() + (p.depth() + 1) * p.bucket_width()
    }
}

/// The merge of two row states (see `golden::RowState::merge`): the larger maximum, both bucket
/// vectors moved down to it (a barrel shift by whole buckets) and added.
pub fn merge_cell(p: &OnlineSoftmaxParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_softmax_merge");
    header(&m, p);
    let (mw, wb, n, kb) = (p.max_width(), p.bucket_width(), p.depth() + 1, shift_bits(p));
    let a = State::unpack(p, &m.input("a_i", State::width(p)), "a");
    let b = State::unpack(p, &m.input("b_i", State::width(p)), "b");
    m.section("The larger maximum of the valid states (0 when neither is).");
    let take_a = a.valid.and(&b.valid.not().or(&a.max.ge(&b.max))).named("take_a");
    let valid = a.valid.or(&b.valid).named("valid");
    let max = valid.mux(&take_a.mux(&a.max, &b.max), &m.lit(0, mw).as_signed()).named("max");
    m.section("Each state's buckets moved down by its distance to the maximum, then added.");
    let lowered = |s: &State, name: &str| {
        let dist = max.resize(mw + 1).sub(&s.max.resize(mw + 1)).as_unsigned();
        let dist = clamp(&format!("{name}_dist"), &dist, n, kb);
        let mut v = s.buckets.clone();
        for i in 0..kb {
            let by = (1u32 << i) * wb;
            let moved = if by >= v.width() { m.lit(0, v.width()) } else { v.shl(by) };
            v = dist.bit(i).mux(&moved, &v).named(&format!("{name}_by{}", 1u32 << i));
        }
        s.valid.repeat(n * wb).and(&v).named(&format!("{name}_lowered"))
    };
    let (la, lb) = (lowered(&a, "a"), lowered(&b, "b"));
    let sums: Vec<Signal> = (0..n)
        .rev()
        .map(|k| la.slice((k + 1) * wb - 1, k * wb).add(&lb.slice((k + 1) * wb - 1, k * wb)))
        .collect();
    let sums: Vec<&Signal> = sums.iter().collect();
    let merged = State { valid, max, buckets: cat(&sums).named("sums") };
    m.output("state_o", &merged.pack());
    m.finish()
}

/// Pairwise sum of `terms` (all of one width), as a balanced tree; the partial sum of terms
/// `lo..hi` is the wire `<name>_<lo>_<hi>`.
fn sum_all(name: &str, terms: &[Signal], lo: usize) -> Signal {
    match terms {
        [one] => one.clone(),
        _ => {
            let (a, b) = terms.split_at(terms.len() / 2);
            let sum = sum_all(name, a, lo).add(&sum_all(name, b, lo + a.len()));
            sum.named(&format!("{name}_{lo}_{}", lo + terms.len() - 1))
        }
    }
}

/// Builds `vdx_online_softmax`; see the block docs for ports and arithmetic.
pub fn build(p: &OnlineSoftmaxParams) -> Result<Module, HdlError> {
    let tables = Tables::new(p);
    let m = ModuleBuilder::new("vdx_online_softmax");
    header(&m, p);
    m.param("max_len", p.max_len).param("max_rows", p.max_rows).param("recip_segments", p.recip_segments);
    let (rw, yw, mw, wt, d) = (p.row_width, p.exp_width(), p.max_width(), p.table_frac(), p.depth());
    let (wb, kb, rb, r) = (p.bucket_width(), shift_bits(p), p.row_bits(), p.recip_frac());
    let n = d + 1;

    let in_ty = StreamType::new(&[
        ("score", rw * p.score_width),
        ("keep", rw),
        ("row", rb),
        ("first", 1),
        ("last", 1),
    ]);
    let input = m.sink("in", &in_ty);
    let out_ty = StreamType::new(&[
        ("prob", rw * p.prob_width),
        ("shift", p.shift_width()),
        ("row", rb),
        ("first", 1),
        ("last", 1),
        ("inv_l", r + 1),
        ("inv_exp", p.inv_exp_width()),
        ("empty", 1),
    ]);
    let out = m.source("out", &out_ty);

    m.section("The pipeline advances unless the output holds a beat the consumer has not taken.");
    let valid_out = m.wire("valid_out", 1);
    let advance = valid_out.not().or(&out.ready()).named("advance");
    input.drive_ready(&advance);
    let v1 = stage(&m, &advance, "valid_s1", &input.valid());
    let row1 = stage(&m, &advance, "row_s1", &input.field("row"));
    let first1 = stage(&m, &advance, "first_s1", &input.field("first"));
    let last1 = stage(&m, &advance, "last_s1", &input.field("last"));

    let beat_max_wire = m.wire("beat_max_s2", mw);
    let extra6 = m.wire("extra_s6", kb);
    let lanes = m.instance_array(
        "u_lane",
        &lane(p, &tables)?,
        rw,
        &[
            ("advance_i", Conn::All(advance.clone())),
            ("score_i", Conn::Each(input.field("score"))),
            ("keep_i", Conn::Each(input.field("keep"))),
            ("beat_max_i", Conn::All(beat_max_wire.clone())),
            ("extra_i", Conn::All(extra6.clone())),
        ],
    );

    m.section("Stage 2: the beat maximum, rounded up to an integer (0 when no score counts).");
    let max_module = |_w: u32| max_cell(p);
    let max_tree = Combine { cell: &max_module, port: "max_o", grow: &|w| w };
    let (top, _) = tree(&m, "max", &lanes.output("y_o"), rw, yw + 1, &max_tree)?;
    let any = top.bit(yw).named("any_kept");
    let y_top = top.slice(yw - 1, 0).named("beat_top").as_signed().resize(yw + 1);
    let rounded = y_top.add(&y_top.lit((1 << p.exp_frac) - 1)).named("beat_round_up");
    let ceil = rounded.sra(p.exp_frac).named("beat_ceil_wide").resize(mw).named("beat_ceil");
    let beat_max = stage(&m, &advance, "beat_max_reg_s2", &any.mux(&ceil, &m.lit(0, mw).as_signed()));
    m.drive(&beat_max_wire, &beat_max.as_unsigned());
    let any2 = stage(&m, &advance, "any_s2", &any);
    // The beat's valid, row and flags at every stage: `chain[s]` is the register after stage s.
    let chain = |name: &str, v: &Signal| -> Vec<Signal> {
        let mut regs = vec![v.clone(), v.clone()];
        for s in 2..=STAGES - 1 {
            let next = stage(&m, &advance, &format!("{name}_s{s}"), regs.last().expect("non-empty"));
            regs.push(next);
        }
        regs
    };
    let (valid, rows, firsts, lasts) =
        (chain("valid", &v1), chain("row", &row1), chain("first", &first1), chain("last", &last1));
    let (v5, row4, row5, first5) = (valid[5].clone(), rows[4].clone(), rows[5].clone(), firsts[5].clone());

    m.section("Stage 5: the beat's bucket sums (tree over the lanes), widened to bucket_width.");
    let add_module = |w: u32| add_cell(p, w);
    let bucket_tree = Combine { cell: &|w| add_module(w / n), port: "sum_o", grow: &|w| w + n };
    let (sums, sw) = tree(&m, "bucket", &lanes.output("contrib_o"), rw, n * (wt + 1), &bucket_tree)?;
    let per = sw / n;
    let widened: Vec<Signal> =
        (0..n).rev().map(|k| sums.slice((k + 1) * per - 1, k * per).resize(wb)).collect();
    let widened: Vec<&Signal> = widened.iter().collect();
    let beat_buckets = stage(&m, &advance, "beat_buckets_s5", &cat(&widened).named("beat_buckets"));
    let beat_max5 = carry(&m, &advance, "beat_max", 2, 5, &beat_max);
    let any5 = carry(&m, &advance, "any", 2, 5, &any2);
    let memory = m.memory("state", State::width(p), p.max_rows.max(2));
    let addr = |row: &Signal| {
        if memory.addr_width() > row.width() { row.zext(memory.addr_width()) } else { row.clone() }
    };
    let stored = memory.read(&advance, &addr(&row4));

    m.section(
        "Stage 6: the row's old state (none on its first beat; the state written one beat ago\n\
         when it was this row's) merged with the beat's, and written back. The state memory\n\
         has no reset: a row's first beat must carry in_first_i.",
    );
    let last_state = m.reg("written_state", State::width(p), Reset::Zero);
    let last_row = m.reg("written_row", rb, Reset::Zero);
    let last_valid = m.reg("written_valid", 1, Reset::Zero);
    let hit = last_valid.and(&last_row.eq(&row5)).named("bypass");
    // A bubble reads no state either: a never-written word is unknown to a simulator.
    let fresh = first5.or(&v5.not());
    let old = fresh.mux(&m.lit(0, State::width(p)), &hit.mux(&last_state, &stored)).named("old_state");
    let beat = State { valid: any5.clone(), max: beat_max5.clone(), buckets: beat_buckets };
    let merged =
        m.instance("u_merge", &merge_cell(p)?, &[("a_i", &old), ("b_i", &beat.pack())]).output("state_o");
    let old_s = State::unpack(p, &old, "old");
    let new_s = State::unpack(p, &merged, "new");
    memory.write(&advance.and(&v5), &addr(&row5), &merged);
    m.next_when(&last_state, &advance, &merged);
    m.next_when(&last_row, &advance, &row5);
    m.next_when(&last_valid, &advance, &v5);
    let rise = |from: &Signal, name: &str| {
        new_s.max.resize(mw + 1).sub(&from.resize(mw + 1)).as_unsigned().named(name)
    };
    let extra = any5.repeat(kb).and(&clamp("extra", &rise(&beat_max5, "beat_rise"), d + 1, kb));
    m.drive(&extra6, &stage(&m, &advance, "extra_reg_s6", &extra));
    let shift =
        old_s.valid.repeat(p.shift_width()).and(&rise(&old_s.max, "old_rise").resize(p.shift_width()));
    let shift6 = stage(&m, &advance, "shift_s6", &shift.named("shift"));
    let state6 = stage(&m, &advance, "state_s6", &merged);

    m.section("Stage 7: l = sum of bucket_k * 2^-k, in units of 2^-(table_frac + depth).");
    let s6 = State::unpack(p, &state6, "final");
    let lw = p.sum_width();
    let terms: Vec<Signal> = (0..n)
        .map(|k| {
            s6.buckets.slice((k + 1) * wb - 1, k * wb).zext(lw).named(&format!("bucket{k}_wide")).shl(d - k)
        })
        .collect();
    let l7 = stage(&m, &advance, "l_s7", &sum_all("l_sum", &terms, 0));
    let valid7 = stage(&m, &advance, "state_valid_s7", &s6.valid);

    m.section("Stage 8: l = x * 2^exp with x in [1, 2): leading zeros and the top recip_frac + 1 bits.");
    let (lz, norm) = arith::normalize(&m, "l", &l7);
    let x = if lw > r { norm.slice(lw - 1, lw - 1 - r) } else { norm.concat(&m.lit(0, r + 1 - lw)) };
    let ew = p.inv_exp_width();
    let exp = m.lit(u64::from(p.max_len.trailing_zeros()), ew).sub(&lz.resize(ew)).named("l_exp");
    let x8 = stage(&m, &advance, "x_s8", &x);
    let exp8 = stage(&m, &advance, "exp_s8", &exp);
    let valid8 = stage(&m, &advance, "state_valid_s8", &valid7);

    m.section("Stage 9: the 1/x chord table, read by the top bits of x's fraction.");
    let srb = p.recip_segments.trailing_zeros();
    let recip = m.rom("recip", &advance, &x8.slice(r - 1, r - srb), &chord_table(&tables.recip, r + 1, r));
    let x9 = stage(&m, &advance, "x_s9", &x8);
    let delta9 =
        if r > srb { stage(&m, &advance, "delta_s9", &x8.slice(r - srb - 1, 0)) } else { m.lit(0, 1) };
    let exp9 = stage(&m, &advance, "exp_s9", &exp8);
    let valid9 = stage(&m, &advance, "state_valid_s9", &valid8);

    m.section("Stages 10 and 11: the seed r0, then one Newton step r1 = r0 * (2 - x * r0).");
    let r0 = chord("seed", &recip, r + 1, &delta9, r - srb);
    let xr_full = x9.mul(&r0, 2 * r + 2).named("x_times_seed_full");
    let xr = xr_full.shr(r).named("x_times_seed_shifted").resize(r + 2).named("x_times_seed");
    let r0_10 = stage(&m, &advance, "seed_s10", &r0);
    let xr10 = stage(&m, &advance, "x_times_seed_s10", &xr);
    let exp10 = stage(&m, &advance, "exp_s10", &exp9);
    let valid10 = stage(&m, &advance, "state_valid_s10", &valid9);
    let two = m.lit(2 << r, r + 2);
    let r1_full = r0_10.mul(&two.sub(&xr10).named("newton_factor"), 2 * r + 3).named("refined_full");
    let r1 = r1_full.shr(r).named("refined_shifted").resize(r + 1).named("refined");

    m.section("Stage 11: the output registers; 1/l only on a last beat of a row with a counted score.");
    let (v10, row10, first10, last10) = (&valid[10], &rows[10], &firsts[10], &lasts[10]);
    let shift10 = carry(&m, &advance, "shift", 6, 10, &shift6);
    let show = last10.and(&valid10).named("show_inv_l");
    let v11 = stage(&m, &advance, "valid_s11", v10);
    m.drive(&valid_out, &v11);
    let fields = [
        lanes.output("prob_o"),
        stage(&m, &advance, "shift_s11", &shift10),
        stage(&m, &advance, "row_s11", row10),
        stage(&m, &advance, "first_s11", first10),
        stage(&m, &advance, "last_s11", last10),
        stage(&m, &advance, "inv_l_s11", &show.repeat(r + 1).and(&r1)),
        stage(&m, &advance, "inv_exp_s11", &show.repeat(ew).and(&exp10.as_unsigned())),
        stage(&m, &advance, "empty_s11", &last10.and(&valid10.not())),
    ];
    let packed: Vec<&Signal> = fields.iter().rev().collect();
    out.drive(&Stream::new(&out_ty, &v11, &cat(&packed).named("out_payload")));
    m.finish()
}
