//! Running external tools with argument vectors (never through a shell), with failures that
//! carry the command and the tail of the tool's output.

use super::SimError;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Lines of tool output kept in a [`SimError::ToolFailed`].
pub(crate) const TAIL_LINES: usize = 60;

/// Runs `cmd`, returning its stdout and stderr; a failure carries the command and the output tail.
pub(crate) fn run_tool(tool: &str, cmd: &mut Command) -> Result<String, SimError> {
    let shown = display_command(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SimError::Io { path: PathBuf::from(cmd.get_program()), source })?;
    // stderr last: that is where compilers put the error the tail must show.
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(SimError::ToolFailed {
            tool: tool.to_string(),
            command: shown,
            status: out.status.to_string(),
            output: tail(&text, TAIL_LINES),
        });
    }
    Ok(text)
}

/// The last `lines` lines of `text`, saying how many were dropped.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[... {start} earlier lines ...]\n"));
    }
    out.push_str(&all[start..].join("\n"));
    out
}

/// The command as a user could paste it into a shell (display only: it is never run that way).
pub(crate) fn display_command(cmd: &Command) -> String {
    let quote = |s: &str| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=+,:@%".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut parts = vec![quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    let line = parts.join(" ");
    match cmd.get_current_dir() {
        Some(dir) => format!("cd {} && {line}", quote(&dir.to_string_lossy())),
        None => line,
    }
}
