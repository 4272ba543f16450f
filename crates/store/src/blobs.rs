//! The blob store: file bytes in a local directory.
//!
//! A write goes to a temporary file first and is renamed into place only
//! when the caller commits it, so a failed or refused upload leaves nothing
//! behind, and a reader never sees a half-written blob. Blobs are addressed by
//! an opaque random key and sharded into 256 subdirectories.

use std::path::{Path, PathBuf};

use mercato_core::ids::random_token;
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::AsyncWriteExt;

use crate::StoreError;

/// A directory of immutable blobs.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// A blob being written: bytes go to a temporary file, counted and hashed.
pub struct BlobWriter {
    file: File,
    temp_path: PathBuf,
    final_path: PathBuf,
    key: String,
    size: u64,
    hasher: Sha256,
}

/// A blob written in full.
#[derive(Clone, Debug)]
pub struct FinishedBlob {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

impl BlobStore {
    /// Opens (and creates) the store under `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp")).await?;
        Ok(Self { root })
    }

    /// Starts a new blob.
    pub async fn writer(&self) -> Result<BlobWriter, StoreError> {
        let key = random_token(32).to_lowercase();
        let temp_path = self.root.join("tmp").join(format!("{key}.part"));
        let final_path = self.path_of(&key);
        let file = File::create(&temp_path).await?;
        Ok(BlobWriter {
            file,
            temp_path,
            final_path,
            key,
            size: 0,
            hasher: Sha256::new(),
        })
    }

    /// Opens a committed blob for reading.
    pub async fn open_blob(&self, key: &str) -> Result<File, StoreError> {
        Ok(File::open(self.path_of(key)).await?)
    }

    /// Removes a blob; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path_of(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
            _ => Ok(()),
        }
    }

    /// A fresh path in the temporary folder, for a file written elsewhere
    /// and then adopted with [`BlobStore::adopt`].
    pub fn temporary_path(&self) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{}.part", random_token(32).to_lowercase()))
    }

    /// Moves a finished file (written at a [`BlobStore::temporary_path`])
    /// into the store.
    pub async fn adopt(&self, path: &Path) -> Result<FinishedBlob, StoreError> {
        let bytes_hash = {
            let mut file = File::open(path).await?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let read = tokio::io::AsyncReadExt::read(&mut file, &mut buffer).await?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            hex::encode(hasher.finalize())
        };
        let key = random_token(32).to_lowercase();
        let final_path = self.path_of(&key);
        if let Some(parent) = final_path.parent() {
            fs::create_dir_all(parent).await?;
        }
        let size = fs::metadata(path).await?.len();
        fs::rename(path, &final_path).await?;
        Ok(FinishedBlob {
            key,
            size,
            sha256: bytes_hash,
        })
    }

    /// Deletes temporary files left by writes that a crash interrupted.
    pub async fn sweep_temporary(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut entries = fs::read_dir(self.root.join("tmp")).await?;
        while let Some(entry) = entries.next_entry().await? {
            fs::remove_file(entry.path()).await?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a committed blob lives, for readers that need a plain file.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let shard = key.get(..2).unwrap_or("00");
        self.root.join(shard).join(key)
    }
}

impl BlobWriter {
    /// Appends bytes.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes the bytes to disk and moves the blob into place.
    pub async fn commit(mut self) -> Result<FinishedBlob, StoreError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        if let Some(parent) = self.final_path.parent() {
            fs::create_dir_all(parent).await?;
        }
        fs::rename(&self.temp_path, &self.final_path).await?;
        Ok(FinishedBlob {
            key: self.key,
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }

    /// Drops the partial blob.
    pub async fn abort(self) {
        drop(self.file);
        if let Err(error) = fs::remove_file(&self.temp_path).await {
            tracing::warn!(target: "mercato::store", %error, "could not remove a partial blob");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn committed_blobs_read_back_and_aborted_ones_vanish() -> Result<(), StoreError> {
        let dir = tempfile::tempdir()?;
        let store = BlobStore::open(dir.path()).await?;

        let mut writer = store.writer().await?;
        writer.write(b"id,title\n").await?;
        writer.write(b"1,Mug\n").await?;
        let blob = writer.commit().await?;
        let mut aborted = store.writer().await?;
        aborted.write(b"partial").await?;
        aborted.abort().await;

        let bytes = fs::read(store.path_of(&blob.key)).await?;
        assert_eq!(bytes, b"id,title\n1,Mug\n");
        assert_eq!(blob.size, 15);
        assert_eq!(store.sweep_temporary().await?, 0);
        Ok(())
    }
}
