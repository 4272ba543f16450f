//! Sealing secrets that must be read back, such as webhook signing secrets:
//! ChaCha20-Poly1305 under the server's 32-byte secret key, with a random
//! nonce per value. A database dump alone then reveals no signing secret.
//!
//! The key comes from the `secret_key` setting (base64), or else from
//! `secret.key` in the data directory, created on first start with mode 0600.
//! Several nodes sharing one PostgreSQL must share the setting.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// Version tag of the sealed format.
const SEALED_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// A secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes of base64")]
    BadKey,
    #[error("cannot read or create the secret key file")]
    KeyFile(#[from] std::io::Error),
    #[error("a sealed value is corrupt or was sealed under another key")]
    Corrupt,
}

/// Seals and opens values under one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box for a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> Result<Self, SecretError> {
        let bytes = BASE64.decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// The configured key, or the one kept in `data_dir/secret.key`
    /// (created when missing).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, SecretError> {
        if let Some(key) = configured.filter(|key| !key.is_empty()) {
            return Self::from_base64(key);
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let key = BASE64.encode(ChaCha20Poly1305::generate_key(&mut OsRng));
                write_private(&path, &key)?;
                Self::from_base64(&key)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// `v1:` and base64 of nonce and ciphertext.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut sealed = nonce.to_vec();
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", BASE64.encode(sealed))
    }

    /// The plaintext of a value sealed by [`SecretBox::seal`] under this key.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let encoded = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SecretError::Corrupt)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Corrupt)
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_key() {
        let dir = tempfile::tempdir().expect("dir");
        let first = SecretBox::load(None, dir.path()).expect("key made");
        let again = SecretBox::load(None, dir.path()).expect("key read");
        let other = SecretBox::load(None, &dir.path().join("other")).expect("another key");

        let sealed = first.seal("whsec_abc");

        assert_ne!(sealed, first.seal("whsec_abc"), "a fresh nonce each time");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(again.open(&sealed).expect("opens"), "whsec_abc");
        assert!(other.open(&sealed).is_err());
        assert!(first.open("v1:garbage").is_err());
    }

    #[test]
    fn a_configured_key_must_be_32_bytes() {
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64(&BASE64.encode([7u8; 32])).is_ok());
    }
}
