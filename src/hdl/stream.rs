//! Valid/ready stream bundles: a payload type, the signals of one stream inside a module, and the
//! stream ports of a module (in the spirit of hardcaml's `With_valid` plus a ready).
//!
//! Semantics are AXI-Stream's: a beat transfers in a cycle where `valid` and `ready` are both
//! high; once `valid` is high it stays high, with the payload unchanged, until the beat transfers;
//! `valid` never waits for `ready`.
//!
//! Port names follow the design notes. A sink (input stream) `in` has inputs `in_valid_i` and one
//! `in_<field>_i` per payload field, and the output `in_ready_o`; a source (output stream) `out`
//! has the input `out_ready_i` and outputs `out_valid_o`, `out_<field>_o`. A payload of one field
//! called `data` ([`StreamType::data`]) thus gives the usual `in_data_i`.
//!
//! Ports appear in the order the builder calls declare them, like every other port: a sink's
//! inputs and a source's ready when the stream is declared, a sink's ready when
//! [`Sink::drive_ready`] is called and a source's valid and payload when [`Source::drive`] is.
//! A sink's ready can be read before it is driven ([`Sink::ready`] then makes a forward wire,
//! like [`ModuleBuilder::wire`]); [`ModuleBuilder::finish`] reports streams left undriven.

use super::PortDir;
use super::builder::{Instance, Module, ModuleBuilder, Signal, cat};
use std::cell::RefCell;
use std::panic::Location;

/// The payload of a stream: named fields, the first one in the least significant bits of the
/// packed data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamType {
    fields: Vec<(String, u32)>,
}

impl StreamType {
    /// One field called `data` of `width` bits (ports `<name>_data_i` / `<name>_data_o`).
    pub fn data(width: u32) -> Self {
        StreamType { fields: vec![("data".into(), width)] }
    }

    /// Named fields, first one least significant (ports `<name>_<field>_i` / `_o`). Names and
    /// widths are checked where the type is used on a builder.
    pub fn new(fields: &[(&str, u32)]) -> Self {
        StreamType { fields: fields.iter().map(|(n, w)| (n.to_string(), *w)).collect() }
    }

    /// The fields, first (least significant) first.
    pub fn fields(&self) -> &[(String, u32)] {
        &self.fields
    }

    /// Width of the packed payload.
    pub fn width(&self) -> u32 {
        self.fields.iter().map(|(_, w)| w).sum()
    }

    /// Bits `(hi, lo)` of field `name` in the packed payload.
    pub fn range(&self, name: &str) -> Option<(u32, u32)> {
        let mut lo = 0;
        for (n, w) in &self.fields {
            if n == name {
                return Some((lo + w - 1, lo));
            }
            lo += w;
        }
        None
    }

    /// What is wrong with the type, if anything.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.fields.is_empty() {
            out.push("a stream type needs at least one field".to_string());
        }
        for (i, (n, w)) in self.fields.iter().enumerate() {
            if *w == 0 {
                out.push(format!("field `{n}` has width 0"));
            }
            if n == "valid" || n == "ready" {
                out.push(format!("field name `{n}` is taken by the handshake"));
            }
            if self.fields[..i].iter().any(|(m, _)| m == n) {
                out.push(format!("field `{n}` is declared twice"));
            }
        }
        out
    }

    fn describe(&self) -> String {
        let f: Vec<String> = self.fields.iter().map(|(n, w)| format!("{n}:{w}")).collect();
        format!("{{{}}}", f.join(", "))
    }
}

/// A stream interface of a module: a sink (`dir` = [`PortDir::Input`]) or a source
/// ([`PortDir::Output`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPort {
    /// Interface name, the prefix of its ports.
    pub name: String,
    /// `Input` for a sink, `Output` for a source.
    pub dir: PortDir,
    /// Payload type.
    pub ty: StreamType,
}

/// The producer's half of a stream inside one module: `valid` and the payload fields. The
/// consumer's `ready` travels the other way and is kept separately.
#[derive(Clone, Debug)]
pub struct Stream {
    ty: StreamType,
    valid: Signal,
    fields: Vec<Signal>,
}

impl Stream {
    /// A stream of type `ty` from a 1-bit `valid` and the packed payload `data`.
    #[track_caller]
    pub fn new(ty: &StreamType, valid: &Signal, data: &Signal) -> Stream {
        let loc = Location::caller();
        let mut ok = valid.same_module(data, "stream", loc) && check_type(valid, ty, loc);
        if ok && data.width() != ty.width() {
            let msg = format!(
                "stream {}: payload is {} bits, the type needs {}",
                ty.describe(),
                data.width(),
                ty.width()
            );
            valid.poison(1, loc, msg);
            ok = false;
        }
        let valid = checked_valid(valid, loc);
        let fields = if !ok {
            ty.fields.iter().map(|(_, w)| valid.lit(0).resize((*w).max(1))).collect()
        } else if ty.fields.len() == 1 {
            vec![data.as_unsigned()]
        } else {
            let mut lo = 0;
            let mut fields = Vec::new();
            for (_, w) in &ty.fields {
                fields.push(data.slice(lo + w - 1, lo));
                lo += w;
            }
            fields
        };
        Stream { ty: ty.clone(), valid, fields }
    }

