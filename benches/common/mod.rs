//! What the benchmarks share: the summary table of figures against their targets, and readings
//! of this process and machine from /proc.

use std::sync::atomic::Ordering;
use std::time::Duration;
use tocsin::dispatch::Tally;

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

/// User and system CPU time in a /proc `stat` file, in seconds.
pub fn cpu_in(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // After the command name (in parentheses, possibly with spaces): utime and stime are
    // fields 14 and 15, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or_else(Vec::new, |(_, rest)| rest.split_whitespace().collect());
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The machine's load averages: other work on the machine skews every figure here.
pub fn load_average() -> String {
    let raw = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    raw.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
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
