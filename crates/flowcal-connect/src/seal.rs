//! Secrets encrypted at rest.
//!
//! Stored credentials (OAuth tokens, app passwords, client secrets) are sealed
//! with ChaCha20-Poly1305 under a 256-bit key from the secret key file. Each
//! sealed value names the key that sealed it:
//!
//! ```text
//! fc1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! The key id is the first 8 hex digits of the key's SHA-256, so the file
//! holds only keys: one per line, 64 hex digits, the last line is the key
//! that seals new values, earlier lines are kept to open older values until
//! `flowcal secrets rotate` has re-sealed them. Lines starting with `#` are
//! comments. The file is created with mode 0600 and refused when others may
//! read it.
//!
//! The purpose (which column a value belongs in) is bound to the ciphertext
//! as associated data, so a value copied into another column does not open.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::Path;

const PREFIX: &str = "fc1";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot create the secret key file {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the secret key file {path} is damaged at line {line}: each line must hold 64 hex digits")]
    Damaged { path: String, line: usize },
    #[error("the secret key file {path} holds no key")]
    Empty { path: String },
    #[error("the secret key file {path} can be read by other users (mode {mode:o}); run: chmod 600 {path}")]
    Permissions { path: String, mode: u32 },
    #[error("a stored secret was sealed with key {kid}, which the secret key file does not hold")]
    UnknownKey { kid: String },
    #[error("a stored secret could not be opened (damaged, or stored for another purpose)")]
    Open,
    #[error("the system's random number generator failed")]
    Random,
}

/// The keys of the secret key file.
#[derive(Clone)]
pub struct Keyring {
    /// (key id, key); the last one seals.
    keys: Vec<(String, LessSafeKeyBox)>,
}

/// A key with its raw bytes (for writing the file back).
#[derive(Clone)]
struct LessSafeKeyBox {
    raw: [u8; 32],
}

impl LessSafeKeyBox {
    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always valid for ChaCha20-Poly1305.
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &self.raw).unwrap_or_else(|_| unreachable!()))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("key_ids", &self.key_ids()).finish()
    }
}

/// The id of a key: the first 8 hex digits of its SHA-256.
fn key_id(raw: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(raw)[..4])
}

fn random_key() -> Result<[u8; 32], SealError> {
    let mut raw = [0u8; 32];
    SystemRandom::new().fill(&mut raw).map_err(|_| SealError::Random)?;
    Ok(raw)
}

impl Keyring {
    /// Reads the key file, creating it (mode 0600, one new key) when absent.
    pub fn load_or_create(path: &Path) -> Result<Keyring, SealError> {
        if !path.exists() {
            let raw = random_key()?;
            write_new_file(path, &[raw])?;
            return Ok(Keyring::from_keys(vec![raw]));
        }
        Keyring::load(path)
    }

    /// Reads an existing key file.
    pub fn load(path: &Path) -> Result<Keyring, SealError> {
        let shown = path.display().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| SealError::Read { path: shown.clone(), source })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(SealError::Permissions { path: shown, mode: mode & 0o777 });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|source| SealError::Read { path: shown.clone(), source })?;
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let raw: [u8; 32] = hex::decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| SealError::Damaged { path: shown.clone(), line: i + 1 })?;
            keys.push(raw);
        }
        if keys.is_empty() {
            return Err(SealError::Empty { path: shown });
        }
        Ok(Keyring::from_keys(keys))
    }

    fn from_keys(keys: Vec<[u8; 32]>) -> Keyring {
        Keyring { keys: keys.into_iter().map(|raw| (key_id(&raw), LessSafeKeyBox { raw })).collect() }
    }

    /// A keyring of one random key, held in memory only (tests).
    pub fn ephemeral() -> Result<Keyring, SealError> {
        Ok(Keyring::from_keys(vec![random_key()?]))
    }

    /// The id of the key that seals new values.
    pub fn current_id(&self) -> &str {
        self.keys.last().map_or("", |(id, _)| id.as_str())
    }

    /// All key ids, oldest first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }

    /// Seals `plaintext` for `purpose` under the current key.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let Some((kid, key)) = self.keys.last() else { return Err(SealError::UnknownKey { kid: String::new() }) };
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buf = plaintext.to_vec();
        key.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}:{kid}:{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a sealed value stored for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let (kid, body) = split(sealed).ok_or(SealError::Open)?;
        let key = self
            .keys
            .iter()
            .find(|(id, _)| id == kid)
            .map(|(_, k)| k)
            .ok_or_else(|| SealError::UnknownKey { kid: kid.to_owned() })?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = rest.to_vec();
        let plain =
            key.aead().open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf).map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }

    /// Opens a sealed UTF-8 string.
    pub fn open_string(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        String::from_utf8(self.open(purpose, sealed)?).map_err(|_| SealError::Open)
    }

    /// Whether `sealed` was sealed with the current key.
    pub fn is_current(&self, sealed: &str) -> bool {
        split(sealed).is_some_and(|(kid, _)| kid == self.current_id())
    }

    /// Adds a new random key to the key file and makes it the current one;
    /// returns the new keyring. The older keys stay until [`Keyring::retire`].
    pub fn rotate_file(path: &Path) -> Result<Keyring, SealError> {
        let mut ring = Keyring::load(path)?;
        let raw = random_key()?;
        ring.keys.push((key_id(&raw), LessSafeKeyBox { raw }));
        ring.write_file(path)?;
        Ok(ring)
    }

    /// Removes from the key file every key but the current one and those in
    /// `still_used`.
    pub fn retire(&mut self, path: &Path, still_used: &[String]) -> Result<Vec<String>, SealError> {
        let current = self.current_id().to_owned();
        let mut removed = Vec::new();
        self.keys.retain(|(id, _)| {
            let keep = *id == current || still_used.contains(id);
            if !keep {
                removed.push(id.clone());
            }
            keep
        });
        self.write_file(path)?;
        Ok(removed)
    }

    /// Rewrites the key file atomically (a new file with mode 0600, renamed over the old).
    fn write_file(&self, path: &Path) -> Result<(), SealError> {
        let shown = path.display().to_string();
        let tmp = path.with_extension("tmp-rotate");
        let _ = std::fs::remove_file(&tmp);
        let raws: Vec<[u8; 32]> = self.keys.iter().map(|(_, k)| k.raw).collect();
        write_new_file(&tmp, &raws)?;
        std::fs::rename(&tmp, path).map_err(|source| SealError::Create { path: shown, source })
    }
}

