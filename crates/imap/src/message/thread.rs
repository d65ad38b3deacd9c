//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, RFC 5256 section 3, and
//! the `thread-list` response syntax of section 4.
//!
//! Messages are identified by the caller's number (sequence number or UID);
//! input order is the tie-breaker wherever the RFC sorts by sent date, so
//! pass messages in ascending sequence order. The sent date is the Date
//! header, or, when that is missing or invalid, the internal date given to
//! the `*_dated` variants (RFC 5256 section 2.2).
//!
//! Everything is iterative over an arena of containers: a reply chain of
//! 100,000 messages neither recurses nor overflows the stack, and
//! [`ThreadNode`] drops its children iteratively for the same reason.

use std::collections::HashMap;

use super::Summary;
use super::subject::base_subject_ext;

/// A node of a thread tree; `id` is `None` for a dummy (a message that is
/// referenced but not in the set).
///
/// Dropping is iterative, so arbitrarily deep reply chains are safe to
/// build, format and drop; the derived `Clone`, `PartialEq` and `Debug`
/// recurse and are meant for tests on small trees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadNode {
    /// The message number, or `None` for a dummy.
    pub id: Option<u32>,
    /// Replies, in thread order.
    pub children: Vec<ThreadNode>,
}

impl Drop for ThreadNode {
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

/// One message to thread: its number, summary and internal date.
type Dated<'a> = (u32, &'a Summary, i64);

struct Msg {
    id: u32,
    date: i64,
    order: usize,
    subject: String,
    reply: bool,
}

fn msgs(input: &[Dated<'_>]) -> Vec<Msg> {
    input
        .iter()
        .enumerate()
        .map(|(order, (id, s, internal))| {
            let (subject, reply) = base_subject_ext(s.subject().unwrap_or(""));
            Msg {
                id: *id,
                date: s.sent_date().unwrap_or(*internal),
                order,
                subject: subject.to_ascii_uppercase(),
                reply,
            }
        })
        .collect()
}

fn undated<'a>(msgs: &[(u32, &'a Summary)]) -> Vec<Dated<'a>> {
    msgs.iter().map(|(id, s)| (*id, *s, 0)).collect()
}

/// ORDEREDSUBJECT threading, sent dates from Date headers only.
pub fn thread_ordered_subject(msgs: &[(u32, &Summary)]) -> Vec<ThreadNode> {
    thread_ordered_subject_dated(&undated(msgs))
}

