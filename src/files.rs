//! The library's file I/O, all of it: reading a whole text file with a size limit, and writing
//! a file atomically, from bytes in memory or streamed. Every file the project writes (models,
//! pictures, predictions, graph files) goes through [`write_atomically`] or
//! [`write_atomically_with`].

use std::io::{BufWriter, Read, Write};
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
/// through here or through [`write_atomically_with`].
///
/// # Errors
/// [`Error::Io`] naming the path; the temporary file is removed and `path` left as it was.
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// Writes to `path` what `write` writes, atomically like [`write_atomically`], without holding
/// the whole file in memory: `write` writes into a buffered temporary file in the same
/// directory, which is synced and renamed over `path` once `write` returns `Ok`.
///
/// To stop with an error of this library (a value the file cannot hold, found half-way), return
/// it as `std::io::Error::other(error)`: it comes back as itself, not as [`Error::Io`].
///
/// # Errors
/// [`Error::Io`] naming the path, or the library error `write` returned; either way the
/// temporary file is removed and `path` left as it was.
///
/// # Complexity
/// Memory: a 64 KiB buffer, whatever the size of the file.
///
/// # Examples
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("backprop-doc-with-{}.txt", std::process::id()));
/// backprop::files::write_atomically_with(&path, |out| {
///     for k in 0..3 {
///         writeln!(out, "line {k}")?;
///     }
///     Ok(())
/// })?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "line 0\nline 1\nline 2\n");
/// let refused = backprop::files::write_atomically_with(&path, |out| {
///     writeln!(out, "half")?;
///     Err(std::io::Error::other(backprop::Error::NonFiniteConstant {
///         what: "a value".into(),
///         value: f64::NAN,
///     }))
/// });
/// assert!(matches!(refused, Err(backprop::Error::NonFiniteConstant { .. })));
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "line 0\nline 1\nline 2\n"); // untouched
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn write_atomically_with(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_streaming(path.as_ref(), write, |_| Ok(()))
}

/// [`write_atomically`], calling `before_rename` between writing the temporary file and
/// renaming it.
pub(crate) fn write_atomically_with_hook(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    write_streaming(path, |out| out.write_all(bytes), before_rename)
}

/// The buffer between a streaming writer and its temporary file.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

fn write_streaming(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
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
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        before_rename(&temp)?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        // best effort: the temporary file may not exist (the failure was opening it)
        let _ = std::fs::remove_file(&temp);
        return Err(from_io(path, e));
    }
    sync_dir(dir);
    Ok(())
}

/// An I/O error on `path` as the library's error: one that carries a library [`Error`] (made
/// with `std::io::Error::other`) is that error, any other is [`Error::Io`] naming `path`.
pub(crate) fn from_io(path: &Path, error: std::io::Error) -> Error {
    if error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        let inner = error
            .into_inner()
            .expect("internal error: the error carries one")
            .downcast::<Error>()
            .expect("internal error: it was checked to be a library error");
        return *inner;
    }
    Error::Io {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
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
