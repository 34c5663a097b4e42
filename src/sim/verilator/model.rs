//! Building Verilated models into shared libraries, and the on-disk cache that makes a rebuild of
//! the same source free.
//!
//! Layout of the cache root (see [`cache_dir`]):
//! - `models/<key>/`: one model: `src/` (the Verilog as given), `obj/` (Verilator's output, kept so
//!   the benchmark can link a plain C++ testbench against the same archive), `shim.cpp`,
//!   `libvdx.so`, `build.log`.
//! - `runtime/<key>/`: the Verilator runtime objects (`verilated.o`, ...), compiled once per
//!   toolchain and flags because `verilated.cpp` alone takes seconds.
//! - `locks/`: lock files that keep concurrent processes from building the same thing twice.
//!
//! Every directory is built under a temporary name inside its parent and renamed into place, so a
//! key directory that exists is complete even if a build was killed half-way.

use super::shim;
use crate::hdl::PortDir;
use crate::sim::tool::run_tool;
use crate::sim::{CLOCK_PORT, PortLayout, SimError, SimSource};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Name of the shared library inside a model directory; its presence marks a finished build.
pub(crate) const LIB_NAME: &str = "libvdx.so";

/// Verilator options that shape the model (part of the cache key). `-O3` for C++ matters ~2x
/// against Verilator's default `-Os`; `-fPIC` because the archive goes into a shared library.
/// In a shared library every access to Verilator's thread-local `Verilated::t_s` (three per
/// `eval`) costs a call through the PLT to its init wrapper plus `__tls_get_addr`; an executable
/// testbench pays neither. `-fvisibility=hidden` lets the compiler bind the accesses locally, and
/// `-fno-extern-tls-init` drops the wrapper call, which is sound because `t_s` is a POD with
/// zero default members (constant-initialised; Verilator's header keeps it so on purpose).
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "--build",
    "-Wno-fatal",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-O3",
    "-CFLAGS",
    "-fPIC",
    "-CFLAGS",
    "-O3",
    "-CFLAGS",
    "-fvisibility=hidden",
    "-CFLAGS",
    "-fno-extern-tls-init",
    "-MAKEFLAGS",
    "OPT_FAST=-O3",
    "-MAKEFLAGS",
    "OPT_SLOW=-O3",
    "-MAKEFLAGS",
    "OPT_GLOBAL=-O3",
    "--prefix",
    "Vdut",
];

/// C++ flags for everything compiled outside Verilator's makefile (runtime, shim, benchmark),
/// mirroring what `verilated.mk` passes so all objects agree.
const CXX_FLAGS: &[&str] = &[
    "-faligned-new",
    "-fcf-protection=none",
    "-Wno-bool-operation",
    "-Wno-sign-compare",
    "-Wno-uninitialized",
    "-Wno-unused-but-set-variable",
    "-Wno-unused-parameter",
    "-Wno-unused-variable",
    "-Wno-shadow",
    "-fPIC",
    "-O3",
    "-fvisibility=hidden",
    "-fno-extern-tls-init",
];

/// Libraries the Verilator runtime needs (`CFG_LDLIBS_THREADS` in `verilated.mk`).
const LINK_LIBS: &[&str] = &["-pthread", "-lpthread", "-latomic"];

/// Where built models are cached: `$VDX_CACHE_DIR`, else `$XDG_CACHE_HOME/vdx`, else
/// `$HOME/.cache/vdx`. The crate's own unit tests default to `target/vdx-cache` instead, so that
/// `cargo clean` clears what they built.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = env_path("VDX_CACHE_DIR") {
        return dir;
    }
    default_cache_dir()
}

#[cfg(test)]
fn default_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("vdx-cache")
}

