//! Files written by git-credman with a mode, and paths as bytes: private directories (0700),
//! atomic replaces (0600: the prune marker, `--report` files), new files that never replace one
//! (0600 server backups, restored credentials), moves that never leave half a file, and the
//! leading-symlink rule git applies to working-tree paths, the 0700 temporary dirs of
//! `source::remote` (clone, askpass) and the 0755 hook file. Every file git-credman writes with a
//! mode goes through here. No gix and no output here.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Returns a repository-relative path (`/`-separated bytes, as git stores it) as a file-system
/// path, byte for byte on Unix.
pub fn rel_path(raw: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        PathBuf::from(std::ffi::OsStr::from_bytes(raw))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(raw).into_owned())
    }
}

/// Returns a file-system name as bytes (byte for byte on Unix).
pub fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// Reads a whole file into `buf` (cleared first, its capacity kept): open, read to the end,
/// close. `std::fs::read` first asks the file's size and position (`statx`, `lseek`) to size
/// its buffer; a scan reading thousands of small files into one reused buffer has no use for
/// either, and they are a third of its system calls per file.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    read_file(std::fs::File::open(path)?, buf)
}

/// Reads an opened file to its end into `buf` (cleared first). `Take` hides the `File` behind
/// it, so the read takes no size hint: it goes straight into `buf`'s spare capacity, growing
/// it as needed, until a read returns nothing.
fn read_file(file: std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read as _;
    buf.clear();
    file.take(u64::MAX).read_to_end(buf)?;
    Ok(())
}

/// A scanned directory, opened once: its files are opened relative to it (`openat`), so the
/// kernel walks one name per file instead of the whole path again (the walk was most of the
/// cost of opening, issue 13). Where it cannot be opened so (or off Unix), files are opened by
/// their joined path, as before.
pub struct DirReader<'a> {
    root: &'a Path,
    #[cfg(unix)]
    fd: Option<std::os::fd::OwnedFd>,
}

impl<'a> DirReader<'a> {
    /// Opens `root` for reading its files.
    pub fn new(root: &'a Path) -> Self {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(root, flags, Mode::empty()).ok();
            Self { root, fd }
        }
        #[cfg(not(unix))]
        {
            Self { root }
        }
    }

    /// The directory's path.
    pub fn root(&self) -> &'a Path {
        self.root
    }

    /// Reads the file at `rel` (a relative path inside the directory) into `buf`, as
    /// [`read_into`] does.
    pub fn read_into(&self, rel: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
        #[cfg(unix)]
        if let Some(dir) = &self.fd
            && rel.is_relative()
        {
            use rustix::fs::{Mode, OFlags};
            // The flags `File::open` uses.
            let fd = rustix::fs::openat(dir, rel, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            return read_file(std::fs::File::from(fd), buf);
        }
        read_into(&self.root.join(rel), buf)
    }
}

/// Returns whether a leading directory of `raw` (relative to `root`) is a symbolic link or not
/// a directory. Git does not follow such a path (the file is "deleted", the link a type change),
/// and neither may anything that deletes or writes working-tree files.
pub fn has_unsafe_parent(root: &Path, raw: &[u8]) -> bool {
    let mut dir = root.to_path_buf();
    let mut parts = raw.split(|b| *b == b'/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return false;
        }
        dir.push(rel_path(part));
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => return true,
            // A missing directory holds nothing to follow.
            Err(_) => return false,
        }
    }
    false
}

/// Creates a directory (and its parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `data` to `path` atomically (a temporary `.NAME.PID.tmp` beside it, fsync, rename),
/// mode 0600. `before_rename` runs between the write and the rename (test checkpoints).
pub fn write_atomic(path: &Path, data: &[u8], before_rename: impl FnOnce()) -> anyhow::Result<()> {
    write_atomic_with(
        path,
        |file| std::io::Write::write_all(file, data),
        before_rename,
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// [`write_atomic`] with another mode (subject to the umask): 0755 for a hook file.
pub fn write_atomic_mode(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    write_atomic_in_mode(
        path,
        |file| std::io::Write::write_all(file, data),
        || {},
        mode,
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// Creates a temporary directory only its owner can enter (0700): tempfile's default follows
/// the umask (usually 0755), and what goes inside (a clone, an askpass script) is private.
pub fn private_tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir()
}

/// [`write_atomic`] with the content written by `write` (a streaming renderer), returning the
/// plain I/O error. The temporary file is removed when anything fails.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    before_rename: impl FnOnce(),
) -> std::io::Result<()> {
    write_atomic_in_mode(path, write, before_rename, 0o600)
}

fn write_atomic_in_mode(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    before_rename: impl FnOnce(),
    mode: u32,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = open_new(&tmp, mode)?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        before_rename();
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `path`, which must not exist yet, with `mode` (on unix; subject to the umask).
fn open_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

/// Writes `data` to a new file (never replacing one) with `mode` (0600 for credentials and
/// backups, 0700 for an executable credential file), then fsyncs it.
pub fn create_new(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = open_new(path, mode).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut f, data)?;
    f.sync_all()?;
    Ok(())
}

/// Moves a file without ever leaving half of it: a rename when possible; across file systems a
/// copy to a temporary name, fsync, rename into place, then removal of the source.
pub fn move_file(src: &Path, dst: &Path) -> anyhow::Result<()> {
    if let Some(parent) = dst.parent() {
        create_private_dir(parent)?;
    }
    if dst.symlink_metadata().is_ok() {
        bail!("{} already exists; not overwriting it", dst.display());
    }
    if std::fs::rename(src, dst).is_ok() {
        return Ok(());
    }
    let tmp: PathBuf = dst.with_extension("credman-partial");
    let copy = (|| -> std::io::Result<()> {
        std::fs::copy(src, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dst)
    })();
    if let Err(e) = copy {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::from(e).context(format!(
            "cannot move {} to {}",
            src.display(),
            dst.display()
        )));
    }
    std::fs::remove_file(src)
        .with_context(|| format!("moved {} but cannot remove the original", src.display()))
}

/// Returns whether process `pid` may still be running (then its lock is not stale). Without
/// `/proc`, assumes it is unless it is this process's own id.
pub fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    let dir = proc.join(pid.to_string());
    // The id may have been reused (after a reboot, say) by a process that is not git-credman.
    if let Ok(exe) = std::fs::read_link(dir.join("exe"))
        && !exe
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("git-credman"))
    {
        return false;
    }
    // A zombie (killed, not yet reaped by its parent) holds nothing any more.
    std::fs::read_to_string(dir.join("stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
    })
}

