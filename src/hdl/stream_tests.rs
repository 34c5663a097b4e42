//! Unit tests of stream bundles and the handshake primitives: ports, emitted text, errors.

use super::*;

fn fields() -> StreamType {
    StreamType::new(&[("data", 13), ("last", 1)])
}

fn port_names(m: &Module) -> Vec<String> {
    m.ports().iter().map(|p| p.name.clone()).collect()
}

#[test]
fn type_layout_puts_the_first_field_lowest() {
    let t = fields();
    assert_eq!(t.width(), 14);
    assert_eq!(t.range("data"), Some((12, 0)));
    assert_eq!(t.range("last"), Some((13, 13)));
    assert_eq!(t.range("user"), None);
    assert_eq!(StreamType::data(8).fields(), [("data".to_string(), 8)]);
}

#[test]
fn primitives_have_lowrisc_ports_and_record_their_streams() {
    for m in [stream_register(&fields()).unwrap(), skid_buffer(&fields()).unwrap()] {
        assert_eq!(
            port_names(&m),
            [
                "clk_i",
                "rst_ni",
                "in_valid_i",
                "in_data_i",
                "in_last_i",
                "out_ready_i",
                "in_ready_o",
                "out_valid_o",
                "out_data_o",
                "out_last_o"
            ]
        );
        let streams: Vec<(&str, PortDir)> = m.streams().iter().map(|s| (s.name.as_str(), s.dir)).collect();
        assert_eq!(streams, [("in", PortDir::Input), ("out", PortDir::Output)]);
        assert!(m.streams().iter().all(|s| s.ty == fields()));
    }
}

#[test]
fn register_slice_passes_ready_through_and_skid_buffer_registers_it() {
    let reg = Design::single(&stream_register(&StreamType::data(8)).unwrap()).emit();
    let text = &reg.files[0].text;
    assert!(text.contains("assign in_ready = (~valid_q) | out_ready_i;"), "{text}");
    let skid = Design::single(&skid_buffer(&StreamType::data(8)).unwrap()).emit();
    let text = &skid.files[0].text;
    assert!(text.contains("assign in_ready = ~skid_valid_q;"), "{text}");
    for t in [&reg.files[0].text, &skid.files[0].text] {
        assert!(!t.contains("initial"), "{t}");
        assert!(t.contains("always @(posedge clk_i or negedge rst_ni)"), "{t}");
    }
}

#[test]
fn sink_ready_read_before_it_is_driven_is_a_forward_wire() {
    let m = ModuleBuilder::new("vdx_pass");
    let input = m.sink("in", &StreamType::data(4));
    let out = m.source("out", &StreamType::data(4));
    let early = input.ready();
    assert_eq!(early.width(), 1);
    out.drive(&Stream::new(input.stream().ty(), &input.valid(), &input.data()));
    input.drive_ready(&out.ready());
    let module = m.finish().unwrap();
    assert_eq!(
        port_names(&module),
        ["in_valid_i", "in_data_i", "out_ready_i", "out_valid_o", "out_data_o", "in_ready_o"]
    );
    let text = Design::single(&module).emit().files[0].text.clone();
    assert!(text.contains("assign in_ready = out_ready_i;"), "{text}");
    assert!(text.contains("assign in_ready_o = in_ready;"), "{text}");
}

#[test]
fn undriven_streams_and_bad_connections_are_reported() {
    let m = ModuleBuilder::new("vdx_bad");
    let input = m.sink("in", &StreamType::data(4));
    let _out = m.source("out", &StreamType::data(4));
    let _twice = m.sink("in", &StreamType::data(4));
    let _bad_type = m.sink("odd", &StreamType::new(&[("x", 0), ("x", 2), ("valid", 1)]));
    let line = line!() + 1;
    let s = Stream::new(&StreamType::data(5), &input.valid(), &input.data());
    let _ = s.field("nope");
    let wide = input.data();
    input.drive_ready(&wide);
    m.output("x_o", &input.valid());
    let err = m.finish().unwrap_err();
    let text = err.to_string();
    for want in [
        "stream `in` is declared twice",
        "field `x` has width 0",
        "field `x` is declared twice",
        "field name `valid` is taken by the handshake",
        "payload is 4 bits, the type needs 5",
        "stream has no field `nope`",
        "ready must be 1 bit, got 4 bits",
        "sink `in`: its ready (Sink::drive_ready) is never driven",
        "source `out`: its valid and payload (Source::drive) is never driven",
        &format!("src/hdl/stream_tests.rs:{line}:"),
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
}

#[test]
fn instance_streams_connect_by_interface_name_and_check_types() {
    let slice = stream_register(&fields()).unwrap();
    let m = ModuleBuilder::new("vdx_pipe");
    let input = m.sink("in", &fields());
    let out = m.source("out", &fields());
    let u = m.instance_streams(
        "u_slice",
        &slice,
        &[],
        &[("in", StreamConn::Feed(input.stream())), ("out", StreamConn::Ready(&out.ready()))],
    );
    input.drive_ready(&u.ready("in"));
    out.drive(&u.stream("out"));
    let module = m.finish().unwrap();
    let out_text = Design::single(&module).emit();
    let top = &out_text.files[1].text;
    assert!(top.contains(".in_last_i   (in_last_i)"), "{top}");
    assert!(top.contains("assign out_last_o = slice_out_last;"), "{top}");

    let m = ModuleBuilder::new("vdx_pipe_bad");
    let input = m.sink("in", &StreamType::data(14));
    let u = m.instance_streams(
        "u_slice",
        &slice,
        &[],
        &[
            ("in", StreamConn::Feed(input.stream())),
            ("out", StreamConn::Feed(input.stream())),
            ("side", StreamConn::Ready(&input.valid())),
        ],
    );
    input.drive_ready(&u.ready("out"));
    let _ = u.stream("in");
    let text = m.finish().unwrap_err().to_string();
    for want in [
        "sink `in` of `vdx_stream_register` is {data:13, last:1}, the stream feeding it {data:14}",
        "`out` of `vdx_stream_register` is a source; connect it with StreamConn::Ready",
        "has no stream `side`; streams: in, out",
        "has no sink `out`",
        "has no source `in`",
        "input `in_valid_i` of `vdx_stream_register` is not connected",
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
}
