//! In-place edits of the config file for `sealpost domain ...` and
//! `sealpost dkim ...`: toml_edit keeps the operator's comments, order and
//! layout; only the `[[domain]]` and `[[smtp.dkim]]` tables named change.
//! The caller validates the result with `Config::parse` before writing it.
//!
//! Uses nothing else of the crate.

use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

/// A parsed config file, ready for edits.
pub struct ConfigDoc(DocumentMut);

/// One `[[smtp.dkim]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimEntry {
    pub domain: String,
    pub selector: String,
    pub algorithm: String,
    /// The key path as written in the file.
    pub key: String,
    pub sign: bool,
    /// Not yet confirmed in DNS: never signs (`dkim activate`).
    pub pending: bool,
    /// When `dkim activate` stopped it signing (RFC 3339).
    pub stopped_signing: Option<String>,
}

impl DkimEntry {
    /// Whether it signs now.
    pub fn signs(&self) -> bool {
        self.sign && !self.pending
    }
}

impl ConfigDoc {
    /// Parses config text (already validated by `Config::load`).
    pub fn parse(text: &str) -> Result<ConfigDoc, String> {
        text.parse::<DocumentMut>()
            .map(ConfigDoc)
            .map_err(|e| e.to_string().replace('\n', " "))
    }

    /// The file's text as edited.
    pub fn text(&self) -> String {
        self.0.to_string()
    }

