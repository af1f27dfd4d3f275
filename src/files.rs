//! The library's file I/O, all of it: reading a whole text file with a size limit, and writing
//! a file atomically. Every file the project writes (models, pictures, predictions) goes
//! through [`write_atomically`].

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes the temporary files of writes in flight in this process.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Reads a whole file as UTF-8 text, refusing one over `max_bytes` before reading it (by its
/// declared size) and while reading it (for files that grow or declare no size).
pub(crate) fn read_to_string_limited(path: &Path, max_bytes: u64) -> Result<String> {
    let shown = || format!("{:?}", path.display().to_string());
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let too_large = |size: u64| Error::TooLarge {
        what: format!("the file {}", shown()),
        size,
        unit: "bytes",
        limit: max_bytes,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let declared = file.metadata().map_err(io)?.len();
    if declared > max_bytes {
        return Err(too_large(declared));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a
/// mix: a temporary file in the same directory, written and synced, renamed over `path`, then
/// the directory synced. Every file the project writes (models, pictures, predictions) goes
/// through here.
///
/// # Errors
/// [`Error::Io`] naming the path; the temporary file is removed and `path` left as it was.
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomically_with_hook(path.as_ref(), bytes, |_| Ok(()))
}

pub(crate) fn write_atomically_with_hook(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let name = path.file_name().ok_or_else(|| Error::Io {
        path: path.display().to_string(),
        reason: "not a file name".into(),
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    let unique = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    temp_name.push(format!(".{}-{unique}.tmp", std::process::id()));
    let temp = dir.join(temp_name);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        before_rename(&temp)?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        // best effort: the temporary file may not exist (the failure was opening it)
        let _ = std::fs::remove_file(&temp);
        return Err(io(e));
    }
    sync_dir(dir);
    Ok(())
}

/// Flushes a directory's entries (the rename) to disk. Failures are ignored: the rename has
/// happened, and some platforms and file systems cannot sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