#[cfg(not(test))]
fn default_cache_dir() -> PathBuf {
    if let Some(dir) = env_path("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return dir.join("vdx");
    }
    match env_path("HOME") {
        Some(home) => home.join(".cache").join("vdx"),
        None => std::env::temp_dir().join("vdx-cache"),
    }
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The Verilator and C++ compiler found on this machine, probed once per process because every
/// probe is a process spawn and the result is part of every cache key.
pub(crate) struct Toolchain {
    pub(crate) verilator: PathBuf,
    pub(crate) cxx: PathBuf,
    /// `$VERILATOR_ROOT/include`.
    pub(crate) include: PathBuf,
    /// Versions and paths that change what gets built.
    fingerprint: String,
}

static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();

/// Probes (once) and returns the toolchain.
pub(crate) fn toolchain() -> Result<&'static Toolchain, SimError> {
    if let Some(tc) = TOOLCHAIN.get() {
        return Ok(tc);
    }
    let verilator = crate::sim::find_tool("verilator", "verilator")?;
    let cxx = crate::sim::find_tool("g++", "g++")?;
    let version = run_tool("verilator", Command::new(&verilator).arg("--version"))?;
    let root = run_tool("verilator", Command::new(&verilator).args(["--getenv", "VERILATOR_ROOT"]))?;
    let root = PathBuf::from(root.trim());
    let cxx_version = run_tool("g++", Command::new(&cxx).arg("--version"))?;
    let fingerprint = format!(
        "{}\n{}\n{}\n{}",
        version.trim(),
        root.display(),
        cxx.display(),
        cxx_version.lines().next().unwrap_or("")
    );
    let tc = Toolchain { verilator, cxx, include: root.join("include"), fingerprint };
    Ok(TOOLCHAIN.get_or_init(|| tc))
}

impl Toolchain {
    /// Include directories and flags for C++ that includes the model's and Verilator's headers.
    pub(crate) fn cxx_args(&self, obj_dir: &Path, trace: bool) -> Vec<String> {
        let t = u8::from(trace);
        let mut args: Vec<String> = CXX_FLAGS.iter().map(|s| s.to_string()).collect();
        args.extend([
            format!("-I{}", obj_dir.display()),
            format!("-I{}", self.include.display()),
            format!("-I{}", self.include.join("vltstd").display()),
            "-DVM_COVERAGE=0".into(),
            "-DVM_SC=0".into(),
            format!("-DVM_TRACE={t}"),
            "-DVM_TRACE_FST=0".into(),
            format!("-DVM_TRACE_VCD={t}"),
        ]);
        args
    }

    /// Libraries to put at the end of a link line.
    pub(crate) fn link_libs(&self) -> &'static [&'static str] {
        LINK_LIBS
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SimError + '_ {
    move |source| SimError::Io { path: path.to_path_buf(), source }
}

fn invalid(path: impl Into<PathBuf>, message: String) -> SimError {
    SimError::Io { path: path.into(), source: io::Error::new(io::ErrorKind::InvalidInput, message) }
}

/// Makes `root` absolute and existing, because tools run with other working directories.
pub(crate) fn prepare_root(root: &Path) -> Result<PathBuf, SimError> {
    fs::create_dir_all(root).map_err(io_err(root))?;
    fs::canonicalize(root).map_err(io_err(root))
}

/// An exclusive lock on `root/locks/<name>.lock`, held until the returned file is dropped. It only
/// avoids duplicate work between processes; correctness comes from the rename into place.
pub(crate) fn lock(root: &Path, name: &str) -> Result<File, SimError> {
    let dir = root.join("locks");
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(format!("{name}.lock"));
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))?;
    file.lock().map_err(io_err(&path))?;
    Ok(file)
}

/// A fresh temporary directory inside `parent` (same file system, so it can be renamed).
pub(crate) fn temp_dir_in(parent: &Path) -> Result<tempfile::TempDir, SimError> {
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    tempfile::Builder::new().prefix(".tmp-").tempdir_in(parent).map_err(io_err(parent))
}

/// Renames the finished `tmp` to `dest`. If another builder got there first (`dest/marker`
/// exists), its result is kept and ours discarded: both came from the same key.
pub(crate) fn publish(tmp: tempfile::TempDir, dest: &Path, marker: &str) -> Result<(), SimError> {
    let tmp_path = tmp.keep();
    let mut result = fs::rename(&tmp_path, dest);
    if result.is_err() && dest.exists() && !dest.join(marker).exists() {
        // A directory without its marker was not made by us; replace it.
        let _ = fs::remove_dir_all(dest);
        result = fs::rename(&tmp_path, dest);
    }
    match result {
        Ok(()) => Ok(()),
        Err(_) if dest.join(marker).exists() => {
            let _ = fs::remove_dir_all(&tmp_path);
            Ok(())
        }
        Err(source) => {
            let _ = fs::remove_dir_all(&tmp_path);
            Err(SimError::Io { path: dest.to_path_buf(), source })
        }
    }
}

