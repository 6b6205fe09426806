//! What the benchmarks share: the summary table of figures against their targets, readings of
//! the process and the machine, instruction counts, and the in-process reference peers.
//! Each benchmark compiles all of it and uses its part.
#![allow(dead_code)]

pub mod callgrind;
pub mod http;
pub mod kannel;
pub mod measure;
pub mod sms_day;
pub mod smtp_sink;
pub mod telegram;

use std::sync::atomic::Ordering;
use std::time::Duration;
use tocsin::dispatch::Tally;

/// A benchmark's command line: `--name value` or `--name=value` for the names it takes a
/// number (or a text) for, and the switches `--counted` (this process runs under callgrind)
/// and `--no-count` (skip that run). Anything else, such as cargo's `--bench`, is ignored.
pub struct Flags {
    numbers: std::collections::HashMap<String, usize>,
    texts: std::collections::HashMap<String, String>,
    pub counted: bool,
    pub no_count: bool,
}

impl Flags {
    pub fn read(numbers: &[&str]) -> anyhow::Result<Flags> {
        Flags::read_with_texts(numbers, &[])
    }

    /// As [`Flags::read`], with `texts` the names that take any text (a URL, a list).
    pub fn read_with_texts(numbers: &[&str], texts: &[&str]) -> anyhow::Result<Flags> {
        let mut flags = Flags {
            numbers: std::collections::HashMap::new(),
            texts: std::collections::HashMap::new(),
            counted: false,
            no_count: false,
        };
        let mut raw = std::env::args().skip(1);
        while let Some(arg) = raw.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            match name.as_str() {
                callgrind::COUNTED => flags.counted = true,
                "--no-count" => flags.no_count = true,
                _ if texts.contains(&name.as_str()) => {
                    let value = match inline {
                        Some(value) => value,
                        None => raw
                            .next()
                            .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?,
                    };
                    flags.texts.insert(name, value);
                }
                _ if numbers.contains(&name.as_str()) => {
                    let value = match inline {
                        Some(value) => value,
                        None => raw
                            .next()
                            .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?,
                    };
                    let number: usize = value
                        .replace('_', "")
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{name} {value}: not a number"))?;
                    if number == 0 {
                        anyhow::bail!("{name} must be at least 1");
                    }
                    flags.numbers.insert(name, number);
                }
                _ => {}
            }
        }
        Ok(flags)
    }

    /// The number given for `name`, if it was.
    pub fn number(&self, name: &str) -> Option<usize> {
        self.numbers.get(name).copied()
    }

    /// The text given for `name`, if it was.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts.get(name).map(String::as_str)
    }
}

/// Runs a benchmark's future on a multi-threaded runtime, logging as `tocsin serve` and
/// `update send` do: warnings only, to stderr.
pub fn block_on(
    benchmark: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(benchmark)
}

/// One line of the summary table.
pub struct Figure {
    pub name: String,
    pub value: String,
    pub target: String,
    pub verdict: &'static str,
}

#[derive(Default)]
pub struct Summary(pub Vec<Figure>);

impl Summary {
    pub fn info(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Figure {
            name: name.into(),
            value: value.into(),
            target: "-".into(),
            verdict: "",
        });
    }

    pub fn at_least(&mut self, name: impl Into<String>, value: f64, unit: &str, target: f64) {
        self.0.push(Figure {
            name: name.into(),
            value: format!("{} {unit}", thousands(value)),
            target: format!(">= {} {unit}", thousands(target)),
            verdict: if value >= target { "PASS" } else { "BELOW" },
        });
    }

    pub fn print(&self) {
        let width = |column: fn(&Figure) -> usize, title: &str| {
            self.0
                .iter()
                .map(column)
                .max()
                .unwrap_or(0)
                .max(title.len())
        };
        let name = width(|f| f.name.len(), "figure");
        let value = width(|f| f.value.len(), "measured");
        let target = width(|f| f.target.len(), "target");
        println!();
        println!("Summary");
        println!(
            "{:<name$}  {:>value$}  {:<target$}  result",
            "figure", "measured", "target"
        );
        println!("{}", "-".repeat(name + value + target + 12));
        for f in &self.0 {
            println!(
                "{:<name$}  {:>value$}  {:<target$}  {}",
                f.name, f.value, f.target, f.verdict
            );
        }
        println!("load average at the end: {}", measure::load_average());
    }
}

/// 12345.6 → "12,346".
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Items per second.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// What did not end `sent` in a dispatch run, for its summary line.
pub fn not_sent(tally: &Tally) -> String {
    format!(
        "{} failed, {} undeliverable, {} uncertain, {} waiting",
        tally.failed.load(Ordering::Relaxed),
        tally.undeliverable.load(Ordering::Relaxed),
        tally.uncertain.load(Ordering::Relaxed),
        tally.waiting.load(Ordering::Relaxed)
    )
}
