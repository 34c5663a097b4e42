//! Builders of `vdx_systolic_ws` and its parts. The array is two nested generate loops (rows of
//! PEs, PEs in a row); the input skew, output de-skew and control delay are chains of identical
//! cells, so the Verilog grows with the number of distinct modules, not with `rows × cols`.

use super::SystolicParams;
use crate::blocks::BlockParams;
use crate::hdl::{
    Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamType, cat, index_bits, value_bits,
};

fn header(m: &ModuleBuilder, p: &SystolicParams) {
    m.block(<SystolicParams as BlockParams>::BLOCK)
        .param("rows", p.rows)
        .param("cols", p.cols)
        .param("weight_width", p.weight_width)
        .param("act_width", p.act_width)
        .param("signed", u32::from(p.signed))
        .param("acc_width", p.acc_bits())
        .param("psum_width", p.psum_width());
}

/// One processing element: activation and switch registers (moving right), shadow weight
/// (shifting down when `shadow_en_i`), active weight (copied from the shadow when the switch
/// pulse passes), and one multiply-accumulate per lane into the partial sums (moving down).
pub fn pe(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_pe");
    header(&m, p);
    let (aw, ws, pw, lanes) = (p.act_width, p.stored_weight_width(), p.psum_width(), p.lanes());
    let a_i = m.input("a_i", aw);
    let sw_i = m.input("sw_i", 1);
    let psum_i = m.input("psum_i", lanes * pw);
    let shadow_i = m.input("shadow_i", ws);
    let shadow_en_i = m.input("shadow_en_i", 1);

    m.section(
        "Activation and switch move right; the shadow weight shifts down on shadow_en_i and is\n\
         copied to the active weight when the switch passes; each lane's product adds to the\n\
         partial sum from above.",
    );
    let a_q = m.reg("a", aw, Reset::Zero);
    m.next(&a_q, &a_i);
    let sw_q = m.reg("sw", 1, Reset::Zero);
    m.next(&sw_q, &sw_i);
    let shadow_q = m.reg("shadow", ws, Reset::Zero);
    m.next_when(&shadow_q, &shadow_en_i, &shadow_i);
    let w_q = m.reg("weight", ws, Reset::Zero);
    m.next_when(&w_q, &sw_i, &shadow_q);

    let signed = |s: Signal| if p.signed { s.as_signed() } else { s };
    let a = signed(a_i.clone());
    let lane_weights: Vec<Signal> = if lanes == 1 {
        vec![signed(w_q.slice(3, 0))]
    } else if p.signed {
        vec![
            w_q.slice(8, 8).concat(&w_q.slice(3, 0)).named("lane0_weight").as_signed(),
            w_q.slice(7, 4).named("lane1_weight").as_signed(),
        ]
    } else {
        vec![w_q.slice(3, 0), w_q.slice(7, 4)]
    };
    let mut sums = Vec::new();
    for (l, w) in lane_weights.iter().enumerate() {
        let l = l as u32;
        let product = a.mul(w, aw + w.width()).named(&format!("product{l}"));
        let psum_in = signed(psum_i.slice((l + 1) * pw - 1, l * pw));
        let sum_q = m.reg(&format!("psum{l}"), pw, Reset::Zero);
        m.next(&sum_q, &psum_in.add(&product.resize(pw)).as_unsigned());
        sums.push(sum_q);
    }
    sums.reverse();
    let sums: Vec<&Signal> = sums.iter().collect();
    m.output("a_o", &a_q);
    m.output("sw_o", &sw_q);
    m.output("psum_o", &cat(&sums));
    m.output("shadow_o", &shadow_q);
    m.finish()
}

/// One row of `cols` PEs: activations and the switch pulse chain left to right.
fn row(p: &SystolicParams, pe: &Module) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_row");
    header(&m, p);
    let (aw, ws, lp, cols) = (p.act_width, p.stored_weight_width(), p.lanes() * p.psum_width(), p.cols);
    let a_i = m.input("a_i", aw);
    let sw_i = m.input("sw_i", 1);
    let psum_i = m.input("psum_i", cols * lp);
    let shadow_i = m.input("shadow_i", cols * ws);
    let shadow_en_i = m.input("shadow_en_i", 1);
    let a_chain = m.wire("a_chain", (cols + 1) * aw);
    let sw_chain = m.wire("sw_chain", cols + 1);
    let pes = m.instance_array(
        "u_pe",
        pe,
        cols,
        &[
            ("a_i", Conn::Each(a_chain.slice(cols * aw - 1, 0).named("pe_a_in"))),
            ("sw_i", Conn::Each(sw_chain.slice(cols - 1, 0).named("pe_sw_in"))),
            ("psum_i", Conn::Each(psum_i)),
            ("shadow_i", Conn::Each(shadow_i)),
            ("shadow_en_i", Conn::All(shadow_en_i)),
        ],
    );
    m.drive(&a_chain, &pes.output("a_o").concat(&a_i));
    m.drive(&sw_chain, &pes.output("sw_o").concat(&sw_i));
    m.output("psum_o", &pes.output("psum_o"));
    m.output("shadow_o", &pes.output("shadow_o"));
    m.finish()
}

