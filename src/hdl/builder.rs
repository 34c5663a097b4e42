//! Building modules: [`ModuleBuilder`], [`Signal`] and its operators, registers, memories and
//! instances.
//!
//! Widths are plain integers chosen at run time. Every operation checks its operands when it is
//! called; a bad one is recorded with the Rust call site (`#[track_caller]`) and the signal names
//! involved, building continues with a placeholder of the expected width, and
//! [`ModuleBuilder::finish`] returns all recorded errors at once. Nothing panics later in the
//! emitter because of a bad design.

use super::bits::Bits;
use super::black_box::BlackBoxData;
use super::names::{legalize, strip_port_suffix};
use super::stream::StreamPort;
use super::{PortDir, PortSpec};
use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// Index of a node in its module.
pub(crate) type NodeId = usize;

/// One-operand operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum UnOp {
    Not,
    Neg,
    RedAnd,
    RedOr,
    RedXor,
}

/// Two-operand operators. Both operands have the same width and signedness; comparisons and the
/// arithmetic shift read the signedness of their left operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Shift by a signal amount (the right operand may have any width).
    Shl,
    Shr,
    Sra,
}

/// Shifts and rotates by a constant amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConstShift {
    Shl,
    Shr,
    Sra,
    Rotl,
}

/// What computes a node's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    Input,
    Const(Bits),
    Unary(UnOp, NodeId),
    Binary(BinOp, NodeId, NodeId),
    Shift(ConstShift, NodeId, u32),
    Slice {
        a: NodeId,
        hi: u32,
        lo: u32,
    },
    /// Most significant part first.
    Concat(Vec<NodeId>),
    Repeat(NodeId, u32),
    Mux {
        sel: NodeId,
        t: NodeId,
        f: NodeId,
    },
    /// Sign or zero extension to the node's width.
    Extend {
        a: NodeId,
        signed: bool,
    },
    /// The same bits with other signedness.
    Cast(NodeId),
    RegQ(usize),
    RomRead(usize),
    MemRead {
        mem: usize,
        port: usize,
    },
    InstOut {
        inst: usize,
        port: String,
    },
    /// A user-named copy of another node.
    Alias(NodeId),
    /// A wire declared before its driver exists ([`ModuleBuilder::wire`]); `None` until driven.
    Forward(Option<NodeId>),
    /// Stands in for the result of an operation that reported an error.
    Poison,
}

/// A node with its type, optional user name and creation site.
#[derive(Debug, Clone)]
pub(crate) struct NodeData {
    pub node: Node,
    pub width: u32,
    pub signed: bool,
    pub name: Option<String>,
    pub loc: &'static Location<'static>,
}

/// Reset value of a register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// All bits zero.
    Zero,
    /// The given value (truncated to the register width; a value that does not fit is an error).
    Value(u64),
    /// A wide value.
    Bits(Bits),
}

#[derive(Debug, Clone)]
pub(crate) struct RegData {
    pub name: String,
    pub width: u32,
    pub reset: Bits,
    /// Next value and optional enable, with the call site that set them.
    pub next: Option<(NodeId, Option<NodeId>, &'static Location<'static>)>,
    pub loc: &'static Location<'static>,
}

#[derive(Debug, Clone)]
pub(crate) struct MemWrite {
    pub en: NodeId,
    pub addr: NodeId,
    pub data: NodeId,
}

#[derive(Debug, Clone)]
pub(crate) struct MemRead {
    pub en: NodeId,
    pub addr: NodeId,
    pub out: NodeId,
}

#[derive(Debug, Clone)]
pub(crate) struct MemData {
    pub name: String,
    pub width: u32,
    pub depth: u64,
    pub write: Option<MemWrite>,
    pub reads: Vec<MemRead>,
    pub loc: &'static Location<'static>,
}

#[derive(Debug, Clone)]
pub(crate) struct RomData {
    pub table: Vec<Bits>,
    pub en: NodeId,
    pub addr: NodeId,
    pub out: NodeId,
}

/// How one port of an instance array is connected.
#[derive(Debug, Clone)]
pub(crate) enum ConnData {
    /// The same signal to every instance.
    All(NodeId),
    /// Instance `i` gets bits `[i*w +: w]` of a signal `count * w` bits wide.
    Each(NodeId),
}

#[derive(Debug, Clone)]
pub(crate) struct InstData {
    pub name: String,
    pub module: Module,
    /// `None` for a single instance, `Some(n)` for a generate loop of `n`.
    pub count: Option<u32>,
    /// Input connections in the child's port order (clock and reset excluded).
    pub inputs: Vec<(String, ConnData)>,
    /// Output port name and the node that carries it (all outputs, in port order).
    pub outputs: Vec<(String, NodeId)>,
}

#[derive(Debug, Clone)]
pub(crate) struct PortData {
    pub spec: PortSpec,
    /// Input: its `Input` node. Output: its driver.
    pub node: NodeId,
}

/// One problem found while building a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildIssue {
    /// `file:line:column` of the Rust call that caused it.
    pub location: String,
    /// What is wrong, naming the signals involved.
    pub message: String,
}

impl fmt::Display for BuildIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// All problems found while building one module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("module `{module}`: {} error(s):\n{}", issues.len(), issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
pub struct HdlError {
    /// Module being built.
    pub module: String,
    /// Every problem, in the order found.
    pub issues: Vec<BuildIssue>,
}

/// The state of a module under construction (shared by the builder and its signals).
#[derive(Debug)]
pub(crate) struct ModuleData {
    pub name: String,
    pub block: String,
    pub params: Vec<(String, String)>,
    pub ports: Vec<PortData>,
    pub nodes: Vec<NodeData>,
    pub regs: Vec<RegData>,
    pub mems: Vec<MemData>,
    pub roms: Vec<RomData>,
    pub insts: Vec<InstData>,
    pub clocked: bool,
    pub issues: Vec<BuildIssue>,
    /// Stream interfaces declared with [`ModuleBuilder::sink`] and [`ModuleBuilder::source`].
    pub streams: Vec<StreamPort>,
    /// Output ports that must exist by [`ModuleBuilder::finish`] (a sink's ready, a source's
    /// valid), with what to say and where they were promised.
    pub promised: Vec<(String, String, &'static Location<'static>)>,
    /// Set for a black box: a module known by its ports only (see [`super::BlackBox`]).
    pub black_box: Option<BlackBoxData>,
    /// Section comments from [`ModuleBuilder::section`]: the first node of the section (the
    /// node count when it was opened) and its lines.
    pub sections: Vec<(NodeId, Vec<String>)>,
    /// Properties from [`ModuleBuilder::assert_always`], in the order they were made.
    pub asserts: Vec<AssertData>,
}

/// A property of a module: a one-bit signal that is high in every cycle out of reset.
#[derive(Debug, Clone)]
pub(crate) struct AssertData {
    pub label: String,
    pub cond: NodeId,
    pub doc: Vec<String>,
}

type Shared = Rc<RefCell<ModuleData>>;

impl ModuleData {
    /// A module called `name` with nothing in it yet.
    pub(crate) fn empty(name: &str) -> ModuleData {
        ModuleData {
            block: name.to_string(),
            name: name.to_string(),
            params: Vec::new(),
            ports: Vec::new(),
            nodes: Vec::new(),
            regs: Vec::new(),
            mems: Vec::new(),
            roms: Vec::new(),
            insts: Vec::new(),
            clocked: false,
            issues: Vec::new(),
            streams: Vec::new(),
            promised: Vec::new(),
            black_box: None,
            sections: Vec::new(),
            asserts: Vec::new(),
        }
    }

