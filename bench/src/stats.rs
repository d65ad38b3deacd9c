//! Latency samples, percentiles, result lines, and generated test messages.

use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latency samples per command name.
#[derive(Default)]
pub struct Latencies {
    samples: BTreeMap<String, Vec<Duration>>,
}

impl Latencies {
    /// Adds one sample.
    pub fn add(&mut self, command: &str, d: Duration) {
        self.samples.entry(command.to_string()).or_default().push(d);
    }

    /// Merges another set in.
    pub fn merge(&mut self, other: Latencies) {
        for (k, mut v) in other.samples {
            self.samples.entry(k).or_default().append(&mut v);
        }
    }

    /// All samples in all commands.
    pub fn total(&self) -> usize {
        self.samples.values().map(Vec::len).sum()
    }

    /// `(command, count, p50, p99)` per command, sorted by name.
    pub fn percentiles(&mut self) -> Vec<(String, usize, Duration, Duration)> {
        self.samples
            .iter_mut()
            .map(|(k, v)| {
                v.sort();
                (k.clone(), v.len(), percentile(v, 50.0), percentile(v, 99.0))
            })
            .collect()
    }
}

/// The nearest-rank percentile of sorted samples (zero when empty).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of values (mean of the middle two when even); None when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Prints one machine-readable result line: `RESULT metric value unit`.
/// `bench/run` collects these; `sealpost-bench report` tabulates them.
pub fn result(metric: &str, value: f64, unit: &str) {
    println!("RESULT {metric} {value:.3} {unit}");
}

/// Prints the per-command latency lines of a workload.
pub fn print_latencies(prefix: &str, lat: &mut Latencies) {
    for (cmd, n, p50, p99) in lat.percentiles() {
        let cmd = cmd.to_ascii_lowercase();
        println!("# {prefix} {cmd}: n={n}");
        result(&format!("{prefix}_{cmd}_p50"), ms(p50), "ms");
        result(&format!("{prefix}_{cmd}_p99"), ms(p99), "ms");
    }
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const WORDS: &[&str] = &[
    "mail",
    "server",
    "latency",
    "europe",
    "hosting",
    "mailbox",
    "privacy",
    "message",
    "quarterly",
    "report",
    "meeting",
    "invoice",
    "the",
    "and",
    "of",
    "delivery",
    "archive",
    "please",
    "review",
    "attached",
    "thanks",
    "regards",
    "schedule",
    "update",
];

/// An RFC 5322 message of about `size` octets (CRLF lines of at most 78
/// characters, no line starting with a dot, so it needs no dot-stuffing).
pub fn message(rng: &mut impl Rng, from: &str, to: &str, size: usize) -> Vec<u8> {
    let id: u64 = rng.r#gen();
    let mut m = format!(
        "From: Bench Sender <{from}>\r\nTo: <{to}>\r\nSubject: benchmark message {id:016x}\r\n\
         Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <{id:016x}@bench.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .into_bytes();
    let mut line = String::new();
    while m.len() + line.len() < size {
        let w = WORDS[rng.gen_range(0..WORDS.len())];
        if line.len() + w.len() + 1 > 76 {
            m.extend_from_slice(line.as_bytes());
            m.extend_from_slice(b"\r\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    m.extend_from_slice(line.as_bytes());
    m.extend_from_slice(b"\r\n");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn messages_have_size_and_shape() {
        let mut rng = rand::thread_rng();
        for size in [300, 2048, 50 * 1024] {
            let m = message(&mut rng, "a@b.test", "c@d.test", size);
            assert!(
                m.len() >= size && m.len() < size + 80,
                "{} vs {size}",
                m.len()
            );
            let text = std::str::from_utf8(&m).unwrap();
            assert!(
                text.split("\r\n")
                    .all(|l| l.len() <= 78 && !l.starts_with('.'))
            );
            assert!(!text.replace("\r\n", "").contains('\n'));
            assert!(text.ends_with("\r\n"));
        }
    }
}