/// One stage of the input skew: hands slot 0 of the vectors to its row and passes the remaining
/// slots, shifted down by one, to the next stage a cycle later.
fn skew_cell(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_skew");
    header(&m, p);
    let (aw, rows) = (p.act_width, p.rows);
    let a_i = m.input("a_i", rows * aw);
    let sw_i = m.input("sw_i", rows);
    m.section("Hands slot 0 to its row and passes the other slots, shifted down one, a cycle later.");
    m.output("take_a_o", &a_i.slice(aw - 1, 0));
    m.output("take_sw_o", &sw_i.bit(0));
    if rows == 1 {
        // A single row has nothing to pass on.
        m.output("a_o", &m.lit(0, aw));
        m.output("sw_o", &m.lit(0, 1));
    } else {
        let a_q = m.reg("a", rows * aw, Reset::Zero);
        m.next(&a_q, &a_i.shr(aw));
        let sw_q = m.reg("sw", rows, Reset::Zero);
        m.next(&sw_q, &sw_i.shr(1));
        m.output("a_o", &a_q);
        m.output("sw_o", &sw_q);
    }
    m.finish()
}

/// One stage of the output de-skew: shifts the collected columns down one slot and puts its own
/// column on top, so column `c` waits `cols - c` cycles and all leave together.
pub fn deskew_cell(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_deskew");
    header(&m, p);
    let slot = p.lanes() * p.psum_width();
    let width = p.cols * slot;
    m.section("Shifts the collected columns down one slot and puts col_i on top.");
    let vec_i = m.input("vec_i", width);
    let col_i = m.input("col_i", slot);
    let vec_q = m.reg("vec", width, Reset::Zero);
    let next = if p.cols == 1 { col_i } else { col_i.concat(&vec_i.slice(width - 1, slot)) };
    m.next(&vec_q, &next);
    m.output("vec_o", &vec_q);
    m.finish()
}

/// The loader's view of one weight slot: zero the weights of missing output columns and, for
/// signed two-lane slots, store the lower lane's sign (its top bit in W4A8 mode, 0 in W8A8).
pub fn weight_slot(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_weight_slot");
    header(&m, p);
    let ww = p.weight_width;
    m.section(
        "Zeroes the weights of missing output columns; a signed two-lane slot also stores the\n\
         lower lane's sign (its top bit in W4A8 mode, 0 in W8A8).",
    );
    let raw = m.input("raw_i", ww);
    let slot = if p.lanes() == 2 {
        // valid4_i: the slot's two columns exist in W4A8 mode; valid8_i: its column in W8A8 mode.
        let valid4 = m.input("valid4_i", 2);
        let valid8 = m.input("valid8_i", 1);
        let w4 = m.input("w4_i", 1);
        let lo_valid = w4.mux(&valid4.bit(0), &valid8);
        let hi_valid = w4.mux(&valid4.bit(1), &valid8);
        let lo = raw.slice(3, 0).and(&lo_valid.repeat(4)).named("lo_nibble");
        let byte = raw.slice(7, 4).and(&hi_valid.repeat(4)).concat(&lo).named("slot_byte");
        if p.signed { w4.and(&lo.bit(3)).concat(&byte) } else { byte }
    } else {
        raw.and(&m.input("valid_i", 1).repeat(ww))
    };
    m.output("slot_o", &slot);
    m.finish()
}

/// One accumulator of a ring row: the old value (zero on a job's first K-tile) plus a column's
/// partial sum, extended to the accumulator width.
fn acc_slot(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_acc_slot");
    header(&m, p);
    let acc = p.acc_bits();
    let old = m.input("old_i", acc);
    let psum = m.input("psum_i", p.psum_width());
    let first = m.input("first_i", 1);
    m.section("The old ring value (zero on a job's first K-tile) plus the column's partial sum.");
    let base = first.mux(&m.lit(0, acc), &old);
    let add = if p.signed { psum.as_signed().resize(acc).as_unsigned() } else { psum.resize(acc) };
    m.output("sum_o", &base.add(&add));
    m.finish()
}

