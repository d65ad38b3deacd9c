//! A curl client of the account page for the end-to-end tests: a cookie
//! jar per client, the answer's status, header fields and body, and the
//! sign-in form filled in. Each test binary uses part of it.

#![allow(dead_code)]

use crate::common::{Server, Site};
use crate::http_support::curl;
use std::path::PathBuf;

/// The account every test signs in as.
pub const USER: &str = "alice@example.org";

/// One browser-like client (its own cookie jar).
pub struct Client {
    base: String,
    resolve: String,
    ca: PathBuf,
    jar: PathBuf,
    head: PathBuf,
}

/// One answer: status, header fields (lower-case names, in order), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first form's CSRF token.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Client {
    pub fn new(site: &Site, server: &Server, name: &str) -> Client {
        let port = server.addr("https").port();
        Client {
            base: format!("https://mail.example.org:{port}"),
            resolve: format!("mail.example.org:{port}:127.0.0.1"),
            ca: site.path("certs/cert.pem"),
            jar: site.path(&format!("{name}.jar")),
            head: site.path(&format!("{name}.head")),
        }
    }

    pub fn request(&self, path: &str, extra: &[&str]) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut args = vec![
            "--cacert",
            self.ca.to_str().unwrap(),
            "--resolve",
            &self.resolve,
            "--cookie",
            self.jar.to_str().unwrap(),
            "--cookie-jar",
            self.jar.to_str().unwrap(),
            "--dump-header",
            self.head.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        let out = curl(&args);
        assert_eq!(out.code, 0, "curl {path}: {}", out.stderr);
        let head = std::fs::read_to_string(&self.head).unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        Answer {
            status: status.parse().unwrap(),
            headers: lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect(),
            body: out.stdout,
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request(path, &[])
    }

    pub fn post(&self, path: &str, fields: &[(&str, &str)], extra: &[&str]) -> Answer {
        let pairs: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let mut args: Vec<&str> = Vec::new();
        for p in &pairs {
            args.extend(["--data-urlencode", p.as_str()]);
        }
        args.extend_from_slice(extra);
        self.request(path, &args)
    }

    /// Signs in; returns the overview page's CSRF token.
    pub fn sign_in(&self, password: &str) -> String {
        let token = self.get("/account/login").csrf();
        let a = self.post(
            "/account/login",
            &[
                ("csrf", token.as_str()),
                ("address", USER),
                ("password", password),
            ],
            &[],
        );
        assert_eq!(a.status, 303, "sign-in: {}", a.body);
        let overview = self.get("/account");
        assert_eq!(overview.status, 200);
        overview.csrf()
    }
}