/// ORDEREDSUBJECT threading with internal dates as the sent-date fallback.
pub fn thread_ordered_subject_dated(input: &[Dated<'_>]) -> Vec<ThreadNode> {
    let mut m = msgs(input);
    // Sort by base subject, then sent date, then input order.
    m.sort_by(|a, b| {
        (a.subject.as_str(), a.date, a.order).cmp(&(b.subject.as_str(), b.date, b.order))
    });
    let mut threads: Vec<(i64, usize, ThreadNode)> = Vec::new();
    let mut i = 0;
    while i < m.len() {
        let mut j = i + 1;
        while j < m.len() && m[j].subject == m[i].subject {
            j += 1;
        }
        let children = m[i + 1..j]
            .iter()
            .map(|x| ThreadNode {
                id: Some(x.id),
                children: Vec::new(),
            })
            .collect();
        threads.push((
            m[i].date,
            m[i].order,
            ThreadNode {
                id: Some(m[i].id),
                children,
            },
        ));
        i = j;
    }
    threads.sort_by_key(|t| (t.0, t.1));
    threads.into_iter().map(|t| t.2).collect()
}

/// REFERENCES threading, sent dates from Date headers only.
pub fn thread_references(msgs: &[(u32, &Summary)]) -> Vec<ThreadNode> {
    thread_references_dated(&undated(msgs))
}

/// A container of the REFERENCES algorithm (RFC 5256 section 3 step 1).
#[derive(Default)]
struct Container {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Arena {
    c: Vec<Container>,
}

impl Arena {
    fn new_container(&mut self) -> usize {
        self.c.push(Container::default());
        self.c.len() - 1
    }

    /// Whether `a` is `b` or one of its descendants (walks up from `a`).
    fn is_descendant(&self, a: usize, b: usize) -> bool {
        if self.c[b].children.is_empty() {
            // Nothing hangs below `b` (the common case of a new message).
            return a == b;
        }
        let mut cur = Some(a);
        while let Some(x) = cur {
            if x == b {
                return true;
            }
            cur = self.c[x].parent;
        }
        false
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.c[child].parent.take() {
            self.c[p].children.retain(|&x| x != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.c[child].parent = Some(parent);
        self.c[parent].children.push(child);
    }
}

/// REFERENCES threading with internal dates as the sent-date fallback.
pub fn thread_references_dated(input: &[Dated<'_>]) -> Vec<ThreadNode> {
    let m = msgs(input);
    let mut a = Arena { c: Vec::new() };
    let mut by_id: HashMap<String, usize> = HashMap::new();

    // Step 1: link messages through their references.
    for (i, (_, summary, _)) in input.iter().enumerate() {
        // A missing or duplicate Message-ID gets a unique container.
        let own = match summary.message_id() {
            Some(id) => match by_id.get(&id) {
                Some(&c) if a.c[c].msg.is_none() => c,
                Some(_) => a.new_container(),
                None => {
                    let c = a.new_container();
                    by_id.insert(id, c);
                    c
                }
            },
            None => a.new_container(),
        };
        a.c[own].msg = Some(i);

        let mut refs = summary.references();
        if refs.is_empty()
            && let Some(irt) = summary.in_reply_to()
        {
            refs.push(irt);
        }
        // Step 1A: chain the references, first to last.
        let mut prev: Option<usize> = None;
        for r in &refs {
            let c = *by_id.entry(r.clone()).or_insert_with(|| {
                a.c.push(Container::default());
                a.c.len() - 1
            });
            if let Some(p) = prev
                && a.c[c].parent.is_none()
                && !a.is_descendant(p, c)
            {
                a.link(p, c);
            }
            prev = Some(c);
        }
        // Step 1B: the last reference is the parent of this message.
        match prev {
            Some(p) if !a.is_descendant(p, own) => {
                a.unlink(own);
                a.link(p, own);
            }
            Some(_) => {}
            None => a.unlink(own),
        }
    }

    // Step 2: the root set.
    let root = a.new_container();
    for i in 0..root {
        if a.c[i].parent.is_none() && (a.c[i].msg.is_some() || !a.c[i].children.is_empty()) {
            a.link(root, i);
        }
    }

    // Step 3: prune dummies, bottom-up so promoted children are pruned too.
    for node in postorder(&a, root) {
        let kids = std::mem::take(&mut a.c[node].children);
        let mut out = Vec::with_capacity(kids.len());
        for k in kids {
            if a.c[k].msg.is_some() {
                out.push(k);
                continue;
            }
            let grandkids = std::mem::take(&mut a.c[k].children);
            match grandkids.len() {
                0 => {}
                1 => out.extend(grandkids),
                _ if node == root => {
                    a.c[k].children = grandkids;
                    out.push(k);
                }
                _ => out.extend(grandkids),
            }
        }
        for &k in &out {
            a.c[k].parent = Some(node);
        }
        a.c[node].children = out;
    }

    // Sent date and order of a container (a dummy uses its first child after
    // sorting its children).
    let key = |a: &Arena, n: usize| -> (i64, usize) {
        let mut x = n;
        while a.c[x].msg.is_none() {
            match a.c[x].children.first() {
                Some(&f) => x = f,
                None => return (i64::MAX, usize::MAX),
            }
        }
        let msg = &m[a.c[x].msg.unwrap_or_default()];
        (msg.date, msg.order)
    };

    // Step 4: sort the top level (dummies' children first).
    for &top in &a.c[root].children.clone() {
        if a.c[top].msg.is_none() {
            let mut kids = std::mem::take(&mut a.c[top].children);
            kids.sort_by_key(|&k| key(&a, k));
            a.c[top].children = kids;
        }
    }
    let mut tops = std::mem::take(&mut a.c[root].children);
    tops.sort_by_key(|&k| key(&a, k));
    a.c[root].children = tops;

    // Step 5: merge threads with the same base subject.
    let thread_subject = |a: &Arena, n: usize| -> Option<(String, bool, bool)> {
        let dummy = a.c[n].msg.is_none();
        let first = if dummy { *a.c[n].children.first()? } else { n };
        let msg = &m[a.c[first].msg?];
        (!msg.subject.is_empty()).then(|| (msg.subject.clone(), dummy, msg.reply))
    };
    let mut table: HashMap<String, usize> = HashMap::new();
    for &top in &a.c[root].children {
        let Some((subj, dummy, reply)) = thread_subject(&a, top) else {
            continue;
        };
        match table.get(&subj) {
            None => {
                table.insert(subj, top);
            }
            Some(&cur) => {
                let cur_dummy = a.c[cur].msg.is_none();
                let cur_reply = thread_subject(&a, cur).is_some_and(|t| t.2);
                if !cur_dummy && (dummy || (cur_reply && !reply)) {
                    table.insert(subj, top);
                }
            }
        }
    }
    // A top-level thread stays in the root set while its parent is root.
    let tops = a.c[root].children.clone();
    for top in tops {
        if a.c[top].parent != Some(root) {
            continue;
        }
        let Some((subj, dummy, reply)) = thread_subject(&a, top) else {
            continue;
        };
        let Some(&other) = table.get(&subj) else {
            continue;
        };
        if other == top {
            continue;
        }
        let other_dummy = a.c[other].msg.is_none();
        let other_reply = !other_dummy && thread_subject(&a, other).is_some_and(|t| t.2);
        if dummy && other_dummy {
            for k in std::mem::take(&mut a.c[top].children) {
                a.link(other, k);
            }
            a.c[top].parent = None;
        } else if other_dummy || (reply && !other_reply) {
            a.link(other, top);
        } else {
            // A new dummy holds both, in the table message's place.
            let d = a.new_container();
            let pos = a.c[root].children.iter().position(|&x| x == other);
            if let Some(pos) = pos {
                a.c[root].children[pos] = d;
            }
            a.c[d].parent = Some(root);
            a.c[other].parent = None;
            a.link(d, other);
            a.link(d, top);
            table.insert(subj, d);
        }
    }
    let kept: Vec<usize> = a.c[root]
        .children
        .iter()
        .copied()
        .filter(|&k| a.c[k].parent == Some(root))
        .collect();
    a.c[root].children = kept;

    // Step 6: sort every set of siblings by sent date, deepest first.
    for node in postorder(&a, root) {
        let mut kids = std::mem::take(&mut a.c[node].children);
        kids.sort_by_key(|&k| key(&a, k));
        a.c[node].children = kids;
    }

    build(&a, root, &m).children.split_off(0)
}

/// Every container under `root` (root included), children before parents.
fn postorder(a: &Arena, root: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![(root, false)];
    while let Some((n, expanded)) = stack.pop() {
        if expanded {
            out.push(n);
        } else {
            stack.push((n, true));
            for &k in &a.c[n].children {
                stack.push((k, false));
            }
        }
    }
    out
}

/// Turns the arena tree under `root` into [`ThreadNode`]s, iteratively.
fn build(a: &Arena, root: usize, m: &[Msg]) -> ThreadNode {
    let mut done: HashMap<usize, ThreadNode> = HashMap::new();
    for n in postorder(a, root) {
        let children = a.c[n]
            .children
            .iter()
            .filter_map(|k| done.remove(k))
            .collect();
        done.insert(
            n,
            ThreadNode {
                id: a.c[n].msg.map(|i| m[i].id),
                children,
            },
        );
    }
    done.remove(&root).unwrap_or_default()
}

/// Formats threads as RFC 5256 `thread-list`s: `(1 2)(3 (4)(5))`.
/// A node with one child continues the member list; with several, each
/// child is a nested list.
pub fn format_threads(threads: &[ThreadNode]) -> String {
    enum Step<'a> {
        Open(&'a ThreadNode),
        Members(&'a ThreadNode, bool),
        Close,
    }
    let mut out = String::new();
    let mut stack: Vec<Step<'_>> = threads.iter().rev().map(Step::Open).collect();
    while let Some(step) = stack.pop() {
        match step {
            Step::Open(node) => {
                out.push('(');
                stack.push(Step::Close);
                stack.push(Step::Members(node, true));
            }
            Step::Members(node, first) => {
                let mut first = first;
                if let Some(id) = node.id {
                    if !first {
                        out.push(' ');
                    }
                    out.push_str(&id.to_string());
                    first = false;
                }
                match node.children.len() {
                    0 => {}
                    1 => stack.push(Step::Members(&node.children[0], first)),
                    _ => {
                        if !first {
                            out.push(' ');
                        }
                        for c in node.children.iter().rev() {
                            stack.push(Step::Open(c));
                        }
                    }
                }
            }
            Step::Close => out.push(')'),
        }
    }
    out
}
