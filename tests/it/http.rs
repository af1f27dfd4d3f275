//! A minimal HTTP/1.1 client for the playground's tests: one request per connection, or many
//! on one kept-alive connection ([`KeptAlive`]); any header (the tests forge `Host` and
//! `Origin`), any body (malformed ones too). Written here rather than taken from a crate
//! because a client library sets `Host` itself.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` message of a refusal.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_string()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes on a new connection and reads one reply.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("a timeout");
    stream.write_all(bytes).expect("the request is sent");
    read_reply(&mut stream)
}

/// Reads one reply: the head, then Content-Length bytes (some servers keep the connection open
/// despite `Connection: close`), or to the end without one.
fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut data = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let split = loop {
        if let Some(split) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break split;
        }
        let n = stream.read(&mut buffer).expect("the reply is read");
        assert!(
            n > 0,
            "no header end in {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&data[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut body = data[split + 4..].to_vec();
    match length {
        Some(length) => {
            while body.len() < length {
                let n = stream.read(&mut buffer).expect("the body is read");
                assert!(n > 0, "the body ended early");
                body.extend_from_slice(&buffer[..n]);
            }
            body.truncate(length);
        }
        None => {
            stream.read_to_end(&mut body).expect("the body is read");
        }
    }
    let body = String::from_utf8_lossy(&body).to_string();
    Reply {
        status,
        headers,
        body,
    }
}

/// One kept-alive connection with a session: requests one after the other on the same socket,
/// as a browser's page does.
pub struct KeptAlive {
    stream: TcpStream,
    addr: SocketAddr,
    token: String,
}

impl KeptAlive {
    /// A connection for `session`.
    pub fn new(session: &Session) -> KeptAlive {
        let stream = TcpStream::connect(session.addr).expect("the server accepts connections");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("a timeout");
        KeptAlive {
            stream,
            addr: session.addr,
            token: session.token.clone(),
        }
    }

    /// A POST with the session's header, on this connection.
    pub fn post(&mut self, path: &str, body: &str) -> Reply {
        let text = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nX-Backprop-Session: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.token,
            body.len()
        );
        self.stream
            .write_all(text.as_bytes())
            .expect("the request is sent");
        read_reply(&mut self.stream)
    }

    /// A POST that must succeed, as JSON.
    pub fn ok(&mut self, path: &str, body: &str) -> serde_json::Value {
        let reply = self.post(path, body);
        assert_eq!(reply.status, 200, "{path} {body}: {}", reply.body);
        reply.json()
    }
}

/// A request with the right `Host` and these extra headers.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    raw(addr, &bytes)
}

/// A session of the playground.
pub struct Session {
    pub addr: SocketAddr,
    pub token: String,
}

impl Session {
    /// A new session.
    pub fn new(addr: SocketAddr) -> Session {
        let reply = request(addr, "POST", "/api/session", &[], "{}");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let token = reply.json()["session"]
            .as_str()
            .expect("a token")
            .to_string();
        Session { addr, token }
    }

    /// A POST with the session's header.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        request(
            self.addr,
            "POST",
            path,
            &[("X-Backprop-Session", &self.token)],
            body,
        )
    }

    /// A GET with the session's header.
    pub fn get(&self, path: &str) -> Reply {
        request(
            self.addr,
            "GET",
            path,
            &[("X-Backprop-Session", &self.token)],
            "",
        )
    }

    /// A POST that must succeed, as JSON.
    pub fn ok(&self, path: &str, body: &str) -> serde_json::Value {
        let reply = self.post(path, body);
        assert_eq!(reply.status, 200, "{path} {body}: {}", reply.body);
        reply.json()
    }
}
