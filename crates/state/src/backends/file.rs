//! An OS file lock for one machine.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::lock::{LockBackend, LockInfo};

/// An OS file lock (`flock`): for one machine. It ends with the process that holds it, so it
/// never goes stale and needs no lease.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    held: Mutex<Option<(String, File)>>,
}

impl FileLock {
    /// The lock file at `path` (created when missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileLock {
            path: path.into(),
            held: Mutex::new(None),
        }
    }
    fn io(&self, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
    fn open(&self) -> Result<File> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| self.io(e))
    }
    fn contents(&self) -> Option<LockInfo> {
        let mut s = String::new();
        File::open(&self.path).ok()?.read_to_string(&mut s).ok()?;
        serde_json::from_str(&s).ok()
    }
    /// Who holds the lock `info` could not take. The holder writes its record just after it
    /// takes the OS lock, so a run refused in between reads again for up to half a second
    /// before it reports an unnamed holder.
    async fn holder(&self, info: &LockInfo) -> LockInfo {
        for _ in 0..20 {
            if let Some(held) = self.contents() {
                return held;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        LockInfo {
            id: "unknown".into(),
            stack: info.stack.clone(),
            holder: "another process".into(),
            operation: "unknown".into(),
            created_ms: now,
            expires_ms: u64::MAX,
        }
    }
}

#[async_trait]
impl LockBackend for FileLock {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
    fn has_leases(&self) -> bool {
        false
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        let mut f = self.open()?;
        match f.try_lock() {
            Ok(()) => {
                f.set_len(0).map_err(|e| self.io(e))?;
                f.rewind().map_err(|e| self.io(e))?;
                f.write_all(&serde_json::to_vec(info).unwrap_or_default())
                    .map_err(|e| self.io(e))?;
                f.sync_all().map_err(|e| self.io(e))?;
                *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some((info.id.clone(), f));
                Ok(None)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(Some(self.holder(info).await)),
            Err(std::fs::TryLockError::Error(e)) => Err(self.io(e)),
        }
    }
    async fn renew(&self, _: &LockInfo) -> Result<()> {
        Ok(())
    }
    async fn delete(&self, id: &str) -> Result<()> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.as_ref().is_some_and(|(i, _)| i == id)
            && let Some((_, f)) = held.take()
        {
            f.set_len(0).map_err(|e| self.io(e))?;
            f.unlock().map_err(|e| self.io(e))?;
        }
        Ok(())
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        if let Some((_, _)) = &*self.held.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(self.contents());
        }
        let f = self.open()?;
        match f.try_lock() {
            // Nobody holds it.
            Ok(()) => {
                f.unlock().map_err(|e| self.io(e))?;
                Ok(None)
            }
            Err(_) => Ok(self.contents()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(holder: &str) -> LockInfo {
        LockInfo {
            id: format!("{holder}-id"),
            stack: "alva-staging".into(),
            holder: holder.into(),
            operation: "apply".into(),
            created_ms: 1,
            expires_ms: u64::MAX,
        }
    }

    /// A run refused between the holder taking the OS lock and writing its record still names
    /// the holder (two reference applies started together hit this under load).
    #[tokio::test]
    async fn a_run_refused_before_the_holder_wrote_its_record_still_names_it() {
        let path = std::env::temp_dir().join(format!("skyforge-lock-{}", std::process::id()));
        let held = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        held.try_lock().unwrap();
        let writer = {
            let path = path.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                std::fs::write(&path, serde_json::to_vec(&info("alice@ci-1")).unwrap()).unwrap();
            })
        };
        let refused = FileLock::new(&path)
            .create(&info("bob@ci-2"))
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(refused.map(|i| i.holder).as_deref(), Some("alice@ci-1"));
        held.unlock().unwrap();
        std::fs::remove_file(&path).ok();
    }
}
