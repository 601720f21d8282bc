//! Files (Go's `os.ReadFile`, `os.WriteFile`, `os.Open`, `os.MkdirAll`,
//! `os.Stat`...), for goroutines.
//!
//! ```
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("gpm-doc-fs-{}", std::process::id()));
//! gpm::fs::create_dir_all(&dir).await.unwrap();
//! let path = dir.join("hello.txt");
//! gpm::fs::write(&path, "hello").await.unwrap();
//! assert_eq!(gpm::fs::read_to_string(&path).await.unwrap(), "hello");
//! assert_eq!(gpm::fs::metadata(&path).await.unwrap().len(), 5);
//! gpm::fs::remove_dir_all(&dir).await.unwrap();
//! # });
//! ```
//!
//! # Where the work runs, and why
//! **On the blocking pool** ([`crate::spawn_blocking`]), as tokio's `fs`
//! does: each function is one job running std's function, and [`File`]
//! reads and writes are jobs of up to 64 KiB (writes are reported done
//! when handed to the job; `flush` waits for them). Regular files are not
//! pollable (epoll refuses them; they are always "ready" and then block on
//! the disk), so the netpoller cannot help, and a `gpm::syscall` inline
//! would not let the goroutine be cancelled. The price is a thread hop per
//! call: for many small operations, run a whole batch in one
//! `gpm::spawn_blocking(|| ...)` with std's `fs`. Not the `async-fs`
//! crate: it runs the same kind of jobs on `blocking`'s own thread pool, a
//! second pool beside gpm's.

use super::blocking::{Blocking, Inner};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use std::fs::{DirEntry, Metadata, OpenOptions, Permissions};

/// Runs `f` on the blocking pool.
async fn pool<R: Send + 'static>(f: impl FnOnce() -> io::Result<R> + Send + 'static) -> io::Result<R> {
    match crate::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// Reads a whole file (Go's `os.ReadFile`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let path = std::env::temp_dir().join(format!("gpm-doc-read-{}", std::process::id()));
/// gpm::fs::write(&path, [1, 2, 3]).await.unwrap();
/// assert_eq!(gpm::fs::read(&path).await.unwrap(), [1, 2, 3]);
/// # gpm::fs::remove_file(&path).await.unwrap();
/// # });
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::read(path)).await
}

/// Reads a whole file as UTF-8.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let path = std::env::temp_dir().join(format!("gpm-doc-rts-{}", std::process::id()));
/// gpm::fs::write(&path, "text").await.unwrap();
/// assert_eq!(gpm::fs::read_to_string(&path).await.unwrap(), "text");
/// # gpm::fs::remove_file(&path).await.unwrap();
/// # });
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::read_to_string(path)).await
}

/// Writes a whole file, creating or truncating it (Go's `os.WriteFile`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let path = std::env::temp_dir().join(format!("gpm-doc-write-{}", std::process::id()));
/// gpm::fs::write(&path, b"bytes").await.unwrap();
/// assert_eq!(gpm::fs::read(&path).await.unwrap(), b"bytes");
/// # gpm::fs::remove_file(&path).await.unwrap();
/// # });
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    pool(move || std::fs::write(path, contents)).await
}

/// Creates a directory (Go's `os.Mkdir`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("gpm-doc-mkdir-{}", std::process::id()));
/// gpm::fs::create_dir(&dir).await.unwrap();
/// assert!(gpm::fs::metadata(&dir).await.unwrap().is_dir());
/// gpm::fs::remove_dir(&dir).await.unwrap();
/// # });
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::create_dir(path)).await
}

/// Creates a directory and its missing parents (Go's `os.MkdirAll`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let top = std::env::temp_dir().join(format!("gpm-doc-mkdirall-{}", std::process::id()));
/// gpm::fs::create_dir_all(top.join("a/b")).await.unwrap();
/// assert!(gpm::fs::metadata(top.join("a/b")).await.unwrap().is_dir());
/// gpm::fs::remove_dir_all(&top).await.unwrap();
/// # });
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::create_dir_all(path)).await
}