    /// A stream of type `ty` from a 1-bit `valid` and every field by name.
    #[track_caller]
    pub fn from_fields(ty: &StreamType, valid: &Signal, fields: &[(&str, &Signal)]) -> Stream {
        let loc = Location::caller();
        check_type(valid, ty, loc);
        for (n, _) in fields {
            if ty.range(n).is_none() {
                valid.poison(1, loc, format!("stream {}: no field `{n}`", ty.describe()));
            }
        }
        let valid = checked_valid(valid, loc);
        let mut out = Vec::new();
        for (name, width) in &ty.fields {
            let given: Vec<&Signal> = fields.iter().filter(|(n, _)| n == name).map(|(_, s)| *s).collect();
            let placeholder = |msg: String| valid.poison((*width).max(1), loc, msg);
            out.push(match given[..] {
                [s] if s.width() == *width && valid.same_module(s, "stream field", loc) => s.as_unsigned(),
                [s] => placeholder(format!("stream field `{name}` needs {width} bits, got {}", s.width())),
                [] => placeholder(format!("stream {}: field `{name}` is missing", ty.describe())),
                _ => placeholder(format!("stream field `{name}` is given twice")),
            });
        }
        Stream { ty: ty.clone(), valid, fields: out }
    }

    /// The payload type.
    pub fn ty(&self) -> &StreamType {
        &self.ty
    }

    /// The 1-bit valid.
    pub fn valid(&self) -> &Signal {
        &self.valid
    }

    /// The packed payload, first field least significant.
    #[track_caller]
    pub fn data(&self) -> Signal {
        let parts: Vec<&Signal> = self.fields.iter().rev().collect();
        cat(&parts)
    }

    /// Field `name` of the payload (a placeholder and a recorded error when there is none).
    #[track_caller]
    pub fn field(&self, name: &str) -> Signal {
        match self.ty.fields.iter().position(|(n, _)| n == name) {
            Some(i) => self.fields[i].clone(),
            None => {
                let names: Vec<&str> = self.ty.fields.iter().map(|(n, _)| n.as_str()).collect();
                let msg = format!("stream has no field `{name}`; fields: {}", names.join(", "));
                self.valid.poison(1, Location::caller(), msg)
            }
        }
    }

    /// `valid & ready`: the beat transfers in this cycle.
    #[track_caller]
    pub fn fire(&self, ready: &Signal) -> Signal {
        self.valid.and(ready)
    }

    fn fields_named(&self) -> impl Iterator<Item = (&str, &Signal)> {
        self.ty.fields.iter().map(|(n, _)| n.as_str()).zip(&self.fields)
    }
}

/// Records the problems of `ty` in `sig`'s module; true when there are none.
fn check_type(sig: &Signal, ty: &StreamType, loc: &'static Location<'static>) -> bool {
    let problems = ty.problems();
    for p in &problems {
        sig.poison(1, loc, format!("stream type {}: {p}", ty.describe()));
    }
    problems.is_empty()
}

fn checked_valid(valid: &Signal, loc: &'static Location<'static>) -> Signal {
    if valid.width() == 1 {
        valid.as_unsigned()
    } else {
        valid.poison(1, loc, format!("stream valid must be 1 bit, got {} bits", valid.width()))
    }
}

enum Ready {
    /// Not driven yet; the forward wire handed out by [`Sink::ready`], if any.
    Open(Option<Signal>),
    Driven(Signal),
}

/// An input stream of a module, made by [`ModuleBuilder::sink`].
pub struct Sink {
    b: ModuleBuilder,
    name: String,
    stream: Stream,
    ready: RefCell<Ready>,
}

impl Sink {
    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What arrives: `<name>_valid_i` and the payload inputs.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// `<name>_valid_i`.
    pub fn valid(&self) -> Signal {
        self.stream.valid.clone()
    }

    /// The packed payload.
    #[track_caller]
    pub fn data(&self) -> Signal {
        self.stream.data()
    }

    /// Payload field `name` (`<name>_<field>_i`).
    #[track_caller]
    pub fn field(&self, name: &str) -> Signal {
        self.stream.field(name)
    }

