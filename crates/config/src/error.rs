//! Configuration errors: every one names the file, and where it can, the key and line.

use std::fmt;
use std::path::PathBuf;

/// Where in a config file something was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub column: usize,
}

impl Location {
    /// Computes the line and column of a byte offset in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }
}

/// A configuration problem, rendered as one line: `FILE:LINE:COL: key `a.b`: what is wrong`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// The dotted key path, when known (`listen.imaps[0]`).
    pub key: Option<String>,
    /// Line and column, when known.
    pub location: Option<Location>,
    /// What is wrong, in one line.
    pub message: String,
}

impl ConfigError {
    /// An error about a whole file (unreadable, not found).
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            key: None,
            location: None,
            message: message.into(),
        }
    }

    /// An error about one key, with its location if known.
    pub fn key(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.into(),
            key: Some(key.into()),
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = &self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        // Keep the message on one line whatever the parser produced.
        let one_line: String = self
            .message
            .split('\n')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        write!(f, "{one_line}")
    }
}