/// Removes a file (Go's `os.Remove` on a file).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let path = std::env::temp_dir().join(format!("gpm-doc-rm-{}", std::process::id()));
/// gpm::fs::write(&path, "x").await.unwrap();
/// gpm::fs::remove_file(&path).await.unwrap();
/// assert!(gpm::fs::metadata(&path).await.is_err());
/// # });
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory (Go's `os.Remove` on a directory).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("gpm-doc-rmdir-{}", std::process::id()));
/// gpm::fs::create_dir(&dir).await.unwrap();
/// gpm::fs::remove_dir(&dir).await.unwrap();
/// # });
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it (Go's `os.RemoveAll`, except
/// that a missing path is an error).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("gpm-doc-rmall-{}", std::process::id()));
/// gpm::fs::create_dir_all(dir.join("sub")).await.unwrap();
/// gpm::fs::remove_dir_all(&dir).await.unwrap();
/// # });
/// ```
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::remove_dir_all(path)).await
}

/// Renames a file or directory (Go's `os.Rename`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let from = std::env::temp_dir().join(format!("gpm-doc-mv-a-{}", std::process::id()));
/// # let to = std::env::temp_dir().join(format!("gpm-doc-mv-b-{}", std::process::id()));
/// gpm::fs::write(&from, "x").await.unwrap();
/// gpm::fs::rename(&from, &to).await.unwrap();
/// assert_eq!(gpm::fs::read_to_string(&to).await.unwrap(), "x");
/// # gpm::fs::remove_file(&to).await.unwrap();
/// # });
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    pool(move || std::fs::rename(from, to)).await
}

/// Copies a file's contents and permissions; returns the bytes copied.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let from = std::env::temp_dir().join(format!("gpm-doc-cp-a-{}", std::process::id()));
/// # let to = std::env::temp_dir().join(format!("gpm-doc-cp-b-{}", std::process::id()));
/// gpm::fs::write(&from, "abc").await.unwrap();
/// assert_eq!(gpm::fs::copy(&from, &to).await.unwrap(), 3);
/// # gpm::fs::remove_file(&from).await.unwrap();
/// # gpm::fs::remove_file(&to).await.unwrap();
/// # });
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    pool(move || std::fs::copy(from, to)).await
}

/// A path's metadata, following symlinks (Go's `os.Stat`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let meta = gpm::fs::metadata(std::env::temp_dir()).await.unwrap();
/// assert!(meta.is_dir());
/// # });
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::metadata(path)).await
}

/// A path's metadata, not following a symlink (Go's `os.Lstat`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let meta = gpm::fs::symlink_metadata(std::env::temp_dir()).await.unwrap();
/// assert!(meta.is_dir() || meta.is_symlink());
/// # });
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::symlink_metadata(path)).await
}

/// The absolute path with symlinks resolved.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(gpm::fs::canonicalize(".").await.unwrap().is_absolute());
/// # });
/// ```
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::canonicalize(path)).await
}

/// A directory's entries, all read in one job (Go's `os.ReadDir`, which
/// also sorts them by name: sort them yourself if you need to).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("gpm-doc-readdir-{}", std::process::id()));
/// gpm::fs::create_dir_all(&dir).await.unwrap();
/// gpm::fs::write(dir.join("a"), "").await.unwrap();
/// let names: Vec<_> = gpm::fs::read_dir(&dir).await.unwrap().iter().map(|e| e.file_name()).collect();
/// assert_eq!(names, ["a"]);
/// gpm::fs::remove_dir_all(&dir).await.unwrap();
/// # });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<Vec<DirEntry>> {
    let path = path.as_ref().to_owned();
    pool(move || std::fs::read_dir(path)?.collect()).await
}

impl Inner for std::fs::File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(self, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Write::flush(self)
    }
    fn unread(&mut self, n: usize) -> io::Result<()> {
        let n = i64::try_from(n).map_err(io::Error::other)?;
        self.seek(SeekFrom::Current(-n)).map(|_| ())
    }
}

/// An open file (Go's `*os.File`), with futures-io's `AsyncRead` and
/// `AsyncWrite`; its reads and writes are jobs on the blocking pool (see
/// [the module](self)). Writes are reported done when handed to their
/// job: call `flush` (or `close`) to wait for them and see their errors
/// before dropping the file.
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// # let path = std::env::temp_dir().join(format!("gpm-doc-file-{}", std::process::id()));
/// let mut f = gpm::fs::File::create(&path).await.unwrap();
/// f.write_all(b"line 1\nline 2\n").await.unwrap();
/// f.flush().await.unwrap();
/// let mut text = String::new();
/// gpm::fs::File::open(&path).await.unwrap().read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "line 1\nline 2\n");
/// # gpm::fs::remove_file(&path).await.unwrap();
/// # });
/// ```
pub struct File {
    inner: Blocking<std::fs::File>,
}

