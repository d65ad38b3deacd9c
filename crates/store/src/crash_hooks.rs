//! Crash-test hooks for the embedded store's write-ahead log (`backend/wal.rs`):
//! they stop a committing thread at a chosen point between the log and
//! sled, so that a test can kill the process (SIGKILL) exactly there and
//! check what the next open recovers (`tests/wal_kill.rs`).
//!
//! Compiled only with the cargo feature `crash-hooks`, which nothing but
//! this crate's own dev-dependency on itself turns on: a `sealpost` binary
//! built for use (`cargo build`, `cargo build --release`, `cargo install`)
//! has neither this module nor the calls into it. Test builds that take
//! this crate's dev-dependencies (`cargo test -p sealpost-store`, and
//! `cargo test --workspace`, whose feature unification puts the hooks in
//! the server binary the end-to-end tests run too) have them, inert: with
//! no hold set, a commit pays one uncontended lock.
//!
//! The points, in a commit's order (`backend/embedded.rs`):
//! 1. [`Point::Synced`]: the commit's record is in the log and an
//!    fdatasync covers it; nothing of it has reached sled, and the commit
//!    is not acknowledged (its call has not returned).
//! 2. [`Point::HalfApplied`]: the first key of the record is written to
//!    sled and sled is flushed, so sled's own files hold part of a change,
//!    which the next open's replay must complete.
//!
//! A held thread calls the test's `reached` and then waits for ever; at
//! `HalfApplied` it keeps the store's queue and view locks, so every other
//! store call waits too.

use parking_lot::Mutex;
use std::sync::Arc;

/// Where a commit is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// After the fdatasync that covers the commit's record, before any of
    /// it is applied to sled.
    Synced,
    /// After the first key of a record is applied to sled and sled flushed.
    HalfApplied,
}

type Reached = Arc<dyn Fn(Point) + Send + Sync>;

static HOLD: Mutex<Option<(Point, Reached)>> = Mutex::new(None);

/// From now on, in this process, every commit that gets to `point` calls
/// `reached` on its own thread and then never returns.
pub fn hold(point: Point, reached: impl Fn(Point) + Send + Sync + 'static) {
    *HOLD.lock() = Some((point, Arc::new(reached)));
}

/// Called by the backend at `point`; holds the thread there if asked to.
/// `before` runs first when the thread is held (the flush of
/// [`Point::HalfApplied`]).
pub(crate) fn at(point: Point, before: impl FnOnce()) {
    let reached = match &*HOLD.lock() {
        Some((p, reached)) if *p == point => reached.clone(),
        _ => return,
    };
    before();
    reached(point);
    loop {
        std::thread::park();
    }
}

/// Called by the backend after each key of a record it applies, `left`
/// counting the keys still to apply: holds at [`Point::HalfApplied`] while
/// some are left, after `flush` (sled's) has run.
pub(crate) fn applied_one(left: &mut usize, flush: impl FnOnce() -> sled::Result<()>) {
    *left -= 1;
    if *left > 0 {
        at(Point::HalfApplied, || {
            flush().expect("sled flush at the crash hook");
        });
    }
}