/// The key id and body of a sealed value.
fn split(sealed: &str) -> Option<(&str, &str)> {
    let rest = sealed.strip_prefix(PREFIX)?.strip_prefix(':')?;
    rest.split_once(':')
}

/// The key id a sealed value names.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    split(sealed).map(|(kid, _)| kid)
}

fn write_new_file(path: &Path, keys: &[[u8; 32]]) -> Result<(), SealError> {
    let shown = path.display().to_string();
    let err = |source| SealError::Create { path: shown.clone(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The folder (by default the data folder) is private like the key.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(err)?;
    writeln!(f, "# flowcal secret keys: the last line seals new values; keep this file private and backed up")
        .map_err(err)?;
    for k in keys {
        writeln!(f, "{}", hex::encode(k)).map_err(err)?;
    }
    f.sync_all().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let ring = Keyring::ephemeral().unwrap();
        let s = ring.seal("account", b"refresh-token-value").unwrap();
        assert!(s.starts_with(&format!("fc1:{}:", ring.current_id())), "{s}");
        assert!(!s.contains("refresh-token-value"));
        assert_eq!(ring.open("account", &s).unwrap(), b"refresh-token-value");
        // A fresh nonce each time.
        assert_ne!(s, ring.seal("account", b"refresh-token-value").unwrap());
        // Bound to its purpose.
        assert!(matches!(ring.open("provider", &s), Err(SealError::Open)));
        // Tampering is detected.
        let mut t = s.clone().into_bytes();
        let last = t.len() - 2;
        t[last] = if t[last] == b'A' { b'B' } else { b'A' };
        assert!(ring.open("account", &String::from_utf8(t).unwrap()).is_err());
        // Another key cannot open it.
        let other = Keyring::ephemeral().unwrap();
        assert!(matches!(other.open("account", &s), Err(SealError::UnknownKey { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_created_private_rotated_and_retired() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/secret.key");
        let first = Keyring::load_or_create(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let old = first.seal("x", b"v").unwrap();
        assert_eq!(Keyring::load_or_create(&p).unwrap().current_id(), first.current_id());

        let mut rotated = Keyring::rotate_file(&p).unwrap();
        assert_ne!(rotated.current_id(), first.current_id());
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(rotated.open("x", &old).unwrap(), b"v");
        assert!(!rotated.is_current(&old));
        let new = rotated.seal("x", b"v").unwrap();
        assert!(rotated.is_current(&new));
        // Retiring keeps keys still in use, then drops them.
        assert!(rotated.retire(&p, &[first.current_id().to_owned()]).unwrap().is_empty());
        assert_eq!(Keyring::load(&p).unwrap().key_ids().len(), 2);
        assert_eq!(rotated.retire(&p, &[]).unwrap(), vec![first.current_id().to_owned()]);
        let reread = Keyring::load(&p).unwrap();
        assert_eq!(reread.key_ids(), vec![rotated.current_id().to_owned()]);
        assert!(matches!(reread.open("x", &old), Err(SealError::UnknownKey { .. })));
        assert_eq!(reread.open("x", &new).unwrap(), b"v");

        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Keyring::load(&p), Err(SealError::Permissions { .. })));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&p, "zz\n").unwrap();
        assert!(matches!(Keyring::load(&p), Err(SealError::Damaged { line: 1, .. })));
        std::fs::write(&p, "# only a comment\n").unwrap();
        assert!(matches!(Keyring::load(&p), Err(SealError::Empty { .. })));
    }
}
