//! Verilog identifier legalization and per-module unique naming.

use std::collections::BTreeSet;

/// Verilog-2005, SystemVerilog and C++ keywords: a signal may not take one of these names, since
/// the output must read in every tool (Verilator parses SystemVerilog keywords by default and turns
/// signals into C++ members, renaming those that clash, warning SYMRSVDWORD).
#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "always", "and", "assign", "automatic", "begin", "buf", "bufif0", "bufif1", "case", "casex",
    "casez", "cell", "cmos", "config", "deassign", "default", "defparam", "design", "disable",
    "edge", "else", "end", "endcase", "endconfig", "endfunction", "endgenerate", "endmodule",
    "endprimitive", "endspecify", "endtable", "endtask", "event", "for", "force", "forever", "fork",
    "function", "generate", "genvar", "highz0", "highz1", "if", "ifnone", "incdir", "include",
    "initial", "inout", "input", "instance", "integer", "join", "large", "liblist", "library",
    "localparam", "macromodule", "medium", "module", "nand", "negedge", "nmos", "nor",
    "noshowcancelled", "not", "notif0", "notif1", "or", "output", "parameter", "pmos", "posedge",
    "primitive", "pull0", "pull1", "pulldown", "pullup", "pulsestyle_ondetect",
    "pulsestyle_onevent", "rcmos", "real", "realtime", "reg", "release", "repeat", "rnmos", "rpmos",
    "rtran", "rtranif0", "rtranif1", "scalared", "showcancelled", "signed", "small", "specify",
    "specparam", "strong0", "strong1", "supply0", "supply1", "table", "task", "time", "tran",
    "tranif0", "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "unsigned", "use",
    "uwire", "vectored", "wait", "wand", "weak0", "weak1", "while", "wire", "wor", "xnor", "xor",
    // SystemVerilog
    "alias", "always_comb", "always_ff", "always_latch", "assert", "assume", "before", "bind",
    "bins", "binsof", "bit", "break", "byte", "chandle", "class", "clocking", "const", "constraint",
    "context", "continue", "cover", "covergroup", "coverpoint", "cross", "dist", "do", "endclass",
    "endclocking", "endgroup", "endinterface", "endpackage", "endprogram", "endproperty",
    "endsequence", "enum", "expect", "export", "extends", "extern", "final", "first_match",
    "foreach", "forkjoin", "iff", "ignore_bins", "illegal_bins", "import", "inside", "int",
    "interface", "intersect", "join_any", "join_none", "local", "logic", "longint", "matches",
    "modport", "new", "null", "package", "packed", "priority", "program", "property", "protected",
    "pure", "rand", "randc", "randcase", "randsequence", "ref", "return", "sequence", "shortint",
    "shortreal", "solve", "static", "string", "struct", "super", "tagged", "this", "throughout",
    "timeprecision", "timeunit", "type", "typedef", "union", "unique", "var", "virtual", "void",
    "wait_order", "wildcard", "with", "within",
    // C++
    "alignas", "alignof", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "catch", "char",
    "char8_t", "char16_t", "char32_t", "compl", "concept", "consteval", "constexpr", "constinit",
    "const_cast", "co_await", "co_return", "co_yield", "decltype", "delete", "double",
    "dynamic_cast", "explicit", "false", "float", "friend", "goto", "inline", "long", "mutable",
    "namespace", "noexcept", "not_eq", "nullptr", "operator", "or_eq", "private", "public",
    "register", "reinterpret_cast", "requires", "short", "sizeof", "static_assert", "static_cast",
    "switch", "template", "thread_local", "throw", "true", "try", "typeid", "typename", "using",
    "volatile", "wchar_t", "xor_eq",
];

/// Turns any string into a legal, lower-case Verilog identifier: characters outside `[a-z0-9_]`
/// become `_`, runs of `_` collapse, a leading digit gets an `n` prefix, keywords get an `_x` suffix, and the empty string becomes `unnamed`.
pub fn legalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let trimmed = out.trim_matches('_');
    let mut name = if trimmed.is_empty() { "unnamed".to_string() } else { trimmed.to_string() };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'n');
    }
    if is_keyword(&name) {
        name.push_str("_x");
    }
    name
}