/// Length-prefixed hashing, so that field boundaries cannot be shifted to forge a collision.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new(domain: &str) -> Self {
        let mut h = KeyHasher(Sha256::new());
        h.field(domain.as_bytes());
        h
    }

    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn finish(self) -> String {
        self.0.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// Checks that `s` is a plain identifier: it is pasted into generated C++ and must mean there
/// what Verilator calls the port (Verilator renames names with `__`).
fn check_identifier(top: &str, what: &str, s: &str) -> Result<(), SimError> {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.contains("__");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            top,
            format!("{what} `{s}` is not a plain identifier (letters, digits, single underscores)"),
        ))
    }
}

fn validate(src: &SimSource) -> Result<(), SimError> {
    check_identifier(&src.top, "module name", &src.top)?;
    for p in &src.ports {
        check_identifier(&src.top, "port name", &p.name)?;
        if p.width == 0 {
            return Err(invalid(&src.top, format!("port `{}` has width 0", p.name)));
        }
        if p.name == CLOCK_PORT && (p.dir != PortDir::Input || p.width != 1) {
            return Err(invalid(&src.top, format!("`{CLOCK_PORT}` must be a 1-bit input")));
        }
    }
    if src.files.is_empty() {
        return Err(invalid(&src.top, "no Verilog files given".to_string()));
    }
    for f in &src.files {
        let bad = f.name.is_empty() || f.name == "." || f.name == ".." || f.name.contains(['/', '\\', '\0']);
        if bad {
            return Err(invalid(&f.name, "file names must not contain a directory".to_string()));
        }
    }
    Ok(())
}

/// A built model in the cache.
pub(crate) struct Model {
    /// `models/<key>` in the cache root.
    pub(crate) dir: PathBuf,
    /// Whether this is the `--trace` variant.
    pub(crate) trace: bool,
}

impl Model {
    /// The shared library to load.
    pub(crate) fn lib_path(&self) -> PathBuf {
        self.dir.join(LIB_NAME)
    }

    /// Verilator's output directory (headers and `Vdut__ALL.a`).
    pub(crate) fn obj_dir(&self) -> PathBuf {
        self.dir.join("obj")
    }

    /// Returns the cached model for `src`, building it first if needed. `root` must come from
    /// [`prepare_root`].
    pub(crate) fn get(src: &SimSource, trace: bool, root: &Path) -> Result<Model, SimError> {
        validate(src)?;
        let tc = toolchain()?;
        let mut h = KeyHasher::new("vdx-verilator-model");
        h.field(&shim::SHIM_VERSION.to_le_bytes());
        h.field(tc.fingerprint.as_bytes());
        for flag in VERILATOR_FLAGS.iter().chain(CXX_FLAGS).chain(LINK_LIBS) {
            h.field(flag.as_bytes());
        }
        h.field(&[u8::from(trace)]);
        h.field(src.top.as_bytes());
        for p in &src.ports {
            h.field(p.name.as_bytes());
            h.field(&[u8::from(p.dir == PortDir::Input), u8::from(p.signed)]);
            h.field(&p.width.to_le_bytes());
        }
        for f in &src.files {
            h.field(f.name.as_bytes());
            h.field(f.text.as_bytes());
        }
        let key = h.finish();
        let suffix = if trace { "-trace" } else { "" };
        let dir = root.join("models").join(format!("{}-{key}{suffix}", src.top));
        let model = Model { dir, trace };
        if model.lib_path().is_file() {
            return Ok(model);
        }
        let _lock = lock(root, &format!("model-{key}{suffix}"))?;
        if model.lib_path().is_file() {
            return Ok(model);
        }
        let tmp = temp_dir_in(&root.join("models"))?;
        build(tc, src, trace, tmp.path(), root)?;
        publish(tmp, &model.dir, LIB_NAME)?;
        Ok(model)
    }

    /// The runtime objects this model links against, compiling them first if the runtime cache
    /// was cleared.
    pub(crate) fn runtime_objects(&self, root: &Path) -> Result<Vec<PathBuf>, SimError> {
        runtime_objects(toolchain()?, root, &self.obj_dir())
    }
}

