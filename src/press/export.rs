//! `tocsin press export DIR`: the press room written to a folder, for a static host or a CDN
//! when `tocsin serve` cannot be reached from outside.
//!
//! The folder may hold other files (the IT person's own), so the export keeps a record of what
//! it wrote, [`MANIFEST`], and touches nothing else: it refuses to replace a file it did not
//! write, and removes only files it wrote that the press room no longer has (an update whose
//! approval was revoked). A file whose bytes are already those of the press room is left alone,
//! modification time and all, so a sync to a CDN uploads only what changed. Each file is
//! written under a temporary name in its own folder and renamed over the old one, so a sync
//! running meanwhile copies the old file or the new one, never half of one.

use super::Site;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The record, in the export's folder, of every file the export wrote there.
pub const MANIFEST: &str = ".tocsin-export";

const MANIFEST_HEADING: &str = "\
# Written by `tocsin press export`: the files it wrote in this folder, one path a line.
# Its next run may replace or remove these, and never touches any other file. Do not edit.
";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}: is not a folder; tocsin press export writes into a folder (it makes one if missing)", .0.display())]
    NotAFolder(PathBuf),
    #[error("cannot make the folder {}: {source}", path.display())]
    MakeFolder { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot remove {}: {source}", path.display())]
    Remove { path: PathBuf, source: io::Error },
    #[error(
        "{}, line {line}: {entry:?} is not a path tocsin press export writes; the file was \
         edited: delete that line, or the file and every file it lists",
        manifest.display()
    )]
    Manifest {
        manifest: PathBuf,
        line: usize,
        entry: String,
    },
    #[error(
        "refusing to replace files in {} that tocsin press export did not write (they are not \
         in its {MANIFEST}): {}; move them away, or export into another folder",
        dir.display(),
        some(paths)
    )]
    Foreign { dir: PathBuf, paths: Vec<String> },
    #[error("the press room has a file at {0:?}, which is not a plain relative path")]
    BadPath(String),
}

/// The first few of `paths`, and how many more: an old export without its record can hold
/// hundreds.
fn some(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths[..paths.len().min(SHOWN)].join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    text
}

/// What an export did, path by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// New or changed files, written.
    pub written: Vec<String>,
    /// Files whose bytes on disk were already right: not touched.
    pub unchanged: usize,
    /// Files an earlier export wrote that the press room no longer has: removed.
    pub removed: Vec<String>,
}

/// Writes every file of `site` under `dir` (made if missing), rewriting only what changed and
/// removing what an earlier export wrote that `site` no longer has.
pub fn export(site: &Site, dir: &Path) -> Result<ExportReport, ExportError> {
    for (path, _) in site.files() {
        if !is_plain(path) {
            return Err(ExportError::BadPath(path.to_string()));
        }
    }
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(ExportError::NotAFolder(dir.to_path_buf())),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            std::fs::create_dir_all(dir).map_err(|source| ExportError::MakeFolder {
                path: dir.to_path_buf(),
                source,
            })?
        }
        Err(source) => {
            return Err(ExportError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    let manifest = dir.join(MANIFEST);
    let previous = read_manifest(&manifest)?;

    let mut report = ExportReport::default();
    let mut foreign = Vec::new();
    for (path, file) in site.files() {
        let target = dir.join(path);
        match std::fs::read(&target) {
            Ok(existing) if existing[..] == file.body[..] => report.unchanged += 1,
            Ok(_) if !previous.contains(path) => foreign.push(path.to_string()),
            Ok(_) => report.written.push(path.to_string()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                report.written.push(path.to_string())
            }
            Err(source) => {
                return Err(ExportError::Read {
                    path: target,
                    source,
                })
            }
        }
    }
    if !foreign.is_empty() {
        return Err(ExportError::Foreign {
            dir: dir.to_path_buf(),
            paths: foreign,
        });
    }

    // Recorded before anything is written, so that a run cut short leaves no file of ours
    // that the next run would take for someone else's.
    let current: BTreeSet<String> = site.files().map(|(path, _)| path.to_string()).collect();
    let recorded: BTreeSet<String> = previous.union(&current).cloned().collect();
    if recorded != previous {
        write_manifest(&manifest, &recorded)?;
    }
    for path in &report.written {
        let body = site
            .get(path)
            .map(|file| &file.body[..])
            .unwrap_or_default();
        write_atomically(&dir.join(path), body)?;
    }
    for path in previous.difference(&current) {
        let target = dir.join(path);
        match std::fs::remove_file(&target) {
            Ok(()) => report.removed.push(path.clone()),
            // Gone already (removed by hand): nothing to do but forget it.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ExportError::Remove {
                    path: target,
                    source,
                })
            }
        }
    }
    if current != recorded {
        write_manifest(&manifest, &current)?;
    }
    Ok(report)
}