    /// The folder new DKIM keys go to, as the file would write it: beside
    /// `server.master_key` (relative paths stay relative to the file).
    pub fn key_dir(&self) -> PathBuf {
        let master = self
            .0
            .get("server")
            .and_then(|s| s.get("master_key"))
            .and_then(Item::as_str)
            .unwrap_or("keys/master.key");
        Path::new(master)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Appends a `[[domain]]` after the last one.
    pub fn add_domain(&mut self, name: &str) {
        let mut t = Table::new();
        t.insert("name", value(name));
        array(self.0.as_table_mut(), "domain").push(t);
    }

    /// Removes the `[[domain]]` of `name`; whether there was one.
    pub fn remove_domain(&mut self, name: &str) -> bool {
        let arr = array(self.0.as_table_mut(), "domain");
        let before = arr.len();
        arr.retain(|t| {
            !t.get("name")
                .and_then(Item::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        before != arr.len()
    }

    /// Every `[[smtp.dkim]]` entry, in file order.
    pub fn dkim(&self) -> Vec<DkimEntry> {
        let Some(arr) = self
            .0
            .get("smtp")
            .and_then(|s| s.get("dkim"))
            .and_then(Item::as_array_of_tables)
        else {
            return Vec::new();
        };
        arr.iter().map(entry).collect()
    }

    /// Appends a `[[smtp.dkim]]` entry (`sign` is written only when false).
    pub fn add_dkim(&mut self, e: &DkimEntry) {
        let mut t = Table::new();
        t.insert("domain", value(&e.domain));
        t.insert("selector", value(&e.selector));
        t.insert("algorithm", value(&e.algorithm));
        t.insert("key", value(&e.key));
        if !e.sign {
            t.insert("sign", value(false));
        }
        if e.pending {
            t.insert("pending", value(true));
        }
        dkim_array(&mut self.0).push(t);
    }

    /// Switches the signing of `domain` to its pending keys: they sign
    /// from now on, the keys that signed stay published only, marked with
    /// `now` (`stopped_signing`). Returns (the selectors that sign now,
    /// those that stopped).
    pub fn activate(
        &mut self,
        domain: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Vec<String>, Vec<String>) {
        let stamp: Option<toml_edit::Datetime> =
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string().parse().ok();
        let (mut now, mut stopped) = (Vec::new(), Vec::new());
        for t in dkim_array(&mut self.0).iter_mut() {
            let e = entry(t);
            if !e.domain.eq_ignore_ascii_case(domain) {
                continue;
            }
            if e.pending {
                t.remove("pending");
                t.remove("sign");
                now.push(e.selector);
            } else if e.sign {
                t.insert("sign", value(false));
                if let Some(stamp) = stamp {
                    t.insert("stopped_signing", value(stamp));
                }
                stopped.push(e.selector);
            }
        }
        (now, stopped)
    }

    /// Removes the `[[smtp.dkim]]` entries of `domain` (of one selector, if
    /// given); the entries removed.
    pub fn remove_dkim(&mut self, domain: &str, selector: Option<&str>) -> Vec<DkimEntry> {
        let arr = dkim_array(&mut self.0);
        let matches = |e: &DkimEntry| {
            e.domain.eq_ignore_ascii_case(domain) && selector.is_none_or(|s| e.selector == s)
        };
        let removed: Vec<DkimEntry> = arr.iter().map(entry).filter(|e| matches(e)).collect();
        arr.retain(|t| !matches(&entry(t)));
        removed
    }
}

fn entry(t: &Table) -> DkimEntry {
    let s = |k: &str| {
        t.get(k)
            .and_then(Item::as_str)
            .unwrap_or_default()
            .to_string()
    };
    DkimEntry {
        domain: s("domain").to_ascii_lowercase(),
        selector: s("selector"),
        algorithm: s("algorithm"),
        key: s("key"),
        sign: t.get("sign").and_then(Item::as_bool).unwrap_or(true),
        pending: t.get("pending").and_then(Item::as_bool).unwrap_or(false),
        stopped_signing: t
            .get("stopped_signing")
            .and_then(Item::as_datetime)
            .map(|d| d.to_string()),
    }
}

/// The array of tables `key` of `table`, made when absent.
fn array<'t>(table: &'t mut Table, key: &str) -> &'t mut ArrayOfTables {
    let item = table
        .entry(key)
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
    if !item.is_array_of_tables() {
        *item = Item::ArrayOfTables(ArrayOfTables::new());
    }
    item.as_array_of_tables_mut().expect("made above")
}

/// `[[smtp.dkim]]`, with `[smtp]` made (implicit) when absent.
fn dkim_array(doc: &mut DocumentMut) -> &mut ArrayOfTables {
    let smtp = doc.entry("smtp").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    array(
        smtp.as_table_mut()
            .expect("config validated: [smtp] is a table"),
        "dkim",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# top comment\n[server]\nmaster_key = \"../keys/master.key\" # keep me\n\n[smtp]\nmax_recipients = 5\n\n[smtp.dmarc]\nenforce_reject = true\n\n[audit]\nenabled = true\n\n# hosted\n[[domain]]\nname = \"example.org\"\n";

    #[test]
    fn domains_and_keys_are_added_and_removed_keeping_comments() {
        let mut doc = ConfigDoc::parse(FILE).unwrap();
        assert_eq!(doc.key_dir(), PathBuf::from("../keys"));
        doc.add_domain("example.com");
        let e = DkimEntry {
            domain: "example.com".into(),
            selector: "ed1".into(),
            algorithm: "ed25519-sha256".into(),
            key: "../keys/dkim-example.com-ed1.pem".into(),
            sign: true,
            pending: false,
            stopped_signing: None,
        };
        doc.add_dkim(&e);
        let text = doc.text();
        assert!(text.starts_with("# top comment\n"), "{text}");
        assert!(text.contains("# keep me"), "{text}");
        assert!(text.contains("# hosted\n[[domain]]\nname = \"example.org\"\n"));
        assert!(
            text.ends_with("[[domain]]\nname = \"example.com\"\n"),
            "{text}"
        );
        // The key lands inside [smtp], before [audit].
        let dkim_at = text.find("[[smtp.dkim]]").unwrap();
        assert!(dkim_at < text.find("[audit]").unwrap(), "{text}");
        let mut doc = ConfigDoc::parse(&text).unwrap();
        assert_eq!(doc.dkim(), vec![e.clone()]);
        let pending = DkimEntry {
            selector: "ed2".into(),
            sign: false,
            pending: true,
            ..e.clone()
        };
        doc.add_dkim(&pending);
        assert_eq!(doc.dkim()[1], pending);
        assert!(doc.text().contains("sign = false\npending = true\n"));
        let at = chrono::DateTime::from_timestamp(1_764_800_000, 0).unwrap();
        assert_eq!(
            doc.activate("example.com", at),
            (vec!["ed2".to_string()], vec!["ed1".to_string()])
        );
        let after = doc.dkim();
        assert!(!after[0].sign && !after[0].pending, "{after:?}");
        assert_eq!(
            after[0].stopped_signing.as_deref(),
            Some("2025-12-03T22:13:20Z")
        );
        let text = doc.text();
        assert!(
            text.contains("stopped_signing = 2025-12-03T22:13:20Z\n"),
            "{text}"
        );
        sealpost_config::Config::parse(std::path::Path::new("/x/s.toml"), &text).unwrap();
        assert!(after[1].signs(), "{after:?}");
        assert_eq!(doc.remove_dkim("example.com", Some("ed2")).len(), 1);
        assert_eq!(doc.remove_dkim("example.com", Some("ed1")).len(), 1);
        assert!(doc.remove_domain("example.com"));
        assert!(!doc.remove_domain("example.com"));
        let back = doc.text();
        assert!(!back.contains("example.com"), "{back}");
        assert!(back.contains("# keep me") && back.contains("# hosted"));
    }

    #[test]
    fn a_file_without_smtp_gets_an_implicit_table() {
        let mut doc = ConfigDoc::parse("[[domain]]\nname = \"a.example\"\n").unwrap();
        assert_eq!(doc.key_dir(), PathBuf::from("keys"));
        doc.add_dkim(&DkimEntry {
            domain: "a.example".into(),
            selector: "s".into(),
            algorithm: "rsa-sha256".into(),
            key: "keys/k.pem".into(),
            sign: false,
            pending: false,
            stopped_signing: None,
        });
        let text = doc.text();
        assert!(text.contains("[[smtp.dkim]]\n"), "{text}");
        assert!(!text.contains("[smtp]\n"), "{text}");
        assert!(text.contains("sign = false"), "{text}");
    }
}
