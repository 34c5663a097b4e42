//! Verilog-2005 emitter: one file per distinct module, a filelist per top, byte-identical output for
//! the same design.
//!
//! Every net is declared unsigned; signedness only decides how operations are written (sign
//! extension by concatenation, `$signed` around comparison operands and the arithmetic shift).
//! Expressions are inlined into their single consumer where Verilog's context-determined widths
//! cannot change their meaning: every operand of an inlined expression has the result's width, so
//! no implicit extension happens. Whatever must be named (shared results, sliced values, `>>>`)
//! gets a wire.

use super::PortDir;
use super::builder::{BinOp, ConnData, ConstShift, Module, ModuleData, Node, NodeId, UnOp, op_name};
use super::files::{SimSource, VERILATOR_CONTROL_SUFFIX, VerilogFile};
use super::names::{Namer, legalize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;

/// Generator name and version written into every file header.
pub const GENERATOR: &str = concat!("vdx ", env!("CARGO_PKG_VERSION"));

/// Inlined expressions larger than this many operators get a wire of their own, for readability.
const MAX_INLINE_OPS: usize = 6;

/// A module placed by a generate loop of at least this many instances is verilated once and
/// linked per instance (a Verilator `hier_block`), so the simulator build does not grow with the
/// instance count. Only the outermost such modules are: one inside another is verilated once as
/// part of the outer one.
pub const HIER_BLOCK_MIN_INSTANCES: u32 = 16;

/// A set of top modules to emit together; modules shared between tops are emitted once.
#[derive(Default, Clone)]
pub struct Design {
    tops: Vec<Module>,
    prefix: String,
}

/// One emitted top: its final module name, its files in dependency order and its ports.
#[derive(Debug, Clone)]
pub struct EmittedTop {
    /// Final module name.
    pub module: String,
    /// Synthesis file names (children before parents, the top last). Black boxes have none.
    pub files: Vec<String>,
    /// Simulation-only file names, in [`Emitted::sim_models`] unless synthesis uses them too:
    /// the behavioural models of the black boxes below the top, and the modules only they
    /// instantiate (children before parents).
    pub sim_models: Vec<String>,
    /// Ports of the top module.
    pub ports: Vec<crate::hdl::PortSpec>,
    /// Parameters the top's header lists (`name`, `value`), derived values included.
    pub params: Vec<(String, String)>,
    /// Modules below the top that simulators should build once and share between instances
    /// (see [`HIER_BLOCK_MIN_INSTANCES`]).
    pub hier_blocks: Vec<String>,
}

/// The result of [`Design::emit`].
#[derive(Debug, Clone)]
pub struct Emitted {
    /// One synthesis file per distinct generated module, in emission order.
    pub files: Vec<VerilogFile>,
    /// Files for simulation only: the behavioural model of each black box, named after the
    /// black box, and modules that only models instantiate.
    pub sim_models: Vec<VerilogFile>,
    /// The tops, in the order they were added.
    pub tops: Vec<EmittedTop>,
    /// Module name → the distinct modules it instantiates.
    pub children: BTreeMap<String, Vec<String>>,
    /// Module name → module instances in its elaborated hierarchy, itself included (a generate
    /// loop of `n` counts `n` times).
    pub sizes: BTreeMap<String, u64>,
    /// Module name → bytes of Verilog in its elaborated hierarchy: its own text plus each
    /// instance's (a generate loop of `n` counts `n` times). What a simulator or linter holds.
    pub weights: BTreeMap<String, u64>,
    /// Problems the emitter found: black boxes of one name with different ports or models, or a
    /// black box named like a generated module (only one of them can be simulated).
    pub issues: Vec<String>,
}

/// Folder of [`Emitted::sim_models`] in the output of [`Emitted::write_to`].
pub const SIM_MODELS_DIR: &str = "sim_models";

impl Design {
    /// An empty design.
    pub fn new() -> Self {
        Self::default()
    }

    /// A design with one top.
    pub fn single(top: &Module) -> Self {
        let mut d = Self::new();
        d.add_top(top);
        d
    }

    /// Adds a top module. A top structurally identical to one added before is not emitted again:
    /// its [`EmittedTop`] names the earlier module (same hardware, one file).
    pub fn add_top(&mut self, top: &Module) {
        self.tops.push(top.clone());
    }

    /// Puts `prefix` and `_` in front of every module name (a namespace for outputs that are
    /// compiled together with other Verilog). `prefix` must be a legal lower-case identifier
    /// ([`names::is_plain_identifier`](super::names::is_plain_identifier)); the empty prefix
    /// adds nothing.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}_") };
        self
    }

    /// Emits every module reachable from the tops. Module names are global: see
    /// [`HASH_DIGITS`].
    pub fn emit(&self) -> Emitted {
        let mut state = EmitState { prefix: self.prefix.clone(), ..EmitState::default() };
        let tops = self
            .tops
            .iter()
            .map(|t| {
                let module = state.emit_module(t);
                let (mut files, mut sim_models) = (Vec::new(), Vec::new());
                state.collect(&module, false, &mut files, &mut sim_models);
                sim_models.retain(|f| !files.contains(f));
                // Only the outermost ones: a hierarchical block is entered through a wrapper on
                // every evaluation, which costs more than a small module (a PE) is worth; inside
                // an outer block the small one is verilated once anyway.
                let mut inner = std::collections::BTreeSet::new();
                for m in state.hier.iter().filter(|m| files.contains(&format!("{m}.v"))) {
                    let mut below = Vec::new();
                    for child in state.children.get(m).into_iter().flatten() {
                        state.collect(child, false, &mut below, &mut Vec::new());
                    }
                    inner.extend(below.into_iter().filter_map(|f| f.strip_suffix(".v").map(str::to_string)));
                }
                let hier_blocks = files
                    .iter()
                    .filter_map(|f| f.strip_suffix(".v"))
                    .filter(|m| state.hier.contains(*m) && *m != module && !inner.contains(*m))
                    .map(str::to_string)
                    .collect();
                EmittedTop {
                    module,
                    files,
                    sim_models,
                    ports: t.ports(),
                    params: t.params().to_vec(),
                    hier_blocks,
                }
            })
            .collect::<Vec<_>>();
        // A file goes to synthesis when some top's synthesis needs it, else it is a model's.
        let synthesized: std::collections::BTreeSet<&String> = tops.iter().flat_map(|t| &t.files).collect();
        let (files, sim_models) = state.files.into_iter().partition(|f| synthesized.contains(&f.name));
        Emitted {
            files,
            sim_models,
            tops,
            children: state.children,
            sizes: state.sizes,
            weights: state.weights,
            issues: state.issues,
        }
    }
}