    fn issue(&mut self, loc: &'static Location<'static>, message: String) {
        self.issues.push(BuildIssue { location: loc.to_string(), message });
    }

    fn push(&mut self, node: Node, width: u32, signed: bool, loc: &'static Location<'static>) -> NodeId {
        self.nodes.push(NodeData { node, width, signed, name: None, loc });
        self.nodes.len() - 1
    }

    /// How a node is named in error messages.
    pub(crate) fn describe(&self, id: NodeId) -> String {
        let n = &self.nodes[id];
        let kind = match &n.node {
            Node::Input => "input",
            Node::RegQ(_) => "register",
            Node::Const(_) => "constant",
            Node::InstOut { .. } => "instance output",
            Node::MemRead { .. } => "memory read",
            Node::RomRead(_) => "rom read",
            _ => "signal",
        };
        match &n.name {
            Some(name) => format!("{kind} `{name}` ({} bits)", n.width),
            None => format!("{} ({} bits, made at {})", op_name(&n.node), n.width, n.loc),
        }
    }

    fn port_name_taken(&self, name: &str) -> bool {
        self.ports.iter().any(|p| p.spec.name == name)
    }
}

/// Short name of the operation behind a node, used in messages and generated wire names.
pub(crate) fn op_name(node: &Node) -> &'static str {
    match node {
        Node::Input => "input",
        Node::Const(_) => "const",
        Node::Unary(UnOp::Not, _) => "not",
        Node::Unary(UnOp::Neg, _) => "neg",
        Node::Unary(UnOp::RedAnd, _) => "red_and",
        Node::Unary(UnOp::RedOr, _) => "red_or",
        Node::Unary(UnOp::RedXor, _) => "red_xor",
        Node::Binary(op, _, _) => match op {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::Eq => "eq",
            BinOp::Ne => "ne",
            BinOp::Lt => "lt",
            BinOp::Le => "le",
            BinOp::Gt => "gt",
            BinOp::Ge => "ge",
            BinOp::Shl => "shl",
            BinOp::Shr => "shr",
            BinOp::Sra => "sra",
        },
        Node::Shift(ConstShift::Shl, _, _) => "shl",
        Node::Shift(ConstShift::Shr, _, _) => "shr",
        Node::Shift(ConstShift::Sra, _, _) => "sra",
        Node::Shift(ConstShift::Rotl, _, _) => "rotl",
        Node::Slice { .. } => "slice",
        Node::Concat(_) => "concat",
        Node::Repeat(..) => "repeat",
        Node::Mux { .. } => "mux",
        Node::Extend { .. } => "ext",
        Node::Cast(_) => "cast",
        Node::RegQ(_) => "reg",
        Node::MemRead { .. } => "mem_rdata",
        Node::RomRead(_) => "rom",
        Node::InstOut { .. } => "inst_out",
        Node::Alias(_) => "alias",
        Node::Forward(_) => "wire",
        Node::Poison => "error",
    }
}

/// A value in a module under construction: a port, constant, register output or the result of an
/// operation. Cloning is cheap; all operations create new nodes and leave their operands alone.
#[derive(Clone)]
pub struct Signal {
    m: Shared,
    id: NodeId,
    width: u32,
    signed: bool,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signal({})", self.m.borrow().describe(self.id))
    }
}

impl Signal {
    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Whether the value is read as two's complement (by comparisons, extension, `sra`, `mul`).
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    fn make(&self, node: Node, width: u32, signed: bool, loc: &'static Location<'static>) -> Signal {
        let id = self.m.borrow_mut().push(node, width, signed, loc);
        Signal { m: self.m.clone(), id, width, signed }
    }

    /// Records `message` at `loc` in this signal's module and returns a placeholder of `width`.
    pub(crate) fn poison(&self, width: u32, loc: &'static Location<'static>, message: String) -> Signal {
        self.m.borrow_mut().issue(loc, message);
        self.make(Node::Poison, width.max(1), false, loc)
    }

    fn describe(&self) -> String {
        self.m.borrow().describe(self.id)
    }

    /// Checks that `other` lives in the same module; records an error otherwise.
    pub(crate) fn same_module(&self, other: &Signal, op: &str, loc: &'static Location<'static>) -> bool {
        if Rc::ptr_eq(&self.m, &other.m) {
            return true;
        }
        let theirs = other.m.borrow().name.clone();
        let message = format!(
            "{op}: {} belongs to module `{theirs}`, not to `{}`; connect modules through instance ports",
            other.describe(),
            self.m.borrow().name
        );
        self.m.borrow_mut().issue(loc, message);
        false
    }

    /// Checks two operands for equal width and signedness.
    fn matched(&self, other: &Signal, op: &str, loc: &'static Location<'static>) -> bool {
        if !self.same_module(other, op, loc) {
            return false;
        }
        if self.width != other.width {
            let message = format!(
                "{op}: width mismatch: {} vs {}; resize one side explicitly",
                self.describe(),
                other.describe()
            );
            self.m.borrow_mut().issue(loc, message);
            return false;
        }
        if self.signed != other.signed {
            let message = format!(
                "{op}: signedness mismatch: {} is {}, {} is {}; cast one side with as_signed/as_unsigned",
                self.describe(),
                if self.signed { "signed" } else { "unsigned" },
                other.describe(),
                if other.signed { "signed" } else { "unsigned" },
            );
            self.m.borrow_mut().issue(loc, message);
            return false;
        }
        true
    }

    #[track_caller]
    fn binary(&self, op: BinOp, other: &Signal, result_width: u32, result_signed: bool) -> Signal {
        let loc = Location::caller();
        let name = op_name(&Node::Binary(op, 0, 0));
        if !self.matched(other, name, loc) {
            return self.make(Node::Poison, result_width, result_signed, loc);
        }
        self.make(Node::Binary(op, self.id, other.id), result_width, result_signed, loc)
    }

