//! `[compliance]`: the controller's facts for the register of processing
//! (GDPR article 30(1)(a), (b), (d), (e)) and the DPIA (article 35).
//!
//! sealpost knows what it stores, where and for how long; it cannot know
//! who the controller is, why the mail is processed or where else it goes.
//! Every key here is optional: what is missing is printed as a TODO line in
//! `sealpost compliance report` and `dpia`, never made up.

use crate::ConfigError;
use serde::Deserialize;
use std::path::Path;

/// Longest text value accepted (a register line, not a document).
pub const MAX_TEXT: usize = 1000;
/// Most entries of a list (purposes, recipients, transfers).
pub const MAX_ITEMS: usize = 50;

/// `[compliance]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceConfig {
    /// The controller's name (art. 30(1)(a)).
    pub controller: Option<String>,
    /// The controller's postal address.
    pub controller_address: Option<String>,
    /// The controller's contact (e-mail, phone).
    pub controller_contact: Option<String>,
    /// The representative in the Union (art. 27), where one is required.
    pub representative: Option<String>,
    /// The data protection officer's contact (art. 37-39).
    pub dpo_contact: Option<String>,
    /// Where data subjects send their requests (access, erasure, ...).
    pub data_subject_requests: Option<String>,
    /// Purposes of the processing with their legal bases (art. 30(1)(b), art. 6).
    pub purpose: Vec<Purpose>,
    /// Recipients and processors (art. 30(1)(d), art. 28): hosting
    /// provider, backup provider, ... `None`: not declared; empty: none.
    pub recipients: Option<Vec<String>>,
    /// Transfers to countries outside the EU/EEA with their safeguards
    /// (art. 30(1)(e), art. 44-49). `None`: not declared; empty: none.
    pub transfers_outside_eu: Option<Vec<String>>,
    /// Where backups of data_dir go and how long they are kept (the
    /// DPIA's "loss of mail" and "over-retention" risks).
    pub backups: Option<String>,
}

/// One purpose of processing.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// What the processing is for ("providing mailboxes to customers").
    pub name: String,
    /// Its legal basis ("art. 6(1)(b) GDPR: contract").
    pub legal_basis: String,
}

impl ComplianceConfig {
    /// Checks lengths; errors name the key and its line.
    pub(crate) fn validate(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            let dotted = format!("compliance.{key}");
            Err(ConfigError::key(
                path,
                dotted.clone(),
                crate::find_key_line(text, &dotted),
                message,
            ))
        };
        let texts = [
            ("controller", &self.controller),
            ("controller_address", &self.controller_address),
            ("controller_contact", &self.controller_contact),
            ("representative", &self.representative),
            ("dpo_contact", &self.dpo_contact),
            ("data_subject_requests", &self.data_subject_requests),
            ("backups", &self.backups),
        ];
        for (key, value) in texts {
            if let Some(v) = value {
                if v.trim().is_empty() {
                    return fail(key, "must not be empty (leave the key out instead)".into());
                }
                if v.len() > MAX_TEXT {
                    return fail(key, format!("longer than {MAX_TEXT} bytes"));
                }
            }
        }
        for (key, list) in [
            ("recipients", &self.recipients),
            ("transfers_outside_eu", &self.transfers_outside_eu),
        ] {
            let Some(list) = list else { continue };
            if list.len() > MAX_ITEMS {
                return fail(key, format!("more than {MAX_ITEMS} entries"));
            }
            if list
                .iter()
                .any(|v| v.trim().is_empty() || v.len() > MAX_TEXT)
            {
                return fail(key, format!("every entry must be 1 to {MAX_TEXT} bytes"));
            }
        }
        if self.purpose.len() > MAX_ITEMS {
            return fail("purpose", format!("more than {MAX_ITEMS} purposes"));
        }
        for (i, p) in self.purpose.iter().enumerate() {
            for (field, v) in [("name", &p.name), ("legal_basis", &p.legal_basis)] {
                if v.trim().is_empty() || v.len() > MAX_TEXT {
                    return Err(ConfigError::key(
                        path,
                        format!("compliance.purpose[{i}].{field}"),
                        nth_key_line(text, "compliance.purpose", i, field),
                        format!("must be 1 to {MAX_TEXT} bytes"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The line of `field` in the `i`-th `[[table]]`.
fn nth_key_line(text: &str, table: &str, i: usize, field: &str) -> Option<crate::Location> {
    let mut offset = 0;
    let mut seen = 0usize;
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(h) = t.strip_prefix("[[") {
            inside = h.split(']').next().map(str::trim) == Some(table);
            if inside {
                seen += 1;
            }
        } else if t.starts_with('[') {
            inside = false;
        } else if inside
            && seen == i + 1
            && let Some(rest) = t.strip_prefix(field)
            && rest.trim_start().starts_with('=')
        {
            return Some(crate::Location::of_offset(
                text,
                offset + line.len() - t.len(),
            ));
        }
        offset += line.len();
    }
    None
}
