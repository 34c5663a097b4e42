//! Builder of `vdx_ucie_adapter`: the transmitter (flit slots, header and CRC insertion, the
//! replay buffer), the receiver (header and CRC check, delivery and cancel), the retry and
//! credit state both share, and the link state machine. Every rule is the one of
//! [`super::model`], applied in the same order within a cycle: the transmitter's decision,
//! the replay timer, the received flit, the returned credit.

use super::UcieAdapterParams;
use super::golden::{CRC0_AT, CRC1_AT, PAYLOAD_END};
use super::model::{ACK_EVERY, MAX_UNACKED, NAK_AGAIN, REFRESH_SLOTS, REPLAY_TIMEOUT_FLITS};
use super::rtl::build_crc;
use crate::blocks::BlockParams;
use crate::hdl::{HdlError, Module, ModuleBuilder, Reset, Signal, cat, index_bits};

/// `pl_state_sts` / `lp_state_req` encodings (UCIe 2.0 Table 10-3).
pub mod state {
    /// Reset (status) or NOP (request).
    pub const RESET: u64 = 0b0000;
    /// Active.
    pub const ACTIVE: u64 = 0b0001;
    /// LinkReset.
    pub const LINK_RESET: u64 = 0b1001;
    /// LinkError.
    pub const LINK_ERROR: u64 = 0b1010;
    /// Retrain.
    pub const RETRAIN: u64 = 0b1011;
}

/// Byte `i` of `s`.
fn byte(s: &Signal, i: u32) -> Signal {
    s.slice(8 * i + 7, 8 * i)
}

/// `x + 1` on the cycle of sequence numbers `1..=255`.
fn seq_next(m: &ModuleBuilder, x: &Signal) -> Signal {
    x.eq(&m.lit(255, 8)).mux(&m.lit(1, 8), &x.add(&m.lit(1, 8)))
}

/// `x − 1` on the same cycle (0 and 1 give 255).
fn seq_prev(m: &ModuleBuilder, x: &Signal) -> Signal {
    x.le(&m.lit(1, 8)).mux(&m.lit(255, 8), &x.sub(&m.lit(1, 8)))
}

/// Steps from `a` to `b` on the cycle (`(b − a) mod 255`, 8 bits; 255 counts as 0), as the
/// wire `name` (its difference before the wrap is `<name>_diff`, after it `<name>_wrapped`).
fn seq_dist(m: &ModuleBuilder, a: &Signal, b: &Signal, name: &str) -> Signal {
    let fold = |x: &Signal| x.eq(&m.lit(255, 8)).mux(&m.lit(0, 8), x);
    let (a, b) = (fold(a).zext(9), fold(b).zext(9));
    let diff = b.sub(&a).named(&format!("{name}_diff"));
    let wrapped = diff.bit(8).mux(&diff.add(&m.lit(255, 9)), &diff).named(&format!("{name}_wrapped"));
    wrapped.slice(7, 0).named(name)
}

/// Saturating `x + 1` up to `max`.
fn sat_inc(m: &ModuleBuilder, x: &Signal, max: u64) -> Signal {
    let w = x.width();
    x.ge(&m.lit(max, w)).mux(&m.lit(max, w), &x.add(&m.lit(1, w)))
}