/// Verilates and compiles `src` into `dir` (a temporary directory) and links `dir/libvdx.so`.
fn build(tc: &Toolchain, src: &SimSource, trace: bool, dir: &Path, root: &Path) -> Result<(), SimError> {
    let src_dir = dir.join("src");
    fs::create_dir_all(&src_dir).map_err(io_err(&src_dir))?;
    let mut sources = Vec::new();
    // A traced build stays flat: Verilator 5.006 crashes tracing replicated hierarchical blocks,
    // and the traced build only exists to write the waveform of a failing run.
    for f in src.files.iter().filter(|f| !(trace && f.is_verilator_control())) {
        let path = src_dir.join(&f.name);
        fs::write(&path, &f.text).map_err(io_err(&path))?;
        // Headers are reached through `include`, not compiled on their own.
        if !f.name.ends_with(".vh") && !f.name.ends_with(".svh") {
            sources.push(path);
        }
    }
    let obj = dir.join("obj");
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Control files name modules to verilate once and link per instance (`hier_block`): without
    // that, Verilator generates code per instance, and 256 copies of a pipeline take minutes.
    let hierarchical = !trace && src.files.iter().any(|f| f.is_verilator_control());
    let mut cmd = Command::new(&tc.verilator);
    cmd.current_dir(dir)
        .args(VERILATOR_FLAGS)
        .args(hierarchical.then_some("--hierarchical"))
        .args(trace.then_some("--trace"))
        .arg("--top-module")
        .arg(&src.top)
        .arg("-j")
        .arg(jobs.to_string())
        .arg("--Mdir")
        .arg(&obj)
        .arg(format!("-I{}", src_dir.display()))
        .args(&sources)
        .env("CXX", &tc.cxx)
        // A jobserver inherited from an outer make or cargo would point at descriptors we do not
        // pass on.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    let mut log = run_tool("verilator", &mut cmd)?;

    let layout = PortLayout::new(&src.top, &src.ports);
    check_ports(src, &obj.join("Vdut.h"))?;
    let runtime = runtime_objects(tc, root, &obj)?;

    let shim_path = dir.join("shim.cpp");
    fs::write(&shim_path, shim::shim_source(&layout, trace)).map_err(io_err(&shim_path))?;
    let mut link = Command::new(&tc.cxx);
    link.current_dir(dir)
        .args(tc.cxx_args(&obj, trace))
        .args(["-shared", "-Wl,-Bsymbolic", "-o"])
        .arg(dir.join(LIB_NAME))
        .arg(&shim_path)
        // A group, so nested hierarchical blocks resolve whatever their archive order.
        .arg("-Wl,--start-group")
        .args(model_archives(&obj)?)
        .arg("-Wl,--end-group")
        .args(&runtime)
        .args(tc.link_libs());
    log.push_str(&run_tool("g++", &mut link)?);
    let log_path = dir.join("build.log");
    fs::write(&log_path, log).map_err(io_err(&log_path))?;
    Ok(())
}

/// The archives of a verilated model: `Vdut__ALL.a`, then one per hierarchical block (in name
/// order, so the link line is the same on every build).
pub(crate) fn model_archives(obj: &Path) -> Result<Vec<PathBuf>, SimError> {
    let mut blocks = Vec::new();
    for entry in fs::read_dir(obj).map_err(io_err(obj))? {
        let path = entry.map_err(io_err(obj))?.path();
        if path.is_dir() {
            for inner in fs::read_dir(&path).map_err(io_err(&path))? {
                let lib = inner.map_err(io_err(&path))?.path();
                if lib.extension().is_some_and(|e| e == "a") {
                    blocks.push(lib);
                }
            }
        }
    }
    blocks.sort();
    let mut archives = vec![obj.join("Vdut__ALL.a")];
    archives.extend(blocks);
    Ok(archives)
}

