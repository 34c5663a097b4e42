//! Builder of `vdx_temporal_attention`: command registers and range check, the walker, the
//! read-beat issue (lane addresses, lane masks, job slots), the latent buffer, the loader that
//! turns returned beats into lane rows, the lanes and the output bookkeeping.

use super::TemporalAttentionParams;
use super::lane::lane;
use crate::blocks::BlockParams;
use crate::blocks::latent::rtl as latent_rtl;
use crate::blocks::systolic::rtl::count_up_down;
use crate::blocks::walker::rtl as walker_rtl;
use crate::hdl::{
    Conn, HdlError, Module, ModuleBuilder, Reset, Signal, Stream, StreamConn, StreamType, cat, index_bits,
};

const BLOCK: &str = <TemporalAttentionParams as BlockParams>::BLOCK;

/// The command's stream type.
pub fn cmd_type(p: &TemporalAttentionParams) -> StreamType {
    let (tw, aw) = (p.buffer().token_width(), p.addr_width());
    StreamType::new(&[
        ("frames", p.frame_bits()),
        ("positions", tw),
        ("heads", p.pitch_width),
        ("base", aw),
        ("frame_stride", aw),
        ("tensor_stride", aw),
        ("head_stride", aw),
        ("pos_stride", aw),
        ("causal", 1),
        ("window", p.window_bits()),
        ("skip", p.t_max),
    ])
}