/// `/`-separated names, none empty, `.`, `..` or hidden (so none is the manifest or a
/// temporary file), nothing a manifest line or another system's path could misread.
fn is_plain(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|name| {
            !name.is_empty()
                && !name.starts_with('.')
                && !name.contains(['\\', ':'])
                && !name.chars().any(char::is_control)
        })
}

fn read_manifest(manifest: &Path) -> Result<BTreeSet<String>, ExportError> {
    let text = match std::fs::read_to_string(manifest) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(source) => {
            return Err(ExportError::Read {
                path: manifest.to_path_buf(),
                source,
            })
        }
    };
    let mut paths = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_plain(line) {
            return Err(ExportError::Manifest {
                manifest: manifest.to_path_buf(),
                line: index + 1,
                entry: line.to_string(),
            });
        }
        paths.insert(line.to_string());
    }
    Ok(paths)
}

fn write_manifest(manifest: &Path, paths: &BTreeSet<String>) -> Result<(), ExportError> {
    let mut text = String::from(MANIFEST_HEADING);
    for path in paths {
        text.push_str(path);
        text.push('\n');
    }
    write_atomically(manifest, text.as_bytes())
}

/// `body` under a temporary name beside `target`, then renamed over it: whoever reads
/// `target` meanwhile sees the old file or the new one.
fn write_atomically(target: &Path, body: &[u8]) -> Result<(), ExportError> {
    let failed = |source| ExportError::Write {
        path: target.to_path_buf(),
        source,
    };
    let folder = target.parent().ok_or_else(|| {
        failed(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a file needs a folder",
        ))
    })?;
    std::fs::create_dir_all(folder).map_err(|source| ExportError::MakeFolder {
        path: folder.to_path_buf(),
        source,
    })?;
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{name}.tocsin-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(body)?;
        // On disk before the rename, so that a power cut cannot leave an empty file under
        // the real name.
        file.sync_all()?;
        std::fs::rename(&temporary, target)
    })();
    written.map_err(|source| {
        // Best effort: the error that matters is the write's, returned below.
        let _ = std::fs::remove_file(&temporary);
        failed(source)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::press::File;
    use std::time::{Duration, SystemTime};

    fn site(files: &[(&str, &str)]) -> Site {
        let mut site = Site::default();
        for (path, body) in files {
            site.insert(
                *path,
                File::new(body.as_bytes().to_vec(), "text/html", Default::default()),
            );
        }
        site
    }

    fn three() -> Site {
        site(&[
            ("index.html", "<h1>Kies uw taal</h1>"),
            ("style.css", "body { margin: 0 }"),
            ("nl/index.html", "<h1>Tijdlijn</h1>"),
        ])
    }

    const LONG_AGO: Duration = Duration::from_secs(1_000_000_000);

    /// Every file under `dir` set to a time long ago, so that a rewrite shows in its mtime.
    fn age(dir: &Path, paths: &[&str]) {
        for path in paths {
            std::fs::File::options()
                .write(true)
                .open(dir.join(path))
                .expect("open")
                .set_modified(SystemTime::UNIX_EPOCH + LONG_AGO)
                .expect("set mtime");
        }
    }

    fn aged(dir: &Path, path: &str) -> bool {
        let modified = std::fs::metadata(dir.join(path))
            .expect("metadata")
            .modified()
            .expect("mtime");
        modified == SystemTime::UNIX_EPOCH + LONG_AGO
    }

    fn read(dir: &Path, path: &str) -> String {
        std::fs::read_to_string(dir.join(path)).expect("read")
    }

    fn listed(dir: &Path) -> Vec<String> {
        read(dir, MANIFEST)
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_first_export_writes_every_file_into_folders_it_makes_and_records_them() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("sub/folder");
        let report = export(&three(), &dir).expect("export");
        assert_eq!(report.written, ["index.html", "nl/index.html", "style.css"]);
        assert_eq!((report.unchanged, report.removed.len()), (0, 0));
        assert_eq!(read(&dir, "nl/index.html"), "<h1>Tijdlijn</h1>");
        assert_eq!(read(&dir, "style.css"), "body { margin: 0 }");
        assert_eq!(listed(&dir), ["index.html", "nl/index.html", "style.css"]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("nl"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, ["index.html"], "no temporary file is left");
    }

    #[test]
    fn a_second_export_of_the_same_site_writes_nothing_and_keeps_every_modification_time() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        export(&three(), dir).expect("first export");
        let every = ["index.html", "nl/index.html", "style.css", MANIFEST];
        age(dir, &every);
        let report = export(&three(), dir).expect("second export");
        assert_eq!(report.written, Vec::<String>::new());
        assert_eq!((report.unchanged, report.removed.len()), (3, 0));
        for path in every {
            assert!(aged(dir, path), "{path} was rewritten");
        }
    }

    #[test]
    fn a_changed_site_rewrites_only_the_files_that_changed() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        export(&three(), dir).expect("first export");
        age(dir, &["index.html", "nl/index.html", "style.css"]);
        let mut changed = three();
        changed.insert(
            "nl/index.html",
            File::new(
                "<h1>Tijdlijn</h1><p>Update 2</p>",
                "text/html",
                Default::default(),
            ),
        );
        changed.insert(
            "nl/AZT-20260114-7KQ4.html",
            File::new("<h1>Update 2</h1>", "text/html", Default::default()),
        );
        let report = export(&changed, dir).expect("second export");
        assert_eq!(
            report.written,
            ["nl/AZT-20260114-7KQ4.html", "nl/index.html"]
        );
        assert_eq!((report.unchanged, report.removed.len()), (2, 0));
        assert_eq!(
            read(dir, "nl/index.html"),
            "<h1>Tijdlijn</h1><p>Update 2</p>"
        );
        assert!(!aged(dir, "nl/index.html"));
        assert!(aged(dir, "index.html") && aged(dir, "style.css"));
        assert_eq!(
            listed(dir),
            [
                "index.html",
                "nl/AZT-20260114-7KQ4.html",
                "nl/index.html",
                "style.css"
            ]
        );
    }

    #[test]
    fn a_file_the_site_no_longer_has_is_removed_only_if_the_export_wrote_it() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        let mut with_update = three();
        with_update.insert(
            "nl/AZT-20260113-X2PQ.html",
            File::new("<h1>Update 1</h1>", "text/html", Default::default()),
        );
        std::fs::create_dir_all(dir.join("nl")).expect("mkdir");
        std::fs::write(dir.join("nl/old-notice.html"), "the hospital's own").expect("write");
        std::fs::write(dir.join("robots.txt"), "User-agent: *").expect("write");
        export(&with_update, dir).expect("first export");

        let report = export(&three(), dir).expect("export after the revocation");
        assert_eq!(report.removed, ["nl/AZT-20260113-X2PQ.html"]);
        assert!(!dir.join("nl/AZT-20260113-X2PQ.html").exists());
        assert_eq!(read(dir, "nl/old-notice.html"), "the hospital's own");
        assert_eq!(read(dir, "robots.txt"), "User-agent: *");
        assert_eq!(listed(dir), ["index.html", "nl/index.html", "style.css"]);

        std::fs::remove_file(dir.join("nl/index.html")).expect("remove");
        let report = export(&site(&[("index.html", "<h1>Kies uw taal</h1>")]), dir)
            .expect("a file removed by hand is forgotten");
        assert_eq!(report.removed, ["style.css"]);
        assert_eq!(listed(dir), ["index.html"]);
    }

    #[test]
    fn a_file_the_export_did_not_write_is_never_replaced_but_an_identical_one_is_taken_over() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        std::fs::write(dir.join("index.html"), "<h1>Our own home page</h1>").expect("write");
        let error = export(&three(), dir).expect_err("a foreign index.html");
        let message = error.to_string();
        assert!(
            message.contains("did not write") && message.contains(": index.html;"),
            "{message}"
        );
        assert!(message.contains(&dir.display().to_string()), "{message}");
        assert_eq!(read(dir, "index.html"), "<h1>Our own home page</h1>");
        assert!(!dir.join("style.css").exists(), "nothing is written");
        assert!(!dir.join(MANIFEST).exists());
        let many: Vec<String> = (1..=12).map(|n| format!("nl/{n}.html")).collect();
        assert!(some(&many).ends_with(", nl/10.html and 2 more"));

        std::fs::write(dir.join("index.html"), "<h1>Kies uw taal</h1>").expect("write");
        let report = export(&three(), dir).expect("the same bytes are ours to keep");
        assert_eq!(report.written, ["nl/index.html", "style.css"]);
        assert_eq!(report.unchanged, 1);
        assert_eq!(listed(dir), ["index.html", "nl/index.html", "style.css"]);
    }

    #[test]
    fn a_folder_that_is_a_file_is_refused_by_name() {
        let temp = tempfile::tempdir().expect("temp dir");
        let file = temp.path().join("press");
        std::fs::write(&file, "not a folder").expect("write");
        let error = export(&three(), &file).expect_err("a file");
        assert!(matches!(error, ExportError::NotAFolder(_)));
        assert!(error.to_string().contains(&file.display().to_string()));

        let under = file.join("sub");
        let error = export(&three(), &under).expect_err("under a file");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot make the folder {}: ", under.display())),
            "{error}"
        );
    }

    #[test]
    fn a_file_in_the_way_of_a_folder_is_named() {
        let temp = tempfile::tempdir().expect("temp dir");
        std::fs::write(temp.path().join("nl"), "a file where a folder goes").expect("write");
        let error = export(&three(), temp.path()).expect_err("nl is a file");
        let message = error.to_string();
        assert!(
            message.contains(&temp.path().join("nl").display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn an_edited_record_cannot_make_the_export_remove_a_file_outside_its_folder() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("export");
        std::fs::write(temp.path().join("precious.txt"), "keep").expect("write");
        export(&three(), &dir).expect("first export");
        let manifest = dir.join(MANIFEST);
        let mut text = read(&dir, MANIFEST);
        text.push_str("../precious.txt\n");
        std::fs::write(&manifest, text).expect("edit the record");
        let error = export(&three(), &dir).expect_err("an edited record");
        assert!(
            error.to_string().contains("line 6: \"../precious.txt\""),
            "{error}"
        );
        assert_eq!(read(temp.path(), "precious.txt"), "keep");
    }

    #[test]
    fn only_plain_relative_paths_are_written() {
        for bad in [
            "",
            "/etc/passwd",
            "../up.html",
            "nl//x.html",
            ".tocsin-export",
            "nl/.x",
        ] {
            let temp = tempfile::tempdir().expect("temp dir");
            let error = export(&site(&[(bad, "x")]), temp.path()).expect_err(bad);
            assert!(matches!(error, ExportError::BadPath(_)), "{bad}: {error}");
        }
        assert!(is_plain("cap/AZT-20260113-X2PQ.xml"));
    }
}
