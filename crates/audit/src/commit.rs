//! Personal fields become commitments: the sealed record holds
//! `"c:<hex SHA-256(salt || value)>"` for each, with a fresh 16-byte salt;
//! the value and salt go to the side file (`pii`), sealed under the
//! month's key. Text fields are cut to [`format::MAX_FIELD_BYTES`] and
//! lists to [`format::MAX_LIST_ITEMS`] first.

use crate::Event;
use crate::format;
use rand::RngCore;

/// Serializes an event with each personal field replaced by a commitment
/// `"c:<hex SHA-256(salt || value)>"`; returns the JSON object and the
/// (commitment, salt, value) triples for the side file. Text fields are cut to
/// [`format::MAX_FIELD_BYTES`] first.
pub(crate) fn commit_personal(event: &Event) -> (String, Vec<(String, String, String)>) {
    let mut value = serde_json::to_value(event).expect("events serialize");
    let mut fields = Vec::new();
    let personal = event.personal_fields();
    let mut rng = rand::thread_rng();
    let mut commit = |s: &mut String| {
        format::clip(s);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let c = hex::encode(format::commitment(&salt, s));
        fields.push((c.clone(), hex::encode(salt), std::mem::take(s)));
        *s = format!("{}{c}", format::COMMIT_PREFIX);
    };
    if let serde_json::Value::Object(map) = &mut value {
        let mut omitted = Vec::new();
        for (k, v) in map.iter_mut() {
            if let serde_json::Value::Array(items) = v
                && items.len() > format::MAX_LIST_ITEMS
            {
                omitted.push((format!("{k}_omitted"), items.len() - format::MAX_LIST_ITEMS));
                items.truncate(format::MAX_LIST_ITEMS);
            }
        }
        for (k, n) in omitted {
            map.insert(k, n.into());
        }
        for (k, v) in map.iter_mut() {
            let is_personal = personal.contains(&k.as_str());
            match v {
                serde_json::Value::String(s) if is_personal => commit(s),
                serde_json::Value::String(s) => format::clip(s),
                serde_json::Value::Array(items) => {
                    for item in items {
                        if let serde_json::Value::String(s) = item {
                            if is_personal {
                                commit(s)
                            } else {
                                format::clip(s)
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (value.to_string(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format;
    use crate::{LoginOutcome, Protocol};

    #[test]
    fn personal_fields_become_commitments() {
        let event = Event::MessageAccepted {
            protocol: Protocol::Submission,
            id: "q1".into(),
            message_id: None,
            sender: "s@example.org".into(),
            recipients: vec!["r1@example.org".into(), "r2@example.org".into()],
            size: 10,
            remote: "192.0.2.1:465".into(),
            account: Some("s@example.org".into()),
        };
        let (json, fields) = commit_personal(&event);
        assert!(
            !json.contains("example.org") && !json.contains("192.0.2.1"),
            "{json}"
        );
        assert!(
            json.contains("\"message_id\":null") && json.contains("\"id\":\"q1\""),
            "{json}"
        );
        assert_eq!(fields.len(), 5);
        for (c, salt, value) in &fields {
            assert!(json.contains(&format!("\"c:{c}\"")));
            let salt = hex::decode(salt).unwrap();
            assert_eq!(salt.len(), 16);
            assert_eq!(hex::encode(format::commitment(&salt, value)), *c);
        }
        // The same value twice gets two unlinkable commitments.
        assert_ne!(fields[0].0, fields[4].0);
        assert_eq!(fields[0].2, fields[4].2);
    }

    #[test]
    fn over_long_fields_and_lists_are_bounded() {
        let event = Event::MessageQueued {
            id: "x".repeat(100_000),
            recipients: (0..5000).map(|i| format!("r{i}@example.org")).collect(),
        };
        let (json, fields) = commit_personal(&event);
        assert_eq!(fields.len(), format::MAX_LIST_ITEMS);
        assert!(
            json.contains("\"recipients_omitted\":4000"),
            "omitted count"
        );
        let line = format::encode_line(1, 2, &format::GENESIS, &json);
        assert!(line.len() <= format::MAX_LINE_BYTES);
        assert!(format::parse_head(&line).is_ok());
    }

    #[test]
    fn reload_errors_are_committed_they_may_quote_addresses() {
        let (json, fields) = commit_personal(&Event::ConfigReloaded {
            ok: false,
            error: Some("accounts.toml:3:1: domain of x@example.org is not hosted".into()),
        });
        assert!(
            !json.contains("example.org") && json.contains("\"ok\":false"),
            "{json}"
        );
        assert_eq!(fields.len(), 1);
        let (json, fields) = commit_personal(&Event::ConfigReloaded {
            ok: true,
            error: None,
        });
        assert!(
            json.contains("\"error\":null") && fields.is_empty(),
            "{json}"
        );
    }

    #[test]
    fn non_personal_events_have_no_side_entries() {
        let (json, fields) = commit_personal(&Event::ServerStopped);
        assert_eq!(json, r#"{"event":"server_stopped"}"#);
        assert!(fields.is_empty());
        let (_, fields) = commit_personal(&Event::Login {
            protocol: Protocol::Imap,
            account: "a".into(),
            remote: "b".into(),
            tls: None,
            outcome: LoginOutcome::Success,
            app_password: None,
            mechanism: None,
        });
        assert_eq!(fields.len(), 2);
    }
}
