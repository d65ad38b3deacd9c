//! Password hashes: argon2id (RFC 9106), stored as PHC strings, plus the
//! legacy schemes of [`crate::legacy`] kept from other servers until a login
//! replaces them.
//!
//! New hashes use the argon2 crate's defaults, which are OWASP's minimum
//! recommendation for argon2id (m = 19 MiB, t = 2, p = 1). Stored hashes may
//! carry other parameters (an operator raising the cost); verification uses
//! the parameters in the hash. What is neither `$argon2id$v=19$...` nor a
//! legacy scheme is refused when the accounts file is read: no argon2d, no
//! plain text, no unsalted digest.
//!
//! An unknown user is checked against a dummy hash made with the same
//! default parameters, so a login for a name that does not exist costs the
//! same argon2 work as a wrong password and the two cannot be told apart by
//! timing.
//!
//! Working memory: argon2id fills `m` KiB (19 MiB by default) per check.
//! Allocating it per login costs a page fault per 4 KiB and, worse, leaves
//! the allocator holding the freed pages in its arenas, which then look like
//! per-connection memory. Checks therefore borrow their blocks from a small
//! [`pool`] that keeps up to [`POOL_BUFFERS`] buffers of at most
//! [`POOL_MAX_BLOCKS`] blocks: the directory runs at most one check per CPU,
//! so the pool holds what the peak needed anyway, once, and only while logins
//! keep coming: a pool left unused for [`POOL_IDLE_RELEASE`] gives its
//! buffers back to the operating system, and 1,000 idle sessions after a
//! login burst do not carry the burst's 38 MiB. For the buffers to go back
//! rather than stay in the allocator's heap, each one reserves at least
//! [`MAPPED_MIN_BLOCKS`] (32 MiB of address space; only the blocks a check
//! uses are ever touched and resident): glibc serves an allocation that
//! large with its own mapping whatever its dynamic mmap threshold (at most
//! 32 MiB) has grown to, and unmaps it when it is dropped. The blocks are not
//! cleared between checks: argon2 v1.3 writes every block of the first pass
//! before it reads it, so the result never depends on earlier contents (the
//! tests check this against the crate's own verifier), and what is left in
//! them is derived from a password the process held in memory anyway.

use crate::Secret;
use crate::legacy::{self, Scheme};
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use parking_lot::Mutex;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Buffers the pool keeps between checks.
pub(crate) const POOL_BUFFERS: usize = 8;
/// Largest buffer (in 1 KiB blocks) the pool keeps: 64 MiB. Hashes with a
/// higher memory cost allocate their blocks per check.
pub(crate) const POOL_MAX_BLOCKS: usize = 64 * 1024;

/// How long the pool keeps its buffers after the last check.
pub(crate) const POOL_IDLE_RELEASE: Duration = Duration::from_secs(2);

/// Reusable argon2 working memory (see the module documentation).
#[derive(Default)]
struct Pool {
    buffers: Vec<Vec<Block>>,
    /// When a buffer was last given back.
    last_return: Option<Instant>,
    /// Whether a releaser thread is waiting for the pool to go idle.
    releaser: bool,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: Mutex<Pool> = Mutex::new(Pool {
        buffers: Vec::new(),
        last_return: None,
        releaser: false,
    });
    &POOL
}

/// Capacity (in 1 KiB blocks) every new buffer reserves: 32 MiB, glibc's
/// largest mmap threshold, so the buffer is a mapping of its own.
pub(crate) const MAPPED_MIN_BLOCKS: usize = 32 * 1024;

/// A buffer of at least `blocks` blocks, from the pool when one is there.
fn take_blocks(blocks: usize) -> Vec<Block> {
    let pooled = pool().lock().buffers.pop();
    let mut buf = pooled.unwrap_or_else(|| Vec::with_capacity(blocks.max(MAPPED_MIN_BLOCKS)));
    if buf.len() < blocks {
        buf.resize(blocks, Block::default());
    }
    buf
}

/// Gives a buffer back, unless the pool is full or the buffer too big, and
/// makes sure a releaser will empty the pool once checks stop.
fn return_blocks(buf: Vec<Block>) {
    if buf.len() > POOL_MAX_BLOCKS {
        return;
    }
    let mut pool = pool().lock();
    if pool.buffers.len() >= POOL_BUFFERS {
        return;
    }
    pool.buffers.push(buf);
    pool.last_return = Some(Instant::now());
    if !pool.releaser {
        let spawned = std::thread::Builder::new()
            .name("argon2-pool".into())
            .spawn(release_when_idle);
        // Without a thread the buffers stay until the next check's return
        // spawns one: memory held longer, never a failed login.
        pool.releaser = spawned.is_ok();
    }
}

