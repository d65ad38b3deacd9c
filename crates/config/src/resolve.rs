//! From the parsed file to a [`Config`]: every check that needs more than
//! one key or the file system, one step per concern, each error naming the
//! file, the line and the key.

use super::*;

/// What every step needs to name a key and make a path absolute.
struct Cx<'a> {
    path: &'a Path,
    base: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    /// The location of a parsed value (none for a default).
    fn at(&self, span: std::ops::Range<usize>) -> Option<Location> {
        (span.end > span.start).then(|| Location::of_offset(self.text, span.start))
    }

    fn abs(&self, p: &Spanned<PathBuf>) -> PathBuf {
        self.base.join(p.get_ref())
    }

    fn err(
        &self,
        key: impl Into<String>,
        at: Option<Location>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::key(self.path, key, at, message)
    }

    /// An error on a key found by name in the text (checked after parsing).
    fn key_err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::key(self.path, key, find_key_line(self.text, key), message)
    }
}

pub(crate) fn resolve(
    path: PathBuf,
    base: &Path,
    text: &str,
    raw: RawConfig,
) -> Result<Config, ConfigError> {
    let cx = Cx {
        path: &path,
        base,
        text,
    };
    let hostname = check_hostname(&cx, &raw.server)?;
    let data_dir = check_server_paths(&cx, &raw)?;
    let (cert, key) = check_tls_files(&cx, &raw.tls)?;
    let domains = check_domains(&cx, &raw.domain)?;
    let retention = raw.retention;
    retention.validate(&path, text)?;
    raw.compliance.validate(&path, text)?;
    let audit = raw.audit.resolve(&audit::AuditContext {
        path: &path,
        text,
        base,
        data_dir: &data_dir,
        audit_signing_key: &lexical(&cx.abs(&raw.server.audit_signing_key)),
        master_key: &cx.abs(&raw.server.master_key),
    })?;
    check_protocol_limits(&cx, &raw.imap, &raw.pop3, &raw.limits)?;
    let store = check_store(&cx, raw.store)?;
    for (key, value) in [
        (
            "smtp.srs_bounces_per_sender",
            u64::from(raw.smtp.srs_bounces_per_sender),
        ),
        (
            "smtp.srs_bounces_total",
            u64::from(raw.smtp.srs_bounces_total),
        ),
        (
            "smtp.srs_bounce_window_secs",
            raw.smtp.srs_bounce_window_secs,
        ),
    ] {
        if value == 0 {
            return Err(cx.key_err(key, "must be at least 1"));
        }
    }
    let mut smtp = resolve_routes(base, raw.smtp);
    smtp.outbound_tls = smtp.outbound_tls.resolve(&path, text, base)?;
    let http = check_http(&path, text, raw.http, &hostname)?;
    let acme = check_acme(
        &path,
        text,
        raw.acme,
        &raw.listen,
        base,
        &data_dir,
        &hostname,
    )?;

    Ok(Config {
        server: ServerConfig {
            hostname,
            data_dir: cx.abs(&raw.server.data_dir),
            accounts: cx.abs(&raw.server.accounts),
            master_key: cx.abs(&raw.server.master_key),
            audit_signing_key: cx.abs(&raw.server.audit_signing_key),
        },
        tls: TlsConfig { cert, key },
        listen: ListenConfig {
            imap: raw.listen.imap,
            imaps: raw.listen.imaps,
            pop3: raw.listen.pop3,
            pop3s: raw.listen.pop3s,
            smtp: raw.listen.smtp,
            submission: raw.listen.submission,
            submissions: raw.listen.submissions,
            http: raw.listen.http,
            https: raw.listen.https,
        },
        limits: raw.limits,
        imap: raw.imap,
        pop3: raw.pop3,
        smtp,
        audit,
        retention,
        compliance: raw.compliance,
        http,
        acme,
        store,
        log: raw.log,
        domains,
        path,
    })
}

/// `server.hostname`, lower-cased.
fn check_hostname(cx: &Cx, server: &RawServer) -> Result<String, ConfigError> {
    let hostname = server.hostname.get_ref().trim().to_ascii_lowercase();
    if !is_domain_name(&hostname) {
        return Err(cx.err(
            "server.hostname",
            cx.at(server.hostname.span()),
            format!("`{hostname}` is not a valid host name"),
        ));
    }
    Ok(hostname)
}

