//! Group commit: many writers, few fsyncs.
//!
//! A writer that needs "everything I did so far is durable" registers and
//! waits. One of the waiters runs the sync for everyone registered before it
//! started; those who came later wait for the next round. Under load, one
//! fsync serves a whole batch of concurrent appends.

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct State {
    requested: u64,
    completed: u64,
    running: bool,
    last_error: Option<(u64, String)>,
}

/// Coalesces calls to one sync operation.
#[derive(Default)]
pub struct GroupSync {
    state: Mutex<State>,
    cv: Condvar,
}

impl GroupSync {
    /// Returns once a run of `sync` that started after this call has finished.
    pub fn sync(&self, sync: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
        let mut st = self.state.lock();
        st.requested += 1;
        let mine = st.requested;
        let mut sync = Some(sync);
        loop {
            if st.completed >= mine {
                return match &st.last_error {
                    Some((round, e)) if *round >= mine => Err(std::io::Error::other(e.clone())),
                    _ => Ok(()),
                };
            }
            if !st.running {
                st.running = true;
                let target = st.requested;
                drop(st);
                // Our own closure runs the round; later rounds may be run by others.
                let result = match sync.take() {
                    Some(f) => f(),
                    None => Ok(()),
                };
                st = self.state.lock();
                st.running = false;
                st.completed = target;
                if let Err(e) = result {
                    st.last_error = Some((target, e.to_string()));
                }
                self.cv.notify_all();
            } else {
                self.cv.wait(&mut st);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_callers_share_syncs() {
        let g = Arc::new(GroupSync::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let g = g.clone();
                let runs = runs.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        g.sync(|| {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let n = runs.load(Ordering::SeqCst);
        assert!((1..=320).contains(&n), "{n}");
    }
}
