//! RENAME in the shared namespace (RFC 4314 4): bob renames alice's
//! mailbox under `Shared/alice@example.org/` when he holds `x` on it and
//! `k` on the new parent; without either, `NO [NOPERM]`; a mailbox never
//! moves between accounts (`NO [CANNOT]`); one he cannot see answers as a
//! missing one. Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    x_and_k_rename_the_owners_mailbox,
    missing_rights_are_noperm,
    never_across_owners,
);

const ALICE: &str = "Shared/alice@example.org";

async fn ok(c: &mut Client, line: &str) -> Vec<String> {
    let r = c.cmd(line).await;
    let tag = line.split(' ').next().unwrap();
    assert!(
        r.last().unwrap().starts_with(&format!("{tag} OK")),
        "{line}: {r:?}"
    );
    r
}

fn last(r: &[String]) -> &str {
    r.last().unwrap()
}

/// alice with Team and Projects, shared with bob as given; bob logged in.
async fn setup(w: &World, team: &str, projects: &str) -> (Client, Client) {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Team").await;
    ok(&mut alice, "c CREATE Team/Notes").await;
    ok(&mut alice, "c CREATE Projects").await;
    ok(&mut alice, "c CREATE Secret").await;
    ok(&mut alice, &format!("g SETACL Team {USER2} {team}")).await;
    ok(&mut alice, &format!("g SETACL Projects {USER2} {projects}")).await;
    let mut bob = w.connect(true).await;
    ok(&mut bob, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    (alice, bob)
}

async fn x_and_k_rename_the_owners_mailbox(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = setup(&w, "lrx", "lrk").await;
    ok(
        &mut bob,
        &format!("r RENAME \"{ALICE}/Team\" \"{ALICE}/Projects/Team\""),
    )
    .await;
    // alice's own mailbox moved, its child with it.
    let r = ok(&mut alice, "l LIST \"\" \"*\"").await;
    let names: Vec<&str> = r.iter().filter_map(|l| l.rsplit(' ').next()).collect();
    assert!(names.contains(&"\"Projects/Team\""), "{r:?}");
    assert!(names.contains(&"\"Projects/Team/Notes\""), "{r:?}");
    assert!(!names.contains(&"\"Team\""), "{r:?}");
    // bob still sees it, under its new name, with his grant.
    let r = ok(&mut bob, &format!("m MYRIGHTS \"{ALICE}/Projects/Team\"")).await;
    assert_eq!(r[0], format!("* MYRIGHTS \"{ALICE}/Projects/Team\" lrxd"));
    let r = bob.cmd(&format!("s SELECT \"{ALICE}/Team\"")).await;
    assert!(last(&r).starts_with("s NO [NONEXISTENT]"), "{r:?}");
}

async fn missing_rights_are_noperm(store: Backend) {
    let w = World::new(store);
    // No `x` on Team.
    let (mut alice, mut bob) = setup(&w, "lrk", "lrk").await;
    let r = bob
        .cmd(&format!(
            "r RENAME \"{ALICE}/Team\" \"{ALICE}/Projects/Team\""
        ))
        .await;
    assert!(last(&r).starts_with("r NO [NOPERM]"), "{r:?}");
    // `x` on Team, no `k` on the new parent.
    ok(&mut alice, &format!("g SETACL Team {USER2} lrx")).await;
    ok(&mut alice, &format!("g SETACL Projects {USER2} lr")).await;
    let r = bob
        .cmd(&format!(
            "r RENAME \"{ALICE}/Team\" \"{ALICE}/Projects/Team\""
        ))
        .await;
    assert!(last(&r).starts_with("r NO [NOPERM]"), "{r:?}");
    // The owner's top level is nobody's to create in.
    let r = bob
        .cmd(&format!("r RENAME \"{ALICE}/Team\" \"{ALICE}/Renamed\""))
        .await;
    assert!(last(&r).starts_with("r NO [NOPERM]"), "{r:?}");
    // A mailbox bob cannot see answers as one that does not exist.
    let hidden = bob
        .cmd(&format!(
            "r RENAME \"{ALICE}/Secret\" \"{ALICE}/Projects/S\""
        ))
        .await;
    let missing = bob
        .cmd(&format!(
            "r RENAME \"{ALICE}/Nothing\" \"{ALICE}/Projects/S\""
        ))
        .await;
    assert_eq!(hidden, missing);
    assert!(
        last(&hidden).starts_with("r NO [NONEXISTENT]"),
        "{hidden:?}"
    );
    let r = ok(&mut alice, "l LIST \"\" \"*\"").await;
    assert!(r.iter().any(|l| l.ends_with(" \"Team\"")), "{r:?}");
}

async fn never_across_owners(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = setup(&w, "lrxk", "lrxk").await;
    ok(&mut bob, "c CREATE Mine").await;
    for cmd in [
        format!("r RENAME \"{ALICE}/Team\" Stolen"),
        format!("r RENAME Mine \"{ALICE}/Projects/Mine\""),
        format!("r RENAME \"{ALICE}/Team\" \"Shared/bob@example.org/Team\""),
    ] {
        let r = bob.cmd(&cmd).await;
        assert!(last(&r).starts_with("r NO [CANNOT]"), "{cmd}: {r:?}");
    }
    let r = ok(&mut alice, "l LIST \"\" \"*\"").await;
    assert!(r.iter().any(|l| l.ends_with(" \"Team\"")), "{r:?}");
    let r = ok(&mut bob, "l LIST \"\" \"Mine\"").await;
    assert_eq!(r.len(), 2, "{r:?}");
}
