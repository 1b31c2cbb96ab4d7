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
            Err(std::fs::TryLockError::WouldBlock) => {
                Ok(Some(self.contents().unwrap_or(LockInfo {
                    id: "unknown".into(),
                    stack: info.stack.clone(),
                    holder: "another process".into(),
                    operation: "unknown".into(),
                    created_ms: 0,
                    expires_ms: u64::MAX,
                })))
            }
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