    /// The ready this module gives: the signal passed to [`Self::drive_ready`], or, before that,
    /// a forward wire `<name>_ready` that it will drive.
    #[track_caller]
    pub fn ready(&self) -> Signal {
        let mut r = self.ready.borrow_mut();
        match &*r {
            Ready::Driven(s) | Ready::Open(Some(s)) => s.clone(),
            Ready::Open(None) => {
                let w = self.b.wire(&format!("{}_ready", self.name), 1);
                *r = Ready::Open(Some(w.clone()));
                w
            }
        }
    }

    /// `valid & ready`: a beat is taken in this cycle.
    #[track_caller]
    pub fn fire(&self) -> Signal {
        self.stream.valid.and(&self.ready())
    }

    /// Drives the output `<name>_ready_o` with `ready` (1 bit), exactly once; the port is
    /// declared here.
    #[track_caller]
    pub fn drive_ready(&self, ready: &Signal) {
        let loc = Location::caller();
        let port = format!("{}_ready_o", self.name);
        let mut r = self.ready.borrow_mut();
        if !self.b.owns(ready, &format!("sink `{}` ready", self.name), loc) {
            return;
        }
        if ready.width() != 1 {
            self.b
                .issue(loc, format!("sink `{}`: ready must be 1 bit, got {} bits", self.name, ready.width()));
            return;
        }
        match &*r {
            Ready::Driven(_) => self.b.issue(loc, format!("sink `{}`: ready is already driven", self.name)),
            Ready::Open(None) => {
                self.b.output(&port, ready);
                *r = Ready::Driven(ready.clone());
            }
            Ready::Open(Some(w)) => {
                self.b.drive(w, ready);
                self.b.output(&port, w);
                *r = Ready::Driven(w.clone());
            }
        }
    }
}

/// An output stream of a module, made by [`ModuleBuilder::source`].
pub struct Source {
    b: ModuleBuilder,
    name: String,
    ty: StreamType,
    ready: Signal,
    driven: std::cell::Cell<bool>,
}

impl Source {
    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Payload type.
    pub fn ty(&self) -> &StreamType {
        &self.ty
    }

    /// `<name>_ready_i`, the consumer's ready.
    pub fn ready(&self) -> Signal {
        self.ready.clone()
    }

    /// Drives `<name>_valid_o` and the payload outputs from `stream` (of this source's type),
    /// exactly once; the ports are declared here, valid first, then the fields in type order.
    #[track_caller]
    pub fn drive(&self, stream: &Stream) {
        let loc = Location::caller();
        if self.driven.replace(true) {
            self.b.issue(loc, format!("source `{}` is already driven", self.name));
            return;
        }
        if stream.ty != self.ty {
            let msg = format!(
                "source `{}` is {}, the stream driving it {}",
                self.name,
                self.ty.describe(),
                stream.ty.describe()
            );
            self.b.issue(loc, msg);
            return;
        }
        self.b.output(&format!("{}_valid_o", self.name), &stream.valid);
        for (f, s) in stream.fields_named() {
            self.b.output(&format!("{}_{f}_o", self.name), s);
        }
    }
}