impl File {
    /// Opens a file for reading (Go's `os.Open`).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// assert!(gpm::fs::File::open("/surely/not/here").await.is_err());
    /// # });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        pool(move || std::fs::File::open(path)).await.map(File::from_std)
    }

    /// Creates a file for writing, truncating it if it exists (Go's
    /// `os.Create`).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-create-{}", std::process::id()));
    /// let mut f = gpm::fs::File::create(&path).await.unwrap();
    /// assert_eq!(f.metadata().await.unwrap().len(), 0);
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        pool(move || std::fs::File::create(path)).await.map(File::from_std)
    }

    /// Opens a file with std's options (Go's `os.OpenFile`).
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-append-{}", std::process::id()));
    /// gpm::fs::write(&path, "a").await.unwrap();
    /// let mut options = gpm::fs::OpenOptions::new();
    /// options.append(true);
    /// let mut f = gpm::fs::File::open_with(&path, options).await.unwrap();
    /// f.write_all(b"b").await.unwrap();
    /// f.flush().await.unwrap();
    /// assert_eq!(gpm::fs::read_to_string(&path).await.unwrap(), "ab");
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        pool(move || options.open(path)).await.map(File::from_std)
    }

    /// Wraps a std file.
    ///
    /// ```
    /// let f = gpm::fs::File::from_std(tempfile_or_dev_null());
    /// # fn tempfile_or_dev_null() -> std::fs::File { std::fs::File::open("/dev/null").unwrap() }
    /// # drop(f);
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File {
            inner: Blocking::new(file),
        }
    }

    /// Moves the position (after the writes handed off so far; bytes read
    /// ahead do not count); returns the new position from the start.
    ///
    /// ```
    /// use futures::AsyncReadExt;
    /// use std::io::SeekFrom;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-seek-{}", std::process::id()));
    /// gpm::fs::write(&path, "0123456789").await.unwrap();
    /// let mut f = gpm::fs::File::open(&path).await.unwrap();
    /// let mut two = [0; 2];
    /// f.read_exact(&mut two).await.unwrap();
    /// assert_eq!(f.seek(SeekFrom::Current(3)).await.unwrap(), 5);
    /// f.read_exact(&mut two).await.unwrap();
    /// assert_eq!(&two, b"56");
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.with(move |f| f.seek(pos)).await
    }

    /// Flushes the writes and syncs data and metadata to the disk (Go's
    /// `File.Sync`).
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-sync-{}", std::process::id()));
    /// let mut f = gpm::fs::File::create(&path).await.unwrap();
    /// f.write_all(b"durable").await.unwrap();
    /// f.sync_all().await.unwrap();
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.inner.with(|f| f.sync_all()).await
    }

    /// Flushes the writes and syncs the data (not all metadata) to the
    /// disk.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-syncd-{}", std::process::id()));
    /// let mut f = gpm::fs::File::create(&path).await.unwrap();
    /// f.sync_data().await.unwrap();
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.inner.with(|f| f.sync_data()).await
    }

    /// Truncates or extends the file to `len` bytes.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-setlen-{}", std::process::id()));
    /// let mut f = gpm::fs::File::create(&path).await.unwrap();
    /// f.set_len(100).await.unwrap();
    /// assert_eq!(f.metadata().await.unwrap().len(), 100);
    /// # gpm::fs::remove_file(&path).await.unwrap();
    /// # });
    /// ```
    pub async fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.with(move |f| f.set_len(len)).await
    }

    /// The file's metadata (Go's `File.Stat`), after the writes handed
    /// off so far.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut f = gpm::fs::File::open("/dev/null").await.unwrap();
    /// assert!(!f.metadata().await.unwrap().is_dir());
    /// # });
    /// ```
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        self.inner.with(|f| f.metadata()).await
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_flush(cx)
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("File { .. }")
    }
}