    /// `self + other`, same width, wrapping.
    #[track_caller]
    pub fn add(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Add, other, self.width, self.signed)
    }

    /// `self - other`, same width, wrapping.
    #[track_caller]
    pub fn sub(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Sub, other, self.width, self.signed)
    }

    /// `self + other` one bit wider than the operands, so it never overflows.
    #[track_caller]
    pub fn add_carry(&self, other: &Signal) -> Signal {
        let loc = Location::caller();
        let w = self.width + 1;
        if !self.matched(other, "add_carry", loc) {
            return self.make(Node::Poison, w, self.signed, loc);
        }
        self.resize_at(w, loc).add(&other.resize_at(w, loc))
    }

    /// Product truncated to `width` bits. Both operands are extended to `width` (by their
    /// signedness) first, so `width >= a.width() + b.width()` gives the exact product.
    #[track_caller]
    pub fn mul(&self, other: &Signal, width: u32) -> Signal {
        let loc = Location::caller();
        if !self.same_module(other, "mul", loc) {
            return self.make(Node::Poison, width.max(1), self.signed, loc);
        }
        if self.signed != other.signed {
            return self.poison(
                width,
                loc,
                format!(
                    "mul: signedness mismatch: {} vs {}; cast one side",
                    self.describe(),
                    other.describe()
                ),
            );
        }
        if width < self.width.max(other.width) {
            return self.poison(
                width,
                loc,
                format!(
                    "mul: result width {width} is narrower than operand {}; slice the product instead",
                    if self.width >= other.width { self.describe() } else { other.describe() }
                ),
            );
        }
        let a = self.resize_at(width, loc);
        let b = other.resize_at(width, loc);
        self.make(Node::Binary(BinOp::Mul, a.id, b.id), width, self.signed, loc)
    }

    /// Bitwise AND.
    #[track_caller]
    pub fn and(&self, other: &Signal) -> Signal {
        self.binary(BinOp::And, other, self.width, self.signed)
    }

    /// Bitwise OR.
    #[track_caller]
    pub fn or(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Or, other, self.width, self.signed)
    }

    /// Bitwise XOR.
    #[track_caller]
    pub fn xor(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Xor, other, self.width, self.signed)
    }

    /// Bitwise NOT.
    #[track_caller]
    pub fn not(&self) -> Signal {
        self.make(Node::Unary(UnOp::Not, self.id), self.width, self.signed, Location::caller())
    }

    /// Two's complement negation, same width.
    #[track_caller]
    pub fn neg(&self) -> Signal {
        self.make(Node::Unary(UnOp::Neg, self.id), self.width, self.signed, Location::caller())
    }

    /// `self == other` (1 bit).
    #[track_caller]
    pub fn eq(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Eq, other, 1, false)
    }

    /// `self != other` (1 bit).
    #[track_caller]
    pub fn ne(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Ne, other, 1, false)
    }

    /// `self < other`, signed when both operands are signed (1 bit).
    #[track_caller]
    pub fn lt(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Lt, other, 1, false)
    }

    /// `self <= other` (1 bit).
    #[track_caller]
    pub fn le(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Le, other, 1, false)
    }

    /// `self > other` (1 bit).
    #[track_caller]
    pub fn gt(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Gt, other, 1, false)
    }

    /// `self >= other` (1 bit).
    #[track_caller]
    pub fn ge(&self, other: &Signal) -> Signal {
        self.binary(BinOp::Ge, other, 1, false)
    }

    #[track_caller]
    fn shift_const(&self, kind: ConstShift, amount: u32) -> Signal {
        let loc = Location::caller();
        if amount >= self.width && kind != ConstShift::Rotl {
            return self.poison(
                self.width,
                loc,
                format!("shift by {amount} clears all of {}", self.describe()),
            );
        }
        let amount = if kind == ConstShift::Rotl { amount % self.width } else { amount };
        if amount == 0 {
            return self.clone();
        }
        self.make(Node::Shift(kind, self.id, amount), self.width, self.signed, loc)
    }

    /// Logical left shift by a constant, same width.
    #[track_caller]
    pub fn shl(&self, amount: u32) -> Signal {
        self.shift_const(ConstShift::Shl, amount)
    }

    /// Logical right shift by a constant, same width.
    #[track_caller]
    pub fn shr(&self, amount: u32) -> Signal {
        self.shift_const(ConstShift::Shr, amount)
    }

    /// Arithmetic right shift by a constant (copies the MSB), same width.
    #[track_caller]
    pub fn sra(&self, amount: u32) -> Signal {
        self.shift_const(ConstShift::Sra, amount)
    }

    /// Rotate left by a constant.
    #[track_caller]
    pub fn rotl(&self, amount: u32) -> Signal {
        self.shift_const(ConstShift::Rotl, amount)
    }

    /// Rotate right by a constant.
    #[track_caller]
    pub fn rotr(&self, amount: u32) -> Signal {
        let w = self.width;
        self.shift_const(ConstShift::Rotl, (w - amount % w) % w)
    }

    #[track_caller]
    fn shift_by(&self, op: BinOp, amount: &Signal) -> Signal {
        let loc = Location::caller();
        if !self.same_module(amount, "shift", loc) {
            return self.make(Node::Poison, self.width, self.signed, loc);
        }
        self.make(Node::Binary(op, self.id, amount.id), self.width, self.signed, loc)
    }

    /// Logical left shift by an unsigned signal amount.
    #[track_caller]
    pub fn shl_by(&self, amount: &Signal) -> Signal {
        self.shift_by(BinOp::Shl, amount)
    }

    /// Logical right shift by an unsigned signal amount.
    #[track_caller]
    pub fn shr_by(&self, amount: &Signal) -> Signal {
        self.shift_by(BinOp::Shr, amount)
    }

    /// Arithmetic right shift by an unsigned signal amount.
    #[track_caller]
    pub fn sra_by(&self, amount: &Signal) -> Signal {
        self.shift_by(BinOp::Sra, amount)
    }

    /// Rotate left by a signal amount, taken modulo the width (which must then be a power of two,
    /// so that the modulo is a plain truncation of the amount).
    #[track_caller]
    pub fn rotl_by(&self, amount: &Signal) -> Signal {
        let loc = Location::caller();
        let w = self.width;
        if !w.is_power_of_two() {
            return self.poison(
                w,
                loc,
                format!("rotl_by: {} must have a power-of-two width", self.describe()),
            );
        }
        if !self.same_module(amount, "rotl_by", loc) {
            return self.make(Node::Poison, w, self.signed, loc);
        }
        if w == 1 {
            return self.clone();
        }
        let bits = w.trailing_zeros();
        let amount = if amount.width > bits { amount.slice_at(bits - 1, 0, loc) } else { amount.clone() };
        let doubled = self.as_unsigned().concat_at(&self.as_unsigned(), loc);
        doubled.shift_by(BinOp::Shl, &amount).slice_at(2 * w - 1, w, loc).cast_to(self.signed, loc)
    }

    /// Rotate right by a signal amount, modulo the (power-of-two) width.
    #[track_caller]
    pub fn rotr_by(&self, amount: &Signal) -> Signal {
        let loc = Location::caller();
        if !self.same_module(amount, "rotr_by", loc) {
            return self.make(Node::Poison, self.width, self.signed, loc);
        }
        if self.width == 1 {
            return self.clone();
        }
        // Right by k is left by -k modulo the width: negate in exactly log2(width) bits.
        let bits = self.width.trailing_zeros().max(1);
        let amount = amount.as_unsigned();
        let amount =
            if amount.width > bits { amount.slice_at(bits - 1, 0, loc) } else { amount.resize_at(bits, loc) };
        self.rotl_by(&amount.neg())
    }

    /// Bit `index` (1 bit).
    #[track_caller]
    pub fn bit(&self, index: u32) -> Signal {
        self.slice_at(index, index, Location::caller())
    }

    /// Bits `hi` down to `lo`, inclusive (unsigned).
    #[track_caller]
    pub fn slice(&self, hi: u32, lo: u32) -> Signal {
        self.slice_at(hi, lo, Location::caller())
    }

    fn slice_at(&self, hi: u32, lo: u32, loc: &'static Location<'static>) -> Signal {
        if hi < lo || hi >= self.width {
            let w = if hi >= lo { hi - lo + 1 } else { 1 };
            return self.poison(w, loc, format!("slice [{hi}:{lo}] is outside {}", self.describe()));
        }
        if lo == 0 && hi == self.width - 1 {
            return self.cast_to(false, loc);
        }
        self.make(Node::Slice { a: self.id, hi, lo }, hi - lo + 1, false, loc)
    }

    /// `{self, low}`: `self` becomes the most significant part (unsigned).
    #[track_caller]
    pub fn concat(&self, low: &Signal) -> Signal {
        self.concat_at(low, Location::caller())
    }

    fn concat_at(&self, low: &Signal, loc: &'static Location<'static>) -> Signal {
        if !self.same_module(low, "concat", loc) {
            return self.make(Node::Poison, self.width + low.width, false, loc);
        }
        self.make(Node::Concat(vec![self.id, low.id]), self.width + low.width, false, loc)
    }

    /// `{times{self}}`.
    #[track_caller]
    pub fn repeat(&self, times: u32) -> Signal {
        let loc = Location::caller();
        if times == 0 {
            return self.poison(1, loc, format!("repeat of {} zero times", self.describe()));
        }
        if times == 1 {
            return self.clone();
        }
        self.make(Node::Repeat(self.id, times), self.width * times, false, loc)
    }

    /// `self ? if_true : if_false`; `self` must be 1 bit wide.
    #[track_caller]
    pub fn mux(&self, if_true: &Signal, if_false: &Signal) -> Signal {
        let loc = Location::caller();
        if !self.same_module(if_true, "mux", loc) || !if_true.matched(if_false, "mux", loc) {
            return self.make(Node::Poison, if_true.width, if_true.signed, loc);
        }
        if self.width != 1 {
            return self.poison(if_true.width, loc, format!("mux: select {} must be 1 bit", self.describe()));
        }
        self.make(
            Node::Mux { sel: self.id, t: if_true.id, f: if_false.id },
            if_true.width,
            if_true.signed,
            loc,
        )
    }

    /// Sign extension to `width` bits (keeps signedness).
    #[track_caller]
    pub fn sext(&self, width: u32) -> Signal {
        self.extend_at(width, true, Location::caller())
    }

    /// Zero extension to `width` bits (keeps signedness).
    #[track_caller]
    pub fn zext(&self, width: u32) -> Signal {
        self.extend_at(width, false, Location::caller())
    }

    fn extend_at(&self, width: u32, signed: bool, loc: &'static Location<'static>) -> Signal {
        if width < self.width {
            return self.poison(
                width,
                loc,
                format!("extend to {width} bits would truncate {}", self.describe()),
            );
        }
        if width == self.width {
            return self.clone();
        }
        self.make(Node::Extend { a: self.id, signed }, width, self.signed, loc)
    }

    /// To `width` bits: extends by the signal's signedness, or keeps the low bits.
    #[track_caller]
    pub fn resize(&self, width: u32) -> Signal {
        self.resize_at(width, Location::caller())
    }

    fn resize_at(&self, width: u32, loc: &'static Location<'static>) -> Signal {
        if width == 0 {
            return self.poison(1, loc, format!("resize of {} to 0 bits", self.describe()));
        }
        if width >= self.width {
            self.extend_at(width, self.signed, loc)
        } else {
            self.slice_at(width - 1, 0, loc).cast_to(self.signed, loc)
        }
    }

    /// The same bits, read as signed.
    #[track_caller]
    pub fn as_signed(&self) -> Signal {
        self.cast_to(true, Location::caller())
    }

    /// The same bits, read as unsigned.
    #[track_caller]
    pub fn as_unsigned(&self) -> Signal {
        self.cast_to(false, Location::caller())
    }

    fn cast_to(&self, signed: bool, loc: &'static Location<'static>) -> Signal {
        if self.signed == signed {
            return self.clone();
        }
        self.make(Node::Cast(self.id), self.width, signed, loc)
    }

    /// AND of all bits (1 bit).
    #[track_caller]
    pub fn reduce_and(&self) -> Signal {
        self.make(Node::Unary(UnOp::RedAnd, self.id), 1, false, Location::caller())
    }

    /// OR of all bits (1 bit).
    #[track_caller]
    pub fn reduce_or(&self) -> Signal {
        self.make(Node::Unary(UnOp::RedOr, self.id), 1, false, Location::caller())
    }

    /// XOR of all bits (1 bit).
    #[track_caller]
    pub fn reduce_xor(&self) -> Signal {
        self.make(Node::Unary(UnOp::RedXor, self.id), 1, false, Location::caller())
    }

    /// A constant of this signal's width and signedness, in the same module.
    #[track_caller]
    pub fn lit(&self, value: u64) -> Signal {
        let loc = Location::caller();
        if !Bits::fits(value, self.width) {
            return self.poison(
                self.width,
                loc,
                format!("constant {value:#x} does not fit in {} bits", self.width),
            );
        }
        self.make(Node::Const(Bits::from_u64(value, self.width)), self.width, self.signed, loc)
    }

    /// Gives this signal a name in the generated Verilog (legalized and made unique there).
    /// Returns a signal carrying the name; the original is unchanged.
    #[track_caller]
    pub fn named(&self, name: &str) -> Signal {
        let loc = Location::caller();
        let mut m = self.m.borrow_mut();
        // Constants are written as literals and casts are transparent: naming either needs a wire.
        let plain = !matches!(m.nodes[self.id].node, Node::Const(_) | Node::Cast(_));
        let id = if m.nodes[self.id].name.is_none() && plain {
            self.id
        } else {
            m.push(Node::Alias(self.id), self.width, self.signed, loc)
        };
        m.nodes[id].name = Some(legalize(name));
        Signal { m: self.m.clone(), id, width: self.width, signed: self.signed }
    }
}

