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

/// REFERENCES threading with internal dates as the sent-date fallback:
/// RFC 5256 section 3's six steps, one function each.
pub fn thread_references_dated(input: &[Dated<'_>]) -> Vec<ThreadNode> {
    let m = msgs(input);
    let mut a = Arena { c: Vec::new() };
    link_references(&mut a, input);
    let root = root_set(&mut a);
    prune_dummies(&mut a, root);
    sort_top_level(&mut a, &m, root);
    merge_by_subject(&mut a, &m, root);
    sort_siblings(&mut a, &m, root);
    build(&a, root, &m).children.split_off(0)
}

/// Step 1: a container per Message-ID, linked through References (or
/// In-Reply-To when there are none).
fn link_references(a: &mut Arena, input: &[Dated<'_>]) {
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (i, (_, summary, _)) in input.iter().enumerate() {
        let own = own_container(a, &mut by_id, summary.message_id());
        a.c[own].msg = Some(i);
        let mut refs = summary.references();
        if refs.is_empty()
            && let Some(irt) = summary.in_reply_to()
        {
            refs.push(irt);
        }
        let last = chain_references(a, &mut by_id, &refs);
        // Step 1B: the last reference is the parent of this message.
        match last {
            Some(p) if !a.is_descendant(p, own) => {
                a.unlink(own);
                a.link(p, own);
            }
            Some(_) => {}
            None => a.unlink(own),
        }
    }
}

/// The container of a message: the one its Message-ID names, unless that
/// already holds a message; a missing or duplicate Message-ID gets a
/// container of its own.
fn own_container(
    a: &mut Arena,
    by_id: &mut HashMap<String, usize>,
    message_id: Option<String>,
) -> usize {
    let Some(id) = message_id else {
        return a.new_container();
    };
    match by_id.get(&id) {
        Some(&c) if a.c[c].msg.is_none() => c,
        Some(_) => a.new_container(),
        None => {
            let c = a.new_container();
            by_id.insert(id, c);
            c
        }
    }
}

/// Step 1A: chains the references, first to last, without making a loop
/// or moving a container that already has a parent; returns the last.
fn chain_references(
    a: &mut Arena,
    by_id: &mut HashMap<String, usize>,
    refs: &[String],
) -> Option<usize> {
    let mut prev: Option<usize> = None;
    for r in refs {
        let c = match by_id.get(r) {
            Some(&c) => c,
            None => {
                let c = a.new_container();
                by_id.insert(r.clone(), c);
                c
            }
        };
        if let Some(p) = prev
            && a.c[c].parent.is_none()
            && !a.is_descendant(p, c)
        {
            a.link(p, c);
        }
        prev = Some(c);
    }
    prev
}

/// Step 2: a new root holding every container without a parent.
fn root_set(a: &mut Arena) -> usize {
    let root = a.new_container();
    for i in 0..root {
        if a.c[i].parent.is_none() && (a.c[i].msg.is_some() || !a.c[i].children.is_empty()) {
            a.link(root, i);
        }
    }
    root
}

/// Step 3: prunes dummies, bottom-up so promoted children are pruned too.
/// A dummy's children take its place, except at the top level when there
/// are several (the dummy then stays to hold them).
fn prune_dummies(a: &mut Arena, root: usize) {
    for node in postorder(a, root) {
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
}

/// Sent date and input order of a container (a dummy uses its first child,
/// so sort a dummy's children before the dummy).
fn sort_key(a: &Arena, m: &[Msg], n: usize) -> (i64, usize) {
    let mut x = n;
    while a.c[x].msg.is_none() {
        match a.c[x].children.first() {
            Some(&f) => x = f,
            None => return (i64::MAX, usize::MAX),
        }
    }
    let msg = &m[a.c[x].msg.unwrap_or_default()];
    (msg.date, msg.order)
}

/// Sorts `node`'s children by sent date.
fn sort_children(a: &mut Arena, m: &[Msg], node: usize) {
    let mut kids = std::mem::take(&mut a.c[node].children);
    kids.sort_by_key(|&k| sort_key(a, m, k));
    a.c[node].children = kids;
}

/// Step 4: sorts the top level (dummies' children first).
fn sort_top_level(a: &mut Arena, m: &[Msg], root: usize) {
    for top in a.c[root].children.clone() {
        if a.c[top].msg.is_none() {
            sort_children(a, m, top);
        }
    }
    sort_children(a, m, root);
}

/// The base subject of a top-level thread, whether the thread is a dummy,
/// and whether its subject was a reply's; `None` when it has no subject.
fn thread_subject(a: &Arena, m: &[Msg], n: usize) -> Option<(String, bool, bool)> {
    let dummy = a.c[n].msg.is_none();
    let first = if dummy { *a.c[n].children.first()? } else { n };
    let msg = &m[a.c[first].msg?];
    (!msg.subject.is_empty()).then(|| (msg.subject.clone(), dummy, msg.reply))
}

/// Step 5A-C: the subject table, one top-level thread per base subject,
/// preferring a dummy, then a thread whose subject is not a reply's.
fn subject_table(a: &Arena, m: &[Msg], root: usize) -> HashMap<String, usize> {
    let mut table: HashMap<String, usize> = HashMap::new();
    for &top in &a.c[root].children {
        let Some((subj, dummy, reply)) = thread_subject(a, m, top) else {
            continue;
        };
        match table.get(&subj) {
            None => {
                table.insert(subj, top);
            }
            Some(&cur) => {
                let cur_dummy = a.c[cur].msg.is_none();
                let cur_reply = thread_subject(a, m, cur).is_some_and(|t| t.2);
                if !cur_dummy && (dummy || (cur_reply && !reply)) {
                    table.insert(subj, top);
                }
            }
        }
    }
    table
}

/// Step 5: merges top-level threads with the same base subject into the
/// one the subject table names.
fn merge_by_subject(a: &mut Arena, m: &[Msg], root: usize) {
    let mut table = subject_table(a, m, root);
    for top in a.c[root].children.clone() {
        // A top-level thread stays in the root set while its parent is root.
        if a.c[top].parent != Some(root) {
            continue;
        }
        let Some((subj, dummy, reply)) = thread_subject(a, m, top) else {
            continue;
        };
        let Some(&other) = table.get(&subj) else {
            continue;
        };
        if other != top
            && let Some(d) = merge_pair(a, m, root, (top, dummy, reply), other)
        {
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
}

/// Step 5E: merges thread `top` into `other`, the table's thread for the
/// same subject; returns the new dummy when one had to hold both.
fn merge_pair(
    a: &mut Arena,
    m: &[Msg],
    root: usize,
    (top, dummy, reply): (usize, bool, bool),
    other: usize,
) -> Option<usize> {
    let other_dummy = a.c[other].msg.is_none();
    let other_reply = !other_dummy && thread_subject(a, m, other).is_some_and(|t| t.2);
    if dummy && other_dummy {
        for k in std::mem::take(&mut a.c[top].children) {
            a.link(other, k);
        }
        a.c[top].parent = None;
        None
    } else if other_dummy || (reply && !other_reply) {
        a.link(other, top);
        None
    } else {
        // A new dummy holds both, in the table message's place.
        let d = a.new_container();
        if let Some(pos) = a.c[root].children.iter().position(|&x| x == other) {
            a.c[root].children[pos] = d;
        }
        a.c[d].parent = Some(root);
        a.c[other].parent = None;
        a.link(d, other);
        a.link(d, top);
        Some(d)
    }
}

/// Step 6: sorts every set of siblings by sent date, deepest first.
fn sort_siblings(a: &mut Arena, m: &[Msg], root: usize) {
    for node in postorder(a, root) {
        sort_children(a, m, node);
    }
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
