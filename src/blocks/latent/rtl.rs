//! Builder of `vdx_latent_buffer`: request decode (`vdx_latent_locate`), one request stage with
//! per-slot arbitration (`vdx_latent_grant`), the banks (`vdx_latent_bank`, SRAM and its
//! request select) and the per-port return mux with its data register (`vdx_latent_return`).

use super::LatentBufferParams;
use crate::blocks::BlockParams;
use crate::hdl::index_bits;
use crate::hdl::{Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamType, cat};

const BLOCK: &str = <LatentBufferParams as BlockParams>::BLOCK;

/// Bits of the word index a locate unit takes: a write word's `w + j` may reach
/// `2^pitch_width + write_words`.
fn word_in_width(p: &LatentBufferParams) -> u32 {
    p.pitch_width.max(index_bits(u64::from(p.write_words))) + 1
}

/// `vdx_latent_locate`: `(token, word)` → `(bank, row, ok)` by the skewed map, with the wrap
/// into the next token when `may_wrap_i` is set and `word ≥ pitch`.
pub fn locate(p: &LatentBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_latent_locate");
    m.block(BLOCK)
        .param("banks", p.banks)
        .param("depth", p.depth)
        .param("pitch_width", p.pitch_width)
        .param("word_in_width", word_in_width(p));
    let (bw, rw, tw, pw, ew) =
        (p.bank_width(), p.row_width(), p.token_width(), p.pitch_width, word_in_width(p));
    let token = m.input("token_i", tw);
    let word = m.input("word_i", ew);
    let keep = m.input("keep_i", 1);
    let may_wrap = m.input("may_wrap_i", 1);
    let pitch = m.input("pitch_i", pw).zext(ew).named("pitch_ext");

    m.section("A word at or past the pitch belongs to the next token (write beats only).");
    let wrap = may_wrap.and(&word.ge(&pitch)).named("wrap");
    let w = wrap.mux(&word.sub(&pitch), &word).named("word_in_token");
    let n = token.zext(tw + 1).add(&wrap.zext(tw + 1)).named("token_wrapped");

    m.section("Skewed map: bank = (n + w) mod banks, row = (n div banks) * pitch + w.");
    let block_index = n.slice(tw, bw).named("row_block");
    let rw_full = (rw + pw + 2).max(ew);
    let row_full = block_index
        .zext(rw_full)
        .mul(&pitch.slice(pw - 1, 0).zext(rw_full), rw_full)
        .add(&w.zext(rw_full))
        .named("row_full");
    let sum = n.slice(bw - 1, 0).zext(ew.max(bw)).add(&w.zext(ew.max(bw))).named("bank_sum");
    let ok = keep.and(&w.lt(&pitch)).and(&row_full.lt(&m.lit(p.depth, rw_full))).named("in_range");
    m.output("bank_o", &sum.slice(bw - 1, 0));
    m.output("row_o", &row_full.slice(rw - 1, 0));
    m.output("ok_o", &ok);
    m.finish()
}

/// `vdx_latent_grant`: whether slot `index_i`'s request must wait because a lower pending slot
/// wants the same bank.
pub fn grant(p: &LatentBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_latent_grant");
    m.block(BLOCK).param("slots", p.slots()).param("banks", p.banks);
    let (n, bw) = (p.slots(), p.bank_width());
    let sw = index_bits(u64::from(n));
    let index = m.input("index_i", sw);
    let own = m.input("bank_i", bw);
    let banks = m.input("banks_i", n * bw);
    let pending = m.input("pending_i", n);
    m.section("A lower slot that is pending for the same bank goes first.");
    let mut blocked = m.lit(0, 1);
    for r in 0..n.saturating_sub(1) {
        let lower = m.lit(u64::from(r), sw).lt(&index);
        let same = banks.slice((r + 1) * bw - 1, r * bw).eq(&own);
        blocked = blocked.or(&lower.and(&pending.bit(r)).and(&same)).named(&format!("blocked_by{r}"));
    }
    m.output("blocked_o", &blocked);
    m.finish()
}

