//! Known-answer vectors for every accepted scheme and the refusals.
//!
//! The `{SCHEME}` vectors were made with `doveadm pw -s SCHEME -p 'correct
//! horse'` (Dovecot 2.3.19, Debian 12); the bare SHA-crypt ones with
//! `openssl passwd -6/-5`; the `.hex` and salt-`01020304` SSHA ones with
//! Python's hashlib (digest of password then salt, then the salt).

use super::*;
use crate::password::{check_stored, verify};

const PW: &str = "correct horse";

/// (stored hash, its scheme), each a hash of [`PW`].
const VECTORS: &[(&str, Scheme)] = &[
    (
        "{SHA512-CRYPT}$6$CnNX5CchjCoIqTjO$2iQA5UoVkfr9HuqcNY9UhPzUtWvh9dqoSxJ0TiNdp1ra6IDyGUEcqKOD8ctAnmSEDGtYLM6XsZyLWUhMn2jTy0",
        Scheme::Sha512Crypt,
    ),
    (
        "{SHA256-CRYPT}$5$5iGw491kDVOZDH5k$5rzJ574ZSh3KGO3JIe7aoVligk4bZar6ShvVqqyW0sC",
        Scheme::Sha256Crypt,
    ),
    (
        "{BLF-CRYPT}$2y$05$p6GvldSa6nkL/Q4bDgloMO8ETB.R8kB6L/RMRUpyMb7pr9qzh.M5a",
        Scheme::BlfCrypt,
    ),
    (
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$cE/ArmobbH3mPFbvlEOV6A$3Z3mBL4wgBL22aUOVX0L6w3M5N1CpjYukjzDw6ncp8w",
        Scheme::Argon2i,
    ),
    (
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$fnOZPau7BtRu/AHIDfnqwQ$Vc21O2GXBXeBv1bMYafl1WlGobp/vbVI2KwRMUqeUV4",
        Scheme::Argon2id,
    ),
    ("{SSHA}0lpq5y/8N6G2RocKq2rjc3f7/p/+z+nG", Scheme::Ssha),
    (
        "{SSHA256}csmrH6ZW+LHEr6MMXtTxWMow3V+ailMx3wU+cVkY+jiT3wXc",
        Scheme::Ssha256,
    ),
    (
        "{SSHA512}koRNV0yZC2X/L+v1+yYGzFnISGe4cTNUrAlw3JSNgXKidtJiO6VAuIcHRpdrAr2uRs3p02xQvMAtduN6yE7ajlaikkY=",
        Scheme::Ssha512,
    ),
    (
        "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
        Scheme::Sha512Crypt,
    ),
    (
        "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
        Scheme::Sha256Crypt,
    ),
    (
        "{CRYPT}$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
        Scheme::Sha512Crypt,
    ),
    (
        "$2y$05$tnrt.dbz12.8g/.yBonLUOoliJfveiOqEfuVqHa3vLnWVoSMeiCpm",
        Scheme::BlfCrypt,
    ),
    (
        "$argon2i$v=19$m=32768,t=4,p=1$cE/ArmobbH3mPFbvlEOV6A$3Z3mBL4wgBL22aUOVX0L6w3M5N1CpjYukjzDw6ncp8w",
        Scheme::Argon2i,
    ),
    ("{SSHA}5pcxo13YdJml98eQSIlT3FMEBMMBAgME", Scheme::Ssha),
    (
        "{SSHA.HEX}e69731a35dd87499a5f7c790488953dc530404c301020304",
        Scheme::Ssha,
    ),
    (
        "{ssha256.b64}0hJvnJrn389Ik7M3OR+qOZl6NBsSet72zG2p4yy6GwEBAgME",
        Scheme::Ssha256,
    ),
    (
        "{SSHA512}59hB/WwyfgQUZfHrhGKG7B924+SMQ9dsAndq2fAiQ192K1Up6+Uyb2bNkO/rs2mynGTKvujt8okIdKCusVizJwECAwQ=",
        Scheme::Ssha512,
    ),
];

