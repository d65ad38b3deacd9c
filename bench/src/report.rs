//! The results table: medians over rounds of every `RESULT` line, sealpost
//! against the peer, as a ratio oriented so that above 1 means sealpost is
//! better (throughput: sealpost/peer; time and memory: peer/sealpost).
//!
//! `bench/run` stores each workload's output as
//! `DIR/<round>/<server>/<workload>.out` with `<server>` one of `sealpost`
//! and `peer`.

use crate::stats::median;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// metric -> (unit, sealpost values, peer values)
type Table = BTreeMap<String, (String, Vec<f64>, Vec<f64>)>;

fn collect(dir: &Path, table: &mut Table, depth: usize) -> Result<()> {
    if depth > 4 {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = e?.path();
        if path.is_dir() {
            collect(&path, table, depth + 1)?;
            continue;
        }
        if path.extension().is_none_or(|x| x != "out") {
            continue;
        }
        let server = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or("");
        let is_sealpost = match server {
            "sealpost" => true,
            "peer" => false,
            _ => continue,
        };
        let text = std::fs::read_to_string(&path)?;
        parse(&text, is_sealpost, table);
    }
    Ok(())
}

fn parse(text: &str, is_sealpost: bool, table: &mut Table) {
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("RESULT") {
            continue;
        }
        let (Some(metric), Some(value), Some(unit)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let entry = table
            .entry(metric.to_string())
            .or_insert_with(|| (unit.to_string(), Vec::new(), Vec::new()));
        if is_sealpost {
            entry.1.push(value);
        } else {
            entry.2.push(value);
        }
    }
}

/// Whether a larger value is better for this unit (None: not compared).
fn higher_is_better(unit: &str) -> Option<bool> {
    match unit {
        "ms" | "KiB" => Some(false),
        "messages" | "count" => None,
        _ => Some(true),
    }
}

/// Sealpost's advantage: above 1 means sealpost did better.
pub fn ratio(unit: &str, sealpost: f64, peer: f64) -> Option<f64> {
    let higher = higher_is_better(unit)?;
    let (num, den) = if higher {
        (sealpost, peer)
    } else {
        (peer, sealpost)
    };
    (den > 0.0).then(|| num / den)
}

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The Markdown table of every metric found under `dir`.
pub fn table(dir: &Path) -> Result<String> {
    let mut t = Table::new();
    collect(dir, &mut t, 0)?;
    let mut out = String::new();
    out.push_str("| workload metric | unit | sealpost | peer | ratio (>1: sealpost better) | rounds (s/p) |\n");
    out.push_str("|---|---|---:|---:|---:|---|\n");
    for (metric, (unit, mut s, mut p)) in t {
        let (ms, mp) = (median(&mut s), median(&mut p));
        let r = match (ms, mp) {
            (Some(a), Some(b)) => ratio(&unit, a, b),
            _ => None,
        };
        let r = r.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {metric} | {unit} | {} | {} | {r} | {}/{} |",
            fmt(ms),
            fmt(mp),
            s.len(),
            p.len()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_point_the_same_way() {
        assert_eq!(ratio("ops/s", 200.0, 100.0), Some(2.0));
        assert_eq!(ratio("ms", 10.0, 50.0), Some(5.0));
        assert_eq!(ratio("KiB", 50.0, 500.0), Some(10.0));
        assert_eq!(ratio("messages", 1.0, 1.0), None);
        assert_eq!(ratio("count", 8.0, 1.0), None);
        assert_eq!(ratio("ops/s", 1.0, 0.0), None);
    }

    #[test]
    fn medians_per_server() {
        let dir = tempfile::tempdir().unwrap();
        for (round, s, p) in [(1, "10", "5"), (2, "30", "5"), (3, "20", "20")] {
            for (server, v) in [("sealpost", s), ("peer", p)] {
                let d = dir.path().join(round.to_string()).join(server);
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(
                    d.join("x.out"),
                    format!("# noise\nRESULT x_ops_per_s {v} ops/s\nRESULT x_p50 {v} ms\n"),
                )
                .unwrap();
            }
        }
        let t = table(dir.path()).unwrap();
        assert!(
            t.contains("| x_ops_per_s | ops/s | 20.0 | 5.00 | 4.00x | 3/3 |"),
            "{t}"
        );
        assert!(
            t.contains("| x_p50 | ms | 20.0 | 5.00 | 0.25x | 3/3 |"),
            "{t}"
        );
    }
}