/// No empty path, and the master key outside data_dir; returns data_dir
/// (absolute, lexically normalized).
fn check_server_paths(cx: &Cx, raw: &RawConfig) -> Result<PathBuf, ConfigError> {
    for (key, p) in [
        ("server.data_dir", &raw.server.data_dir),
        ("server.accounts", &raw.server.accounts),
        ("server.master_key", &raw.server.master_key),
        ("server.audit_signing_key", &raw.server.audit_signing_key),
        ("tls.cert", &raw.tls.cert),
        ("tls.key", &raw.tls.key),
    ] {
        if p.get_ref().as_os_str().is_empty() {
            return Err(cx.err(key, cx.at(p.span()), "path must not be empty"));
        }
    }
    // The master key must not travel with the data it protects: a copy of
    // data_dir (a backup, a stolen disk image) alone must not decrypt mail.
    let master_key = lexical(&cx.abs(&raw.server.master_key));
    let data_dir = lexical(&cx.abs(&raw.server.data_dir));
    if master_key.starts_with(&data_dir) {
        return Err(cx.err(
            "server.master_key",
            cx.at(raw.server.master_key.span()),
            format!(
                "{} is inside data_dir {}: keep the master key outside it (and out of its backups)",
                master_key.display(),
                data_dir.display()
            ),
        ));
    }
    Ok(data_dir)
}

/// Whether a file can be read (opening a folder succeeds on Unix: read a
/// byte to be sure).
fn readable(p: &Path) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open(p).and_then(|mut f| f.read(&mut [0u8; 1]).map(|_| ()))
}

/// TLS files: both present (and readable), or both absent (then generated).
fn check_tls_files(cx: &Cx, tls: &RawTls) -> Result<(PathBuf, PathBuf), ConfigError> {
    let cert = cx.abs(&tls.cert);
    let key = cx.abs(&tls.key);
    match (cert.exists(), key.exists()) {
        (true, true) => {
            for (name, p, s) in [
                ("tls.cert", &cert, tls.cert.span()),
                ("tls.key", &key, tls.key.span()),
            ] {
                if let Err(e) = readable(p) {
                    return Err(cx.err(
                        name,
                        cx.at(s),
                        format!("cannot read {}: {e}", p.display()),
                    ));
                }
            }
        }
        (true, false) => {
            return Err(cx.err(
                "tls.key",
                cx.at(tls.key.span()),
                format!(
                    "{} does not exist but the certificate {} does; give both or neither",
                    key.display(),
                    cert.display()
                ),
            ));
        }
        (false, true) => {
            return Err(cx.err(
                "tls.cert",
                cx.at(tls.cert.span()),
                format!(
                    "{} does not exist but the key {} does; give both or neither",
                    cert.display(),
                    key.display()
                ),
            ));
        }
        (false, false) => {}
    }
    Ok((cert, key))
}

/// `[[domain]]`: valid names, each once, lower-cased.
fn check_domains(cx: &Cx, raw: &[RawDomain]) -> Result<Vec<DomainConfig>, ConfigError> {
    let mut domains: Vec<DomainConfig> = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        let name = d.name.get_ref().trim().to_ascii_lowercase();
        let key = format!("domain[{i}].name");
        if !is_domain_name(&name) || !name.contains('.') && name != "localhost" {
            return Err(cx.err(
                key,
                cx.at(d.name.span()),
                format!("`{name}` is not a valid domain name"),
            ));
        }
        if domains.iter().any(|x| x.name == name) {
            return Err(cx.err(
                key,
                cx.at(d.name.span()),
                format!("domain `{name}` is listed twice"),
            ));
        }
        domains.push(DomainConfig { name });
    }
    Ok(domains)
}

/// Idle timeouts the RFCs require, and connection caps of at least one.
fn check_protocol_limits(
    cx: &Cx,
    imap: &ImapConfig,
    pop3: &Pop3Config,
    limits: &LimitsConfig,
) -> Result<(), ConfigError> {
    if imap.idle_timeout_secs < 30 * 60 {
        return Err(cx.key_err(
            "imap.idle_timeout_secs",
            "must be at least 1800 (RFC 9051 5.4: at least 30 minutes)",
        ));
    }
    if imap.message_limit == 0 {
        return Err(cx.key_err("imap.message_limit", "must be at least 1"));
    }
    if pop3.idle_timeout_secs < 600 {
        return Err(cx.key_err(
            "pop3.idle_timeout_secs",
            "must be at least 600 (RFC 1939: at least 10 minutes)",
        ));
    }
    for (key, value) in [
        ("limits.max_connections", limits.max_connections),
        (
            "limits.max_connections_per_ip",
            limits.max_connections_per_ip,
        ),
    ] {
        if value == 0 {
            return Err(cx.key_err(key, "must be at least 1"));
        }
    }
    Ok(())
}