/// Builds the adapter. See the block docs for the ports.
pub fn build(p: &UcieAdapterParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_ucie_adapter");
    m.block(<UcieAdapterParams as BlockParams>::BLOCK)
        .param("bytes", p.bytes)
        .param("replay_depth", p.replay_depth)
        .param("credits", p.credits)
        .param("modules", p.modules)
        .param("lanes", p.lanes)
        .param("gt_s", p.gt_s);
    let b = p.bytes;
    let k = p.chunks();
    let half = 128 / b;
    let cw = index_bits(u64::from(k));
    let depth = u64::from(p.replay_depth);
    let sw = index_bits(depth);
    let pw = sw + 1;
    let window = u64::from(p.replay_depth.min(MAX_UNACKED));
    let timeout = u64::from(REPLAY_TIMEOUT_FLITS * k);
    let tw = index_bits(timeout + 1);
    let report_at = u64::from((p.credits / 2).clamp(1, ACK_EVERY));
    let crw = index_bits(u64::from(p.credits) + 1);
    let lit = |v: u64, w: u32| m.lit(v, w);

    let lp_irdy = m.input("lp_irdy_i", 1);
    let lp_valid = m.input("lp_valid_i", 1);
    let lp_data = m.input("lp_data_i", 8 * b);
    let credit_return = m.input("lp_credit_return_i", 1);
    let state_req = m.input("lp_state_req_i", 4);
    let linkerror = m.input("lp_linkerror_i", 1);
    let link_up = m.input("link_up_i", 1);
    let tx_ready = m.input("phy_tx_ready_i", 1);
    let rx_valid_in = m.input("phy_rx_valid_i", 1);
    let rx_sof = m.input("phy_rx_sof_i", 1);
    let rx_data = m.input("phy_rx_data_i", 8 * b);

    m.section(
        "Link state: Reset -> Active on request with the link up; Active -> Retrain when the link\n\
         drops or on request, back when it is up and Active is requested; Active -> LinkReset on\n\
         request (retry state cleared), -> Reset on NOP. Any state -> LinkError while the protocol\n\
         layer signals lp_linkerror (retry state cleared), -> Reset on NOP once it stops. A flit\n\
         under way ends first.",
    );
    let st = m.reg("state", 4, Reset::Value(state::RESET));
    let is = |v: u64| st.eq(&lit(v, 4));
    let req = |v: u64| state_req.eq(&lit(v, 4));
    let active = is(state::ACTIVE).named("active");
    let tx_busy = m.reg("tx_busy", 1, Reset::Zero);
    let up_idle = link_up.and(&tx_busy.not()).named("link_up_idle");
    let reset_exit = is(state::RESET).and(&req(state::ACTIVE)).and(&up_idle).named("reset_exit");
    let link_reset = active.and(&req(state::LINK_RESET)).named("link_reset");
    let to_retrain = active.and(&link_up.not().or(&req(state::RETRAIN))).named("to_retrain");
    let retrain_done = is(state::RETRAIN).and(&req(state::ACTIVE)).and(&up_idle).named("retrain_done");
    let go_reset = is(state::LINK_RESET).and(&req(state::RESET)).named("go_reset");
    let in_error = is(state::LINK_ERROR).named("in_link_error");
    let to_error = linkerror.and(&in_error.not()).named("to_link_error");
    let error_exit = in_error.and(&linkerror.not()).and(&req(state::RESET)).named("link_error_exit");
    let pick = |c: &Signal, v: u64, other: Signal| c.mux(&lit(v, 4), &other);
    let st_next = pick(
        &to_error,
        state::LINK_ERROR,
        pick(
            &reset_exit.or(&retrain_done),
            state::ACTIVE,
            pick(
                &link_reset,
                state::LINK_RESET,
                pick(&to_retrain, state::RETRAIN, pick(&go_reset.or(&error_exit), state::RESET, st.clone())),
            ),
        ),
    )
    .named("state_next");
    m.next(&st, &st_next);
    // Retry state is cleared at a link reset and on entering LinkError, as at rst_ni.
    let clear = link_reset.or(&to_error).named("retry_clear");

    m.section("Retry and credit state shared by both directions.");
    let next_tx = m.reg("next_tx", 8, Reset::Value(1));
    let acked = m.reg("acked", 8, Reset::Value(255));
    let head = m.reg("head", pw, Reset::Zero);
    let tail = m.reg("tail", pw, Reset::Zero);
    let replaying = m.reg("replaying", 1, Reset::Zero);
    let rp = m.reg("replay_ptr", pw, Reset::Zero);
    let timer = m.reg("timer", tw, Reset::Zero);
    let credits = m.reg("credits", crw, Reset::Value(u64::from(p.credits)));
    let credits_seen = m.reg("credits_seen", 8, Reset::Zero);
    let expected = m.reg("expected", 8, Reset::Value(1));
    let ack_owed = m.reg("ack_owed", index_bits(u64::from(ACK_EVERY) + 1), Reset::Zero);
    let nak_scheduled = m.reg("nak_scheduled", 1, Reset::Zero);
    let nak_owed = m.reg("nak_owed", 1, Reset::Zero);
    let nak_drops = m.reg("nak_drops", index_bits(u64::from(NAK_AGAIN) + 1), Reset::Zero);
    let last_gap = m.reg("last_gap", 8, Reset::Zero);
    let last_gap_valid = m.reg("last_gap_valid", 1, Reset::Zero);
    let credits_returned = m.reg("credits_returned", 8, Reset::Zero);
    let credits_unreported = m.reg("credits_unreported", index_bits(report_at + 1), Reset::Zero);
    let idle = m.reg("idle_slots", index_bits(u64::from(REFRESH_SLOTS)), Reset::Zero);
    let count = tail.sub(&head).named("unacked");

    m.section(
        "Transmitter decision at a flit boundary (Active, no flit under way): a Nak, the next\n\
         flit of a replay, a new flit from the protocol layer, a NOP with Acks and credits, or\n\
         nothing.",
    );
    let decide = active.and(&tx_busy.not()).named("tx_decide");
    let report_due = ack_owed
        .ge(&lit(u64::from(ACK_EVERY), ack_owed.width()))
        .or(&credits_unreported.ge(&lit(report_at, credits_unreported.width())))
        .named("report_due");
    let room = credits.ne(&lit(0, crw)).and(&count.lt(&lit(window, pw))).named("tx_room");
    let takes_new = nak_owed.not().and(&replaying.not()).and(&report_due.not()).and(&room).named("takes_new");
    let d_nak = decide.and(&nak_owed).named("tx_nak");
    let d_replay = decide.and(&nak_owed.not()).and(&replaying).named("tx_replay");
    let d_new = decide.and(&takes_new).and(&lp_valid).and(&lp_irdy).named("tx_new");
    let want_ack = ack_owed
        .ne(&lit(0, ack_owed.width()))
        .or(&credits_unreported.ne(&lit(0, credits_unreported.width())))
        .or(&idle.ge(&lit(u64::from(REFRESH_SLOTS) - 1, idle.width())))
        .named("want_ack");
    let d_ack =
        decide.and(&nak_owed.not()).and(&replaying.not()).and(&d_new.not()).and(&want_ack).named("tx_ack");
    let d_nop = d_nak.or(&d_ack).named("tx_nop");
    let d_any = d_nop.or(&d_replay).or(&d_new).named("tx_start");

    m.section("The flit under way: kind, slot of the replay buffer, header, chunk index.");
    // Kinds: 0 new, 1 replay, 2 NOP.
    let kind = m.reg("tx_kind", 2, Reset::Zero);
    let slot = m.reg("tx_slot", sw, Reset::Zero);
    let hdr = m.reg("tx_hdr", 16, Reset::Zero);
    let credit_byte = m.reg("tx_credit", 8, Reset::Zero);
    let chunk = m.reg("tx_chunk", cw, Reset::Zero);
    let nop_hdr = {
        let s = seq_prev(&m, &expected).named("last_in_order");
        let cmd = d_nak.mux(&lit(2, 2), &lit(1, 2));
        cat(&[&lit(0, 2), &cmd, &s.slice(3, 0), &lit(0, 4), &s.slice(7, 4)]).named("nop_hdr")
    };
    let cur_kind =
        decide.mux(&d_nop.mux(&lit(2, 2), &d_replay.mux(&lit(1, 2), &lit(0, 2))), &kind).named("tx_cur_kind");
    let cur_nop = cur_kind.eq(&lit(2, 2)).named("tx_cur_nop");
    let cur_replay = cur_kind.eq(&lit(1, 2)).named("tx_cur_replay");
    let cur_new = cur_kind.eq(&lit(0, 2)).named("tx_cur_new");
    let new_hdr = cat(&[&lit(0, 4), &next_tx.slice(3, 0), &lit(0, 4), &next_tx.slice(7, 4)]).named("new_hdr");
    let cur_hdr = decide.mux(&d_new.mux(&new_hdr, &nop_hdr), &hdr).named("tx_cur_hdr");
    let cur_credit = decide.mux(&credits_returned, &credit_byte).named("tx_cur_credit");
    let cur_chunk = decide.mux(&lit(0, cw), &chunk).named("tx_cur_chunk");
    let first = cur_chunk.eq(&lit(0, cw)).named("tx_first");
    let last = cur_chunk.eq(&lit(u64::from(k - 1), cw)).named("tx_last");
    let cur_slot =
        decide.mux(&d_replay.mux(&rp.slice(sw - 1, 0), &tail.slice(sw - 1, 0)), &slot).named("tx_cur_slot");

    m.section(
        "Chunks of new and NOP flits: the header, a NOP's credit byte, reserved bytes 0 and both\n\
         CRCs inserted; replays come from the buffer as they were sent. Outside Active a flit under\n\
         way runs to its end into the replay buffer but not onto the link.",
    );
    let busy_now = tx_busy.or(&d_any).named("tx_active_flit");
    let src_ok =
        cur_new.mux(&lp_valid.and(&lp_irdy), &cur_replay.mux(&tx_busy, &m.lit(1, 1))).named("tx_src_ok");
    let link_ok = active.mux(&tx_ready, &m.lit(1, 1)).named("tx_link_ok");
    let fire = busy_now.and(&src_ok).and(&link_ok).named("tx_fire");
    let raw = cur_nop.mux(&lit(0, 8 * b), &lp_data).named("tx_raw");
    let last_base = (k - 1) * b;
    // Chunk offsets of the reserved and CRC bytes in the last chunk (242..256 of the flit).
    let tail_at = PAYLOAD_END as u32 - last_base;
    let hw = 8 * b;
    let hdr0 = cat(&[&cur_new.mux(&raw.slice(7, 6), &lit(0, 2)), &cur_hdr.slice(5, 0)]).named("tx_hdr0");
    let head_bytes = first
        .mux(
            &cat(&[&cur_nop.mux(&cur_credit, &byte(&raw, 2)), &cur_hdr.slice(15, 8), &hdr0]),
            &raw.slice(23, 0),
        )
        .named("tx_head_bytes");
    let tail_bytes =
        last.mux(&lit(0, hw - 8 * tail_at), &raw.slice(hw - 1, 8 * tail_at)).named("tx_tail_bytes");
    let msg = cat(&[&tail_bytes, &raw.slice(8 * tail_at - 1, 24), &head_bytes]).named("tx_msg");
    let crc = m.instance(
        "u_tx_crc",
        &build_crc(b)?,
        &[
            ("en_i", &fire),
            ("start_i", &first.or(&cur_chunk.eq(&lit(u64::from(half), cw)))),
            ("data_i", &msg),
        ],
    );
    let crc_now = crc.output("crc_o");
    let crc0 = m.reg("tx_crc0", 16, Reset::Zero);
    m.next_when(&crc0, &fire.and(&cur_chunk.eq(&lit(u64::from(half - 1), cw))), &crc_now);
    // CRC0 and CRC1 are the chunk's last four bytes in the last chunk.
    let crcs = last.mux(&cat(&[&crc_now, &crc0]), &msg.slice(hw - 1, hw - 32)).named("tx_crc_bytes");
    let built = cat(&[&crcs, &msg.slice(hw - 33, 0)]).named("tx_built");
    let mem = m.memory("replay", 8 * b, depth * u64::from(k));
    let waddr = cat(&[&cur_slot, &cur_chunk]).named("replay_waddr");
    mem.write(&fire.and(&cur_new), &waddr, &built);
    let ren = d_replay.or(&tx_busy.and(&kind.eq(&lit(1, 2))).and(&fire).and(&last.not())).named("replay_ren");
    let rchunk = d_replay.mux(&lit(0, cw), &chunk.add(&lit(1, cw))).named("replay_rchunk");
    let rdata = mem.read(&ren, &cat(&[&cur_slot, &rchunk]));
    let tx_data = cur_replay.mux(&rdata, &built).named("tx_data");
    let flit_end = fire.and(&last).named("tx_flit_end");
    m.next(&tx_busy, &busy_now.and(&flit_end.not()));
    m.next_when(
        &chunk,
        &fire.or(&d_any),
        &fire.mux(&last.mux(&lit(0, cw), &cur_chunk.add(&lit(1, cw))), &lit(0, cw)),
    );
    m.next_when(&kind, &d_any, &cur_kind);
    m.next_when(&slot, &d_any, &cur_slot);
    m.next_when(&hdr, &d_any, &cur_hdr);
    m.next_when(&credit_byte, &d_any, &credits_returned);
    m.output("pl_trdy_o", &cur_new.and(&busy_now).and(&link_ok));
    m.output("phy_tx_valid_o", &active.and(&busy_now).and(&src_ok));
    m.output("phy_tx_sof_o", &first);
    m.output("phy_tx_data_o", &tx_data);

    m.section(
        "Receiver: chunks are taken in Active from a start of flit on; a start of flit in the\n\
         middle of one breaks it off (a bad flit). Header of chunk 0, CRCs, delivery decided at\n\
         chunk 0.",
    );
    let rchunk_q = m.reg("rx_chunk", cw, Reset::Zero);
    let mid = rchunk_q.ne(&lit(0, cw)).named("rx_mid");
    let rx_valid = active.and(&rx_valid_in).and(&rx_sof.or(&mid)).named("rx_valid");
    let broken = active.and(&rx_valid_in).and(&rx_sof).and(&mid).named("rx_broken");
    let r_idx = rx_sof.mux(&lit(0, cw), &rchunk_q).named("rx_index");
    let r_first = r_idx.eq(&lit(0, cw)).named("rx_first");
    let r_last = r_idx.eq(&lit(u64::from(k - 1), cw)).named("rx_last");
    m.next(
        &rchunk_q,
        &active.mux(&rx_valid.mux(&r_last.mux(&lit(0, cw), &r_idx.add(&lit(1, cw))), &rchunk_q), &lit(0, cw)),
    );
    let rx_hdr_q = m.reg("rx_hdr", 24, Reset::Zero);
    let hdr_now = r_first.mux(&rx_data.slice(23, 0), &rx_hdr_q).named("rx_hdr_now");
    m.next_when(&rx_hdr_q, &rx_valid.and(&r_first), &rx_data.slice(23, 0));
    let b0 = byte(&hdr_now, 0).named("rx_hdr_byte0");
    let b1 = byte(&hdr_now, 1).named("rx_hdr_byte1");
    let cbyte = byte(&hdr_now, 2).named("rx_credit_count");
    let h_proto = b0.slice(7, 6).named("rx_proto");
    let h_cmd = b1.slice(5, 4).named("rx_cmd");
    let h_seq = cat(&[&b0.slice(3, 0), &b1.slice(3, 0)]).named("rx_seq");
    let h_unused =
        b0.slice(5, 4).eq(&lit(0, 2)).and(&b1.slice(7, 6).eq(&lit(0, 2))).named("rx_hdr_unused_zero");
    let h_ok = h_unused.and(&h_cmd.ne(&lit(3, 2))).and(&h_seq.ne(&lit(0, 8))).named("rx_hdr_ok");
    let is_payload = h_proto.ne(&lit(0, 2)).named("rx_payload");
    let in_order = is_payload.and(&h_cmd.eq(&lit(0, 2))).and(&h_seq.eq(&expected)).named("rx_in_order");
    let deliver_q = m.reg("rx_deliver", 1, Reset::Zero);
    let deliver_now = r_first.mux(&in_order.and(&h_ok), &deliver_q).named("rx_deliver_now");
    m.next_when(&deliver_q, &rx_valid.and(&r_first), &in_order.and(&h_ok));
    let rx_tail =
        r_last.mux(&lit(0, hw - 8 * tail_at), &rx_data.slice(hw - 1, 8 * tail_at)).named("rx_tail_bytes");
    let rmsg = cat(&[&rx_tail, &rx_data.slice(8 * tail_at - 1, 0)]).named("rx_msg");
    let rcrc = m.instance(
        "u_rx_crc",
        &build_crc(b)?,
        &[
            ("en_i", &rx_valid),
            ("start_i", &r_first.or(&r_idx.eq(&lit(u64::from(half), cw)))),
            ("data_i", &rmsg),
        ],
    );
    let rcrc_now = rcrc.output("crc_o");
    let rcrc0 = m.reg("rx_crc0", 16, Reset::Zero);
    m.next_when(&rcrc0, &rx_valid.and(&r_idx.eq(&lit(u64::from(half - 1), cw))), &rcrc_now);
    let got = |at: usize, name: &str| {
        rx_data.slice(8 * (at as u32 - last_base) + 15, 8 * (at as u32 - last_base)).named(name)
    };
    let crc_ok = got(CRC0_AT, "rx_crc0_sent")
        .eq(&rcrc0)
        .and(&got(CRC1_AT, "rx_crc1_sent").eq(&rcrc_now))
        .named("rx_crc_ok");
    let rx_end = rx_valid.and(&r_last).named("rx_flit_end");
    let good = rx_end.and(&crc_ok).and(&h_ok).named("rx_good");
    let bad = rx_end.and(&good.not()).or(&broken).named("rx_bad");
    let r_delivered = good.and(&in_order).named("rx_delivered");
    let r_nop = good.and(&is_payload.not()).named("rx_nop");
    let r_ack = r_nop.and(&h_cmd.eq(&lit(1, 2))).named("rx_ack");
    let r_nak = r_nop.and(&h_cmd.eq(&lit(2, 2))).named("rx_nak");
    let r_bad_cmd = good.and(&is_payload).and(&h_cmd.ne(&lit(0, 2))).named("rx_bad_cmd");
    let r_seq =
        good.and(&is_payload).and(&h_cmd.eq(&lit(0, 2))).and(&in_order.not()).named("rx_out_of_order");
    let behind = seq_dist(&m, &h_seq, &expected, "rx_behind_by")
        .le(&lit(u64::from(MAX_UNACKED), 8))
        .named("rx_behind");
    let r_dup = r_seq.and(&behind).named("rx_duplicate");
    let r_gap = r_seq.and(&behind.not()).named("rx_gap");
    let want_replay = bad.or(&r_bad_cmd).or(&r_gap).named("rx_want_replay");
    m.output("pl_valid_o", &rx_valid.and(&deliver_now));
    m.output("pl_data_o", &rx_data);
    // A delivered flit is cancelled one cycle after its last chunk when it failed its checks,
    // or at once when the link leaves Active in the middle of it.
    let cancel = m.reg("cancel", 1, Reset::Zero);
    let aborted = mid.and(&deliver_q).and(&active.not().or(&broken)).named("rx_aborted");
    m.next(&cancel, &rx_end.and(&deliver_now).and(&r_delivered.not()).or(&aborted));
    m.output("pl_flit_cancel_o", &cancel);

    m.section(
        "State after the decision (push of a new flit, the replay pointer's step), then the timer,\n\
         then the received Ack or Nak and credits, then the returned credit.",
    );
    let push = d_new;
    let tail1 = tail.add(&push.zext(pw)).named("tail_after_send");
    let count1 = tail1.sub(&head).named("unacked_after_send");
    let rp_step = rp.add(&lit(1, pw)).named("replay_step");
    let replaying1 = d_replay.mux(&rp_step.ne(&tail), &replaying).named("replaying_after_send");
    let rp1 = d_replay.mux(&rp_step, &rp).named("replay_ptr_after_send");
    // Timer: runs while flits are unacknowledged and no replay is under way.
    let idle_timer = count1.eq(&lit(0, pw)).or(&replaying1).named("timer_idle");
    let t_inc = timer.add(&lit(1, tw)).named("timer_inc");
    let t_fire = idle_timer.not().and(&t_inc.ge(&lit(timeout, tw))).named("timer_fire");
    let timer1 = idle_timer.or(&t_fire).mux(&lit(0, tw), &t_inc);
    let replaying2 = replaying1.or(&t_fire);
    let rp2 = t_fire.mux(&head, &rp1).named("replay_ptr_after_timer");
    // Ack/Nak: valid when it lies within the flits sent.
    let ahead = seq_dist(&m, &acked, &h_seq, "ack_ahead");
    let ack_valid =
        r_ack.or(&r_nak).and(&ahead.zext(8.max(pw)).le(&count1.zext(8.max(pw)))).named("ack_in_window");
    let progress = ack_valid.and(&ahead.ne(&lit(0, 8))).named("ack_progress");
    let head2 = progress.mux(&head.add(&ahead.resize(pw)), &head).named("head_after_ack");
    let empty2 = head2.eq(&tail1).named("empty_after_ack");
    // A replay under way goes on from its flit, or from the oldest one left when the flits up
    // to it are acknowledged; a valid Nak replays everything left.
    let rp3 = progress.and(&rp2.sub(&head).lt(&ahead.resize(pw))).mux(&head2, &rp2);
    let nak_replay = r_nak.and(&ack_valid).and(&empty2.not()).named("nak_replay");
    let replaying3 = nak_replay.or(&replaying2.and(&empty2.not())).named("replaying_after_ack");
    let rp4 = nak_replay.mux(&head2, &rp3).named("replay_ptr_after_ack");
    let timer2 = progress.mux(&lit(0, tw), &timer1);
    // Credits.
    let credits1 = credits.sub(&push.zext(crw)).named("credits_after_send");
    let returned = cbyte.sub(&credits_seen).named("credits_returned_far");
    let room = lit(u64::from(p.credits), crw).sub(&credits1).named("credits_out");
    let take =
        r_ack.or(&r_nak).and(&returned.zext(8.max(crw)).le(&room.zext(8.max(crw)))).named("credits_take");
    let credits2 = take.mux(&credits1.add(&returned.resize(crw)), &credits1);

    let seq_upd = |r: &Signal, clear_to: u64, v: &Signal| m.next(r, &clear.mux(&lit(clear_to, r.width()), v));
    seq_upd(&next_tx, 1, &push.mux(&seq_next(&m, &next_tx), &next_tx));
    seq_upd(&acked, 255, &progress.mux(&h_seq, &acked));
    seq_upd(&head, 0, &head2);
    seq_upd(&tail, 0, &tail1);
    seq_upd(&replaying, 0, &retrain_done.mux(&count.ne(&lit(0, pw)), &replaying3));
    seq_upd(&rp, 0, &retrain_done.mux(&head, &rp4));
    seq_upd(&timer, 0, &retrain_done.mux(&lit(0, tw), &timer2));
    seq_upd(&credits, u64::from(p.credits), &credits2);
    seq_upd(&credits_seen, 0, &take.mux(&cbyte, &credits_seen));

    m.section("Receiver state: expected number, owed Acks and Naks.");
    seq_upd(&expected, 1, &r_delivered.mux(&seq_next(&m, &expected), &expected));
    let aw = ack_owed.width();
    let ack0 = d_nop.mux(&lit(0, aw), &ack_owed).named("ack_owed_after_send");
    let ack1 = r_delivered
        .mux(
            &sat_inc(&m, &ack0, u64::from(ACK_EVERY)),
            &r_dup.and(&ack0.eq(&lit(0, aw))).mux(&lit(1, aw), &ack0),
        )
        .named("ack_owed_after_receive");
    seq_upd(&ack_owed, 0, &retrain_done.and(&ack1.eq(&lit(0, aw))).mux(&lit(1, aw), &ack1));
    // Waiting for a replay after a Nak: Nak again when a dropped payload flit is numbered at or
    // behind the previous dropped one (the replay's first flit was lost), or after NAK_AGAIN
    // drops (the Nak was lost).
    let nak_first = want_replay.and(&nak_scheduled.not()).named("nak_first");
    let waiting = want_replay.and(&nak_scheduled).named("nak_waiting_drop");
    let gap_ahead = seq_dist(&m, &last_gap, &h_seq, "rx_gap_ahead");
    let restarted = r_gap
        .and(&last_gap_valid)
        .and(&gap_ahead.eq(&lit(0, 8)).or(&gap_ahead.gt(&lit(u64::from(MAX_UNACKED), 8))))
        .named("rx_replay_restarted");
    let dw = nak_drops.width();
    let drops1 = nak_drops.add(&lit(1, dw)).named("nak_drops_inc");
    let again = waiting.and(&restarted.or(&drops1.ge(&lit(u64::from(NAK_AGAIN), dw)))).named("nak_again");
    let nak_now = nak_first.or(&again).named("nak_now");
    let rx_reset = retrain_done.or(&r_delivered).named("nak_wait_over");
    seq_upd(
        &nak_drops,
        0,
        &rx_reset.or(&nak_first).or(&again).mux(&lit(0, dw), &waiting.mux(&drops1, &nak_drops)),
    );
    seq_upd(&last_gap, 0, &r_gap.mux(&h_seq, &last_gap));
    seq_upd(
        &last_gap_valid,
        0,
        &rx_reset.mux(&lit(0, 1), &r_gap.mux(&lit(1, 1), &nak_first.mux(&lit(0, 1), &last_gap_valid))),
    );
    seq_upd(&nak_owed, 0, &retrain_done.mux(&lit(0, 1), &d_nak.mux(&lit(0, 1), &nak_owed).or(&nak_now)));
    seq_upd(
        &nak_scheduled,
        0,
        &retrain_done.mux(&lit(0, 1), &r_delivered.mux(&lit(0, 1), &nak_scheduled.or(&nak_now))),
    );
    let cu = credits_unreported.width();
    let cu0 = d_nop.mux(&lit(0, cu), &credits_unreported).named("credits_unreported_after_send");
    seq_upd(&credits_unreported, 0, &credit_return.mux(&sat_inc(&m, &cu0, report_at), &cu0));
    seq_upd(&credits_returned, 0, &credit_return.mux(&credits_returned.add(&lit(1, 8)), &credits_returned));
    let iw = idle.width();
    let idle1 = decide.mux(&d_any.mux(&lit(0, iw), &sat_inc(&m, &idle, u64::from(REFRESH_SLOTS) - 1)), &idle);
    seq_upd(&idle, 0, &idle1);

    // Properties, proved by `vdx formal` (k-induction); see the datasheet.
    let no_more = credits.le(&lit(u64::from(p.credits), crw));
    m.assert_always(
        "credits_max",
        &no_more,
        "The transmitter never holds more credits than the far receive buffer has entries.",
    );
    m.assert_always(
        "credit_per_new_flit",
        &push.not().or(&credits.ne(&lit(0, crw))),
        "A new flit is taken only with a credit in hand: the count never goes below zero.",
    );
    m.assert_always(
        "unacked_max",
        &count.le(&lit(window, pw)),
        "At most min(replay_depth, 127) flits are unacknowledged.",
    );
    // The unacknowledged flits fill the slots head, head + 1, ... in order; the flit being
    // written is the newest (counted from its first chunk on).
    let newest = tail.sub(&lit(1, pw)).slice(sw - 1, 0);
    m.assert_always(
        "new_flit_is_newest",
        &tx_busy.and(&kind.eq(&lit(0, 2))).not().or(&count.eq(&lit(0, pw))).or(&slot.eq(&newest)),
        "A new flit under way sits in the slot of the newest unacknowledged flit.",
    );
    let we = fire.and(&cur_new);
    let offset = cur_slot.sub(&head.slice(sw - 1, 0)).zext(pw);
    let older = decide.mux(&count, &count.sub(&lit(1, pw)));
    m.assert_always(
        "replay_keeps_unacked",
        &we.not().or(&count.eq(&lit(0, pw))).or(&offset.ge(&older)),
        "A write into the replay buffer never lands on the slot of an older unacknowledged flit.",
    );

    m.section("Status.");
    m.output("pl_state_sts_o", &st);
    m.output("tx_unacked_o", &count);
    m.output("tx_credits_o", &credits);
    let accepted = m.reg("stat_accepted", 32, Reset::Zero);
    m.next(&accepted, &accepted.add(&push.zext(32)));
    let acked_total = m.reg("stat_acked", 32, Reset::Zero);
    m.next(&acked_total, &acked_total.add(&progress.mux(&ahead.zext(32), &lit(0, 32))));
    m.output("stat_accepted_o", &accepted);
    m.output("stat_acked_o", &acked_total);
    let errors = m.reg("stat_crc_errors", 16, Reset::Zero);
    m.next(&errors, &errors.add(&bad.zext(16)));
    m.output("stat_crc_errors_o", &errors);
    m.finish()
}