/// How a stream interface of a child is connected by [`ModuleBuilder::instance_streams`].
#[derive(Clone, Copy, Debug)]
pub enum StreamConn<'a> {
    /// A sink of the child takes this stream (its ready comes back as [`Instance::ready`]).
    Feed(&'a Stream),
    /// A source of the child sees this ready (its beats come back as [`Instance::stream`]).
    Ready(&'a Signal),
}

impl ModuleBuilder {
    #[track_caller]
    fn declare_stream(&self, name: &str, dir: PortDir, ty: &StreamType) {
        let loc = Location::caller();
        for p in ty.problems() {
            self.issue(loc, format!("stream `{name}` {}: {p}", ty.describe()));
        }
        let promised = match dir {
            PortDir::Input => (format!("{name}_ready_o"), "sink", "its ready (Sink::drive_ready)"),
            PortDir::Output => (format!("{name}_valid_o"), "source", "its valid and payload (Source::drive)"),
        };
        let message = format!("{} `{name}`: {} is never driven", promised.1, promised.2);
        self.with_data(|d| {
            if d.streams.iter().any(|s| s.name == name) {
                d.issues.push(super::BuildIssue {
                    location: loc.to_string(),
                    message: format!("stream `{name}` is declared twice"),
                });
            }
            d.streams.push(StreamPort { name: name.to_string(), dir, ty: ty.clone() });
            d.promised.push((promised.0, message, loc));
        });
    }

    /// An input stream `name` of type `ty`: declares `<name>_valid_i` and the payload inputs
    /// now; `<name>_ready_o` is declared when [`Sink::drive_ready`] is called.
    #[track_caller]
    pub fn sink(&self, name: &str, ty: &StreamType) -> Sink {
        self.declare_stream(name, PortDir::Input, ty);
        let valid = self.input(&format!("{name}_valid_i"), 1);
        let fields: Vec<Signal> =
            ty.fields().iter().map(|(f, w)| self.input(&format!("{name}_{f}_i"), *w)).collect();
        let stream = Stream { ty: ty.clone(), valid, fields };
        Sink { b: self.handle(), name: name.to_string(), stream, ready: RefCell::new(Ready::Open(None)) }
    }

    /// An output stream `name` of type `ty`: declares `<name>_ready_i` now; `<name>_valid_o` and
    /// the payload outputs are declared when [`Source::drive`] is called.
    #[track_caller]
    pub fn source(&self, name: &str, ty: &StreamType) -> Source {
        self.declare_stream(name, PortDir::Output, ty);
        let ready = self.input(&format!("{name}_ready_i"), 1);
        let b = self.handle();
        Source { b, name: name.to_string(), ty: ty.clone(), ready, driven: std::cell::Cell::new(false) }
    }

    /// One instance of `module` (like [`Self::instance`]) whose stream interfaces are connected
    /// by name: a [`StreamConn::Feed`] fills a child sink's valid and payload inputs, a
    /// [`StreamConn::Ready`] its source's ready. `inputs` connects the other inputs.
    #[track_caller]
    pub fn instance_streams(
        &self,
        name: &str,
        module: &Module,
        inputs: &[(&str, &Signal)],
        streams: &[(&str, StreamConn<'_>)],
    ) -> Instance {
        let loc = Location::caller();
        let mut conns: Vec<(String, Signal)> =
            inputs.iter().map(|(p, s)| (p.to_string(), (*s).clone())).collect();
        for (port, conn) in streams {
            let decl = module.streams().iter().find(|s| s.name == *port);
            match (decl, conn) {
                (Some(d), StreamConn::Feed(s)) if d.dir == PortDir::Input => {
                    if s.ty != d.ty {
                        let msg = format!(
                            "instance `{name}`: sink `{port}` of `{}` is {}, the stream feeding it {}",
                            module.name(),
                            d.ty.describe(),
                            s.ty.describe()
                        );
                        self.issue(loc, msg);
                        continue;
                    }
                    conns.push((format!("{port}_valid_i"), s.valid.clone()));
                    conns.extend(s.fields_named().map(|(f, sig)| (format!("{port}_{f}_i"), sig.clone())));
                }
                (Some(d), StreamConn::Ready(r)) if d.dir == PortDir::Output => {
                    conns.push((format!("{port}_ready_i"), (*r).clone()));
                }
                (Some(d), _) => {
                    let (is, want) =
                        if d.dir == PortDir::Input { ("sink", "Feed") } else { ("source", "Ready") };
                    self.issue(loc, format!("instance `{name}`: `{port}` of `{}` is a {is}; connect it with StreamConn::{want}", module.name()));
                }
                (None, _) => {
                    let names: Vec<&str> = module.streams().iter().map(|s| s.name.as_str()).collect();
                    self.issue(
                        loc,
                        format!(
                            "instance `{name}`: `{}` has no stream `{port}`; streams: {}",
                            module.name(),
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        let refs: Vec<(&str, &Signal)> = conns.iter().map(|(p, s)| (p.as_str(), s)).collect();
        self.instance(name, module, &refs)
    }
}

impl Instance {
    fn stream_decl(
        &self,
        port: &str,
        dir: PortDir,
        loc: &'static Location<'static>,
    ) -> Result<StreamPort, Signal> {
        let child = self.child();
        match child.streams().iter().find(|s| s.name == port && s.dir == dir) {
            Some(d) => Ok(d.clone()),
            None => {
                let kind = if dir == PortDir::Input { "sink" } else { "source" };
                let msg = format!(
                    "instance `{}` of `{}` has no {kind} `{port}`",
                    self.instance_name(),
                    child.name()
                );
                Err(self.poison(1, loc, msg))
            }
        }
    }

    /// The beats of the child's source `port` (`<port>_valid_o` and its payload outputs).
    #[track_caller]
    pub fn stream(&self, port: &str) -> Stream {
        let loc = Location::caller();
        match self.stream_decl(port, PortDir::Output, loc) {
            Ok(d) => {
                let valid = self.output(&format!("{port}_valid_o"));
                let fields =
                    d.ty.fields().iter().map(|(f, _)| self.output(&format!("{port}_{f}_o"))).collect();
                Stream { ty: d.ty, valid, fields }
            }
            Err(p) => Stream { ty: StreamType::data(1), valid: p.clone(), fields: vec![p] },
        }
    }

    /// The ready the child's sink `port` gives (`<port>_ready_o`).
    #[track_caller]
    pub fn ready(&self, port: &str) -> Signal {
        let loc = Location::caller();
        match self.stream_decl(port, PortDir::Input, loc) {
            Ok(_) => self.output(&format!("{port}_ready_o")),
            Err(p) => p,
        }
    }
}