impl Emitted {
    /// The emitted module called `name`, or whose name without its content hash is `name`
    /// (`vdx_sgu_pair` finds `vdx_sgu_pair_0a1b2c3d`); `None` when there is none or several.
    pub fn find_module(&self, name: &str) -> Option<&str> {
        let names = || self.files.iter().filter_map(|f| f.name.strip_suffix(".v"));
        if let Some(exact) = names().find(|m| *m == name) {
            return Some(exact);
        }
        let mut by_base = names().filter(|m| super::names::module_base(m) == Some(name));
        let first = by_base.next()?;
        by_base.next().is_none().then_some(first)
    }

    /// The text of the filelist for `top`: one file name per line, dependencies first.
    pub fn filelist(&self, top: &EmittedTop) -> String {
        top.files.iter().map(|f| format!("{f}\n")).collect()
    }

    /// The text of the simulation filelist for `top`: its [`EmittedTop::sim_models`] (in the
    /// [`SIM_MODELS_DIR`] folder unless synthesis uses them too), then its synthesis files.
    pub fn sim_filelist(&self, top: &EmittedTop) -> String {
        let path = |f: &String| {
            if self.files.iter().any(|g| &g.name == f) { f.clone() } else { format!("{SIM_MODELS_DIR}/{f}") }
        };
        top.sim_models.iter().chain(&top.files).map(|f| format!("{}\n", path(f))).collect()
    }

    /// Everything a simulator needs for top number `index`: the behavioural models of its black
    /// boxes, its synthesis files, and a Verilator control file naming the top's
    /// [`EmittedTop::hier_blocks`] when it has any.
    pub fn sim_source(&self, index: usize) -> SimSource {
        let top = &self.tops[index];
        let mut files: Vec<VerilogFile> = top
            .sim_models
            .iter()
            .chain(&top.files)
            .map(|name| {
                let all = || self.files.iter().chain(&self.sim_models);
                all().find(|f| &f.name == name).expect("listed files are emitted").clone()
            })
            .collect();
        if !top.hier_blocks.is_empty() {
            let mut text = String::from("`verilator_config\n");
            for m in &top.hier_blocks {
                text.push_str(&format!("hier_block -module \"{m}\"\n"));
            }
            let name = format!("{}{}", top.module, VERILATOR_CONTROL_SUFFIX);
            files.push(VerilogFile { name, text });
        }
        SimSource { top: top.module.clone(), files, ports: top.ports.clone() }
    }