/// Concatenation of `parts`, most significant first (unsigned).
#[track_caller]
pub fn cat(parts: &[&Signal]) -> Signal {
    let loc = Location::caller();
    let first = parts.first().expect("cat needs at least one part");
    for p in &parts[1..] {
        if !first.same_module(p, "cat", loc) {
            return first.make(Node::Poison, parts.iter().map(|p| p.width).sum(), false, loc);
        }
    }
    if parts.len() == 1 {
        return first.as_unsigned();
    }
    first.make(
        Node::Concat(parts.iter().map(|p| p.id).collect()),
        parts.iter().map(|p| p.width).sum(),
        false,
        loc,
    )
}

/// A memory with synchronous reads, built by [`ModuleBuilder::memory`]. Its contents have no
/// reset (they model an SRAM macro); its read-data registers do.
#[derive(Clone)]
pub struct Memory {
    m: Shared,
    idx: usize,
    width: u32,
    addr_width: u32,
}

impl Memory {
    /// Width of the address ports: `ceil(log2(depth))`, at least 1.
    pub fn addr_width(&self) -> u32 {
        self.addr_width
    }

    /// Width of a word.
    pub fn width(&self) -> u32 {
        self.width
    }

    fn check_port(&self, what: &str, sig: &Signal, width: u32, loc: &'static Location<'static>) -> bool {
        let mut m = self.m.borrow_mut();
        let mem = m.mems[self.idx].name.clone();
        if !Rc::ptr_eq(&self.m, &sig.m) {
            m.issue(loc, format!("memory `{mem}` {what}: signal belongs to another module"));
            return false;
        }
        if sig.width != width {
            let d = m.describe(sig.id);
            m.issue(loc, format!("memory `{mem}` {what}: {d} must be {width} bits"));
            return false;
        }
        true
    }

    /// Sets the write port: at the clock edge, when `en` is high, word `addr` becomes `data`.
    #[track_caller]
    pub fn write(&self, en: &Signal, addr: &Signal, data: &Signal) {
        let loc = Location::caller();
        let ok = self.check_port("write enable", en, 1, loc)
            & self.check_port("write address", addr, self.addr_width, loc)
            & self.check_port("write data", data, self.width, loc);
        let mut m = self.m.borrow_mut();
        if m.mems[self.idx].write.is_some() {
            let mem = m.mems[self.idx].name.clone();
            m.issue(loc, format!("memory `{mem}` already has a write port"));
        } else if ok {
            m.mems[self.idx].write = Some(MemWrite { en: en.id, addr: addr.id, data: data.id });
        }
    }