/// `name` without its lowRISC port suffix (`_i`, `_o`, `_io`; `_ni`, `_no`, `_nio` keep their
/// `_n`), for wires that carry a port's value inside a module: `psum_o` → `psum`,
/// `ready_no` → `ready_n`. A name without a suffix comes back unchanged.
pub fn strip_port_suffix(name: &str) -> &str {
    for (suffix, keep) in [("_nio", 2), ("_ni", 2), ("_no", 2), ("_io", 0), ("_i", 0), ("_o", 0)] {
        if let Some(base) = name.strip_suffix(suffix)
            && !base.is_empty()
        {
            return &name[..base.len() + keep];
        }
    }
    name
}

/// Whether `name` is a plain lower-case identifier: a lower-case letter, then lower-case
/// letters, digits and `_`. Names from configs (config, dies, instances, the module prefix) must
/// be, so they read the same in folder names, manifests and Verilog.
pub fn is_plain_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The base of a global module name (`vdx_sgu_pair_0a1b2c3d` → `vdx_sgu_pair`): the name without
/// its `_<hash>` suffix, or `None` when it has none.
pub fn module_base(name: &str) -> Option<&str> {
    let (base, hash) = name.rsplit_once('_')?;
    let hex = hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    hex.then_some(base)
}

/// Whether `name` is a Verilog or SystemVerilog keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Hands out names that are unique within one module scope, deterministically: the first request
/// for a base gets it unchanged, later ones get `_1`, `_2`, … in request order.
#[derive(Debug, Default, Clone)]
pub struct Namer {
    taken: BTreeSet<String>,
}

impl Namer {
    /// Marks `name` as taken; returns false when it already was.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_string())
    }

    /// A unique legal name derived from `raw`.
    pub fn fresh(&mut self, raw: &str) -> String {
        let base = legalize(raw);
        if self.taken.insert(base.clone()) {
            return base;
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|candidate| !self.taken.contains(candidate))
            .inspect(|name| {
                self.taken.insert(name.clone());
            })
            .expect("an unbounded counter always finds a free name")
    }
}

/// Module names declared in Verilog `text`: the identifier after each `module` keyword that
/// starts a line, ignoring comments (a commented-out module must not count).
pub fn declared_modules(text: &str) -> Vec<String> {
    strip_comments(text)
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("module")?;
            if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
                return None;
            }
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Replaces `//` and `/* */` comments with spaces, keeping line breaks so lines stay lines.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legalize_fixes_bad_identifiers() {
        assert_eq!(legalize("Lane 0/Out"), "lane_0_out");
        assert_eq!(legalize("3d-vae"), "n3d_vae");
        assert_eq!(legalize("module"), "module_x");
        assert_eq!(legalize("logic"), "logic_x");
        assert_eq!(legalize("switch"), "switch_x");
        assert_eq!(legalize("__a__b__"), "a_b");
        assert_eq!(legalize("$%^"), "unnamed");
        assert_eq!(legalize("rand_o"), "rand_o");
    }

    #[test]
    fn port_suffixes_come_off() {
        assert_eq!(strip_port_suffix("psum_o"), "psum");
        assert_eq!(strip_port_suffix("a_i"), "a");
        assert_eq!(strip_port_suffix("pad_io"), "pad");
        assert_eq!(strip_port_suffix("ready_no"), "ready_n");
        assert_eq!(strip_port_suffix("rst_ni"), "rst_n");
        assert_eq!(strip_port_suffix("psum"), "psum");
        assert_eq!(strip_port_suffix("_o"), "_o");
        assert_eq!(strip_port_suffix("ratio"), "ratio");
    }

    #[test]
    fn namer_is_unique_and_deterministic() {
        let mut a = Namer::default();
        let got: Vec<String> = ["x", "x", "X", "x_1", "x"].iter().map(|n| a.fresh(n)).collect();
        assert_eq!(got, ["x", "x_1", "x_2", "x_1_1", "x_3"]);
        let mut b = Namer::default();
        let again: Vec<String> = ["x", "x", "X", "x_1", "x"].iter().map(|n| b.fresh(n)).collect();
        assert_eq!(got, again);
    }

    #[test]
    fn declared_modules_skip_comments() {
        let text =
            "module a(input wire x);\nendmodule\n/* module b;\nendmodule */\n  module  c_1 #(\n// module d\n";
        assert_eq!(declared_modules(text), ["a", "c_1"]);
    }
}