/// Waits until no buffer came back for [`POOL_IDLE_RELEASE`], then drops
/// the pool's buffers (outside the lock) and ends.
fn release_when_idle() {
    loop {
        let wait = {
            let mut pool = pool().lock();
            let idle = pool.last_return.map_or(POOL_IDLE_RELEASE, |t| t.elapsed());
            if idle >= POOL_IDLE_RELEASE {
                pool.releaser = false;
                let released = std::mem::take(&mut pool.buffers);
                drop(pool);
                drop(released);
                return;
            }
            POOL_IDLE_RELEASE - idle
        };
        std::thread::sleep(wait);
    }
}

/// Longest password accepted, in octets. Longer ones are refused when set
/// and fail at login without hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Longest PHC string accepted in the accounts file.
pub(crate) const MAX_PHC_LEN: usize = 512;

/// Highest memory cost (KiB) accepted in a stored hash: 1 GiB. A typo'd
/// parameter must not make every login allocate the machine's memory.
const MAX_M_COST: u32 = 1 << 20;
/// Highest time cost accepted in a stored hash.
const MAX_T_COST: u32 = 64;
/// Highest parallelism accepted in a stored hash.
const MAX_P_COST: u32 = 64;

/// Hashes a password with argon2id and the default (OWASP) parameters and a
/// fresh random salt, as a PHC string `$argon2id$v=19$m=19456,t=2,p=1$...`.
///
/// Callers that take passwords from users refuse empty ones and ones longer
/// than [`MAX_PASSWORD_LEN`] first (the editing functions do).
pub fn hash_password(password: &Secret) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    // Cannot fail: default parameters are valid, the salt is well-formed and
    // argon2 only refuses passwords longer than 2^32 octets.
    hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .expect("argon2id with default parameters")
        .to_string()
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Checks a stored hash from the accounts file: argon2id, or one of the
/// legacy schemes [`crate::legacy`] accepts, with parameters in bounds.
/// Returns its scheme; the reason it is refused is one line.
pub fn check_stored(stored: &str) -> Result<Scheme, String> {
    if stored.len() > MAX_PHC_LEN {
        return Err(format!("longer than {MAX_PHC_LEN} characters"));
    }
    let parsed = legacy::parse(stored)?;
    match parsed.scheme {
        Scheme::Argon2id | Scheme::Argon2i => check_phc(parsed.body, parsed.scheme)?,
        _ => legacy::check(&parsed)?,
    }
    Ok(parsed.scheme)
}

/// Checks an argon2 PHC string of the given scheme, with bounded parameters.
fn check_phc(phc: &str, scheme: Scheme) -> Result<(), String> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| format!("not a valid PHC hash string ({e})"))?;
    let (algorithm, name) = argon2_of(scheme);
    if parsed.algorithm != algorithm.ident() {
        return Err(format!(
            "hash algorithm `{}` is not accepted: only argon2id (and argon2i kept from elsewhere)",
            parsed.algorithm
        ));
    }
    let v19 = parsed.version == Some(Version::V0x13.into());
    // argon2i from libsodium or older tools may be version 16; argon2id is
    // always 19 here.
    let v16 = scheme == Scheme::Argon2i && parsed.version == Some(Version::V0x10.into());
    if !v19 && !v16 {
        return Err(format!("{name} hash must be version 19 (v=19)"));
    }
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(format!("{name} hash lacks its salt or output"));
    }
    let params = Params::try_from(&parsed).map_err(|e| format!("bad {name} parameters ({e})"))?;
    if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST
    {
        return Err(format!(
            "{name} parameters out of bounds (at most m={MAX_M_COST}, t={MAX_T_COST}, p={MAX_P_COST})"
        ));
    }
    Ok(())
}

fn argon2_of(scheme: Scheme) -> (Algorithm, &'static str) {
    match scheme {
        Scheme::Argon2i => (Algorithm::Argon2i, "argon2i"),
        _ => (Algorithm::Argon2id, "argon2id"),
    }
}

/// Verifies a password against a stored hash (checked by [`check_stored`]
/// when it was loaded), whatever its scheme. Runs the scheme's work once:
/// call it on a blocking thread.
pub(crate) fn verify(stored: &str, password: &Secret) -> bool {
    match legacy::parse(stored) {
        Ok(p) if matches!(p.scheme, Scheme::Argon2id | Scheme::Argon2i) => {
            verify_argon2(p.body, argon2_of(p.scheme).0, password)
        }
        Ok(p) => legacy::verify(&p, password),
        Err(_) => false,
    }
}

/// Verifies a password against an argon2 PHC string, on pooled memory.
fn verify_argon2(phc: &str, algorithm: Algorithm, password: &Secret) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    // The parameters (and output length) come from the hash.
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        Some(Ok(v)) => v,
        None => Version::V0x13,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut blocks = take_blocks(argon2.params().block_count());
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let hashed =
        argon2.hash_password_into_with_memory(password.expose().as_bytes(), salt, out, &mut blocks);
    return_blocks(blocks);
    // Output's equality is constant-time.
    hashed.is_ok() && Output::new(out).is_ok_and(|computed| computed == expected)
}