    /// Adds a read port: at the clock edge, when `en` is high, the returned register takes word
    /// `addr` (so data appears one cycle after the address). It resets to zero.
    #[track_caller]
    pub fn read(&self, en: &Signal, addr: &Signal) -> Signal {
        let loc = Location::caller();
        let ok = self.check_port("read enable", en, 1, loc)
            & self.check_port("read address", addr, self.addr_width, loc);
        let mut m = self.m.borrow_mut();
        let port = m.mems[self.idx].reads.len();
        let node = if ok { Node::MemRead { mem: self.idx, port } } else { Node::Poison };
        let out = m.push(node, self.width, false, loc);
        if ok {
            m.mems[self.idx].reads.push(MemRead { en: en.id, addr: addr.id, out });
        }
        Signal { m: self.m.clone(), id: out, width: self.width, signed: false }
    }
}

/// How one input port of an instance array is fed.
#[derive(Clone, Debug)]
pub enum Conn {
    /// The same signal goes to every instance (width = the port's width).
    All(Signal),
    /// Instance `i` gets bits `[i*w +: w]` of a signal `count * w` bits wide.
    Each(Signal),
}

/// An instance (or a generate loop of instances) of a child module.
#[derive(Clone)]
pub struct Instance {
    m: Shared,
    idx: usize,
}

impl Instance {
    /// The instantiated module.
    pub(crate) fn child(&self) -> Module {
        self.m.borrow().insts[self.idx].module.clone()
    }

    /// Name of the instance.
    pub(crate) fn instance_name(&self) -> String {
        self.m.borrow().insts[self.idx].name.clone()
    }

    /// Records `message` at `loc` in the parent and returns a placeholder of `width` bits.
    pub(crate) fn poison(&self, width: u32, loc: &'static Location<'static>, message: String) -> Signal {
        let mut m = self.m.borrow_mut();
        m.issue(loc, message);
        let id = m.push(Node::Poison, width.max(1), false, loc);
        Signal { m: self.m.clone(), id, width: width.max(1), signed: false }
    }

    /// The signal carrying output `port` of the child; for an array, the outputs of all instances
    /// concatenated, instance 0 in the least significant part.
    #[track_caller]
    pub fn output(&self, port: &str) -> Signal {
        let loc = Location::caller();
        let found = {
            let m = self.m.borrow();
            let inst = &m.insts[self.idx];
            inst.outputs.iter().find(|(p, _)| p == port).map(|(_, id)| (*id, m.nodes[*id].width))
        };
        let sig_of = |id, width| Signal { m: self.m.clone(), id, width, signed: false };
        match found {
            Some((id, width)) => sig_of(id, width),
            None => {
                let mut m = self.m.borrow_mut();
                let inst = &m.insts[self.idx];
                let available: Vec<String> = inst.outputs.iter().map(|(p, _)| p.clone()).collect();
                let message = format!(
                    "instance `{}` of `{}` has no output `{port}`; outputs: {}",
                    inst.name,
                    inst.module.name(),
                    available.join(", ")
                );
                m.issue(loc, message);
                let id = m.push(Node::Poison, 1, false, loc);
                sig_of(id, 1)
            }
        }
    }
}

/// Builds one module. See the module docs for how errors are reported.
pub struct ModuleBuilder {
    m: Shared,
}

impl ModuleBuilder {
    /// A new module called `name` (legalized). Its block name defaults to the module name.
    pub fn new(name: &str) -> Self {
        ModuleBuilder { m: Rc::new(RefCell::new(ModuleData::empty(&legalize(name)))) }
    }

    /// Sets the block name shown in the file header.
    pub fn block(&self, block: &str) -> &Self {
        self.m.borrow_mut().block = block.to_string();
        self
    }

    /// Records a parameter value for the file header.
    pub fn param(&self, name: &str, value: impl fmt::Display) -> &Self {
        self.m.borrow_mut().params.push((name.to_string(), value.to_string()));
        self
    }

    /// Name of the module.
    pub fn name(&self) -> String {
        self.m.borrow().name.clone()
    }