#[test]
fn every_vector_is_accepted_and_verifies_only_its_password() {
    for (stored, scheme) in VECTORS {
        assert_eq!(check_stored(stored).as_ref(), Ok(scheme), "{stored}");
        assert_eq!(Scheme::of(stored), Some(*scheme));
        assert!(
            verify(stored, &Secret::new(PW)),
            "{stored} refused its password"
        );
        for wrong in ["correct horsE", "correct horse ", "", "correct"] {
            assert!(
                !verify(stored, &Secret::new(wrong)),
                "{stored} took {wrong:?}"
            );
        }
    }
}

#[test]
fn sha_crypt_rounds_are_honoured() {
    // `openssl passwd -6 -salt 'rounds=10000$abc' x`
    let h = "$6$rounds=10000$abc$UCUqOk6gcu9ZZtND2Z0UgYk8lwpVRmtR53Lsvl5g.kCesFgYAcUnyv3CZaGPARyVDChSCfm/81bYK.MFc2KRz1";
    check_stored(h).unwrap();
    assert!(verify(h, &Secret::new("x")));
    let other_rounds = h.replace("rounds=10000", "rounds=10001");
    assert!(!verify(&other_rounds, &Secret::new("x")));
    let too_many = h.replace("rounds=10000", "rounds=1000001");
    assert!(
        check_stored(&too_many)
            .unwrap_err()
            .contains("out of bounds")
    );
}

#[test]
fn refusals_say_why_in_one_line() {
    let table: &[(&str, &str)] = &[
        ("{PLAIN}hunter2", "plain text"),
        ("{plain.b64}aHVudGVyMg==", "plain text"),
        ("{CLEARTEXT}hunter2", "plain text"),
        ("{MD5}X03MO1qnZdYdgyfeuILPmQ==", "unsalted"),
        ("{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99", "unsalted"),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "unsalted"),
        (
            "{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=",
            "unsalted",
        ),
        (
            "{SHA512}sQnzu7wkTrgkQZF+0G1hi5AI3Qmzvv0bXgc5THBqi7mAsdd4Xll27ASbRt9fEyavWi6m0QP9B8lThf+rDKy8hg==",
            "unsalted",
        ),
        ("{MD5-CRYPT}$1$abc$xyz", "too weak"),
        ("$1$abcdefgh$12345678901234567890..", "too weak"),
        ("{CRYPT}abJnggxhB/yWI", "too weak"),
        ("{CRAM-MD5}abc", "too weak"),
        (
            "$2x$05$tnrt.dbz12.8g/.yBonLUOoliJfveiOqEfuVqHa3vLnWVoSMeiCpm",
            "$2x$",
        ),
        ("{WHATEVER}abc", "unknown password scheme"),
        ("{SSHA.rot13}abc", "unknown encoding"),
        ("{SSHA", "closing"),
        ("{SSHA}AAAA", "digest and a salt"),
        ("{SSHA}not base64!", "base64"),
        ("{SSHA.HEX}zz", "hex"),
        (
            "{SHA512-CRYPT}$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
            "holds a SHA256-CRYPT",
        ),
        ("$6$salt$tooshort", "86 characters"),
        ("$6$rounds=abc$salt$x", "number"),
        (
            "$2y$03$tnrt.dbz12.8g/.yBonLUOoliJfveiOqEfuVqHa3vLnWVoSMeiCpm",
            "bcrypt cost 3",
        ),
        ("$2y$05$tnrt", "60 characters"),
        ("$scrypt$ln=16,r=8,p=1$abc$def", "`scrypt` is not accepted"),
        ("hunter2", "never a plain password"),
    ];
    for (stored, why) in table {
        let e = check_stored(stored).expect_err(stored);
        assert!(e.contains(why), "{stored}: want {why:?} in {e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(!verify(stored, &Secret::new("hunter2")));
    }
}

#[test]
fn bcrypt_reads_72_octets_like_everyone() {
    let long = "a".repeat(80);
    let h = bcrypt::hash(&long, 4).unwrap();
    check_stored(&h).unwrap();
    assert!(verify(&h, &Secret::new(long.clone())));
    assert!(verify(&h, &Secret::new(&long[..72])));
    assert!(!verify(&h, &Secret::new(&long[..71])));
}