/// A W8A8 result from a column's two lane sums: `16·hi + lo`.
fn combine_slot(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_combine");
    header(&m, p);
    let acc = p.acc_bits();
    let lanes = m.input("lanes_i", 2 * acc);
    m.section("A W8A8 result from the two lane sums: 16 * hi + lo.");
    let (lo, hi) = (lanes.slice(acc - 1, 0), lanes.slice(2 * acc - 1, acc).named("hi_lane"));
    m.output("w8_o", &hi.shl(4).add(&lo));
    m.finish()
}

/// `[j < n for j in 0..width]` as a vector (bit `j` set when `j < n`).
pub fn below(m: &ModuleBuilder, n: &Signal, width: u32) -> Signal {
    let ones = m.lit_bits(crate::hdl::Bits::ones(width));
    ones.shl_by(n).not()
}

/// A register stage of a delay line, named `name`, for block `block`.
pub fn delay_cell(block: &str, name: &str, width: u32) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new(name);
    m.block(block).param("width", width);
    let d_i = m.input("d_i", width);
    let q = m.reg("d", width, Reset::Zero);
    m.next(&q, &d_i);
    m.output("q_o", &q);
    m.finish()
}

/// `value` delayed by `depth` cycles through a generate loop of register stages.
pub fn delay_line(m: &ModuleBuilder, name: &str, cell: &Module, value: &Signal, depth: u32) -> Signal {
    let w = value.width();
    let chain = m.wire(&format!("{name}_chain"), (depth + 1) * w);
    let stages = m.instance_array(
        &format!("u_{name}"),
        cell,
        depth,
        &[("d_i", Conn::Each(chain.slice(depth * w - 1, 0).named(&format!("{name}_in"))))],
    );
    m.drive(&chain, &stages.output("q_o").concat(value));
    chain.slice((depth + 1) * w - 1, depth * w).named(&format!("{name}_out"))
}

/// The PE grid with its input skew: `a_i`/`sw_i` enter unskewed (row `r` in slot `r`), weights
/// enter at the top, partial sums leave at the bottom, column `c` one cycle after column `c - 1`.
pub fn mesh(p: &SystolicParams, pe: &Module) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_mesh");
    header(&m, p);
    let (aw, ws, rows, cols) = (p.act_width, p.stored_weight_width(), p.rows, p.cols);
    let lp = p.lanes() * p.psum_width();
    let a_i = m.input("a_i", rows * aw);
    let sw_i = m.input("sw_i", 1);
    let shadow_i = m.input("shadow_i", cols * ws);
    let shadow_en_i = m.input("shadow_en_i", rows);

    let skew = skew_cell(p)?;
    let a_chain = m.wire("skew_a_chain", (rows + 1) * rows * aw);
    let sw_chain = m.wire("skew_sw_chain", (rows + 1) * rows);
    let skews = m.instance_array(
        "u_skew",
        &skew,
        rows,
        &[
            ("a_i", Conn::Each(a_chain.slice(rows * rows * aw - 1, 0).named("skew_a_in"))),
            ("sw_i", Conn::Each(sw_chain.slice(rows * rows - 1, 0).named("skew_sw_in"))),
        ],
    );
    m.drive(&a_chain, &skews.output("a_o").concat(&a_i));
    m.drive(&sw_chain, &skews.output("sw_o").concat(&sw_i.repeat(rows)));

    let row = row(p, pe)?;
    let psum_chain = m.wire("psum_chain", (rows + 1) * cols * lp);
    let shadow_chain = m.wire("shadow_chain", (rows + 1) * cols * ws);
    let grid = m.instance_array(
        "u_row",
        &row,
        rows,
        &[
            ("a_i", Conn::Each(skews.output("take_a_o"))),
            ("sw_i", Conn::Each(skews.output("take_sw_o"))),
            ("psum_i", Conn::Each(psum_chain.slice(rows * cols * lp - 1, 0).named("row_psum_in"))),
            ("shadow_i", Conn::Each(shadow_chain.slice(rows * cols * ws - 1, 0).named("row_shadow_in"))),
            ("shadow_en_i", Conn::Each(shadow_en_i)),
        ],
    );
    m.drive(&psum_chain, &grid.output("psum_o").concat(&m.lit(0, cols * lp)));
    m.drive(&shadow_chain, &grid.output("shadow_o").concat(&shadow_i));
    m.output("psum_o", &psum_chain.slice((rows + 1) * cols * lp - 1, rows * cols * lp));
    m.finish()
}

