//! Instructions counted by valgrind's callgrind: figures that depend neither on the machine's
//! speed nor on its load, unlike rates and CPU times, so a regression can be told from a
//! slower or busier machine.
//!
//! A benchmark runs itself again under `valgrind --tool=callgrind --instr-atstart=no` on a
//! smaller load (`run_counted`, which adds `--counted` to its arguments). In that run each hot
//! phase sits between `start` and `stop`: client requests that switch the instrumentation on,
//! then dump the count of every thread and switch it off, so setup is not counted. Outside
//! valgrind the requests are a handful of instructions that do nothing.

use super::{thousands, Summary};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The argument `run_counted` adds: the process runs under callgrind.
pub const COUNTED: &str = "--counted";

// Callgrind's client requests (valgrind/callgrind.h): VG_USERREQ_TOOL_BASE('C', 'T') + n.
const BASE: u64 = ((b'C' as u64) << 24) | ((b'T' as u64) << 16);
const ZERO_STATS: u64 = BASE + 1;
const DUMP_STATS_AT: u64 = BASE + 3;
const START_INSTRUMENTATION: u64 = BASE + 4;
const STOP_INSTRUMENTATION: u64 = BASE + 5;

/// Counting starts: every thread's instructions from here to `stop`.
pub fn start() {
    request(START_INSTRUMENTATION, 0);
    request(ZERO_STATS, 0);
}

/// Counting stops; the count is written as the phase `name` of `items` items.
pub fn stop(name: &str, items: u64) {
    let label = format!("{name}|{items}\0");
    request(DUMP_STATS_AT, label.as_ptr() as u64);
    request(STOP_INSTRUMENTATION, 0);
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn request(code: u64, argument: u64) {
    let arguments: [u64; 6] = [code, argument, 0, 0, 0, 0];
    // SAFETY: valgrind's special instruction sequence (valgrind.h, amd64): the four rotations
    // add up to 128 bits and leave rdi as it was, and `xchg rbx, rbx` changes nothing; under
    // valgrind, the sequence hands it the request that rax points to and sets rdx.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") arguments.as_ptr(),
            inout("rdx") 0u64 => _,
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn request(_code: u64, _argument: u64) {}

/// One counted phase.
pub struct Count {
    pub name: String,
    pub items: u64,
    pub instructions: u64,
}

impl Count {
    pub fn per_item(&self) -> f64 {
        self.instructions as f64 / self.items.max(1) as f64
    }
}

/// Runs this benchmark again under callgrind on a smaller load (`load`, e.g. "10000 patients",
/// set by `arguments`) and adds the instructions per `unit` of each of `phases` to the summary;
/// those marked `true` also as a multiple of the reference peer's phase `peer` (named `whose`).
pub fn count_into(
    summary: &mut Summary,
    load: &str,
    arguments: &[(&str, &str)],
    phases: &[(&str, &str, bool)],
    peer: Option<(&str, &str)>,
) -> Result<()> {
    println!(
        "\nInstructions, counted by callgrind in a run of {load} (valgrind is ~50x slower: a few \
         minutes)"
    );
    let mut all: Vec<String> = std::env::args().skip(1).collect();
    for (name, value) in arguments {
        all.extend([name.to_string(), value.to_string()]);
    }
    let Some(counts) = tokio::task::block_in_place(|| run_counted(&all))? else {
        summary.info("instructions per item", "NOT COUNTED: no valgrind");
        return Ok(());
    };
    print(&counts);
    let reference = peer.and_then(|(name, whose)| Some((whose, per_item(&counts, name)?)));
    for &(name, unit, beside_peer) in phases {
        let Some(ours) = per_item(&counts, name) else {
            continue;
        };
        let versus = match reference {
            Some((whose, theirs)) if beside_peer => {
                format!(" ({:.1}x {whose})", ours / theirs)
            }
            _ => String::new(),
        };
        summary.info(
            format!("{name}, instructions per {unit}"),
            format!("{}{versus}", thousands(ours)),
        );
    }
    Ok(())
}

/// One line per counted phase.
fn print(counts: &[Count]) {
    for count in counts {
        println!(
            "  {}: {} instructions per item ({} items)",
            count.name,
            thousands(count.per_item()),
            count.items
        );
    }
}

/// The instructions per item of the phase `name`, if it was counted.
fn per_item(counts: &[Count], name: &str) -> Option<f64> {
    counts
        .iter()
        .find(|count| count.name == name)
        .map(Count::per_item)
}

/// Runs this benchmark again under callgrind with `arguments` (and `--counted`, children
/// included) and returns its counted phases in order; None, after saying so loudly, where
/// valgrind cannot count.
pub fn run_counted(arguments: &[String]) -> Result<Option<Vec<Count>>> {
    if !valgrind_installed() {
        println!();
        println!(
            "!!! NO INSTRUCTION COUNTS: valgrind is not installed (or this is not x86-64 Linux)."
        );
        println!("!!! The rates and CPU times above depend on this machine and its load; install");
        println!(
            "!!! valgrind (apt-get install valgrind) for the figures that compare across machines."
        );
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--instr-atstart=no")
        .arg("--trace-children=yes")
        .arg(format!(
            "--callgrind-out-file={}",
            dir.path().join("callgrind.%p").display()
        ))
        .arg(format!(
            "--log-file={}",
            dir.path().join("valgrind.%p.log").display()
        ))
        .arg(std::env::current_exe()?)
        .args(arguments)
        .arg(COUNTED)
        .stdout(std::fs::File::create(dir.path().join("valgrind.stdout"))?)
        .status()
        .context("starting valgrind")?;
    if !status.success() {
        for log in files(dir.path(), "valgrind.")? {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            println!("{}:", log.display());
            for line in &lines[lines.len().saturating_sub(20)..] {
                println!("  {line}");
            }
        }
        bail!("the counted run under valgrind failed: {status}");
    }
    // Dumps are `callgrind.<pid>.<n>`; the file without a number is the rest of the run.
    let mut dumps: Vec<((u64, u64), Count)> = Vec::new();
    for path in files(dir.path(), "callgrind.")? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let mut numbers = name.split('.').skip(1).map(|n| n.parse::<u64>().ok());
        let (Some(Some(pid)), Some(Some(part))) = (numbers.next(), numbers.next()) else {
            continue;
        };
        if let Some(count) = read_dump(&path)? {
            dumps.push(((pid, part), count));
        }
    }
    dumps.sort_by_key(|(order, _)| *order);
    Ok(Some(dumps.into_iter().map(|(_, count)| count).collect()))
}

/// Whether valgrind can count here: installed, on x86-64 Linux.
pub fn valgrind_installed() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
        && Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
}

fn files(dir: &Path, prefix: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with(prefix))
        {
            out.push(path);
        }
    }
    Ok(out)
}

/// A dump written by `stop`: its label and its total of instructions.
fn read_dump(path: &Path) -> Result<Option<Count>> {
    let text = std::fs::read_to_string(path)?;
    let mut label = None;
    let mut total = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("desc: Trigger: Client Request: ") {
            label = rest.rsplit_once('|');
        } else if let Some(rest) = line.strip_prefix("totals: ") {
            total = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    let (Some((name, items)), Some(instructions)) = (label, total) else {
        return Ok(None);
    };
    Ok(Some(Count {
        name: name.to_string(),
        items: items
            .parse()
            .with_context(|| format!("{}: items {items:?}", path.display()))?,
        instructions,
    }))
}

/// The total of instructions in a dump, whoever asked for it (`callgrind_control --dump` from
/// outside the process included).
pub fn total_in(path: &Path) -> Result<Option<u64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix("totals: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok()))
}