/// Builds the engine. See the block docs for the ports.
pub fn build(p: &TemporalAttentionParams) -> Result<Module, HdlError> {
    let m = ModuleBuilder::new("vdx_temporal_attention");
    m.block(BLOCK)
        .param("lanes", p.lanes)
        .param("t_max", p.t_max)
        .param("d", p.d)
        .param("prob_width", p.prob_width)
        .param("out_width", p.out_width)
        .param("out_frac", p.out_frac)
        .param("rows_in_flight", p.rows_in_flight)
        .param("banks", p.banks)
        .param("depth", p.depth)
        .param("write_words", p.write_words)
        .param("pitch_width", p.pitch_width);
    let bp = p.buffer();
    let (l, d, fb, ow) = (p.lanes, p.d, p.frame_bits(), p.out_width);
    let (tw, pw, aw, lb) = (bp.token_width(), p.pitch_width, p.addr_width(), p.lanes.trailing_zeros());
    let wp = p.walker();
    let cw = wp.count_width;
    let pitch = m.input("pitch_i", pw);
    let cmd = m.sink("cmd", &cmd_type(p));
    let wr_ty = StreamType::new(&[
        ("token", tw),
        ("word", pw),
        ("keep", p.write_words),
        ("data", p.write_words * bp.word_width),
    ]);
    let wr = m.sink("wr", &wr_ty);
    let out_ty = StreamType::new(&[("data", l * d * ow), ("frame", fb), ("lanes", l), ("last", 1)]);
    let out = m.source("out", &out_ty);

    m.section(
        "Command: taken when idle. Its highest address, base + (T-1) frame_stride + 2 tensor_stride\n\
         + (H-1) head_stride + (P-1) pos_stride, must fit the address space; else the command\n\
         only raises error_o.",
    );
    let busy = m.reg("busy", 1, Reset::Zero);
    let cmd_fire = cmd.valid().and(&busy.not()).named("cmd_fire");
    let span_w = aw + tw.max(pw).max(fb) + 3;
    let term = |count: Signal, stride: &str| count.zext(span_w).mul(&cmd.field(stride).zext(span_w), span_w);
    let top = cmd
        .field("base")
        .zext(span_w)
        .add(&term(cmd.field("frames"), "frame_stride"))
        .add(&term(m.lit(2, 2), "tensor_stride"))
        .named("cmd_top_partial")
        .add(&term(cmd.field("heads"), "head_stride"))
        .add(&term(cmd.field("positions"), "pos_stride"))
        .named("cmd_top_address");
    let space = m.lit(1, 1).zext(span_w).named("one_wide").shl(aw).named("address_space");
    let fits = top.lt(&space).named("cmd_fits");
    let start = cmd_fire.and(&fits).named("cmd_start");
    let keep = |name: &str, w: u32| {
        let r = m.reg(&format!("cmd_{name}"), w, Reset::Zero);
        m.next_when(&r, &start, &cmd.field(name));
        r
    };
    let frames = keep("frames", fb);
    let heads = keep("heads", pw);
    let pos_stride = keep("pos_stride", aw);
    let causal = keep("causal", 1);
    let window = keep("window", p.window_bits());
    let skip = keep("skip", p.t_max);
    let positions = cmd.field("positions").zext(tw + 1).add(&m.lit(1, tw + 1)).named("cmd_position_count");

    m.section("Walker: frames, tensors, heads, groups of lanes positions.");
    let groups_m1 = cmd.field("positions").shr(lb).named("cmd_groups");
    let count = |s: &Signal| s.zext(cw);
    let bounds =
        cat(&[&count(&groups_m1), &count(&cmd.field("heads")), &m.lit(2, cw), &count(&cmd.field("frames"))]);
    let group_stride = cmd.field("pos_stride").shl(lb).named("cmd_group_stride");
    let strides = cat(&[
        &group_stride,
        &cmd.field("head_stride"),
        &cmd.field("tensor_stride"),
        &cmd.field("frame_stride"),
    ]);
    let walker = walker_rtl::build(&wp)?;
    let w_cmd_ty = StreamType::new(&[("base", aw), ("bounds", 4 * cw), ("strides", 4 * aw)]);
    let w_cmd = Stream::from_fields(
        &w_cmd_ty,
        &start,
        &[
            ("base", &cmd.field("base")),
            ("bounds", &bounds.named("walk_bounds")),
            ("strides", &strides.named("walk_strides")),
        ],
    );
    let w_ready = m.wire("walk_ready", 1);
    let wk = m.instance_streams(
        "u_walker",
        &walker,
        &[],
        &[("cmd", StreamConn::Feed(&w_cmd)), ("out", StreamConn::Ready(&w_ready))],
    );
    let beat = wk.stream("out");
    let wrap = beat.field("wrap");

    m.section(
        "Read beats: lane l reads the walker's address plus l * pos_stride, while its position\n\
         is inside the command's; a job's first beat waits for a free slot in the lanes.",
    );
    let group_left = m.reg("group_left", tw + 1, Reset::Zero);
    let job_open = m.reg("job_open", 1, Reset::Zero);
    let slots_used = m.reg("slots_used", 2, Reset::Zero);
    let slot_ok = job_open.or(&slots_used.lt(&slots_used.lit(2))).named("slot_ok");
    let lane_bits = index_bits(u64::from(l)) + 1;
    let mut tokens = Vec::new();
    let mut words = Vec::new();
    let mut lane_ok = Vec::new();
    for ln in (0..l).rev() {
        let off = m
            .lit(u64::from(ln), lane_bits)
            .zext(aw + lane_bits)
            .mul(&pos_stride.zext(aw + lane_bits), aw + lane_bits);
        let a = beat.field("addr").zext(aw + lane_bits).add(&off).named(&format!("lane_addr{ln}"));
        tokens.push(a.slice(aw - 1, pw));
        words.push(a.slice(pw - 1, 0));
        lane_ok.push(m.lit(u64::from(ln), tw + 1).lt(&group_left));
    }
    let rd_ty = StreamType::new(&[("token", l * tw), ("word", l * pw), ("keep", l)]);
    let rd_keep = cat(&lane_ok.iter().collect::<Vec<_>>()).named("lane_reads");
    let rd = Stream::from_fields(
        &rd_ty,
        &beat.valid().and(&slot_ok).named("rd_offer"),
        &[
            ("token", &cat(&tokens.iter().collect::<Vec<_>>()).named("rd_tokens")),
            ("word", &cat(&words.iter().collect::<Vec<_>>()).named("rd_words")),
            ("keep", &rd_keep),
        ],
    );

    m.section("Latent buffer: read beats from the walker, write beats from wr.");
    let wr_in = Stream::from_fields(
        &wr_ty,
        &wr.valid(),
        &[
            ("token", &wr.field("token")),
            ("word", &wr.field("word")),
            ("keep", &wr.field("keep")),
            ("data", &wr.field("data")),
        ],
    );
    let one = m.lit(1, 1);
    let buffer_mod = latent_rtl::build(&bp)?;
    let buf = m.instance_streams(
        "u_buffer",
        &buffer_mod,
        &[("pitch_i", &pitch)],
        &[
            ("rd", StreamConn::Feed(&rd)),
            ("wr", StreamConn::Feed(&wr_in)),
            ("rdata", StreamConn::Ready(&one)),
        ],
    );
    wr.drive_ready(&buf.ready("wr"));
    let issued = beat.valid().and(&slot_ok).and(&buf.ready("rd")).named("beat_issued");
    m.drive(&w_ready, &slot_ok.and(&buf.ready("rd")));
    let release = m.wire("slot_release", 1);
    let job_start = issued.and(&job_open.not()).named("job_start");
    count_up_down(&m, "slots_used", &slots_used, &job_start, &release);
    m.next_when(&job_open, &issued, &wrap.bit(1).not());
    let next_group = group_left.sub(&group_left.lit(u64::from(l))).named("group_left_next");
    m.next_when(&group_left, &start.or(&issued.and(&wrap.bit(2))), &start.mux(&positions, &next_group));

    m.section("Loader: returned beats in walk order are frame t of tensor x of the next job.");
    let data = buf.stream("rdata");
    let ret_t = m.reg("load_frame", fb, Reset::Zero);
    let ret_x = m.reg("load_tensor", 2, Reset::Zero);
    let ret_slot = m.reg("load_slot", 1, Reset::Zero);
    let t_end = ret_t.eq(&frames).named("load_frame_end");
    let x_end = ret_x.eq(&ret_x.lit(2)).named("load_tensor_end");
    let got = data.valid().clone().named("load_valid");
    m.next_when(&ret_t, &got, &t_end.mux(&ret_t.lit(0), &ret_t.add(&ret_t.lit(1))));
    m.next_when(&ret_x, &got.and(&t_end), &x_end.mux(&ret_x.lit(0), &ret_x.add(&ret_x.lit(1))));
    let loaded_now = got.and(&t_end).and(&x_end).named("job_loaded");
    m.next_when(&ret_slot, &loaded_now, &ret_slot.not());
    let loaded = m.reg("jobs_loaded", 2, Reset::Zero);
    let job_slot = m.reg("job_slot", 1, Reset::Zero);
    let job_fire = m.wire("job_fire", 1);
    count_up_down(&m, "jobs_loaded", &loaded, &loaded_now, &job_fire);
    m.next_when(&job_slot, &job_fire, &job_slot.not());
    let job_valid = loaded.ne(&loaded.lit(0)).named("job_valid");

    m.section("Lanes, in lockstep: every ready and valid is the AND over the lanes.");
    let lane_mod = lane(p)?;
    let lanes = m.instance_array(
        "u_lane",
        &lane_mod,
        l,
        &[
            ("load_valid_i", Conn::All(got.clone())),
            ("load_tensor_i", Conn::All(ret_x.clone())),
            ("load_addr_i", Conn::All(ret_slot.concat(&ret_t).named("load_addr"))),
            ("load_data_i", Conn::Each(data.field("data"))),
            ("job_valid_i", Conn::All(job_valid.clone())),
            ("job_slot_i", Conn::All(job_slot.clone())),
            ("job_frames_i", Conn::All(frames.clone())),
            ("job_causal_i", Conn::All(causal)),
            ("job_window_i", Conn::All(window)),
            ("job_skip_i", Conn::All(skip)),
            ("out_ready_i", Conn::All(out.ready())),
        ],
    );
    let job_ready = lanes.output("job_ready_o").reduce_and().named("lanes_job_ready");
    m.drive(&job_fire, &job_valid.and(&job_ready));
    m.drive(&release, &lanes.output("release_o").bit(0));
    let out_valid = lanes.output("out_valid_o").reduce_and().named("lanes_out_valid");
    let out_frame = lanes.output("out_frame_o").slice(fb - 1, 0).named("lane0_frame");
    let job_last = lanes.output("out_job_last_o").bit(0).named("lane0_job_last");

    m.section("Output bookkeeping: heads within a group, positions left in the group, the last beat.");
    let out_head = m.reg("out_head", pw, Reset::Zero);
    let out_left = m.reg("out_group_left", tw + 1, Reset::Zero);
    let fire = out_valid.and(&out.ready()).named("out_fire");
    let head_end = out_head.eq(&heads).named("out_head_end");
    let group_end = fire.and(&job_last).and(&head_end).named("out_group_end");
    m.next_when(
        &out_head,
        &fire.and(&job_last),
        &head_end.mux(&out_head.lit(0), &out_head.add(&out_head.lit(1))),
    );
    m.next_when(
        &out_left,
        &start.or(&group_end),
        &start.mux(&positions, &out_left.sub(&out_left.lit(u64::from(l)))),
    );
    let last = job_last.and(&head_end).and(&out_left.le(&out_left.lit(u64::from(l)))).named("out_cmd_last");
    let out_lanes: Vec<Signal> = (0..l).rev().map(|ln| m.lit(u64::from(ln), tw + 1).lt(&out_left)).collect();
    m.next(&busy, &start.or(&busy.and(&fire.and(&last).not())));

    m.section("Status.");
    let error = m.reg("error", 1, Reset::Zero);
    let bad_cmd = cmd_fire.and(&fits.not()).named("cmd_overflows");
    m.next_when(&error, &bad_cmd.or(&buf.output("error_o")), &one);

    cmd.drive_ready(&busy.not());
    out.drive(&Stream::from_fields(
        &out_ty,
        &out_valid,
        &[
            ("data", &lanes.output("out_data_o")),
            ("frame", &out_frame),
            ("lanes", &cat(&out_lanes.iter().collect::<Vec<_>>()).named("out_lane_mask")),
            ("last", &last),
        ],
    ));
    m.output("conflicts_o", &buf.output("conflicts_o"));
    m.output("error_o", &error);
    m.finish()
}