    /// Opens a section of the module: the emitter writes `text` as a `//` comment before the
    /// continuous assignments of the signals created from here on, each followed by the next
    /// values of the registers created in the section (a section without either is not written).
    /// Lines of `text` become comment lines; control characters become spaces; text that is not
    /// ASCII is a build error. Sections are what lets a reviewer follow generated
    /// control logic without the builder's source.
    ///
    /// ```
    /// use vdx::hdl::{Design, ModuleBuilder, Reset};
    /// let m = ModuleBuilder::new("counter");
    /// let en = m.input("en_i", 1);
    /// m.section("Counts enabled cycles, wrapping at 2^4.");
    /// let count = m.reg("count", 4, Reset::Zero);
    /// m.next_when(&count, &en, &count.add(&count.lit(1)));
    /// m.output("count_o", &count);
    /// let text = Design::single(&m.finish().unwrap()).emit().files[0].text.clone();
    /// assert!(text.contains("  // Counts enabled cycles, wrapping at 2^4.\n  assign count_d"));
    /// ```
    #[track_caller]
    pub fn section(&self, text: &str) {
        let loc = Location::caller();
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>())
            .map(|l| l.trim_end().to_string())
            .collect();
        let mut m = self.m.borrow_mut();
        if lines.iter().all(|l| l.trim().is_empty()) {
            m.issue(loc, "section: the comment text is empty".to_string());
            return;
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
            m.issue(loc, format!("section: `{c}` is not ASCII; generated Verilog is ASCII only"));
            return;
        }
        let start = m.nodes.len();
        m.sections.push((start, lines));
    }

    /// A property: `cond` (one bit) holds in every cycle out of reset. It is emitted as an
    /// immediate assertion labelled `label` inside `` `ifdef FORMAL ``, where formal tools see it
    /// (`vdx formal` proves them with SymbiYosys) and simulators, lint and synthesis do not;
    /// `doc` (ASCII) is its comment. Logic that only assertions read is declared inside the same
    /// `` `ifdef ``, so the module's own text is the same as without them; leave such signals
    /// unnamed (a named signal is kept as a wire of the module).
    #[track_caller]
    pub fn assert_always(&self, label: &str, cond: &Signal, doc: &str) {
        let loc = Location::caller();
        if !self.owns(cond, "assert_always", loc) {
            return;
        }
        let mut m = self.m.borrow_mut();
        let legal = legalize(label);
        if legal != label {
            m.issue(loc, format!("assertion label `{label}` is not a legal identifier; use `{legal}`"));
            return;
        }
        if m.asserts.iter().any(|a| a.label == label) {
            m.issue(loc, format!("assertion label `{label}` is used twice"));
            return;
        }
        if cond.width != 1 {
            let d = m.describe(cond.id);
            m.issue(loc, format!("assertion `{label}` must be 1 bit, got {d}"));
            return;
        }
        if doc.trim().is_empty() || !doc.is_ascii() {
            m.issue(loc, format!("assertion `{label}`: its comment must be non-empty ASCII"));
            return;
        }
        let doc = doc.lines().map(|l| l.trim_end().to_string()).collect();
        m.asserts.push(AssertData { label: label.to_string(), cond: cond.id, doc });
    }

    /// A second handle on the same module under construction (for bundles that declare ports
    /// later, such as a stream sink's ready).
    pub(crate) fn handle(&self) -> ModuleBuilder {
        ModuleBuilder { m: self.m.clone() }
    }

    /// Records a problem found at `loc`.
    pub(crate) fn issue(&self, loc: &'static Location<'static>, message: String) {
        self.m.borrow_mut().issue(loc, message);
    }

    /// Runs `f` on the module's data (for the bundle and black-box helpers of this crate).
    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&mut ModuleData) -> R) -> R {
        f(&mut self.m.borrow_mut())
    }

    fn check_port_name(&self, name: &str, loc: &'static Location<'static>) -> bool {
        let mut m = self.m.borrow_mut();
        let legal = legalize(name);
        if legal != name {
            m.issue(loc, format!("port name `{name}` is not a legal identifier; use `{legal}`"));
            return false;
        }
        if name == "clk_i" || name == "rst_ni" {
            m.issue(
                loc,
                format!("port `{name}` is reserved: clock and reset are added with the first register"),
            );
            return false;
        }
        if m.port_name_taken(name) {
            m.issue(loc, format!("port `{name}` is declared twice"));
            return false;
        }
        true
    }

    fn add_input(&self, name: &str, width: u32, signed: bool, loc: &'static Location<'static>) -> Signal {
        let ok = self.check_port_name(name, loc);
        let mut m = self.m.borrow_mut();
        if width == 0 {
            m.issue(loc, format!("input `{name}` has width 0"));
        }
        let width = width.max(1);
        let id = m.push(Node::Input, width, signed, loc);
        m.nodes[id].name = Some(name.to_string());
        if ok {
            let spec = PortSpec { name: name.to_string(), dir: PortDir::Input, width, signed };
            m.ports.push(PortData { spec, node: id });
        }
        Signal { m: self.m.clone(), id, width, signed }
    }

    /// An unsigned input port.
    #[track_caller]
    pub fn input(&self, name: &str, width: u32) -> Signal {
        self.add_input(name, width, false, Location::caller())
    }

    /// A signed input port.
    #[track_caller]
    pub fn input_signed(&self, name: &str, width: u32) -> Signal {
        self.add_input(name, width, true, Location::caller())
    }

    /// An output port driven by `value`.
    #[track_caller]
    pub fn output(&self, name: &str, value: &Signal) {
        let loc = Location::caller();
        if !self.owns(value, &format!("output `{name}`"), loc) || !self.check_port_name(name, loc) {
            return;
        }
        let spec = PortSpec {
            name: name.to_string(),
            dir: PortDir::Output,
            width: value.width,
            signed: value.signed,
        };
        self.m.borrow_mut().ports.push(PortData { spec, node: value.id });
    }

    pub(crate) fn owns(&self, sig: &Signal, what: &str, loc: &'static Location<'static>) -> bool {
        if Rc::ptr_eq(&self.m, &sig.m) {
            return true;
        }
        let other = sig.m.borrow().name.clone();
        let mut m = self.m.borrow_mut();
        let here = m.name.clone();
        m.issue(loc, format!("{what}: signal of module `{other}` used in `{here}`"));
        false
    }

    /// An unsigned constant.
    #[track_caller]
    pub fn lit(&self, value: u64, width: u32) -> Signal {
        self.constant(Bits::from_u64(value, width.max(1)), Bits::fits(value, width) && width > 0, value)
    }

    /// A wide unsigned constant.
    #[track_caller]
    pub fn lit_bits(&self, value: Bits) -> Signal {
        if value.width() == 0 {
            self.m.borrow_mut().issue(Location::caller(), "constant of width 0".into());
            return self.constant(Bits::zero(1), true, 0);
        }
        self.constant(value, true, 0)
    }

    #[track_caller]
    fn constant(&self, bits: Bits, fits: bool, value: u64) -> Signal {
        let loc = Location::caller();
        let width = bits.width();
        let mut m = self.m.borrow_mut();
        if !fits {
            m.issue(loc, format!("constant {value:#x} does not fit in {width} bits"));
        }
        let id = m.push(Node::Const(bits), width, false, loc);
        Signal { m: self.m.clone(), id, width, signed: false }
    }

    /// A wire `name` whose driver is given later with [`Self::drive`]: for connections that loop
    /// through instances (a consumer's `ready` feeding its producer's input, say). The loop must
    /// pass through a register somewhere, or simulators will reject the design.
    #[track_caller]
    pub fn wire(&self, name: &str, width: u32) -> Signal {
        let loc = Location::caller();
        let mut m = self.m.borrow_mut();
        if width == 0 {
            m.issue(loc, format!("wire `{name}` has width 0"));
        }
        let id = m.push(Node::Forward(None), width.max(1), false, loc);
        m.nodes[id].name = Some(legalize(name));
        Signal { m: self.m.clone(), id, width: width.max(1), signed: false }
    }

    /// Drives a wire made by [`Self::wire`] with `value` (same width), exactly once.
    #[track_caller]
    pub fn drive(&self, wire: &Signal, value: &Signal) {
        let loc = Location::caller();
        if !self.owns(wire, "drive", loc) || !self.owns(value, "drive", loc) {
            return;
        }
        let mut m = self.m.borrow_mut();
        let target = m.describe(wire.id);
        match m.nodes[wire.id].node {
            Node::Forward(None) if value.width == wire.width => {
                m.nodes[wire.id].node = Node::Forward(Some(value.id))
            }
            Node::Forward(None) => {
                let d = m.describe(value.id);
                m.issue(loc, format!("drive: {target} is {} bits, its driver {d}", wire.width));
            }
            Node::Forward(Some(_)) => m.issue(loc, format!("drive: {target} is already driven")),
            _ => m.issue(loc, format!("drive: {target} was not made by wire()")),
        }
    }

    /// A register `name` (emitted as `<name>_q`, its next value as `<name>_d`) with an
    /// asynchronous active-low reset to `reset`. Set its next value with [`Self::next`] or
    /// [`Self::next_when`]. Adds `clk_i` and `rst_ni` to the module.
    #[track_caller]
    pub fn reg(&self, name: &str, width: u32, reset: Reset) -> Signal {
        let loc = Location::caller();
        let mut m = self.m.borrow_mut();
        m.clocked = true;
        let width = if width == 0 {
            m.issue(loc, format!("register `{name}` has width 0"));
            1
        } else {
            width
        };
        let reset = match reset {
            Reset::Zero => Bits::zero(width),
            Reset::Value(v) => {
                if !Bits::fits(v, width) {
                    m.issue(
                        loc,
                        format!("register `{name}`: reset value {v:#x} does not fit in {width} bits"),
                    );
                }
                Bits::from_u64(v, width)
            }
            Reset::Bits(b) => {
                if b.width() != width {
                    m.issue(
                        loc,
                        format!("register `{name}`: reset value is {} bits, register {width}", b.width()),
                    );
                }
                Bits::from_words(b.words(), width)
            }
        };
        let legal = legalize(name);
        let idx = m.regs.len();
        m.regs.push(RegData { name: legal.clone(), width, reset, next: None, loc });
        let id = m.push(Node::RegQ(idx), width, false, loc);
        m.nodes[id].name = Some(format!("{legal}_q"));
        Signal { m: self.m.clone(), id, width, signed: false }
    }

    /// Sets the value `reg` takes at every clock edge.
    #[track_caller]
    pub fn next(&self, reg: &Signal, value: &Signal) {
        self.set_next(reg, None, value, Location::caller());
    }

    /// Sets the value `reg` takes at a clock edge where `enable` (1 bit) is high.
    #[track_caller]
    pub fn next_when(&self, reg: &Signal, enable: &Signal, value: &Signal) {
        self.set_next(reg, Some(enable), value, Location::caller());
    }

    fn set_next(
        &self,
        reg: &Signal,
        enable: Option<&Signal>,
        value: &Signal,
        loc: &'static Location<'static>,
    ) {
        if !self.owns(reg, "next", loc) || !self.owns(value, "next", loc) {
            return;
        }
        if let Some(en) = enable
            && !self.owns(en, "next_when", loc)
        {
            return;
        }
        let mut m = self.m.borrow_mut();
        let Node::RegQ(idx) = m.nodes[reg.id].node else {
            let d = m.describe(reg.id);
            m.issue(loc, format!("next: {d} is not a register; make one with reg()"));
            return;
        };
        let r = m.regs[idx].name.clone();
        if value.width != reg.width {
            let d = m.describe(value.id);
            m.issue(loc, format!("next value of register `{r}` ({} bits) is {d}", reg.width));
            return;
        }
        if let Some(en) = enable
            && en.width != 1
        {
            let d = m.describe(en.id);
            m.issue(loc, format!("enable of register `{r}` must be 1 bit, got {d}"));
            return;
        }
        if let Some((_, _, first)) = m.regs[idx].next {
            m.issue(loc, format!("register `{r}` already has a next value (set at {first}); mux the cases"));
            return;
        }
        m.regs[idx].next = Some((value.id, enable.map(|e| e.id), loc));
    }

    /// A memory of `depth` words of `width` bits (emitted as `<name>_mem`).
    #[track_caller]
    pub fn memory(&self, name: &str, width: u32, depth: u64) -> Memory {
        let loc = Location::caller();
        let mut m = self.m.borrow_mut();
        m.clocked = true;
        if width == 0 || depth < 2 || !depth.is_power_of_two() {
            // A power of two keeps every address in range, so no simulator or synthesis tool has
            // to invent a value for an out-of-range read; SRAM macros come in these sizes anyway.
            m.issue(
                loc,
                format!(
                    "memory `{name}` needs width >= 1 and a power-of-two depth >= 2 (got {width} x {depth})"
                ),
            );
        }
        let addr_width = super::bits::index_bits(depth);
        let idx = m.mems.len();
        m.mems.push(MemData {
            name: legalize(name),
            width: width.max(1),
            depth: depth.max(2),
            write: None,
            reads: Vec::new(),
            loc,
        });
        Memory { m: self.m.clone(), idx, width: width.max(1), addr_width }
    }

    /// A read-only table with a registered output `name` (emitted as `<name>_q` and a `case`):
    /// at a clock edge where `en` is high, the output takes `table[addr]` (0 beyond the table).
    /// It resets to zero. Every entry must have the same width; `addr` must be wide enough to
    /// reach them all.
    #[track_caller]
    pub fn rom(&self, name: &str, en: &Signal, addr: &Signal, table: &[Bits]) -> Signal {
        let loc = Location::caller();
        let width = table.first().map_or(1, Bits::width).max(1);
        if !self.owns(en, &format!("rom `{name}` enable"), loc)
            || !self.owns(addr, &format!("rom `{name}` address"), loc)
        {
            return self.lit(0, width);
        }
        let mut m = self.m.borrow_mut();
        m.clocked = true;
        if table.is_empty() || table.iter().any(|b| b.width() != width || b.width() == 0) {
            m.issue(
                loc,
                format!("rom `{name}`: the table must be non-empty with entries of one non-zero width"),
            );
        }
        if en.width != 1 {
            let d = m.describe(en.id);
            m.issue(loc, format!("rom `{name}`: enable must be 1 bit, got {d}"));
        }
        if addr.width >= 32 || (1u64 << addr.width) < table.len() as u64 {
            let d = m.describe(addr.id);
            m.issue(loc, format!("rom `{name}`: {} entries need a wider address than {d}", table.len()));
        }
        let idx = m.roms.len();
        let out = m.push(Node::RomRead(idx), width, false, loc);
        m.nodes[out].name = Some(format!("{}_q", legalize(name)));
        m.roms.push(RomData { table: table.to_vec(), en: en.id, addr: addr.id, out });
        Signal { m: self.m.clone(), id: out, width, signed: false }
    }

    /// One instance `name` (conventionally `u_<role>`) of `module`, with its inputs connected by
    /// name. Every input except clock and reset must be connected, with the port's width; clock
    /// and reset are connected to this module's own.
    #[track_caller]
    pub fn instance(&self, name: &str, module: &Module, inputs: &[(&str, &Signal)]) -> Instance {
        let conns: Vec<(&str, Conn)> = inputs.iter().map(|(p, s)| (*p, Conn::All((*s).clone()))).collect();
        self.add_instance(name, module, None, &conns, Location::caller())
    }

    /// `count` instances of `module` in a labelled generate loop, so the Verilog grows with the
    /// number of distinct modules, not with `count`. Inputs are fed per [`Conn`]; outputs come back
    /// concatenated (see [`Instance::output`]).
    #[track_caller]
    pub fn instance_array(
        &self,
        name: &str,
        module: &Module,
        count: u32,
        inputs: &[(&str, Conn)],
    ) -> Instance {
        let loc = Location::caller();
        if count == 0 {
            self.m.borrow_mut().issue(loc, format!("instance array `{name}` has count 0"));
        }
        self.add_instance(name, module, Some(count.max(1)), inputs, loc)
    }

    fn add_instance(
        &self,
        name: &str,
        module: &Module,
        count: Option<u32>,
        inputs: &[(&str, Conn)],
        loc: &'static Location<'static>,
    ) -> Instance {
        let n = count.unwrap_or(1);
        let child_ports = module.ports();
        let is_clock_or_reset = |p: &PortSpec| module.parent_net(&p.name).is_some();
        let mut conns = Vec::new();
        let mut issues = Vec::new();
        for (port, conn) in inputs {
            let Some(spec) = child_ports
                .iter()
                .find(|p| p.name == *port && p.dir == PortDir::Input && !is_clock_or_reset(p))
            else {
                let names: Vec<&str> = child_ports
                    .iter()
                    .filter(|p| p.dir == PortDir::Input && !is_clock_or_reset(p))
                    .map(|p| p.name.as_str())
                    .collect();
                issues.push(format!(
                    "instance `{name}`: `{}` has no input `{port}`; inputs: {}",
                    module.name(),
                    names.join(", ")
                ));
                continue;
            };
            let (sig, want, data) = match conn {
                Conn::All(s) => (s, spec.width, ConnData::All(s.id)),
                Conn::Each(s) => (s, spec.width * n, ConnData::Each(s.id)),
            };
            if !Rc::ptr_eq(&sig.m, &self.m) {
                issues.push(format!("instance `{name}` input `{port}`: signal belongs to another module"));
                continue;
            }
            if sig.width != want {
                let d = self.m.borrow().describe(sig.id);
                issues.push(format!("instance `{name}` input `{port}` needs {want} bits, got {d}"));
                continue;
            }
            if conns.iter().any(|(p, _)| p == port) {
                issues.push(format!("instance `{name}`: input `{port}` connected twice"));
                continue;
            }
            conns.push((port.to_string(), data));
        }
        for p in child_ports.iter().filter(|p| p.dir == PortDir::Input && !is_clock_or_reset(p)) {
            if !inputs.iter().any(|(q, _)| *q == p.name) {
                issues.push(format!(
                    "instance `{name}`: input `{}` of `{}` is not connected",
                    p.name,
                    module.name()
                ));
            }
        }
        // Connections in the child's port order, so the emitted text does not depend on call order.
        conns.sort_by_key(|(p, _)| child_ports.iter().position(|q| q.name == *p));
        let mut m = self.m.borrow_mut();
        for i in issues {
            m.issue(loc, i);
        }
        if child_ports.iter().any(is_clock_or_reset) {
            m.clocked = true;
        }
        let idx = m.insts.len();
        let inst_name = legalize(name);
        if m.insts.iter().any(|i| i.name == inst_name) {
            m.issue(loc, format!("instance name `{inst_name}` is used twice"));
        }
        let role = inst_name.strip_prefix("u_").unwrap_or(&inst_name).to_string();
        let mut outputs = Vec::new();
        for p in child_ports.iter().filter(|p| p.dir == PortDir::Output) {
            let id = m.push(Node::InstOut { inst: idx, port: p.name.clone() }, p.width * n, false, loc);
            // Port suffixes belong on ports: the wire carrying `u_mesh.psum_o` is `mesh_psum`.
            m.nodes[id].name = Some(format!("{role}_{}", strip_port_suffix(&p.name)));
            outputs.push((p.name.clone(), id));
        }
        m.insts.push(InstData { name: inst_name, module: module.clone(), count, inputs: conns, outputs });
        Instance { m: self.m.clone(), idx }
    }

    /// Checks the module and freezes it. Returns every error recorded while building, plus
    /// registers without a next value and memories without a write port.
    pub fn finish(self) -> Result<Module, HdlError> {
        let mut m = self.m.borrow_mut();
        for r in m.regs.clone() {
            if r.next.is_none() {
                m.issue(r.loc, format!("register `{}` never gets a next value", r.name));
            }
        }
        let undriven: Vec<(String, &'static Location<'static>)> = m
            .nodes
            .iter()
            .filter(|n| n.node == Node::Forward(None))
            .map(|n| (n.name.clone().unwrap_or_default(), n.loc))
            .collect();
        for (name, loc) in undriven {
            m.issue(loc, format!("wire `{name}` is never driven"));
        }
        for (port, message, loc) in m.promised.clone() {
            if !m.port_name_taken(&port) {
                m.issue(loc, message);
            }
        }
        for mem in m.mems.clone() {
            if mem.write.is_none() {
                m.issue(mem.loc, format!("memory `{}` has no write port", mem.name));
            }
            if mem.reads.is_empty() {
                m.issue(mem.loc, format!("memory `{}` is never read", mem.name));
            }
        }
        if !m.asserts.is_empty() && !m.clocked {
            let label = m.asserts[0].label.clone();
            m.issues.push(BuildIssue {
                location: "finish".into(),
                message: format!(
                    "assertion `{label}` holds out of reset, but the module has no register (so no `rst_ni`)"
                ),
            });
        }
        if !m.ports.iter().any(|p| p.spec.dir == PortDir::Output) {
            let name = m.name.clone();
            m.issues.push(BuildIssue {
                location: "finish".into(),
                message: format!("module `{name}` has no outputs"),
            });
        }
        if !m.issues.is_empty() {
            return Err(HdlError { module: m.name.clone(), issues: m.issues.clone() });
        }
        drop(m);
        let data = Rc::try_unwrap(self.m)
            .map(RefCell::into_inner)
            .unwrap_or_else(|shared| clone_data(&shared.borrow()));
        Ok(Module(Rc::new(data)))
    }
}

