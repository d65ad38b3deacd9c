//! The store's test suite, run on every backend: each case in
//! `cases/store.rs` runs once on the embedded store (sled + blob files) and
//! once on PostgreSQL (a fresh database per test on the instance that
//! `SEALPOST_TEST_PG` names; `.ci/run` starts one with `tests/pg.sh`).
//! Without that variable the PostgreSQL half fails: it is never skipped.
//! `cases/append_all.rs` (MULTIAPPEND's batch append, OBJECTID's keyed
//! ids), `cases/acl.rs` (mailbox grants), `cases/metadata.rs` (METADATA
//! entries) and `cases/append_stream.rs` (appends in pieces) are included
//! beside it and share its helpers; `cases/embedded_only.rs` (blob files
//! in data_dir) only in the embedded half.

mod embedded {
    const IS_PG: bool = false;
    fn backend() -> sealpost_store::BackendOptions {
        sealpost_store::BackendOptions::Embedded
    }
    include!("cases/store.rs");
    include!("cases/append_all.rs");
    include!("cases/acl.rs");
    include!("cases/metadata.rs");
    include!("cases/append_stream.rs");
    include!("cases/embedded_only.rs");
}

mod postgresql {
    const IS_PG: bool = true;
    fn backend() -> sealpost_store::BackendOptions {
        sealpost_store::BackendOptions::PostgreSql(sealpost_store::testing::fresh_database())
    }
    include!("cases/store.rs");
    include!("cases/append_all.rs");
    include!("cases/acl.rs");
    include!("cases/metadata.rs");
    include!("cases/append_stream.rs");
}