/// `[store]`: a complete backend choice, its CA file absolute and readable.
fn check_store(cx: &Cx, mut store: StoreConfig) -> Result<StoreConfig, ConfigError> {
    if let Err((key, message)) = store::check(&store) {
        return Err(cx.key_err(key, message));
    }
    if let Some(ca) = &mut store.ca_file {
        *ca = cx.base.join(&*ca);
        if let Err(e) = readable(ca) {
            return Err(cx.key_err(
                "store.ca_file",
                format!("cannot read {}: {e}", ca.display()),
            ));
        }
    }
    Ok(store)
}

/// Route CA files resolve against the config file's folder, like every
/// other path. (Not read here: it may be made after the config, e.g. the
/// peer's certificate; an unreadable one fails the relay attempt, which
/// then retries.)
fn resolve_routes(base: &Path, mut smtp: SmtpConfig) -> SmtpConfig {
    for route in smtp.route.iter_mut() {
        if let Some(ca) = &mut route.ca_file {
            *ca = base.join(&*ca);
        }
    }
    smtp
}

/// `[http]`: limits that hyper or the protocol need, and the MTA-STS policy.
fn check_http(
    path: &Path,
    text: &str,
    mut http: HttpConfig,
    hostname: &str,
) -> Result<HttpConfig, ConfigError> {
    let err =
        |key: &str, message: String| ConfigError::key(path, key, find_key_line(text, key), message);
    for (key, value, min) in [
        ("http.max_connections", http.max_connections, 1),
        (
            "http.max_connections_per_ip",
            http.max_connections_per_ip,
            1,
        ),
        ("http.max_header_bytes", http.max_header_bytes, 1024),
        ("http.max_headers", http.max_headers, 8),
        (
            "http.header_timeout_secs",
            http.header_timeout_secs as usize,
            1,
        ),
        (
            "http.request_timeout_secs",
            http.request_timeout_secs as usize,
            1,
        ),
    ] {
        if value < min {
            return Err(err(key, format!("must be at least {min}")));
        }
    }
    let sts = &mut http.mta_sts;
    if sts.max_age_secs == 0 || sts.max_age_secs > MTA_STS_MAX_AGE_LIMIT {
        return Err(err(
            "http.mta_sts.max_age_secs",
            format!("must be between 1 and {MTA_STS_MAX_AGE_LIMIT} (RFC 8461 3.2: at most a year)"),
        ));
    }
    for mx in sts.mx.iter_mut() {
        *mx = mx.trim().to_ascii_lowercase();
        let name = mx.strip_prefix("*.").unwrap_or(mx);
        if !is_domain_name(name) {
            return Err(err(
                "http.mta_sts.mx",
                format!("`{mx}` is not a host name or a `*.domain` pattern"),
            ));
        }
    }
    if sts.mx.is_empty() {
        sts.mx.push(hostname.to_string());
    }
    let explicit_form = find_key_line(text, "http.account.max_form_bytes").is_some();
    check_account_page(&mut http, explicit_form, err)?;
    Ok(http)
}

