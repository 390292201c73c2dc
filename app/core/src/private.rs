//! Files only the device's user may read.
//!
//! The data directory holds the wrapped data key, the encrypted database with its WAL and
//! shared-memory files, the photo vault and the PIN attempt counter. Encrypted or not, none
//! of it is for other accounts on the machine: a copy of `key.json` and the database is
//! what an offline PIN search starts from. Every creator under the data directory goes
//! through this module, which sets the mode when the file or directory is created
//! (`0700` directories, `0600` files) instead of relying on the process's umask:
//!
//! - the data directory and the photo vault's directories: [`create_dir`];
//! - the key file, the attempt counter, photo files (their temporary files, renamed into
//!   place): [`create_file`] / [`open_or_create`];
//! - the database: created empty with `0600` by [`create_file`] before SQLite opens it;
//!   SQLite gives its `-wal`, `-shm` and `-journal` files the mode of the database file.
//!
//! A data directory made by an older build is tightened when it is opened ([`tighten`]).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of directories under the data directory (and of the directory itself).
pub const DIR_MODE: u32 = 0o700;
/// Mode of files under the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Create `dir` and any missing parents with mode `0700` (existing ones are left as
/// they are, except `dir` itself, which is tightened to `0700`).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    restrict(dir, DIR_MODE)
}

/// Create (or truncate) `path` for writing, mode `0600`.
pub fn create_file(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    // An existing file keeps its mode through `open`: make it private too.
    restrict_file(&f, FILE_MODE)?;
    Ok(f)
}

/// Open `path` for reading and writing, creating it empty with mode `0600` if missing.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)?;
    Ok(f)
}

fn restrict_file(f: &File, mode: u32) -> io::Result<()> {
    let meta = f.metadata()?;
    if meta.is_file() && meta.permissions().mode() & 0o777 & !mode != 0 {
        f.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.permissions().mode() & 0o777 & !mode != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Take group and other access away from the data directory and the files an older build
/// created readable by all (the key file, the database and its WAL/shared-memory files,
/// the photo vault). Symbolic links and special files are left alone.
pub fn tighten(data_dir: &Path) -> io::Result<()> {
    restrict(data_dir, DIR_MODE)?;
    tighten_tree(data_dir, 0)
}

/// [`tighten`], when the data directory is open to others (left by an older build); a
/// private directory is not walked again. Best effort: what cannot be changed stays.
pub fn tighten_if_open(data_dir: &Path) {
    let open = fs::metadata(data_dir)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false);
    if open {
        let _ = tighten(data_dir);
    }
}

fn tighten_tree(dir: &Path, depth: usize) -> io::Result<()> {
    if depth > 3 {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            restrict(&entry.path(), DIR_MODE)?;
            tighten_tree(&entry.path(), depth + 1)?;
        } else if ty.is_file() {
            restrict(&entry.path(), FILE_MODE)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_files_and_directories_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        let f = dir.join("f");
        create_file(&f).unwrap();
        let g = dir.join("g");
        open_or_create(&g).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&g), 0o600);
    }

    #[test]
    fn an_old_data_directory_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir(d.join("photos")).unwrap();
        fs::write(d.join("key.json"), b"{}").unwrap();
        fs::write(d.join("photos/x"), b"x").unwrap();
        for p in [d.to_path_buf(), d.join("photos")] {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [d.join("key.json"), d.join("photos/x")] {
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        }
        tighten(d).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(d), 0o700);
        assert_eq!(mode(&d.join("photos")), 0o700);
        assert_eq!(mode(&d.join("key.json")), 0o600);
        assert_eq!(mode(&d.join("photos/x")), 0o600);
    }
}
