//! Where state documents live: a local file (the default for local use) or a versioned,
//! encrypted S3 object (feature `s3`, in `store_s3`).

use std::path::PathBuf;

use async_trait::async_trait;

use crate::document::StateDocument;
use crate::error::{Error, Result};

/// A place to keep one stack's state.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Where (for messages).
    fn describe(&self) -> String;
    /// The document, or `None` when there is none yet.
    async fn load(&self) -> Result<Option<StateDocument>>;
    /// Replace the document.
    async fn save(&self, doc: &StateDocument) -> Result<()>;
}

/// A file, written atomically (temporary file, then rename).
#[derive(Debug, Clone)]
pub struct LocalStore {
    path: PathBuf,
}

impl LocalStore {
    /// The file at `path` (`.skyforge/<stack>.state.json` by convention).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalStore { path: path.into() }
    }
    fn io(&self, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
}

#[async_trait]
impl StateStore for LocalStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    async fn load(&self) -> Result<Option<StateDocument>> {
        match std::fs::read(&self.path) {
            Ok(b) => StateDocument::from_bytes(&b, &self.describe()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }
    async fn save(&self, doc: &StateDocument) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, doc.to_bytes()).map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }
}