    /// Writes every synthesis file and a `<top>.f` filelist per top into `dir` (which must
    /// exist). When there are simulation models, they go into `dir/`[`SIM_MODELS_DIR`], and each
    /// top that needs some gets a `<top>.sim.f` ([`Self::sim_filelist`]) as well.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for f in &self.files {
            std::fs::write(dir.join(&f.name), &f.text)?;
        }
        if !self.sim_models.is_empty() {
            let models = dir.join(SIM_MODELS_DIR);
            std::fs::create_dir_all(&models)?;
            for f in &self.sim_models {
                std::fs::write(models.join(&f.name), &f.text)?;
            }
        }
        let mut written = std::collections::BTreeSet::new();
        for t in self.tops.iter().filter(|t| written.insert(&t.module)) {
            std::fs::write(dir.join(format!("{}.f", t.module)), self.filelist(t))?;
            if !t.sim_models.is_empty() {
                std::fs::write(dir.join(format!("{}.sim.f", t.module)), self.sim_filelist(t))?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct EmitState {
    files: Vec<VerilogFile>,
    /// Prefix of every module name.
    prefix: String,
    /// Final name → the text it was emitted with (without the generator line), so a name is
    /// never given to two different texts.
    by_name: HashMap<String, String>,
    /// Module object → final name, so one object is emitted once.
    by_ptr: HashMap<*const ModuleData, String>,
    /// Final name → names of its direct children.
    children: BTreeMap<String, Vec<String>>,
    /// See [`Emitted::sizes`].
    sizes: BTreeMap<String, u64>,
    /// See [`Emitted::weights`].
    weights: BTreeMap<String, u64>,
    /// Modules placed by large generate loops (see [`HIER_BLOCK_MIN_INSTANCES`]).
    hier: std::collections::BTreeSet<String>,
    /// Black box name → its ports, clock, reset and model text, to find clashing declarations.
    black_boxes: HashMap<String, String>,
    /// See [`Emitted::issues`].
    issues: Vec<String>,
}

/// Stands in for the module's own name in its text while naming it.
const NAME_SLOT: &str = "\u{0}MODULE\u{0}";

/// Hex digits of the content hash in a module name: 32 bits, so a collision between two
/// different modules of one design is astronomically unlikely; if it happens anyway, the longer
/// [`LONG_HASH_DIGITS`] name is used.
pub const HASH_DIGITS: usize = 8;
const LONG_HASH_DIGITS: usize = 16;

/// The global name of a module: `<prefix><base>_<hash>`, where the hash covers the module's
/// whole text (parameters, ports, body and so, transitively, the names and texts of the modules
/// it instantiates), but not the generator version. The same content gets the same name in every
/// run and every selection; different content never shares a name.
fn content_name(prefix: &str, base: &str, text: &str, digits: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}_{}", legalize(base), &hex[..digits])
}

impl EmitState {
    fn emit_module(&mut self, module: &Module) -> String {
        let ptr = std::rc::Rc::as_ptr(&module.0);
        if let Some(name) = self.by_ptr.get(&ptr) {
            return name.clone();
        }
        if module.is_black_box() {
            let name = self.emit_black_box(module);
            self.by_ptr.insert(ptr, name.clone());
            return name;
        }
        let child_names: Vec<String> = module.0.insts.iter().map(|i| self.emit_module(&i.module)).collect();
        for (inst, child) in module.0.insts.iter().zip(&child_names) {
            if inst.count.is_some_and(|n| n >= HIER_BLOCK_MIN_INSTANCES) {
                self.hier.insert(child.clone());
            }
        }
        let text = format!("{}{}", header(module), ModuleWriter::new(&module.0, &child_names).body());
        let mut name = content_name(&self.prefix, &module.0.name, &text, HASH_DIGITS);
        if self.by_name.get(&name).is_some_and(|t| *t != text) {
            name = content_name(&self.prefix, &module.0.name, &text, LONG_HASH_DIGITS);
        }
        if self.black_boxes.contains_key(&name) {
            self.issues.push(format!("generated module `{name}` has the name of a black box"));
        }
        if !self.by_name.contains_key(&name) {
            self.by_name.insert(name.clone(), text.clone());
            let text = format!("{}{}", generator_line(), text.replace(NAME_SLOT, &name));
            let own_bytes = text.len() as u64;
            self.files.push(VerilogFile { name: format!("{name}.v"), text });
            let mut kids = child_names.clone();
            let mut seen = std::collections::BTreeSet::new();
            kids.retain(|k| seen.insert(k.clone()));
            self.children.insert(name.clone(), kids);
            let below: u64 = module
                .0
                .insts
                .iter()
                .zip(&child_names)
                .map(|(inst, child)| {
                    u64::from(inst.count.unwrap_or(1)) * self.sizes.get(child).copied().unwrap_or(1)
                })
                .sum();
            self.sizes.insert(name.clone(), 1 + below);
            let below_bytes: u64 = module
                .0
                .insts
                .iter()
                .zip(&child_names)
                .map(|(inst, child)| {
                    u64::from(inst.count.unwrap_or(1)) * self.weights.get(child).copied().unwrap_or(0)
                })
                .sum();
            self.weights.insert(name.clone(), own_bytes + below_bytes);
        }
        self.by_ptr.insert(ptr, name.clone());
        name
    }

    /// A black box under its own name: no synthesis file; its model, if any, as a simulation
    /// file under that name (the model's children are emitted like any module).
    fn emit_black_box(&mut self, module: &Module) -> String {
        let d = &module.0;
        let bb = d.black_box.as_ref().expect("called for black boxes");
        let name = d.name.clone();
        let model = bb.model.as_ref().map(|model| {
            let kids: Vec<String> = model.0.insts.iter().map(|i| self.emit_module(&i.module)).collect();
            let text = format!("{}{}", header(model), ModuleWriter::new(&model.0, &kids).body());
            (kids, text.replace(NAME_SLOT, &name))
        });
        let signature =
            format!("{:?} {:?} {:?} {:?}", bb.ports, bb.clock, bb.reset, model.as_ref().map(|(_, t)| t));
        match self.black_boxes.get(&name) {
            Some(earlier) if *earlier != signature => self.issues.push(format!(
                "black boxes called `{name}` differ in their ports or models; the first one is kept"
            )),
            Some(_) => {}
            None => {
                if self.by_name.contains_key(&name) {
                    self.issues.push(format!("black box `{name}` has the name of a generated module"));
                }
                self.black_boxes.insert(name.clone(), signature);
                let kids = match model {
                    Some((kids, text)) => {
                        let text = format!(
                            "{}// behavioural model of black box {name}, for simulation only\n{text}",
                            generator_line()
                        );
                        self.files.push(VerilogFile { name: format!("{name}.v"), text });
                        kids
                    }
                    None => Vec::new(),
                };
                self.children.insert(name.clone(), kids);
            }
        }
        name
    }

    /// Files below and of `module`, children first, into `synth` or, below a black box (its
    /// model and what only the model uses), into `sim`.
    fn collect(&self, module: &str, in_model: bool, synth: &mut Vec<String>, sim: &mut Vec<String>) {
        let black_box = self.black_boxes.contains_key(module);
        for child in self.children.get(module).into_iter().flatten() {
            self.collect(child, in_model || black_box, synth, sim);
        }
        let file = format!("{module}.v");
        let has_file = !black_box || self.files.iter().any(|f| f.name == file);
        let out = if in_model || black_box { sim } else { synth };
        if has_file && !out.contains(&file) {
            out.push(file);
        }
    }
}

/// SPDX licence identifier written into every generated file: the output is the user's, under
/// the same licence terms as vdx itself.
pub const SPDX_LINE: &str = "// SPDX-License-Identifier: Apache-2.0 OR MIT\n";

fn generator_line() -> String {
    format!("// {GENERATOR} -- generated, do not edit\n{SPDX_LINE}")
}

fn header(module: &Module) -> String {
    let d = &module.0;
    let params = if d.params.is_empty() {
        "(none)".to_string()
    } else {
        d.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    };
    let ports: Vec<String> = module
        .ports()
        .iter()
        .map(|p| if p.width == 1 { p.name.clone() } else { format!("{}[{}:0]", p.name, p.width - 1) })
        .collect();
    format!("// block {}\n// params: {params}\n// ports: {}\n", d.block, ports.join(", "))
}

fn range(width: u32) -> String {
    if width == 1 { String::new() } else { format!("[{}:0]", width - 1) }
}

/// Per-module emission: naming, inlining decisions, unused-bit bookkeeping and text.
struct ModuleWriter<'a> {
    d: &'a ModuleData,
    child_names: &'a [String],
    /// Final name of every node that gets one.
    name: Vec<Option<String>>,
    live: Vec<bool>,
    namer: Namer,
    /// Per instance: its name, and for arrays the genvar and the generate block label.
    inst_names: Vec<InstNames>,
}

