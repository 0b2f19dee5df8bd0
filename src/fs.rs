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

#[cfg(test)]
mod tests {
    use super::*;

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