/// A lock file held by a running process (`git credman watch`): created atomically with its
/// content (`pid N`) by a hard link, so no reader ever sees it empty; removed when dropped. A
/// lock whose process is gone (killed, crashed, a reboot) is stale and is taken over, judged by
/// its pid like the prune marker (see [`is_running`]).
#[derive(Debug)]
pub struct PidLock {
    path: PathBuf,
}

/// Why a [`PidLock`] could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error("{} is held by another watcher (pid {pid}); stop that one first, or wait", .path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
        /// The holder.
        pid: u32,
    },
    /// The lock file could not be written or read.
    #[error("cannot take the lock {}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

impl PidLock {
    /// Takes the lock at `path`; returns it and, when a stale lock was taken over, its pid.
    pub fn acquire(path: &Path) -> Result<(Self, Option<u32>), LockError> {
        let io = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        create_new(
            &tmp,
            format!("pid {}\n", std::process::id()).as_bytes(),
            0o600,
        )
        .map_err(|e| io(std::io::Error::other(format!("{e:#}"))))?;
        let mut stale = None;
        let result = loop {
            match std::fs::hard_link(&tmp, path) {
                Ok(()) => break Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && stale.is_none() => {
                    let text = std::fs::read_to_string(path).unwrap_or_default();
                    let pid = text
                        .lines()
                        .find_map(|l| l.strip_prefix("pid "))
                        .and_then(|p| p.trim().parse::<u32>().ok());
                    match pid {
                        Some(pid) if is_running(pid) => {
                            break Err(LockError::Held {
                                path: path.to_owned(),
                                pid,
                            });
                        }
                        other => {
                            // Gone, or not a lock we wrote: take it over once.
                            let _ = std::fs::remove_file(path);
                            stale = Some(other.unwrap_or(0));
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Someone else took it over at the same moment.
                    break Err(LockError::Held {
                        path: path.to_owned(),
                        pid: 0,
                    });
                }
                Err(e) => break Err(io(e)),
            }
        };
        let _ = std::fs::remove_file(&tmp);
        result.map(|()| {
            (
                Self {
                    path: path.to_owned(),
                },
                stale,
            )
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dir_reader_reads_files_below_it_as_their_joined_path_would() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.json"), "top").unwrap();
        std::fs::write(root.join("sub/b.json"), "nested").unwrap();
        let dir = DirReader::new(root);
        let mut buf = b"left over".to_vec();
        dir.read_into(Path::new("a.json"), &mut buf).unwrap();
        assert_eq!(buf, b"top");
        dir.read_into(Path::new("sub/b.json"), &mut buf).unwrap();
        assert_eq!(buf, b"nested");
        let missing = dir.read_into(Path::new("gone.json"), &mut buf).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        // A directory is no file to read.
        assert!(dir.read_into(Path::new("sub"), &mut buf).is_err());
        // A reader of a directory that does not exist reads nothing.
        let missing_dir = root.join("missing");
        let nowhere = DirReader::new(&missing_dir);
        assert!(nowhere.read_into(Path::new("a.json"), &mut buf).is_err());
    }

    #[test]
    fn symlinked_or_file_parents_are_unsafe() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::fs::write(root.join("file"), "x").unwrap();
        assert!(!has_unsafe_parent(root, b"real/sub/a.json"));
        assert!(!has_unsafe_parent(root, b"a.json"));
        assert!(!has_unsafe_parent(root, b"missing/a.json"));
        assert!(has_unsafe_parent(root, b"file/a.json"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
            assert!(has_unsafe_parent(root, b"link/sub/a.json"));
            assert!(!has_unsafe_parent(root, b"link"));
        }
    }
}