fn clone_data(d: &ModuleData) -> ModuleData {
    ModuleData {
        name: d.name.clone(),
        block: d.block.clone(),
        params: d.params.clone(),
        ports: d.ports.clone(),
        nodes: d.nodes.clone(),
        regs: d.regs.clone(),
        mems: d.mems.clone(),
        roms: d.roms.clone(),
        insts: d.insts.clone(),
        clocked: d.clocked,
        issues: Vec::new(),
        streams: d.streams.clone(),
        promised: d.promised.clone(),
        black_box: d.black_box.clone(),
        sections: d.sections.clone(),
        asserts: d.asserts.clone(),
    }
}

/// A finished, immutable module. Cheap to clone; instantiate it in other modules or hand it to a
/// [`crate::hdl::Design`] for emission.
#[derive(Clone, Debug)]
pub struct Module(pub(crate) Rc<ModuleData>);

impl Module {
    /// Assertions ([`ModuleBuilder::assert_always`]) in this module and every module below it,
    /// each module counted once.
    pub fn assertions(&self) -> usize {
        let mut seen: Vec<*const ModuleData> = Vec::new();
        let mut stack = vec![self.clone()];
        let mut n = 0;
        while let Some(m) = stack.pop() {
            if seen.contains(&Rc::as_ptr(&m.0)) {
                continue;
            }
            seen.push(Rc::as_ptr(&m.0));
            n += m.0.asserts.len();
            stack.extend(m.0.insts.iter().map(|i| i.module.clone()));
        }
        n
    }