/// The PE mesh (`u_mesh`) and its output de-skew (`u_deskew`) inside `m`: `a` and `sw` enter
/// the mesh as they are (registered by the caller), `shadow`/`shadow_en` feed the weight chain,
/// and the returned wire `bottom` is the de-skewed bottom row: the partial sums of the row that
/// entered `rows + cols` cycles earlier, all columns together (`lanes · psum_width` bits each).
pub fn deskewed_mesh(
    m: &ModuleBuilder,
    p: &SystolicParams,
    a: &Signal,
    sw: &Signal,
    shadow: &Signal,
    shadow_en: &Signal,
) -> Result<Signal, HdlError> {
    let cols = p.cols;
    let pe = pe(p)?;
    let mesh = mesh(p, &pe)?;
    let grid = m.instance(
        "u_mesh",
        &mesh,
        &[("a_i", a), ("sw_i", sw), ("shadow_i", shadow), ("shadow_en_i", shadow_en)],
    );
    let lp = p.lanes() * p.psum_width();
    let deskew = deskew_cell(p)?;
    let deskew_chain = m.wire("deskew_chain", (cols + 1) * cols * lp);
    let cells = m.instance_array(
        "u_deskew",
        &deskew,
        cols,
        &[
            ("vec_i", Conn::Each(deskew_chain.slice(cols * cols * lp - 1, 0).named("deskew_in"))),
            ("col_i", Conn::Each(grid.output("psum_o"))),
        ],
    );
    m.drive(&deskew_chain, &cells.output("vec_o").concat(&m.lit(0, cols * lp)));
    Ok(deskew_chain.slice((cols + 1) * cols * lp - 1, cols * cols * lp).named("bottom"))
}

/// `vdx_systolic_array`: the mesh and its de-skew as one module, for blocks that drive a mesh
/// with their own sequencer. Ports as [`deskewed_mesh`]: `a_i`, `sw_i`, `shadow_i`,
/// `shadow_en_i` in, `bottom_o` (the de-skewed bottom row) out.
pub fn array(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_array");
    header(&m, p);
    let a = m.input("a_i", p.rows * p.act_width);
    let sw = m.input("sw_i", 1);
    let shadow = m.input("shadow_i", p.cols * p.stored_weight_width());
    let shadow_en = m.input("shadow_en_i", p.rows);
    let bottom = deskewed_mesh(&m, p, &a, &sw, &shadow, &shadow_en)?;
    m.output("bottom_o", &bottom);
    m.finish()
}

/// Counts `counter` up on `inc`, down on `dec`, and holds it when both or neither happen; the
/// up-only condition is the wire `<name>_up`.
pub fn count_up_down(m: &ModuleBuilder, name: &str, counter: &Signal, inc: &Signal, dec: &Signal) {
    let up = inc.and(&dec.not()).named(&format!("{name}_up"));
    let down = dec.and(&inc.not());
    let next = up.mux(&counter.add(&counter.lit(1)), &counter.sub(&counter.lit(1)));
    m.next_when(counter, &up.or(&down), &next);
}

/// The head of a first-in first-out queue of registers.
pub struct Queue {
    /// The queue holds an entry.
    pub valid: Signal,
    /// The oldest entry.
    pub data: Signal,
}

/// A first-in first-out queue of `depth` registers `<name>0..`: `push` writes `data`, `pop` drops
/// the head.
pub fn queue(m: &ModuleBuilder, name: &str, depth: u32, push: &Signal, data: &Signal, pop: &Signal) -> Queue {
    let ab = index_bits(u64::from(depth));
    let wr = m.reg(&format!("{name}_wr"), ab, Reset::Zero);
    let rd = m.reg(&format!("{name}_rd"), ab, Reset::Zero);
    let count = m.reg(&format!("{name}_count"), value_bits(u64::from(depth)), Reset::Zero);
    let wrap = |ptr: &Signal| {
        let last = ptr.eq(&ptr.lit(u64::from(depth - 1)));
        last.mux(&ptr.lit(0), &ptr.add(&ptr.lit(1)))
    };
    m.next_when(&wr, push, &wrap(&wr));
    m.next_when(&rd, pop, &wrap(&rd));
    count_up_down(m, &format!("{name}_count"), &count, push, pop);
    let mut head = m.lit(0, data.width());
    for i in 0..depth {
        let e = m.reg(&format!("{name}{i}"), data.width(), Reset::Zero);
        let here = wr.eq(&wr.lit(u64::from(i)));
        m.next_when(&e, &push.and(&here), data);
        head = rd.eq(&rd.lit(u64::from(i))).mux(&e, &head);
        if i % 4 == 3 && i + 1 < depth {
            // Where the emitter would split the chain anyway, with a name that says what it is.
            head = head.named(&format!("{name}_head_upto{i}"));
        }
    }
    Queue {
        valid: count.ne(&count.lit(0)).named(&format!("{name}_valid")),
        data: head.named(&format!("{name}_head")),
    }
}