/// `vdx_latent_bank`: one bank's SRAM and the select of the granted request that addresses it.
pub fn bank(p: &LatentBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_latent_bank");
    m.block(BLOCK)
        .param("slots", p.slots())
        .param("banks", p.banks)
        .param("depth", p.depth)
        .param("word_width", p.word_width)
        .param("write_words", p.write_words);
    let (n, bw, rw, ww) = (p.slots(), p.bank_width(), p.row_width(), p.word_width);
    let index = m.input("index_i", bw);
    let grant = m.input("grant_i", n);
    let banks = m.input("banks_i", n * bw);
    let rows = m.input("rows_i", n * rw);
    let write = m.input("write_i", 1);
    let wdata = m.input("wdata_i", p.write_words * ww);

    m.section("The granted request for this bank (at most one), its row and its data.");
    let mut any = m.lit(0, 1);
    let mut row = m.lit(0, rw);
    let mut data = m.lit(0, ww);
    for r in 0..n {
        let sel =
            grant.bit(r).and(&banks.slice((r + 1) * bw - 1, r * bw).eq(&index)).named(&format!("sel{r}"));
        any = any.or(&sel).named(&format!("any_upto{r}"));
        row =
            row.or(&sel.repeat(rw).and(&rows.slice((r + 1) * rw - 1, r * rw))).named(&format!("row_upto{r}"));
        if r < p.write_words {
            let word = wdata.slice((r + 1) * ww - 1, r * ww);
            data = data.or(&sel.repeat(ww).and(&word)).named(&format!("data_upto{r}"));
        }
    }

    m.section("The SRAM: one access per cycle, a read's data the cycle after.");
    let mem = m.memory("bank", ww, p.depth);
    mem.write(&any.and(&write).named("write_en"), &row, &data);
    let rdata = mem.read(&any.and(&write.not()).named("read_en"), &row);
    m.output("rdata_o", &rdata);
    m.finish()
}

/// `vdx_latent_return`: one read port's word, taken from the bank it was granted through a
/// `log2 banks`-level tree of 2:1 multiplexers, held until the next grant, shown as 0 when the
/// port did not read.
pub fn ret(p: &LatentBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_latent_return");
    m.block(BLOCK).param("banks", p.banks).param("word_width", p.word_width);
    let (b, bw, ww) = (p.banks, p.bank_width(), p.word_width);
    let banks = m.input("banks_i", b * ww);
    let sel = m.input("sel_i", bw);
    let take = m.input("take_i", 1);
    let ok = m.input("ok_i", 1);
    m.section("Return mux, a balanced tree: level i halves the words by bit i of the bank.");
    let mut level = banks.clone();
    for i in 0..bw {
        let half = b >> (i + 1);
        let word = |k: u32| level.slice((k + 1) * ww - 1, k * ww);
        let picks: Vec<Signal> =
            (0..half).rev().map(|k| sel.bit(i).mux(&word(2 * k + 1), &word(2 * k))).collect();
        level = cat(&picks.iter().collect::<Vec<_>>()).named(&format!("pick_level{}", i + 1));
    }
    let picked = level;
    let word = m.reg("word", ww, Reset::Zero);
    m.next_when(&word, &take, &picked);
    m.output("word_o", &ok.repeat(ww).and(&word));
    m.finish()
}

/// `index` literals `0..count` of `width` bits, concatenated for a [`Conn::Each`].
fn indices(m: &ModuleBuilder, name: &str, count: u32, width: u32) -> Signal {
    let lits: Vec<Signal> = (0..count).rev().map(|i| m.lit(u64::from(i), width)).collect();
    cat(&lits.iter().collect::<Vec<_>>()).named(name)
}