    /// Bits of memory ([`ModuleBuilder::memory`]) in the elaborated hierarchy below and in this
    /// module: each memory's depth × width, an instance array of `n` counting `n` times, a black
    /// box counting its behavioural model's (so an SRAM macro counts what it models).
    pub fn memory_bits(&self) -> u64 {
        fn walk(m: &Module, cache: &mut std::collections::HashMap<*const ModuleData, u64>) -> u64 {
            let key = Rc::as_ptr(&m.0);
            if let Some(v) = cache.get(&key) {
                return *v;
            }
            let own: u64 = m.0.mems.iter().map(|x| x.depth * u64::from(x.width)).sum();
            let model = m.model().map(|x| walk(x, cache)).unwrap_or(0);
            let below: u64 =
                m.0.insts.iter().map(|i| u64::from(i.count.unwrap_or(1)) * walk(&i.module, cache)).sum();
            let total = own + model + below;
            cache.insert(key, total);
            total
        }
        walk(self, &mut std::collections::HashMap::new())
    }

    /// The module's requested name: the emitted name adds the design's prefix and a content hash
    /// (see [`super::HASH_DIGITS`]), except for a black box, which keeps exactly this name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Block name shown in the header.
    pub fn block(&self) -> &str {
        &self.0.block
    }

    /// Header parameters.
    pub fn params(&self) -> &[(String, String)] {
        &self.0.params
    }

    /// Ports in emitted order: `clk_i` and `rst_ni` first when the module is clocked.
    pub fn ports(&self) -> Vec<PortSpec> {
        ports_of(&self.0)
    }

    /// Whether this is a black box (see [`super::BlackBox`]): no body is emitted for it.
    pub fn is_black_box(&self) -> bool {
        self.0.black_box.is_some()
    }

    /// The behavioural model of a black box, emitted under the black box's name for simulation.
    pub fn model(&self) -> Option<&Module> {
        self.0.black_box.as_ref().and_then(|b| b.model.as_ref())
    }

    /// The parent's net that an instance connects to `port` by itself: `clk_i` or `rst_ni` for
    /// the clock and reset ports of the module, `None` for every other port.
    pub(crate) fn parent_net(&self, port: &str) -> Option<&'static str> {
        match &self.0.black_box {
            Some(b) if b.clock.as_deref() == Some(port) => Some("clk_i"),
            Some(b) if b.reset.as_deref() == Some(port) => Some("rst_ni"),
            Some(_) => None,
            None if self.0.clocked && port == "clk_i" => Some("clk_i"),
            None if self.0.clocked && port == "rst_ni" => Some("rst_ni"),
            None => None,
        }
    }

    /// The stream interfaces declared on the module, in declaration order.
    pub fn streams(&self) -> &[StreamPort] {
        &self.0.streams
    }
}

/// Ports of a module in emitted order.
pub(crate) fn ports_of(d: &ModuleData) -> Vec<PortSpec> {
    if let Some(b) = &d.black_box {
        return b.ports.clone();
    }
    let mut out = Vec::new();
    if d.clocked {
        for name in ["clk_i", "rst_ni"] {
            out.push(PortSpec { name: name.into(), dir: PortDir::Input, width: 1, signed: false });
        }
    }
    out.extend(d.ports.iter().map(|p| p.spec.clone()));
    out
}