/// Names an instance takes in its parent's scope.
struct InstNames {
    instance: String,
    genvar: String,
    label: String,
}

impl<'a> ModuleWriter<'a> {
    fn new(d: &'a ModuleData, child_names: &'a [String]) -> Self {
        let mut w = ModuleWriter {
            d,
            child_names,
            name: vec![None; d.nodes.len()],
            live: vec![false; d.nodes.len()],
            namer: Namer::default(),
            inst_names: Vec::new(),
        };
        w.mark_live();
        w.assign_names();
        w
    }

    /// Follows casts, which are free in the emitted text (all nets are unsigned).
    fn resolve(&self, mut id: NodeId) -> NodeId {
        while let Node::Cast(a) = self.d.nodes[id].node {
            id = a;
        }
        id
    }

    fn operands(node: &Node) -> Vec<NodeId> {
        match node {
            Node::Unary(_, a)
            | Node::Shift(_, a, _)
            | Node::Repeat(a, _)
            | Node::Cast(a)
            | Node::Alias(a)
            | Node::Forward(Some(a)) => {
                vec![*a]
            }
            Node::Slice { a, .. } | Node::Extend { a, .. } => vec![*a],
            Node::Binary(_, a, b) => vec![*a, *b],
            Node::Concat(parts) => parts.clone(),
            Node::Mux { sel, t, f } => vec![*sel, *t, *f],
            Node::Input
            | Node::Const(_)
            | Node::RegQ(_)
            | Node::MemRead { .. }
            | Node::RomRead(_)
            | Node::InstOut { .. }
            | Node::Forward(None)
            | Node::Poison => vec![],
        }
    }

    /// Nodes read from outside the node graph: by output ports, registers, memories, instances.
    fn reads(&self) -> Vec<NodeId> {
        let d = self.d;
        let mut reads: Vec<NodeId> =
            d.ports.iter().filter(|p| p.spec.dir == PortDir::Output).map(|p| p.node).collect();
        for r in &d.regs {
            if let Some((v, en, _)) = r.next {
                reads.push(v);
                reads.extend(en);
            }
        }
        for m in &d.mems {
            if let Some(w) = &m.write {
                reads.extend([w.en, w.addr, w.data]);
            }
            for r in &m.reads {
                reads.extend([r.en, r.addr]);
            }
        }
        for rom in &d.roms {
            reads.extend([rom.en, rom.addr]);
        }
        for inst in &d.insts {
            for (_, c) in &inst.inputs {
                reads.push(match c {
                    ConnData::All(id) | ConnData::Each(id) => *id,
                });
            }
        }
        reads
    }

    /// What is kept: everything read, plus every node the user (or a register) named.
    fn roots(&self) -> Vec<NodeId> {
        let mut roots = self.reads();
        roots.extend((0..self.d.nodes.len()).filter(|&i| self.d.nodes[i].name.is_some()));
        roots
    }

    fn mark_live(&mut self) {
        let mut stack = self.roots();
        while let Some(id) = stack.pop() {
            if !self.live[id] {
                self.live[id] = true;
                stack.extend(Self::operands(&self.d.nodes[id].node));
            }
        }
    }

