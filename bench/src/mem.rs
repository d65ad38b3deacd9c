//! Server memory from /proc (proc(5)): the resident set of one process, or
//! the proportional set size summed over a process tree, which counts pages
//! shared between a multi-process server's processes once in all.

use anyhow::{Context, Result};
use std::collections::HashMap;

/// The `Name:   N kB` value from a /proc status-like file.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    kib_field(&s, "VmRSS").context("no VmRSS")
}

/// The parent of every process, from /proc/PID/stat (field 4, after the
/// parenthesized command name, which may itself hold spaces).
fn parents() -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        {
            out.insert(pid, ppid);
        }
    }
    out
}

/// `root` and all its descendants.
pub fn tree(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parents.iter().filter(|&(_, &pp)| pp == p).map(|(&c, _)| c));
        i += 1;
    }
    out
}

/// Sum of Pss (KiB) from smaps_rollup over `root` and its descendants;
/// processes that exit meanwhile are skipped.
pub fn pss_tree_kib(root: u32) -> Result<u64> {
    let pids = tree(root);
    let mut sum = 0;
    let mut seen = 0;
    for pid in pids {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            && let Some(k) = kib_field(&s, "Pss")
        {
            sum += k;
            seen += 1;
        }
    }
    anyhow::ensure!(seen > 0, "no readable smaps_rollup under pid {root}");
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let s = "Name:\tx\nVmRSS:\t  1234 kB\nPss:    77 kB\nPss_Anon:  5 kB\n";
        assert_eq!(kib_field(s, "VmRSS"), Some(1234));
        assert_eq!(kib_field(s, "Pss"), Some(77));
        assert_eq!(kib_field(s, "Nope"), None);
    }

    #[test]
    fn own_process_is_measured() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(pss_tree_kib(me).unwrap() > 0);
        assert!(tree(me).contains(&me));
    }
}
