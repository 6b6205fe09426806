//! Readings of this process and of the machine: CPU time, memory, load.

use std::time::{Duration, Instant};

/// CPU time (user + system, every thread) this process has used so far, in seconds.
pub fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given, which is large enough.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return f64::NAN;
    }
    // SAFETY: getrusage succeeded, so it filled the struct (which started zeroed anyway).
    let usage = unsafe { usage.assume_init() };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// CPU time one thread of this process has used so far, in seconds.
pub fn thread_cpu_seconds(tid: &str) -> f64 {
    cpu_in(&format!("/proc/self/task/{tid}/stat"))
}

/// CPU time another process (every thread) has used so far, in seconds; NaN once it is gone.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    cpu_in(&format!("/proc/{pid}/stat"))
}

/// The calling thread's id, as `/proc/self/task/` names it.
pub fn current_tid() -> String {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| {
            link.file_name()
                .map(|tid| tid.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}

/// User and system CPU time in a /proc `stat` file, in seconds.
fn cpu_in(path: &str) -> f64 {
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

/// CPU time the whole machine has spent busy (every core, every process), from /proc/stat.
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (ticks.iter().take(8).sum::<f64>() - idle) / 100.0
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The machine's load averages: other work on the machine skews every figure here.
pub fn load_average() -> String {
    let raw = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    raw.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Wall and CPU time of a phase, and how busy the rest of the machine was meanwhile.
pub struct Stopwatch {
    wall: Instant,
    cpu: f64,
    machine: f64,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    pub fn stop(&self) -> Lap {
        let wall = self.wall.elapsed();
        let cpu = cpu_seconds() - self.cpu;
        Lap {
            wall,
            cpu,
            others: (machine_busy_seconds() - self.machine - cpu).max(0.0),
        }
    }
}

/// What a `Stopwatch` measured.
pub struct Lap {
    pub wall: Duration,
    /// CPU seconds of this process, every thread.
    pub cpu: f64,
    /// CPU seconds of everything else on the machine (other processes, interrupts).
    others: f64,
}

impl Lap {
    /// CPU time of this process per item, in µs.
    pub fn cpu_per_item(&self, items: u64) -> f64 {
        self.cpu * 1e6 / items.max(1) as f64
    }

    /// CPU per item, how busy the process kept the machine (a phase that waits shows few busy
    /// cores), and how busy the rest of the machine was (a phase slowed down by someone
    /// else's build shows it here).
    pub fn note(&self, items: u64) -> String {
        let wall = self.wall.as_secs_f64().max(1e-9);
        format!(
            "CPU {:.2} s ({:.1} µs per item), {:.2} of {} cores busy, the rest of the machine \
             {:.2}, load average {}",
            self.cpu,
            self.cpu_per_item(items),
            self.cpu / wall,
            cores(),
            self.others / wall,
            load_average()
        )
    }
}

/// Fields of /proc/self/status, in MB, in the order asked (NaN if missing).
pub fn status_mb<const N: usize>(names: [&str; N]) -> [f64; N] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    names.map(|name| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim_start_matches(':')
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb / 1024.0)
    })
}

/// Prints the peak and current resident memory, the current split into the heap (anonymous),
/// mapped files and shared memory (SQLite's WAL index), and returns the peak.
pub fn print_memory(phase: &str) -> f64 {
    let [peak, now, anon, file, shmem] =
        status_mb(["VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"]);
    // SAFETY: sqlite3_memory_used only reads SQLite's own counter.
    let sqlite = unsafe { libsqlite3_sys::sqlite3_memory_used() } as f64 / 1_048_576.0;
    println!(
        "  memory after {phase}: VmHWM {peak:.1} MB (VmRSS now {now:.1} MB: \
         heap {anon:.1} of which SQLite {sqlite:.1}, files {file:.1}, shared {shmem:.1})"
    );
    peak
}
