//! What may be read as an artifact, a digest file or a checksum list: regular files only.
//!
//! A FIFO blocks whoever opens it until a writer comes (forever, in CI), and a device such as
//! `/dev/zero` never ends; both look empty to `metadata().len()`. So the file type is checked
//! with `metadata` (which opens nothing) before any open, and again on the open handle.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;

/// What a path that is not a regular file is, as an error message says it (`is a FIFO`); `None`
/// for a regular file. `meta` comes from `std::fs::metadata`, so a symlink counts as its target.
pub fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("is a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return Some("is a FIFO (named pipe)");
        }
        if kind.is_socket() {
            return Some("is a socket");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("is a device");
        }
    }
    Some("is not a regular file")
}

/// Opens a regular file for reading; anything else is refused before it is opened. Where the
/// flag's value is known, the open does not block either, so a FIFO swapped in between the
/// check and the open is refused by the second check instead of hanging the run.
pub fn open_regular(path: &Path) -> io::Result<File> {
    refuse_other(&std::fs::metadata(path)?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    non_blocking(&mut options);
    let file = options.open(path)?;
    refuse_other(&file.metadata()?)?;
    Ok(file)
}

fn refuse_other(meta: &Metadata) -> io::Result<()> {
    match not_regular(meta) {
        Some(kind) => Err(io::Error::new(io::ErrorKind::InvalidInput, kind)),
        None => Ok(()),
    }
}

/// `O_NONBLOCK`, which only FIFOs and devices heed: a FIFO put in a regular file's place after
/// the check must not hang the open. Its value differs between platforms, so it comes from libc.
#[cfg(unix)]
fn non_blocking(options: &mut std::fs::OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.custom_flags(libc::O_NONBLOCK);
}

/// Elsewhere no FIFO can stand at a path in the workspace.
#[cfg(not(unix))]
fn non_blocking(_options: &mut std::fs::OpenOptions) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_open_and_directories_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        std::fs::write(&file, b"x").unwrap();
        assert!(open_regular(&file).is_ok());
        let e = open_regular(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), "is a directory");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_named_and_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // Opening a FIFO without a writer would block this test forever.
        assert_eq!(open_regular(&fifo).unwrap_err().to_string(), "is a FIFO (named pipe)");
        assert_eq!(open_regular(Path::new("/dev/null")).unwrap_err().to_string(), "is a device");
        assert_eq!(not_regular(&std::fs::metadata("/dev/zero").unwrap()), Some("is a device"));
    }
}
