//! Black boxes: modules known by name and ports only, such as SRAM macros and existing Verilog,
//! instantiated like any module but never emitted.
//!
//! A black box keeps exactly the name it is given (it names something outside vdx), so neither
//! the design prefix nor the content hash of generated modules applies to it, and no synthesis
//! file is written for it. A black box may carry a behavioural model, a [`Module`] built with the
//! HDL whose ports are the black box's: the emitter writes it under the black box's name into
//! [`Emitted::sim_models`](super::Emitted::sim_models), which simulators get
//! ([`Emitted::sim_source`](super::Emitted::sim_source)) and synthesis filelists do not.

use super::builder::{BuildIssue, HdlError, Module, ModuleData};
use super::names::is_keyword;
use super::{PortDir, PortSpec};
use std::panic::Location;
use std::rc::Rc;

/// What a black box module carries instead of a body.
#[derive(Debug, Clone)]
pub(crate) struct BlackBoxData {
    /// Ports in declaration order.
    pub ports: Vec<PortSpec>,
    /// The input instances connect to their parent's `clk_i`.
    pub clock: Option<String>,
    /// The input instances connect to their parent's `rst_ni`.
    pub reset: Option<String>,
    /// Behavioural model for simulation.
    pub model: Option<Module>,
}

/// Declares a black box; [`Self::finish`] turns it into a [`Module`] to instantiate.
///
/// ```
/// use vdx::hdl::BlackBox;
/// let rom = BlackBox::new("acme_rom_256x8")
///     .clock("CLK")
///     .input("A", 8)
///     .output("Q", 8)
///     .finish()
///     .unwrap();
/// assert!(rom.is_black_box());
/// assert_eq!(rom.name(), "acme_rom_256x8");
/// ```
pub struct BlackBox {
    name: String,
    data: BlackBoxData,
    issues: Vec<BuildIssue>,
}

/// A plain Verilog identifier: what an external module or port may be called (any case).
fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name)
}

impl BlackBox {
    /// A black box called exactly `name` (a plain Verilog identifier, any case; not a keyword).
    #[track_caller]
    pub fn new(name: &str) -> Self {
        let mut b = BlackBox {
            name: name.to_string(),
            data: BlackBoxData { ports: Vec::new(), clock: None, reset: None, model: None },
            issues: Vec::new(),
        };
        if !is_identifier(name) {
            b.issue(format!("black box name `{name}` is not a plain Verilog identifier"));
        }
        b
    }

    #[track_caller]
    fn issue(&mut self, message: String) {
        self.issues.push(BuildIssue { location: Location::caller().to_string(), message });
    }

    #[track_caller]
    fn port(mut self, name: &str, dir: PortDir, width: u32) -> Self {
        if !is_identifier(name) {
            self.issue(format!("port name `{name}` is not a plain Verilog identifier"));
        } else if self.data.ports.iter().any(|p| p.name == name) {
            self.issue(format!("port `{name}` is declared twice"));
        } else if width == 0 {
            self.issue(format!("port `{name}` has width 0"));
        } else {
            self.data.ports.push(PortSpec { name: name.to_string(), dir, width, signed: false });
        }
        self
    }

    /// A 1-bit clock input `port`: every instance connects it to its parent's `clk_i`.
    #[track_caller]
    pub fn clock(mut self, port: &str) -> Self {
        if self.data.clock.is_some() {
            self.issue(format!("black box `{}` already has a clock", self.name));
            return self;
        }
        self.data.clock = Some(port.to_string());
        self.port(port, PortDir::Input, 1)
    }

    /// A 1-bit asynchronous active-low reset input `port`: every instance connects it to its
    /// parent's `rst_ni`.
    #[track_caller]
    pub fn reset_n(mut self, port: &str) -> Self {
        if self.data.reset.is_some() {
            self.issue(format!("black box `{}` already has a reset", self.name));
            return self;
        }
        self.data.reset = Some(port.to_string());
        self.port(port, PortDir::Input, 1)
    }

    /// An input port, connected by name at every instance.
    #[track_caller]
    pub fn input(self, name: &str, width: u32) -> Self {
        self.port(name, PortDir::Input, width)
    }

    /// An output port.
    #[track_caller]
    pub fn output(self, name: &str, width: u32) -> Self {
        self.port(name, PortDir::Output, width)
    }

    /// Pairs the black box with a behavioural model for simulation. The model must have exactly
    /// the black box's ports (names, directions, widths; order does not matter), so a model
    /// built with the HDL fits a black box whose clock and reset are `clk_i` and `rst_ni`.
    #[track_caller]
    pub fn model(mut self, model: &Module) -> Self {
        if model.is_black_box() {
            self.issue(format!("the model of `{}` is itself a black box", self.name));
            return self;
        }
        self.data.model = Some(model.clone());
        self
    }

    /// Checks the declaration: errors recorded so far, at least one output, and a model whose
    /// ports match.
    pub fn finish(mut self) -> Result<Module, HdlError> {
        if !self.data.ports.iter().any(|p| p.dir == PortDir::Output) {
            self.issues.push(BuildIssue {
                location: "finish".into(),
                message: format!("black box `{}` has no outputs", self.name),
            });
        }
        if let Some(model) = &self.data.model {
            let key = |p: &PortSpec| (p.name.clone(), p.dir, p.width);
            let mut ours: Vec<_> = self.data.ports.iter().map(key).collect();
            let mut theirs: Vec<_> = model.ports().iter().map(key).collect();
            ours.sort();
            theirs.sort();
            if ours != theirs {
                let show = |v: &[(String, PortDir, u32)]| {
                    v.iter().map(|(n, d, w)| format!("{n}:{d:?}:{w}")).collect::<Vec<_>>().join(", ")
                };
                self.issues.push(BuildIssue {
                    location: "finish".into(),
                    message: format!(
                        "the ports of model `{}` ({}) are not those of black box `{}` ({})",
                        model.name(),
                        show(&theirs),
                        self.name,
                        show(&ours)
                    ),
                });
            }
        }
        if !self.issues.is_empty() {
            return Err(HdlError { module: self.name, issues: self.issues });
        }
        let clocked = self.data.clock.is_some() || self.data.reset.is_some();
        let mut data = ModuleData::empty(&self.name);
        data.block = "black box".into();
        data.clocked = clocked;
        data.black_box = Some(self.data);
        Ok(Module(Rc::new(data)))
    }
}