/// A hash of a random password nobody knows, with the default parameters:
/// what an unknown user's login is checked against.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: LazyLock<String> = LazyLock::new(|| {
        use rand::RngCore;
        let mut random = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let password = Secret::new(
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        hash_password(&password)
    });
    &DUMMY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let h = hash_password(&Secret::new("correct horse"));
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        check_stored(&h).unwrap();
        assert!(verify(&h, &Secret::new("correct horse")));
        assert!(!verify(&h, &Secret::new("correct horsE")));
        assert!(!verify(&h, &Secret::new("")));
    }

    #[test]
    fn salts_differ() {
        let pw = Secret::new("same");
        assert_ne!(hash_password(&pw), hash_password(&pw));
    }

    #[test]
    fn dummy_is_default_cost_argon2id() {
        let d = dummy_hash();
        check_stored(d).unwrap();
        assert!(d.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn refuses_other_hash_kinds() {
        let salt = "c29tZXNhbHRzb21lc2FsdA";
        let out = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        for bad in [
            "secret".to_string(),
            "".to_string(),
            "{PLAIN}secret".to_string(),
            "$2b$99$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_string(),
            "$6$rounds=5000$salt$hash".to_string(),
            "{SHA512-CRYPT}$6$abc$def".to_string(),
            format!("{{ARGON2I}}$argon2id$v=19$m=19456,t=2,p=1${salt}${out}"),
            format!("$argon2d$v=19$m=19456,t=2,p=1${salt}${out}"),
            format!("$argon2id$v=16$m=19456,t=2,p=1${salt}${out}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1${salt}"),
            format!("$argon2id$v=19$m=4294967295,t=2,p=1${salt}${out}"),
            format!("$argon2id$v=19$m=19456,t=1000,p=1${salt}${out}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1${salt}${}", "A".repeat(600)),
        ] {
            assert!(check_stored(&bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            check_stored(&format!("$argon2id$v=19$m=19456,t=2,p=1${salt}${out}")),
            Ok(Scheme::Argon2id)
        );
        assert_eq!(
            check_stored(&format!("$argon2i$v=19$m=19456,t=2,p=1${salt}${out}")),
            Ok(Scheme::Argon2i)
        );
        assert_eq!(
            check_stored(&format!(
                "{{ARGON2ID}}$argon2id$v=19$m=19456,t=2,p=1${salt}${out}"
            )),
            Ok(Scheme::Argon2id)
        );
    }

    #[test]
    fn pooled_memory_gives_the_crates_own_answers_in_any_order() {
        use argon2::password_hash::PasswordVerifier;
        // Different costs and lane counts one after the other on the same
        // pooled buffers; each answer must equal argon2's own verifier.
        let hashes: Vec<(String, &str)> = [(8, 1, 1), (64, 2, 2), (32, 3, 4), (8, 1, 1)]
            .iter()
            .zip(["a", "bb", "ccc", "dddd"])
            .map(|(&(m, t, p), pw)| {
                let params = Params::new(m, t, p, None).unwrap();
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                let salt = SaltString::generate(&mut rand::rngs::OsRng);
                (
                    argon
                        .hash_password(pw.as_bytes(), &salt)
                        .unwrap()
                        .to_string(),
                    pw,
                )
            })
            .collect();
        for round in 0..3 {
            for (h, pw) in &hashes {
                for attempt in [*pw, "wrong", ""] {
                    let parsed = PasswordHash::new(h).unwrap();
                    let reference = hasher()
                        .verify_password(attempt.as_bytes(), &parsed)
                        .is_ok();
                    assert_eq!(
                        verify(h, &Secret::new(attempt)),
                        reference,
                        "round {round}: {h} with {attempt:?}"
                    );
                    assert_eq!(reference, attempt == *pw);
                }
            }
        }
        assert!(pool().lock().buffers.len() <= POOL_BUFFERS);
    }

    #[test]
    fn an_idle_pool_gives_its_buffers_back() {
        return_blocks(vec![Block::default(); 8]);
        // Other tests may check passwords meanwhile and refill the pool;
        // what must happen is that it is found empty once checks pause.
        let deadline = Instant::now() + POOL_IDLE_RELEASE * 10;
        while !pool().lock().buffers.is_empty() {
            assert!(Instant::now() < deadline, "pool still holds buffers");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn oversized_buffers_are_not_kept() {
        return_blocks(vec![Block::default(); POOL_MAX_BLOCKS + 1]);
        assert!(
            pool()
                .lock()
                .buffers
                .iter()
                .all(|b| b.len() <= POOL_MAX_BLOCKS)
        );
    }

    #[test]
    fn verify_honours_stored_parameters() {
        let params = Params::new(8, 1, 1, None).unwrap();
        let cheap = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let h = cheap.hash_password(b"pw", &salt).unwrap().to_string();
        check_stored(&h).unwrap();
        assert!(verify(&h, &Secret::new("pw")));
        assert!(!verify(&h, &Secret::new("pw2")));
    }
}
