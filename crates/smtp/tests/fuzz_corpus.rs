//! Replays the checked-in fuzz corpora (fuzz/smtp_command, fuzz/smtp_data,
//! fuzz/smtp_session, fuzz/smtp_tls_policy, fuzz/smtp_srs) through the same invariant checks the fuzz targets run.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(target)
        .join("corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        check(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus of {target} has only {n} inputs");
}

#[test]
fn smtp_command_corpus() {
    replay("smtp_command", sealpost_smtp::fuzzing::command);
}

#[test]
fn smtp_data_corpus() {
    replay("smtp_data", sealpost_smtp::fuzzing::data);
}

#[test]
fn smtp_session_corpus() {
    replay("smtp_session", sealpost_smtp::fuzzing::session);
}

#[test]
fn smtp_session_seeds_reach_delivery_in_both_roles() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/smtp_session/corpus/smtp_session");
    let run = |name: &str| {
        sealpost_smtp::fuzzing::session_deliveries(&std::fs::read(dir.join(name)).unwrap())
    };
    assert_eq!(run("inbound_data"), 1);
    assert_eq!(run("inbound_starttls_bdat"), 1);
    assert_eq!(run("submission_plain"), 1);
    // <LF>.<CR><LF> never ends DATA: one message (the smuggled commands are
    // its text) under the default policy, none when bare LF is refused.
    assert_eq!(run("smuggle"), 1, "the smuggled message is content");
    assert_eq!(run("smuggle_strict"), 0, "the smuggled message is refused");
    assert_eq!(run("bdat_no_transaction"), 0);
    // A forwarding address is taken inbound; a forged SRS address and an
    // outside address are not.
    assert_eq!(run("inbound_forward"), 1);
}

#[test]
fn smtp_tls_policy_corpus() {
    replay("smtp_tls_policy", sealpost_smtp::fuzzing::tls_policy);
}

#[test]
fn smtp_srs_corpus() {
    replay("smtp_srs", sealpost_smtp::fuzzing::srs);
}