/// Builds `vdx_systolic_ws`: command interface, weight loader, activation issue, the mesh, the
/// de-skew, the accumulator ring and the result reader. See the block docs for the protocol.
pub fn build(p: &SystolicParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_systolic_ws");
    header(&m, p);
    m.param("max_k", p.max_k)
        .param("max_m", p.max_m)
        .param("max_n", p.max_n)
        .param("acc_rows", p.acc_rows)
        .param("out_regs", p.out_regs);
    let (rows, cols, aw, ws, ww) = (p.rows, p.cols, p.act_width, p.stored_weight_width(), p.weight_width);
    let (lanes, acc) = (p.lanes(), p.acc_bits());
    let (mb, kb, nb) = p.dim_bits();
    let ring = p.ring_rows();
    let ab = index_bits(ring);
    let db = value_bits(p.acc_rows);

    // Streams: commands, weight beats, activation rows in; result rows out.
    let mut cmd_fields = vec![("m", mb), ("k", kb), ("n", nb)];
    if p.has_mode() {
        cmd_fields.push(("w4", 1));
    }
    let cmd = m.sink("cmd", &StreamType::new(&cmd_fields));
    let wgt = m.sink("wgt", &StreamType::data(cols * ww));
    let act = m.sink("act", &StreamType::data(rows * aw));
    let res_ty = StreamType::new(&[("data", lanes * cols * acc), ("last", 1)]);
    let res = m.source("res", &res_ty);
    let (cmd_valid, cmd_m, cmd_k, cmd_n) = (cmd.valid(), cmd.field("m"), cmd.field("k"), cmd.field("n"));
    let cmd_w4 = if p.has_mode() { cmd.field("w4") } else { m.lit(1, 1) };
    let (wgt_valid, wgt_data) = (wgt.valid(), wgt.data());
    let (act_valid, act_data) = (act.valid(), act.data());
    let res_ready = res.ready();

    m.section("Command: a job is accepted when idle; K and N totals and the mode are held for the job.");
    let busy = m.reg("busy", 1, Reset::Zero);
    let cmd_fire = cmd_valid.and(&busy.not()).named("cmd_fire");
    let k_total = m.reg("k_total", kb + 1, Reset::Zero);
    let n_total = m.reg("n_total", nb + 1, Reset::Zero);
    let w4 = m.reg("w4", 1, Reset::Zero);
    let m_left = m.reg("m_left", mb + 1, Reset::Zero);
    let k_left = m.reg("k_left", kb + 1, Reset::Zero);
    let n_left = m.reg("n_left", nb + 1, Reset::Zero);
    let plus_one = |s: &Signal| s.zext(s.width() + 1).add(&m.lit(1, s.width() + 1));
    m.next_when(&k_total, &cmd_fire, &plus_one(&cmd_k));
    m.next_when(&n_total, &cmd_fire, &plus_one(&cmd_n));
    m.next_when(&w4, &cmd_fire, &cmd_w4);

    m.section(
        "Weight loader: one beat per mesh row and tile, deepest row first; a zero beat (no\n\
         handshake) for each K-row past K. Loads only while no loaded tile waits (have_next).",
    );
    let have_next = m.reg("have_next", 1, Reset::Zero);
    let guard = m.reg("guard", index_bits(u64::from(cols)), Reset::Zero);
    let beat = m.reg("beat", index_bits(u64::from(rows)), Reset::Zero);
    // Literals are clamped to the largest dimension: a count never exceeds it, so comparisons
    // keep their meaning and the literal fits the counter.
    let rows_lit = |w: u32| m.lit(u64::from(rows).min(p.max_k), w);
    let k_real = k_left.gt(&rows_lit(kb + 1)).mux(&rows_lit(kb + 1), &k_left).named("k_real");
    let beat_wide = beat.zext(beat.width().max(kb + 1) + 1);
    let k_real_wide = k_real.zext(beat_wide.width());
    // Beat j lands in row R-1-j: a zero beat while j < R - k_real.
    let zero_beat =
        beat_wide.add(&k_real_wide).lt(&m.lit(u64::from(rows), beat_wide.width())).named("zero_beat");
    let may_load =
        busy.and(&have_next.not()).and(&beat.ne(&beat.lit(0)).or(&guard.eq(&guard.lit(0)))).named("may_load");
    let wgt_ready = may_load.and(&zero_beat.not()).named("wgt_ready");
    let fire = may_load.and(&zero_beat.or(&wgt_valid)).named("load_fire");
    let last_beat = beat.eq(&beat.lit(u64::from(rows - 1))).named("last_beat");
    let tile_loaded = fire.and(&last_beat).named("tile_loaded");
    m.next_when(&beat, &fire, &last_beat.mux(&beat.lit(0), &beat.add(&beat.lit(1))));

    m.section(
        "Weight slots: columns past N are zeroed, then the beat enters the shadow chain at the top;\n\
         beat j shifts mesh rows 0..j.",
    );
    let tile_cols_w4 = if lanes == 2 { w4.clone() } else { m.lit(0, 1) };
    let slot_cell = weight_slot(p)?;
    let mut conns = vec![("raw_i", Conn::Each(wgt_data.clone()))];
    if lanes == 2 {
        conns.push(("valid4_i", Conn::Each(below(&m, &n_left, 2 * cols).named("w4_col_valid"))));
        conns.push(("valid8_i", Conn::Each(below(&m, &n_left, cols).named("w8_col_valid"))));
        conns.push(("w4_i", Conn::All(w4.clone())));
    } else {
        conns.push(("valid_i", Conn::Each(below(&m, &n_left, cols).named("col_valid"))));
    }
    let slots = m.instance_array("u_weight_slot", &slot_cell, cols, &conns).output("slot_o");
    let beat_value = zero_beat.mux(&m.lit(0, cols * ws), &slots);
    let top = m.reg("shadow_top", cols * ws, Reset::Zero);
    m.next_when(&top, &fire, &beat_value);
    // Beat j shifts rows 0..=j: row r only starts once the deepest weight reaches it.
    let reached = below(&m, &plus_one(&beat), rows).named("rows_reached");
    let shift_rows = fire.repeat(rows).and(&reached);
    let shift = m.reg("shadow_shift", rows, Reset::Zero);
    m.next(&shift, &shift_rows);

    m.section(
        "Tile iteration: K innermost, then N, then M in chunks of acc_rows rows. The loaded\n\
         tile's descriptor waits in next_* until the activation side switches to it.",
    );
    let acc_rows_lit = m.lit(p.acc_rows.min(p.max_m), mb + 1);
    let chunk =
        m_left.gt(&acc_rows_lit).mux(&acc_rows_lit, &m_left).named("m_chunk").resize(db).named("chunk_rows");
    let first_k = k_left.eq(&k_total).named("first_k");
    let last_k = k_left.le(&rows_lit(kb + 1)).named("last_k");
    let n_lit = |v: u32| m.lit(u64::from(v).min(p.max_n), nb + 1);
    let tile_cols = tile_cols_w4.mux(&n_lit(2 * cols), &n_lit(cols)).named("tile_cols");
    let last_n = n_left.le(&tile_cols).named("last_n");
    let last_m = m_left.le(&acc_rows_lit).named("last_m");
    let end_job = last_k.and(&last_n).and(&last_m).named("last_tile");
    m.next_when(
        &k_left,
        &cmd_fire.or(&tile_loaded),
        &cmd_fire.or(&last_k).mux(&cmd_fire.mux(&plus_one(&cmd_k), &k_total), &k_left.sub(&rows_lit(kb + 1))),
    );
    let n_step = tile_loaded.and(&last_k).named("n_step");
    m.next_when(
        &n_left,
        &cmd_fire.or(&n_step),
        &cmd_fire.or(&last_n).mux(&cmd_fire.mux(&plus_one(&cmd_n), &n_total), &n_left.sub(&tile_cols)),
    );
    let m_step = n_step.and(&last_n).named("m_step");
    m.next_when(&m_left, &cmd_fire.or(&m_step), &cmd_fire.mux(&plus_one(&cmd_m), &m_left.sub(&acc_rows_lit)));
    m.next_when(&busy, &cmd_fire.or(&tile_loaded.and(&end_job)), &cmd_fire);

    let nx_rows = m.reg("next_rows", db, Reset::Zero);
    let nx_first = m.reg("next_first_k", 1, Reset::Zero);
    let nx_last = m.reg("next_last_k", 1, Reset::Zero);
    let nx_end = m.reg("next_end", 1, Reset::Zero);
    let nx_w4 = m.reg("next_w4", 1, Reset::Zero);
    m.next_when(&nx_rows, &tile_loaded, &chunk);
    m.next_when(&nx_first, &tile_loaded, &first_k);
    m.next_when(&nx_last, &tile_loaded, &last_k);
    m.next_when(&nx_end, &tile_loaded, &end_job);
    m.next_when(&nx_w4, &tile_loaded, &w4);

    m.section(
        "Activation issue: the current tile's rows, one per handshake. The last row carries the\n\
         weight switch when the next tile is loaded; ring_space holds a job's first K-tile until\n\
         its accumulator rows are free.",
    );
    let cur = m.reg("cur", 1, Reset::Zero);
    let cur_rows = m.reg("cur_rows", db, Reset::Zero);
    let cur_first = m.reg("cur_first_k", 1, Reset::Zero);
    let cur_last = m.reg("cur_last_k", 1, Reset::Zero);
    let cur_end = m.reg("cur_end", 1, Reset::Zero);
    let cur_w4 = m.reg("cur_w4", 1, Reset::Zero);
    let row_idx = m.reg("row", db, Reset::Zero);
    let base = m.reg("ring_base", ab, Reset::Zero);
    let used = m.reg("ring_used", ab + 1, Reset::Zero);
    let cool = m.reg("cool", 1, Reset::Zero);
    let rd_issue = m.wire("rd_issue", 1);

    let at_last = plus_one(&row_idx).eq(&cur_rows.zext(db + 1)).named("at_last");
    let space = cur_first.not().or(&used.lt(&m.lit(ring, ab + 1))).named("ring_space");
    // The last row of a tile carries the switch when the next tile is loaded, waits while one is
    // loading, and goes alone when no further tile is known.
    let act_ready = cur
        .and(&cool.not())
        .and(&space)
        .and(&at_last.not().or(&have_next).or(&busy.not()))
        .named("act_ready");
    let row_fire = act_ready.and(&act_valid).named("row_fire");
    let sw_row = row_fire.and(&at_last).and(&have_next);
    let sw_alone = cur.not().and(&have_next).and(&cool.not());
    let switch = sw_row.or(&sw_alone).named("tile_switch");
    let tile_done = row_fire.and(&at_last).named("tile_done");
    m.next_when(&have_next, &tile_loaded.or(&switch), &tile_loaded);
    let guard_start = m.lit(u64::from(cols.saturating_sub(2)), guard.width());
    m.next(
        &guard,
        &switch.mux(&guard_start, &guard.eq(&guard.lit(0)).mux(&guard, &guard.sub(&guard.lit(1)))),
    );
    m.next_when(&cur, &switch.or(&tile_done), &switch);
    for (reg, next) in [
        (&cur_rows, &nx_rows),
        (&cur_first, &nx_first),
        (&cur_last, &nx_last),
        (&cur_end, &nx_end),
        (&cur_w4, &nx_w4),
    ] {
        m.next_when(reg, &switch, next);
    }
    m.next_when(&row_idx, &switch.or(&row_fire), &switch.mux(&row_idx.lit(0), &row_idx.add(&row_idx.lit(1))));
    m.next_when(&base, &tile_done.and(&cur_last), &base.add(&cur_rows.resize(ab)));
    count_up_down(&m, "ring_used", &used, &row_fire.and(&cur_first).named("ring_alloc"), &rd_issue);
    m.next(&cool, &tile_done.and(&cur_rows.eq(&cur_rows.lit(1))));

    m.section(
        "Issue stage: the row (or a bubble), the switch pulse and the control word\n\
         {end, w4, last_k, first_k, valid, addr} enter the mesh and the control delay line.",
    );
    let act_q = m.reg("act", rows * aw, Reset::Zero);
    m.next(&act_q, &act_data);
    let sw_q = m.reg("sw_issue", 1, Reset::Zero);
    m.next(&sw_q, &switch);
    let addr = base.add(&row_idx.resize(ab));
    // Control word: {end, w4, last_k, first_k, valid, addr}.
    let ctl = cat(&[&cur_end.and(&at_last), &cur_w4, &cur_last, &cur_first, &row_fire, &addr]);
    let ctl_q = m.reg("ctl", ctl.width(), Reset::Zero);
    m.next(&ctl_q, &ctl);

    m.section(
        "Mesh and de-skew: column c of the mesh's bottom row leaves c cycles after column 0; the\n\
         de-skew chain delays column c by cols - c cycles so the row leaves whole (bottom).",
    );
    let bottom = deskewed_mesh(&m, p, &act_q, &sw_q, &top, &shift)?;

    m.section(
        "Accumulator ring: the de-skewed bottom row of an issue at cycle t arrives at\n\
         t + rows + cols + 1 with its control word (bottom_*); the ring row is read one cycle\n\
         earlier (ctl_delay_out) and written back with the column sums added.",
    );
    let ctl_cell = delay_cell(<SystolicParams as BlockParams>::BLOCK, "vdx_systolic_ctl_stage", ctl.width())?;
    let ctl_pre = delay_line(&m, "ctl_delay", &ctl_cell, &ctl_q, rows + cols - 1);
    let ctl_b = m.reg("ctl_bottom", ctl.width(), Reset::Zero);
    m.next(&ctl_b, &ctl_pre);
    let field = |c: &Signal, bit: u32, name: &str| c.bit(ab + bit).named(name);
    let (pre_valid, pre_first) = (field(&ctl_pre, 0, "pre_valid"), field(&ctl_pre, 1, "pre_first_k"));
    let (b_valid, b_first, b_last, b_w4, b_end) = (
        field(&ctl_b, 0, "bottom_valid"),
        field(&ctl_b, 1, "bottom_first_k"),
        field(&ctl_b, 2, "bottom_last_k"),
        field(&ctl_b, 3, "bottom_w4"),
        field(&ctl_b, 4, "bottom_end"),
    );
    let ring_mem = m.memory("ring", lanes * cols * acc + 2, ring);
    let acc_rd =
        ring_mem.read(&pre_valid.and(&pre_first.not()), &ctl_pre.slice(ab - 1, 0).named("ring_read_addr"));
    let acc_cell = acc_slot(p)?;
    let sums = m
        .instance_array(
            "u_acc_slot",
            &acc_cell,
            lanes * cols,
            &[
                ("old_i", Conn::Each(acc_rd.slice(lanes * cols * acc - 1, 0).named("ring_old"))),
                ("psum_i", Conn::Each(bottom)),
                ("first_i", Conn::All(b_first.clone())),
            ],
        )
        .output("sum_o");
    ring_mem.write(&b_valid, &ctl_b.slice(ab - 1, 0).named("ring_write_addr"), &cat(&[&b_end, &b_w4, &sums]));
    let final_write = b_valid.and(&b_last).named("final_write");

    m.section(
        "Reader: rows whose last K-tile is written (ready_rows) are read in order while the\n\
         result queue has room for every read in flight; W8A8 rows combine their two lanes.",
    );
    let avail = m.reg("ready_rows", ab + 1, Reset::Zero);
    let rd_ptr = m.reg("rd_ptr", ab, Reset::Zero);
    let depth = p.queue_depth();
    let outstanding = m.reg("res_outstanding", value_bits(u64::from(depth)), Reset::Zero);
    let issue = avail
        .ne(&avail.lit(0))
        .and(&outstanding.lt(&outstanding.lit(u64::from(depth))))
        .named("rd_issue_now");
    m.drive(&rd_issue, &issue);
    count_up_down(&m, "ready_rows", &avail, &final_write, &issue);
    m.next_when(&rd_ptr, &issue, &rd_ptr.add(&rd_ptr.lit(1)));
    let out_row = ring_mem.read(&issue, &rd_ptr);
    let read_valid = m.reg("read_valid", 1, Reset::Zero);
    m.next(&read_valid, &issue);
    let row_w4 = out_row.bit(lanes * cols * acc);
    let row_end = out_row.bit(lanes * cols * acc + 1);
    let lanes_row = out_row.slice(lanes * cols * acc - 1, 0).named("read_lanes");
    let shaped = if lanes == 2 {
        let combine = combine_slot(p)?;
        let w8 = m.instance_array("u_combine", &combine, cols, &[("lanes_i", Conn::Each(lanes_row.clone()))]);
        row_w4.mux(&lanes_row, &m.lit(0, cols * acc).concat(&w8.output("w8_o")))
    } else {
        lanes_row
    };
    let mut stage_valid = read_valid;
    let mut stage_data = row_end.concat(&shaped);
    for s in 0..p.out_regs {
        let v = m.reg(&format!("out_valid_s{s}"), 1, Reset::Zero);
        m.next(&v, &stage_valid);
        let d = m.reg(&format!("out_data_s{s}"), stage_data.width(), Reset::Zero);
        m.next_when(&d, &stage_valid, &stage_data);
        stage_valid = v;
        stage_data = d;
    }
    m.section("Result queue: out_regs output stages, then a FIFO of {last, data} rows.");
    let pop = m.wire("res_pop", 1);
    let q = queue(&m, "res_queue", depth, &stage_valid, &stage_data, &pop);
    m.drive(&pop, &q.valid.and(&res_ready));
    count_up_down(&m, "res_outstanding", &outstanding, &issue, &pop);

    cmd.drive_ready(&busy.not());
    wgt.drive_ready(&wgt_ready);
    act.drive_ready(&act_ready);
    // The queue holds {last, data}: the packed layout of the result type.
    res.drive(&Stream::new(&res_ty, &q.valid, &q.data));
    m.finish()
}