/// Compares the ports Verilator generated (from `Vdut.h`) with `src.ports`, because a mismatch
/// would otherwise show up as silently wrong values or an obscure C++ error.
fn check_ports(src: &SimSource, header: &Path) -> Result<(), SimError> {
    let text = fs::read_to_string(header).map_err(io_err(header))?;
    let mut found: Vec<(String, &'static str, u32)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let dir = if line.starts_with("VL_INOUT") {
            "inout"
        } else if line.starts_with("VL_IN") {
            "input"
        } else if line.starts_with("VL_OUT") {
            "output"
        } else {
            continue;
        };
        let Some(args) = line.split_once('(').and_then(|(_, rest)| rest.split_once(')')) else {
            continue;
        };
        let parts: Vec<&str> = args.0.split(',').map(str::trim).collect();
        let (Some(name), Some(msb), Some(lsb)) = (parts.first(), parts.get(1), parts.get(2)) else {
            continue;
        };
        let (Ok(msb), Ok(lsb)) = (msb.parse::<i64>(), lsb.parse::<i64>()) else { continue };
        let width = (msb - lsb).unsigned_abs() as u32 + 1;
        found.push((name.trim_start_matches('&').to_string(), dir, width));
    }
    let mut problems = Vec::new();
    for p in &src.ports {
        let want = if p.dir == PortDir::Input { "input" } else { "output" };
        match found.iter().find(|f| f.0 == p.name) {
            None => problems.push(format!("port `{}` is not a port of the Verilog module", p.name)),
            Some(&(_, dir, width)) if dir != want || width != p.width => problems.push(format!(
                "port `{}`: SimSource says {} {want}, the Verilog has {width}-bit {dir}",
                p.name, p.width
            )),
            Some(_) => {}
        }
    }
    for (name, dir, width) in &found {
        if !src.ports.iter().any(|p| &p.name == name) {
            problems.push(format!("the Verilog has {width}-bit {dir} `{name}`, missing from SimSource"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(header, format!("module `{}` ports disagree: {}", src.top, problems.join("; "))))
    }
}

/// Names of the runtime classes (`verilated`, `verilated_threads`, ...) that Verilator lists in
/// `Vdut_classes.mk` for this model.
fn runtime_classes(obj_dir: &Path) -> Result<Vec<String>, SimError> {
    let path = obj_dir.join("Vdut_classes.mk");
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    let mut names = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("VM_GLOBAL_FAST") || trimmed.starts_with("VM_GLOBAL_SLOW") {
            in_list = trimmed.ends_with('\\');
            continue;
        }
        if in_list {
            in_list = trimmed.ends_with('\\');
            names.extend(trimmed.trim_end_matches('\\').split_whitespace().map(str::to_string));
        }
    }
    if names.is_empty() {
        return Err(SimError::Parse(format!("{}: no runtime classes listed", path.display())));
    }
    Ok(names)
}

/// Paths of the compiled runtime objects the model in `obj_dir` needs, compiling any that are
/// missing (in parallel: `verilated.cpp` alone takes ~5 s).
fn runtime_objects(tc: &Toolchain, root: &Path, obj_dir: &Path) -> Result<Vec<PathBuf>, SimError> {
    let names = runtime_classes(obj_dir)?;
    let mut h = KeyHasher::new("vdx-verilator-runtime");
    h.field(tc.fingerprint.as_bytes());
    // VM_TRACE only sets a compatibility macro in the runtime, so one build serves both variants.
    for arg in tc.cxx_args(Path::new("."), true) {
        h.field(arg.as_bytes());
    }
    let key = h.finish();
    let dir = root.join("runtime").join(&key);
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(format!("{n}.o"))).collect();
    if paths.iter().all(|p| p.is_file()) {
        return Ok(paths);
    }
    let _lock = lock(root, &format!("runtime-{key}"))?;
    let missing: Vec<&String> =
        names.iter().zip(&paths).filter(|(_, p)| !p.is_file()).map(|(n, _)| n).collect();
    if missing.is_empty() {
        return Ok(paths);
    }
    let tmp = temp_dir_in(&dir)?;
    let results: Vec<Result<String, SimError>> = std::thread::scope(|s| {
        let handles: Vec<_> = missing
            .iter()
            .map(|name| {
                let source = tc.include.join(format!("{name}.cpp"));
                let out = tmp.path().join(format!("{name}.o"));
                let mut cmd = Command::new(&tc.cxx);
                cmd.args(tc.cxx_args(tmp.path(), true)).arg("-c").arg("-o").arg(out).arg(source);
                s.spawn(move || run_tool("g++", &mut cmd))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(SimError::Parse("runtime compile thread panicked".to_string())))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    for name in missing {
        let from = tmp.path().join(format!("{name}.o"));
        let to = dir.join(format!("{name}.o"));
        // Renaming a file over an identical one is atomic and harmless.
        fs::rename(&from, &to).map_err(io_err(&to))?;
    }
    Ok(paths)
}