    /// References of each (resolved) node: by live nodes and by the roots that read it.
    fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.d.nodes.len()];
        for (id, n) in self.d.nodes.iter().enumerate() {
            if self.live[id] && !matches!(n.node, Node::Cast(_)) {
                for op in Self::operands(&n.node) {
                    uses[self.resolve(op)] += 1;
                }
            }
        }
        for r in self.reads() {
            uses[self.resolve(r)] += 1;
        }
        uses
    }

    fn assign_names(&mut self) {
        let d = self.d;
        for p in ["clk_i", "rst_ni"] {
            self.namer.reserve(p);
        }
        for p in &d.ports {
            self.namer.reserve(&p.spec.name);
            if p.spec.dir == PortDir::Input {
                self.name[p.node] = Some(p.spec.name.clone());
            }
        }
        // Instances, genvars and labels share the scope with signals: take theirs first, so a
        // signal called like a genvar can never be captured by a generate loop.
        for inst in &d.insts {
            let role = inst.name.strip_prefix("u_").unwrap_or(&inst.name).to_string();
            let instance = self.namer.fresh(&inst.name);
            let (genvar, label) = match inst.count {
                Some(_) => {
                    (self.namer.fresh(&format!("gi_{role}")), self.namer.fresh(&format!("gen_{role}")))
                }
                None => (String::new(), String::new()),
            };
            self.inst_names.push(InstNames { instance, genvar, label });
        }
        let uses = self.use_counts();
        // A consumer that writes `x[..]` or `x[msb]` needs `x` as a name.
        let mut needs_name = vec![false; d.nodes.len()];
        for (id, n) in d.nodes.iter().enumerate() {
            if !self.live[id] {
                continue;
            }
            match &n.node {
                Node::Slice { a, .. } | Node::Shift(_, a, _) => needs_name[self.resolve(*a)] = true,
                Node::Extend { a, signed: true } => needs_name[self.resolve(*a)] = true,
                _ => {}
            }
        }
        for inst in &d.insts {
            for (_, c) in &inst.inputs {
                if let ConnData::Each(id) = c {
                    needs_name[self.resolve(*id)] = true;
                }
            }
        }
        let mut inline_ops = vec![0usize; d.nodes.len()];
        for (id, n) in d.nodes.iter().enumerate() {
            if !self.live[id] || self.name[id].is_some() {
                continue;
            }
            let base = match &n.node {
                Node::Input | Node::Cast(_) | Node::Poison => continue,
                Node::Const(_) => {
                    if needs_name[id] {
                        Some("const".to_string())
                    } else {
                        continue;
                    }
                }
                Node::RegQ(_) | Node::InstOut { .. } => n.name.clone(),
                Node::MemRead { mem, port } => Some(format!("{}_rdata{port}_q", d.mems[*mem].name)),
                _ => n.name.clone(),
            };
            let size = 1 + Self::operands(&n.node)
                .iter()
                .map(|&op| {
                    let op = self.resolve(op);
                    if self.name[op].is_some() { 0 } else { inline_ops[op] }
                })
                .sum::<usize>();
            let dynamic_sra = matches!(n.node, Node::Binary(BinOp::Sra, _, _));
            // A signed product is written with `$signed` operands (see `definition`), which is
            // only right in an assignment of its own width.
            let signed_mul = n.signed && matches!(n.node, Node::Binary(BinOp::Mul, _, _));
            let must = base.is_some()
                || uses[id] > 1
                || needs_name[id]
                || dynamic_sra
                || signed_mul
                || size > MAX_INLINE_OPS;
            if must {
                let raw = base.unwrap_or_else(|| op_name(&n.node).to_string());
                self.name[id] = Some(self.namer.fresh(&raw));
            } else {
                inline_ops[id] = size;
            }
        }
    }

    fn is_atom(&self, id: NodeId) -> bool {
        let id = self.resolve(id);
        self.name[id].is_some()
            || matches!(
                self.d.nodes[id].node,
                Node::Const(_)
                    | Node::Concat(_)
                    | Node::Repeat(..)
                    | Node::Extend { .. }
                    | Node::Shift(..)
                    | Node::Slice { .. }
            )
    }

    /// How a reference to `id` is written.
    fn expr(&self, id: NodeId) -> String {
        let id = self.resolve(id);
        if let Some(n) = &self.name[id] {
            return n.clone();
        }
        self.definition(id)
    }

    /// `expr`, parenthesized unless it is an atom.
    fn operand(&self, id: NodeId) -> String {
        if self.is_atom(id) { self.expr(id) } else { format!("({})", self.expr(id)) }
    }

    /// The operand of an inlined sign extension, or `id` itself.
    fn unextended(&self, id: NodeId) -> NodeId {
        let id = self.resolve(id);
        match self.d.nodes[id].node {
            Node::Extend { a, signed: true } if self.name[id].is_none() => self.resolve(a),
            _ => id,
        }
    }

    fn signed_operand(&self, id: NodeId) -> String {
        if self.d.nodes[id].signed { format!("$signed({})", self.expr(id)) } else { self.operand(id) }
    }

    fn msb(&self, id: NodeId) -> String {
        let w = self.d.nodes[id].width;
        if w == 1 { self.expr(id) } else { format!("{}[{}]", self.expr(id), w - 1) }
    }

    fn slice(&self, id: NodeId, hi: u32, lo: u32) -> String {
        if hi == lo { format!("{}[{hi}]", self.expr(id)) } else { format!("{}[{hi}:{lo}]", self.expr(id)) }
    }

    /// Parts of a concatenation, with inlined inner concatenations spliced in.
    fn concat_parts(&self, id: NodeId) -> Vec<String> {
        let Node::Concat(parts) = &self.d.nodes[id].node else { return vec![self.expr(id)] };
        parts
            .iter()
            .flat_map(|&p| {
                let p = self.resolve(p);
                if self.name[p].is_none() && matches!(self.d.nodes[p].node, Node::Concat(_)) {
                    self.concat_parts(p)
                } else {
                    vec![self.expr(p)]
                }
            })
            .collect()
    }

    /// The right-hand side that computes node `id`.
    fn definition(&self, id: NodeId) -> String {
        let n = &self.d.nodes[id];
        let w = n.width;
        match &n.node {
            Node::Const(b) => b.to_verilog(),
            Node::Unary(op, a) => {
                let sym = match op {
                    UnOp::Not => "~",
                    UnOp::Neg => "-",
                    UnOp::RedAnd => "&",
                    UnOp::RedOr => "|",
                    UnOp::RedXor => "^",
                };
                format!("{sym}{}", self.operand(*a))
            }
            Node::Binary(op, a, b) => {
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::And => "&",
                    BinOp::Or => "|",
                    BinOp::Xor => "^",
                    BinOp::Eq => "==",
                    BinOp::Ne => "!=",
                    BinOp::Lt => "<",
                    BinOp::Le => "<=",
                    BinOp::Gt => ">",
                    BinOp::Ge => ">=",
                    BinOp::Shl => "<<",
                    BinOp::Shr => ">>",
                    BinOp::Sra => ">>>",
                };
                match op {
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        format!("{} {sym} {}", self.signed_operand(*a), self.signed_operand(*b))
                    }
                    BinOp::Sra => format!("$signed({}) >>> {}", self.expr(*a), self.operand(*b)),
                    // Synthesis tools size a multiplier by its operands: copied sign bits would
                    // make a signed 8×4 product a 12×12 one. `$signed` operands extend the same
                    // way in the product's own assignment (always named, see `assign_names`).
                    BinOp::Mul if n.signed => format!(
                        "$signed({}) * $signed({})",
                        self.expr(self.unextended(*a)),
                        self.expr(self.unextended(*b))
                    ),
                    _ => format!("{} {sym} {}", self.operand(*a), self.operand(*b)),
                }
            }
            Node::Shift(kind, a, k) => {
                let k = *k;
                match kind {
                    ConstShift::Shl => format!("{{{}, {k}'h0}}", self.slice(*a, w - 1 - k, 0)),
                    ConstShift::Shr => format!("{{{k}'h0, {}}}", self.slice(*a, w - 1, k)),
                    ConstShift::Sra => {
                        format!("{{{{{k}{{{}}}}}, {}}}", self.msb(*a), self.slice(*a, w - 1, k))
                    }
                    ConstShift::Rotl => {
                        format!("{{{}, {}}}", self.slice(*a, w - 1 - k, 0), self.slice(*a, w - 1, w - k))
                    }
                }
            }
            Node::Slice { a, hi, lo } => self.slice(*a, *hi, *lo),
            Node::Concat(_) => format!("{{{}}}", self.concat_parts(id).join(", ")),
            Node::Repeat(a, times) => format!("{{{times}{{{}}}}}", self.expr(*a)),
            Node::Mux { sel, t, f } => {
                format!("{} ? {} : {}", self.operand(*sel), self.operand(*t), self.operand(*f))
            }
            Node::Extend { a, signed } => {
                let k = w - self.d.nodes[*a].width;
                if *signed {
                    format!("{{{{{k}{{{}}}}}, {}}}", self.msb(*a), self.expr(*a))
                } else {
                    format!("{{{k}'h0, {}}}", self.expr(*a))
                }
            }
            Node::Cast(a) | Node::Alias(a) | Node::Forward(Some(a)) => self.expr(*a),
            Node::Input
            | Node::RegQ(_)
            | Node::MemRead { .. }
            | Node::RomRead(_)
            | Node::InstOut { .. }
            | Node::Forward(None)
            | Node::Poison => {
                unreachable!("{} nodes are always named (and driven, once finished)", op_name(&n.node))
            }
        }
    }

    /// Bits of named signals that nothing reads, as `name[hi:lo]` parts for the lint sink.
    fn unused_parts(&self) -> Vec<String> {
        let d = self.d;
        let mut used: Vec<Vec<bool>> = d.nodes.iter().map(|n| vec![false; n.width as usize]).collect();
        let mut mark = |id: NodeId, lo: u32, hi: u32| {
            for b in lo..=hi {
                used[id][b as usize] = true;
            }
        };
        for (id, n) in d.nodes.iter().enumerate() {
            if !self.live[id] || matches!(n.node, Node::Cast(_)) {
                continue;
            }
            for op in Self::operands(&n.node) {
                let op = self.resolve(op);
                let w = d.nodes[op].width;
                match &n.node {
                    Node::Slice { hi, lo, .. } => mark(op, *lo, *hi),
                    Node::Shift(ConstShift::Shl, _, k) => mark(op, 0, w - 1 - k),
                    Node::Shift(ConstShift::Shr, _, k) => mark(op, *k, w - 1),
                    Node::Shift(ConstShift::Sra, _, k) => mark(op, *k, w - 1),
                    _ => mark(op, 0, w - 1),
                }
            }
        }
        for r in self.reads() {
            let r = self.resolve(r);
            mark(r, 0, d.nodes[r].width - 1);
        }
        let mut parts = Vec::new();
        for (id, n) in d.nodes.iter().enumerate() {
            let Some(name) = &self.name[id] else { continue };
            if !self.live[id] {
                continue;
            }
            let bits = &used[id];
            let mut b = 0;
            while b < bits.len() {
                if bits[b] {
                    b += 1;
                    continue;
                }
                let lo = b;
                while b < bits.len() && !bits[b] {
                    b += 1;
                }
                let hi = b - 1;
                parts.push(if n.width == 1 || (lo == 0 && hi == bits.len() - 1) {
                    name.clone()
                } else if lo == hi {
                    format!("{name}[{lo}]")
                } else {
                    format!("{name}[{hi}:{lo}]")
                });
            }
        }
        parts
    }

    fn body(mut self) -> String {
        let d = self.d;
        let mut s = String::new();
        s.push_str("`default_nettype none\n");
        let ports = super::builder::ports_of(d);
        let rw = ports.iter().map(|p| range(p.width).len()).max().unwrap_or(0);
        let _ = writeln!(s, "module {NAME_SLOT} (");
        for (i, p) in ports.iter().enumerate() {
            let dir = if p.dir == PortDir::Input { "input " } else { "output" };
            let sep = if i + 1 == ports.len() { "" } else { "," };
            let _ = writeln!(s, "  {dir} wire {:<rw$} {}{sep}", range(p.width), p.name);
        }
        s.push_str(");\n");

        // Declarations.
        let mut decls: Vec<(String, String, String)> = Vec::new();
        let reg_d: Vec<Option<String>> =
            d.regs.iter().map(|r| r.next.map(|_| self.namer.fresh(&format!("{}_d", r.name)))).collect();
        let mem_names: Vec<String> =
            d.mems.iter().map(|m| self.namer.fresh(&format!("{}_mem", m.name))).collect();
        for (id, n) in d.nodes.iter().enumerate() {
            let Some(name) = &self.name[id] else { continue };
            if !self.live[id] || matches!(n.node, Node::Input) {
                continue;
            }
            let kind = if matches!(n.node, Node::RegQ(_) | Node::MemRead { .. } | Node::RomRead(_)) {
                "reg"
            } else {
                "wire"
            };
            decls.push((kind.into(), range(n.width), name.clone()));
        }
        for (r, dname) in d.regs.iter().zip(&reg_d) {
            if let Some(dn) = dname {
                decls.push(("wire".into(), range(r.width), dn.clone()));
            }
        }
        for (m, mn) in d.mems.iter().zip(&mem_names) {
            decls.push(("reg".into(), range(m.width), format!("{mn} [0:{}]", m.depth - 1)));
        }
        let unused = self.unused_parts();
        let sink = if unused.is_empty() { None } else { Some(self.namer.fresh("unused_bits")) };
        if let Some(sink) = &sink {
            decls.push(("wire".into(), String::new(), sink.clone()));
        }
        if !decls.is_empty() {
            s.push('\n');
            let rw = decls.iter().map(|(_, r, _)| r.len()).max().unwrap_or(0);
            for (kind, r, name) in &decls {
                let _ = writeln!(s, "  {kind:<4} {r:<rw$} {name};");
            }
        }

        // Continuous assignments, by section (see `ModuleBuilder::section`): each section's
        // wires, then the next values of its registers. Without sections this is one group.
        let section_of = |id: NodeId| d.sections.partition_point(|(start, _)| *start <= id);
        let mut groups: Vec<Vec<String>> = vec![Vec::new(); d.sections.len() + 1];
        for (id, n) in d.nodes.iter().enumerate() {
            let Some(name) = &self.name[id] else { continue };
            if !self.live[id]
                || matches!(
                    n.node,
                    Node::Input
                        | Node::RegQ(_)
                        | Node::MemRead { .. }
                        | Node::RomRead(_)
                        | Node::InstOut { .. }
                )
            {
                continue;
            }
            groups[section_of(id)].push(format!("  assign {name} = {};", self.definition(id)));
        }
        let mut next_values: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
        for (i, (r, dname)) in d.regs.iter().zip(&reg_d).enumerate() {
            if let (Some((v, _, _)), Some(dn)) = (r.next, dname) {
                next_values[section_of(reg_q_node(d, i))].push(format!("  assign {dn} = {};", self.expr(v)));
            }
        }
        let mut assigns = Vec::new();
        for (g, (wires, nexts)) in groups.into_iter().zip(next_values).enumerate() {
            if wires.is_empty() && nexts.is_empty() {
                continue;
            }
            if g > 0 {
                if !assigns.is_empty() {
                    assigns.push(String::new());
                }
                assigns
                    .extend(d.sections[g - 1].1.iter().map(|l| format!("  // {l}").trim_end().to_string()));
            }
            assigns.extend(wires);
            assigns.extend(nexts);
        }
        if !d.sections.is_empty() && d.ports.iter().any(|p| p.spec.dir == PortDir::Output) {
            assigns.extend([String::new(), "  // Outputs.".to_string()]);
        }
        for p in d.ports.iter().filter(|p| p.spec.dir == PortDir::Output) {
            assigns.push(format!("  assign {} = {};", p.spec.name, self.expr(p.node)));
        }
        if let Some(sink) = &sink {
            // Read on purpose so that lint sees these bits as used; Verilator exempts `unused*`.
            assigns.push(format!("  assign {sink} = ^{{{}}};", unused.join(", ")));
        }
        if !assigns.is_empty() {
            s.push('\n');
            for a in assigns {
                s.push_str(&a);
                s.push('\n');
            }
        }

        // Registers, grouped by enable so that each group is one always block.
        let mut groups: Vec<(Option<NodeId>, Vec<usize>)> = Vec::new();
        for (i, r) in d.regs.iter().enumerate() {
            let Some((_, en, _)) = r.next else { continue };
            let en = en.map(|e| self.resolve(e));
            match groups.iter_mut().find(|(e, _)| *e == en) {
                Some((_, list)) => list.push(i),
                None => groups.push((en, vec![i])),
            }
        }
        for (en, regs) in &groups {
            let q = |i: usize| self.name[reg_q_node(d, i)].clone().expect("register outputs are named");
            let _ =
                writeln!(s, "\n  always @(posedge clk_i or negedge rst_ni) begin\n    if (!rst_ni) begin");
            for &i in regs {
                let _ = writeln!(s, "      {} <= {};", q(i), d.regs[i].reset.to_verilog());
            }
            match en {
                Some(e) => {
                    let _ = writeln!(s, "    end else if ({}) begin", self.expr(*e));
                }
                None => s.push_str("    end else begin\n"),
            }
            for &i in regs {
                let _ = writeln!(s, "      {} <= {};", q(i), reg_d[i].as_ref().expect("registers with next"));
            }
            s.push_str("    end\n  end\n");
        }

        // Memories.
        for (m, mn) in d.mems.iter().zip(&mem_names) {
            if let Some(w) = &m.write {
                let _ = writeln!(
                    s,
                    "\n  always @(posedge clk_i) begin\n    if ({}) begin\n      {mn}[{}] <= {};\n    end\n  end",
                    self.expr(w.en),
                    self.expr(w.addr),
                    self.expr(w.data)
                );
            }
            for r in &m.reads {
                let q = self.name[r.out].clone().expect("memory read data is named");
                let _ = writeln!(
                    s,
                    "\n  always @(posedge clk_i or negedge rst_ni) begin\n    if (!rst_ni) begin\n      {q} <= {};\n    end else if ({}) begin\n      {q} <= {mn}[{}];\n    end\n  end",
                    super::bits::Bits::zero(m.width).to_verilog(),
                    self.expr(r.en),
                    self.expr(r.addr)
                );
            }
        }

        // Read-only tables.
        for rom in &d.roms {
            let q = self.name[rom.out].clone().expect("rom outputs are named");
            let w = d.nodes[rom.out].width;
            let aw = d.nodes[self.resolve(rom.addr)].width;
            let _ = writeln!(
                s,
                "\n  always @(posedge clk_i or negedge rst_ni) begin\n    if (!rst_ni) begin\n      {q} <= {};\n    end else if ({}) begin\n      case ({})",
                super::bits::Bits::zero(w).to_verilog(),
                self.expr(rom.en),
                self.expr(rom.addr)
            );
            for (i, entry) in rom.table.iter().enumerate() {
                let _ = writeln!(s, "        {aw}'d{i}: {q} <= {};", entry.to_verilog());
            }
            if (rom.table.len() as u64) < 1u64 << aw {
                let _ = writeln!(s, "        default: {q} <= {};", super::bits::Bits::zero(w).to_verilog());
            }
            s.push_str("      endcase\n    end\n  end\n");
        }

        // Instances.
        for ((inst, child), names) in d.insts.iter().zip(self.child_names).zip(&self.inst_names) {
            let child_ports = inst.module.ports();
            let genvar = &names.genvar;
            let mut conns: Vec<(String, String)> = Vec::new();
            for p in &child_ports {
                let part = |sig: String| match inst.count {
                    // A net of one bit is declared without a range and cannot be part-selected.
                    Some(n) if n * p.width == 1 => sig,
                    Some(_) => format!("{sig}[{genvar}*{w} +: {w}]", w = p.width),
                    None => sig,
                };
                let text = if let Some(net) = inst.module.parent_net(&p.name) {
                    net.to_string()
                } else if p.dir == PortDir::Input {
                    match inst.inputs.iter().find(|(n, _)| *n == p.name).map(|(_, c)| c) {
                        Some(ConnData::All(id)) => self.expr(*id),
                        Some(ConnData::Each(id)) => part(self.expr(*id)),
                        None => unreachable!("finish() checks that every input is connected"),
                    }
                } else {
                    let id = inst.outputs.iter().find(|(n, _)| *n == p.name).map(|(_, id)| *id);
                    part(self.name[id.expect("every output has a node")].clone().expect("named"))
                };
                conns.push((p.name.clone(), text));
            }
            let pw = conns.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
            let body: Vec<String> = conns.iter().map(|(p, t)| format!(".{p:<pw$} ({t})")).collect();
            match inst.count {
                None => {
                    let _ =
                        writeln!(s, "\n  {child} {} (\n    {}\n  );", names.instance, body.join(",\n    "));
                }
                Some(n) => {
                    let label = &names.label;
                    let _ = writeln!(
                        s,
                        "\n  genvar {genvar};\n  generate\n    for ({genvar} = 0; {genvar} < {n}; {genvar} = {genvar} + 1) begin : {label}\n      {child} {} (\n        {}\n      );\n    end\n  endgenerate",
                        names.instance,
                        body.join(",\n        ")
                    );
                }
            }
        }
        s.push_str(&self.formal_block());
        s.push_str("\nendmodule\n`default_nettype wire\n");
        s
    }

    /// The module's assertions (see [`super::ModuleBuilder::assert_always`]) inside
    /// `` `ifdef FORMAL ``, after everything else so that the rest of the text is the same as
    /// without them. The logic they read that has no name yet is inlined or named as in the
    /// module (used twice, sliced or large), its wires declared here.
    fn formal_block(&mut self) -> String {
        let d = self.d;
        if d.asserts.is_empty() {
            return String::new();
        }
        // The unnamed nodes the assertions reach, and how often each is read among them.
        let mut reached = vec![false; d.nodes.len()];
        let mut uses = vec![0usize; d.nodes.len()];
        let mut needs_name = vec![false; d.nodes.len()];
        let mut stack: Vec<NodeId> = d.asserts.iter().map(|a| a.cond).collect();
        for &c in &stack {
            uses[self.resolve(c)] += 1;
        }
        while let Some(id) = stack.pop() {
            let id = self.resolve(id);
            if self.name[id].is_some() || reached[id] {
                continue;
            }
            reached[id] = true;
            let node = &d.nodes[id].node;
            if let Node::Slice { a, .. } | Node::Shift(_, a, _) | Node::Extend { a, signed: true } = node {
                needs_name[self.resolve(*a)] = true;
            }
            for op in Self::operands(node) {
                uses[self.resolve(op)] += 1;
                stack.push(op);
            }
        }
        let mut wires: Vec<NodeId> = Vec::new();
        let mut inline_ops = vec![0usize; d.nodes.len()];
        for id in (0..d.nodes.len()).filter(|&i| reached[i]) {
            let node = &d.nodes[id].node;
            if matches!(node, Node::Const(_)) && !needs_name[id] {
                continue;
            }
            let size = 1 + Self::operands(node)
                .iter()
                .map(|&op| {
                    let op = self.resolve(op);
                    if self.name[op].is_some() { 0 } else { inline_ops[op] }
                })
                .sum::<usize>();
            if uses[id] > 1 || needs_name[id] || size > MAX_INLINE_OPS {
                self.name[id] = Some(self.namer.fresh(&format!("fv_{}", op_name(node))));
                wires.push(id);
            } else {
                inline_ops[id] = size;
            }
        }
        wires.sort_unstable();
        let mut s = String::from(
            "\n`ifdef FORMAL\n  // Properties for formal tools (`vdx formal`); simulation, lint and synthesis skip them.\n",
        );
        let rw = wires.iter().map(|&id| range(d.nodes[id].width).len()).max().unwrap_or(0);
        for &id in &wires {
            let name = self.name[id].as_ref().expect("named above");
            let gap = if rw > 0 { " " } else { "" };
            let _ = writeln!(s, "  wire {:<rw$}{gap}{name};", range(d.nodes[id].width));
        }
        for &id in &wires {
            let name = self.name[id].as_ref().expect("named above");
            let _ = writeln!(s, "  assign {name} = {};", self.definition(id));
        }
        s.push_str("\n  always @(*) begin\n    if (rst_ni) begin\n");
        for a in &d.asserts {
            for l in &a.doc {
                let _ = writeln!(s, "      // {l}");
            }
            let _ = writeln!(s, "      {}: assert ({});", a.label, self.expr(a.cond));
        }
        s.push_str("    end\n  end\n`endif\n");
        s
    }
}

fn reg_q_node(d: &ModuleData, reg: usize) -> NodeId {
    d.nodes.iter().position(|n| n.node == Node::RegQ(reg)).expect("every register has an output node")
}