/// `[http.account]`: session lifetimes, sizes and counts within bounds. A
/// `max_form_bytes` left at its default follows a smaller `[http]
/// max_body_bytes`; one set explicitly must fit in it.
fn check_account_page(
    http: &mut HttpConfig,
    explicit_form: bool,
    err: impl Fn(&str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if !explicit_form {
        http.account.max_form_bytes = http.account.max_form_bytes.min(http.max_body_bytes);
    }
    use crate::account_page::{MIN_PASSWORD_LEN_FLOOR, SESSION_SECS_RANGE};
    let a = &http.account;
    let (lo, hi) = SESSION_SECS_RANGE;
    for (key, value) in [
        ("http.account.session_idle_secs", a.session_idle_secs),
        ("http.account.session_max_secs", a.session_max_secs),
    ] {
        if !(lo..=hi).contains(&value) {
            return Err(err(key, format!("must be between {lo} and {hi}")));
        }
    }
    if a.session_idle_secs > a.session_max_secs {
        return Err(err(
            "http.account.session_idle_secs",
            format!(
                "{} is longer than session_max_secs ({})",
                a.session_idle_secs, a.session_max_secs
            ),
        ));
    }
    for (key, value, min) in [
        ("http.account.max_sessions", a.max_sessions, 1),
        (
            "http.account.max_form_bytes",
            a.max_form_bytes,
            if explicit_form { 1024 } else { 1 },
        ),
        (
            "http.account.min_password_len",
            a.min_password_len,
            MIN_PASSWORD_LEN_FLOOR,
        ),
        (
            "http.account.max_concurrent_exports",
            a.max_concurrent_exports,
            1,
        ),
    ] {
        if value < min {
            return Err(err(key, format!("must be at least {min}")));
        }
    }
    if a.max_form_bytes > http.max_body_bytes {
        return Err(err(
            "http.account.max_form_bytes",
            format!(
                "{} is more than http.max_body_bytes ({})",
                a.max_form_bytes, http.max_body_bytes
            ),
        ));
    }
    if a.min_password_len > sealpost_max_password_len() {
        return Err(err(
            "http.account.min_password_len",
            format!("must be at most {}", sealpost_max_password_len()),
        ));
    }
    Ok(())
}

/// The longest password the directory stores (sealpost-directory's
/// `MAX_PASSWORD_LEN`; config cannot depend on that crate).
const fn sealpost_max_password_len() -> usize {
    1024
}

/// `[acme]`: a complete account and challenge setup, paths made absolute.
fn check_acme(
    path: &Path,
    text: &str,
    mut acme: AcmeConfig,
    listen: &RawListen,
    base: &Path,
    data_dir: &Path,
    hostname: &str,
) -> Result<AcmeConfig, ConfigError> {
    let err =
        |key: &str, message: String| ConfigError::key(path, key, find_key_line(text, key), message);
    acme.dir = Some(match &acme.dir {
        Some(d) => base.join(d),
        None => data_dir.join("acme"),
    });
    acme.ca_file = acme.ca_file.as_ref().map(|f| base.join(f));
    for name in acme.names.iter_mut() {
        *name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !is_domain_name(name) || !name.contains('.') {
            return Err(err("acme.names", format!("`{name}` is not a host name")));
        }
    }
    for label in acme.domain_names.iter_mut() {
        *label = label.trim().to_ascii_lowercase();
        if label.contains('.') || !is_domain_name(label) {
            return Err(err(
                "acme.domain_names",
                format!("`{label}` is not one DNS label (like `mta-sts`)"),
            ));
        }
    }
    let main_names = 1 + acme.names.iter().filter(|n| *n != hostname).count();
    if main_names > MAX_NAMES_PER_CERTIFICATE {
        return Err(err(
            "acme.names",
            format!("{main_names} names on one certificate; at most {MAX_NAMES_PER_CERTIFICATE}"),
        ));
    }
    if !acme.directory.starts_with("https://") {
        return Err(err(
            "acme.directory",
            format!("`{}` is not an https:// URL", acme.directory),
        ));
    }
    for c in &acme.contact {
        if !c.starts_with("mailto:") || c.len() <= "mailto:".len() {
            return Err(err(
                "acme.contact",
                format!("`{c}` is not a mailto: URL (mailto:postmaster@example.org)"),
            ));
        }
    }
    for (key, value) in [
        ("acme.check_interval_secs", acme.check_interval_secs),
        ("acme.retry_initial_secs", acme.retry_initial_secs),
        ("acme.retry_max_secs", acme.retry_max_secs),
    ] {
        if value == 0 {
            return Err(err(key, "must be at least 1".into()));
        }
    }
    if !acme.enabled {
        return Ok(acme);
    }
    if !acme.accept_terms {
        return Err(err(
            "acme.accept_terms",
            "ACME is enabled: set accept_terms = true to agree to the CA's terms of service (linked from its directory)".into(),
        ));
    }
    match acme.challenge {
        AcmeChallenge::Http01 if listen.http.is_empty() => Err(err(
            "acme.challenge",
            "http-01 needs an http listener (`[listen] http`, port 80 as seen from the CA)".into(),
        )),
        AcmeChallenge::TlsAlpn01 if listen.https.is_empty() => Err(err(
            "acme.challenge",
            "tls-alpn-01 needs an https listener (`[listen] https`, port 443 as seen from the CA)"
                .into(),
        )),
        _ => Ok(acme),
    }
}
