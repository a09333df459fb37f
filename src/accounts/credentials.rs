//! Secrets: password hashes (argon2id, PHC strings), random session ids, CSRF and API tokens,
//! and the SHA-256 digests under which session ids and tokens are stored.
//!
//! Session ids and API tokens are 32 random bytes from the operating system: far too many to
//! guess, so a fast digest (SHA-256) is enough at rest — a stolen database yields no usable
//! credential. Passwords are chosen by people and need the slow, memory-hard argon2id.

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// API tokens start with this, so secret scanners and people can tell what leaked.
pub const TOKEN_PREFIX: &str = "shequ_";

/// Shortest password accepted for a new account.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted anywhere (hashing cost grows with the input).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A failure of the machinery, not of the caller's input.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// `N` bytes from the operating system's random number generator.
fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new random secret (32 bytes, hex): session ids and CSRF tokens.
pub fn new_secret() -> Result<String, SecretError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A new API token: [`TOKEN_PREFIX`] and 32 random bytes in hex.
pub fn new_token() -> Result<String, SecretError> {
    Ok(format!("{TOKEN_PREFIX}{}", new_secret()?))
}

/// The digest under which a session id or token is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two byte strings in time that depends only on their lengths, so a CSRF token
/// cannot be guessed byte by byte from response times.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a password is not accepted for a new account or a password change.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password has {chars} characters; at least {MIN_PASSWORD_CHARS} are required"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "the password has {chars} characters; at most {MAX_PASSWORD_CHARS} are accepted"
        ));
    }
    if password.trim().chars().count() < MIN_PASSWORD_CHARS {
        return Err("the password is mostly spaces".to_owned());
    }
    Ok(())
}

/// The argon2id hash of `password` as a PHC string (`$argon2id$v=19$m=…`), with a fresh salt.
/// Slow on purpose (tens of milliseconds): call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// A hash with the default parameters of a password no one has, verified against when the user
/// is unknown, disabled or has no password, so such a login takes as long as a wrong password
/// and response times do not reveal which names exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hlcXUtZHVtbXktc2FsdA$ANIdhYWLgxHHtHlqENo3yG0q1gYdL7Mw0CE8VOUJPgE";

/// Whether `password` matches the PHC string `phc` (`None`: the account has no usable password;
/// the work is done anyway against a dummy hash). A damaged stored hash never matches.
/// Slow on purpose: call it off the async runtime.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    let (stored, real) = match phc {
        Some(p) => (p, true),
        None => (DUMMY_HASH, false),
    };
    let parsed = match PasswordHash::new(stored) {
        Ok(h) => h,
        Err(_) => match PasswordHash::new(DUMMY_HASH) {
            Ok(h) => {
                let _ = Argon2::default().verify_password(password.as_bytes(), &h);
                return false;
            }
            Err(_) => return false,
        },
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    real && matches
}

/// Characters of generated passwords: no 0/O, 1/l/I, so they can be read out and typed.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 20 characters of a 57-letter alphabet: about 116 bits.
const GENERATED_PASSWORD_CHARS: usize = 20;

/// A strong random password (for `shequ user add` without `--password-stdin`).
pub fn generate_password() -> Result<String, SecretError> {
    let mut out = String::with_capacity(GENERATED_PASSWORD_CHARS);
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % PASSWORD_ALPHABET.len();
    while out.len() < GENERATED_PASSWORD_CHARS {
        for b in random_bytes::<32>()? {
            if (b as usize) < limit && out.len() < GENERATED_PASSWORD_CHARS {
                out.push(PASSWORD_ALPHABET[b as usize % PASSWORD_ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterY", Some(&hash)));
        assert!(!verify_password("anything", None));
        assert!(!verify_password("anything", Some("not a phc string")));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let real = hash_password("x").unwrap();
        let params = |s: &str| s.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&real), params(DUMMY_HASH));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(new_token().unwrap().starts_with(TOKEN_PREFIX));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let p = generate_password().unwrap();
        assert_eq!(p.chars().count(), GENERATED_PASSWORD_CHARS);
        assert!(check_new_password(&p).is_ok());
        assert!(p.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        assert_ne!(p, generate_password().unwrap());
    }

    #[test]
    fn short_long_and_blank_passwords_are_refused() {
        assert!(
            check_new_password("short")
                .unwrap_err()
                .contains("at least 12")
        );
        assert!(
            check_new_password(&"x".repeat(MAX_PASSWORD_CHARS + 1))
                .unwrap_err()
                .contains("at most")
        );
        assert!(check_new_password(&format!("ab{}", " ".repeat(20))).is_err());
        assert!(check_new_password("twelve chars").is_ok());
    }
}