/// Builds the buffer. See the block docs for the ports.
pub fn build(p: &LatentBufferParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_latent_buffer");
    m.block(BLOCK)
        .param("banks", p.banks)
        .param("depth", p.depth)
        .param("word_width", p.word_width)
        .param("read_ports", p.read_ports)
        .param("write_words", p.write_words)
        .param("pitch_width", p.pitch_width);
    let (l, wn, ww, pw) = (p.read_ports, p.write_words, p.word_width, p.pitch_width);
    let (bw, rw, tw, ew, n) = (p.bank_width(), p.row_width(), p.token_width(), word_in_width(p), p.slots());
    let pitch = m.input("pitch_i", pw);
    let rd = m.sink("rd", &StreamType::new(&[("token", l * tw), ("word", l * pw), ("keep", l)]));
    let wr = m.sink("wr", &StreamType::new(&[("token", tw), ("word", pw), ("keep", wn), ("data", wn * ww)]));
    let out_ty = StreamType::new(&[("data", l * ww), ("err", 1)]);
    let out = m.source("rdata", &out_ty);

    m.section("Decode: every request of the offered read beat and write beat located at once.");
    let locator = locate(p)?;
    let rd_words: Vec<Signal> =
        (0..l).rev().map(|r| rd.field("word").slice((r + 1) * pw - 1, r * pw).zext(ew)).collect();
    let rd_loc = m.instance_array(
        "u_read_locate",
        &locator,
        l,
        &[
            ("token_i", Conn::Each(rd.field("token"))),
            ("word_i", Conn::Each(cat(&rd_words.iter().collect::<Vec<_>>()).named("rd_word_ext"))),
            ("keep_i", Conn::Each(rd.field("keep"))),
            ("may_wrap_i", Conn::All(m.lit(0, 1))),
            ("pitch_i", Conn::All(pitch.clone())),
        ],
    );
    let start_ok = wr.field("word").lt(&pitch).named("wr_start_ok");
    let wr_words: Vec<Signal> =
        (0..wn).rev().map(|j| wr.field("word").zext(ew).add(&m.lit(u64::from(j), ew))).collect();
    let wr_loc = m.instance_array(
        "u_write_locate",
        &locator,
        wn,
        &[
            ("token_i", Conn::All(wr.field("token"))),
            ("word_i", Conn::Each(cat(&wr_words.iter().collect::<Vec<_>>()).named("wr_word_seq"))),
            ("keep_i", Conn::Each(wr.field("keep").and(&start_ok.repeat(wn)).named("wr_keep_ok"))),
            ("may_wrap_i", Conn::All(m.lit(1, 1))),
            ("pitch_i", Conn::All(pitch.clone())),
        ],
    );
    let widen =
        |s: Signal, count: u32, width: u32| -> Signal { if count == n { s } else { s.zext(n * width) } };
    let rd_ok = rd_loc.output("ok_o").named("rd_ok");
    let wr_ok = wr_loc.output("ok_o").named("wr_ok");
    let rd_err = rd.field("keep").and(&rd_ok.not()).reduce_or().named("rd_err");
    let wr_err = wr.field("keep").and(&wr_ok.not()).reduce_or().named("wr_err");

    m.section(
        "Request stage: one beat in service; each cycle every bank serves its lowest pending\n\
         request, the others wait (a conflict cycle). Reads go before writes offered at once;\n\
         nothing moves while rdata waits.",
    );
    let active = m.reg("active", 1, Reset::Zero);
    let is_write = m.reg("is_write", 1, Reset::Zero);
    let pending = m.reg("pending", n, Reset::Zero);
    let bank_q = m.reg("req_bank", n * bw, Reset::Zero);
    let row_q = m.reg("req_row", n * rw, Reset::Zero);
    let ok_q = m.reg("req_ok", l, Reset::Zero);
    let err_q = m.reg("req_err", 1, Reset::Zero);
    let wdata_q = m.reg("req_wdata", wn * ww, Reset::Zero);
    let out_valid = m.reg("out_valid", 1, Reset::Zero);
    let stall = out_valid.and(&out.ready().not()).named("stall");
    let grants = m.instance_array(
        "u_grant",
        &grant(p)?,
        n,
        &[
            ("index_i", Conn::Each(indices(&m, "slot_index", n, index_bits(u64::from(n))))),
            ("bank_i", Conn::Each(bank_q.clone())),
            ("banks_i", Conn::All(bank_q.clone())),
            ("pending_i", Conn::All(pending.clone())),
        ],
    );
    let blocked = grants.output("blocked_o").named("blocked");
    let serve = active.and(&stall.not()).named("serve");
    let granted = pending.and(&blocked.not()).and(&serve.repeat(n)).named("granted");
    let waiting = pending.and(&blocked).reduce_or().named("waiting");
    let finish = serve.and(&waiting.not()).named("finish");
    let can_load = stall.not().and(&active.not().or(&finish)).named("can_load");
    let rd_take = rd.valid().and(&can_load).named("rd_take");
    let wr_take = wr.valid().and(&can_load).and(&rd.valid().not()).named("wr_take");
    let load = rd_take.or(&wr_take).named("load");
    m.next(&active, &load.or(&active.and(&finish.not())));
    m.next_when(&is_write, &load, &wr_take);
    m.next(
        &pending,
        &rd_take.mux(
            &widen(rd_ok.clone(), l, 1),
            &wr_take.mux(&widen(wr_ok.clone(), wn, 1), &pending.and(&granted.not())),
        ),
    );
    m.next_when(
        &bank_q,
        &load,
        &rd_take.mux(&widen(rd_loc.output("bank_o"), l, bw), &widen(wr_loc.output("bank_o"), wn, bw)),
    );
    m.next_when(
        &row_q,
        &load,
        &rd_take.mux(&widen(rd_loc.output("row_o"), l, rw), &widen(wr_loc.output("row_o"), wn, rw)),
    );
    m.next_when(&ok_q, &load, &rd_ok);
    m.next_when(&err_q, &load, &rd_take.mux(&rd_err, &wr_err));
    m.next_when(&wdata_q, &wr_take, &wr.field("data"));

    m.section("Banks.");
    let banks = m.instance_array(
        "u_bank",
        &bank(p)?,
        p.banks,
        &[
            ("index_i", Conn::Each(indices(&m, "bank_index", p.banks, bw))),
            ("grant_i", Conn::All(granted.clone())),
            ("banks_i", Conn::All(bank_q.clone())),
            ("rows_i", Conn::All(row_q.clone())),
            ("write_i", Conn::All(is_write.clone())),
            ("wdata_i", Conn::All(wdata_q.clone())),
        ],
    );
    let bank_data = banks.output("rdata_o").named("bank_rdata");

    m.section(
        "Return: a read granted in one cycle takes its bank's data in the next; the beat is\n\
         whole the cycle after its last grant and is offered from then on.",
    );
    let got = m.reg("got", l, Reset::Zero);
    let sel = m.reg("got_bank", l * bw, Reset::Zero);
    let done = m.reg("done", 1, Reset::Zero);
    let done_ok = m.reg("done_ok", l, Reset::Zero);
    let done_err = m.reg("done_err", 1, Reset::Zero);
    let hold = stall.not().named("advance");
    let read_grants = granted.slice(l - 1, 0).and(&is_write.not().repeat(l)).named("read_grants");
    m.next_when(&got, &hold, &read_grants);
    m.next_when(&sel, &hold, &bank_q.slice(l * bw - 1, 0));
    m.next_when(&done, &hold, &finish.and(&is_write.not()));
    m.next_when(&done_ok, &hold.and(&finish), &ok_q);
    m.next_when(&done_err, &hold.and(&finish), &err_q);
    let out_ok = m.reg("out_ok", l, Reset::Zero);
    let out_err = m.reg("out_err", 1, Reset::Zero);
    m.next_when(&out_valid, &hold, &done);
    m.next_when(&out_ok, &hold.and(&done), &done_ok);
    m.next_when(&out_err, &hold.and(&done), &done_err);
    let words = m.instance_array(
        "u_return",
        &ret(p)?,
        l,
        &[
            ("banks_i", Conn::All(bank_data)),
            ("sel_i", Conn::Each(sel)),
            ("take_i", Conn::Each(got.and(&hold.repeat(l)).named("take"))),
            ("ok_i", Conn::Each(out_ok)),
        ],
    );

    m.section("Status: conflict cycles (saturating) and the sticky range error.");
    let conflicts = m.reg("conflicts", 32, Reset::Zero);
    let count =
        serve.and(&waiting).and(&conflicts.ne(&conflicts.lit(u64::from(u32::MAX)))).named("count_conflict");
    m.next_when(&conflicts, &count, &conflicts.add(&conflicts.lit(1)));
    let error = m.reg("error", 1, Reset::Zero);
    let bad = rd_take.and(&rd_err).or(&wr_take.and(&wr_err)).named("bad_request");
    m.next_when(&error, &bad, &m.lit(1, 1));

    rd.drive_ready(&can_load);
    wr.drive_ready(&can_load.and(&rd.valid().not()));
    out.drive(&Stream::from_fields(
        &out_ty,
        &out_valid,
        &[("data", &words.output("word_o")), ("err", &out_err)],
    ));
    m.output("conflicts_o", &conflicts);
    m.output("error_o", &error);
    m.finish()
}
