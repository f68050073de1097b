//! Secret material: the key file that will encrypt stored credentials,
//! password hashing, and the random tokens handed to users.
//!
//! Tokens and passwords are stored only as hashes; nothing here logs them.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot create the secret key file {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the secret key file {path} is damaged: it must hold one line of 64 hex digits")]
    Damaged { path: String },
    #[error("the secret key file {path} can be read by other users (mode {mode:o}); run: chmod 600 {path}")]
    Permissions { path: String, mode: u32 },
    #[error("cannot hash the password")]
    Hash,
}

/// Makes sure the key file exists (created with mode 0600) and holds a
/// 256-bit key; returns the key.
pub fn ensure_key_file(path: &Path) -> Result<[u8; 32], SecretError> {
    let shown = path.display().to_string();
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SecretError::Create { path: shown.clone(), source })?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|source| SecretError::Create { path: shown.clone(), source })?;
        writeln!(f, "{}", hex::encode(key)).map_err(|source| SecretError::Create { path: shown.clone(), source })?;
        f.sync_all().map_err(|source| SecretError::Create { path: shown.clone(), source })?;
        return Ok(key);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|source| SecretError::Read { path: shown.clone(), source })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(SecretError::Permissions { path: shown, mode: mode & 0o777 });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read { path: shown.clone(), source })?;
    let bytes = hex::decode(text.trim()).map_err(|_| SecretError::Damaged { path: shown.clone() })?;
    bytes.try_into().map_err(|_| SecretError::Damaged { path: shown })
}

/// Hashes a password with argon2id.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| SecretError::Hash)
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random token: `prefix` + 256 random bits, URL-safe.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// How a token is stored: its SHA-256, hex. (Tokens carry 256 random bits,
/// so a fast hash is enough; passwords use argon2id.)
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token("fc_");
        assert!(a.starts_with("fc_") && a.len() > 40);
        assert_ne!(a, new_token("fc_"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/secret.key");
        let k1 = ensure_key_file(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(ensure_key_file(&p).unwrap(), k1);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(ensure_key_file(&p), Err(SecretError::Permissions { .. })));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&p, "zz\n").unwrap();
        assert!(matches!(ensure_key_file(&p), Err(SecretError::Damaged { .. })));
    }
}
