//! A loopback git smart-HTTP server for the remote-mode tests (`tests/it/remote.rs`): it
//! imitates an HTTPS git host that wants a token, over plain HTTP on 127.0.0.1.
//!
//! It does what a real host's front end does in front of git's own server:
//! - requires HTTP Basic auth and answers anything else with `401` and
//!   `WWW-Authenticate: Basic realm=…` (RFC 7617 §2), which is what makes git ask its
//!   credential helper / askpass;
//! - answers `Expect: 100-continue` and reads `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1),
//!   which git uses for large pushes;
//! - runs `git http-backend` as a CGI program with the variables its manual names
//!   (`GIT_PROJECT_ROOT`, `GIT_HTTP_EXPORT_ALL`, `REMOTE_USER`, `PATH_INFO`, `QUERY_STRING`,
//!   `CONTENT_TYPE`, `HTTP_GIT_PROTOCOL`, `HTTP_CONTENT_ENCODING`: git-http-backend(1)), and turns
//!   its `Status:` header into the HTTP status line (CGI, RFC 3875 §6.3.3).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::scrubbed_env;

/// A running server: its loopback port and the number of requests it answered.
pub struct GitHttp {
    pub port: u16,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// A loopback smart-HTTP server for the repositories under `root`, requiring Basic auth.
pub fn start_git_http(root: PathBuf, home: PathBuf, expected_auth: String) -> GitHttp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(sock) = conn else { break };
            let (root, home, auth, h) =
                (root.clone(), home.clone(), expected_auth.clone(), h.clone());
            std::thread::spawn(move || {
                let _ = serve_git_http(sock, &root, &home, &auth, &h);
            });
        }
    });
    GitHttp { port, hits }
}

/// Serves one connection (keep-alive): Basic auth first, then each request through
/// `git http-backend` as a CGI program.
fn serve_git_http(
    sock: std::net::TcpStream,
    root: &Path,
    home: &Path,
    expected_auth: &str,
    hits: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    let mut w = sock.try_clone()?;
    let mut rd = BufReader::new(sock);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::<(String, String)>::new();
        loop {
            let mut h = String::new();
            rd.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                rd.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| std::io::Error::other("bad chunk"))?;
                if size == 0 {
                    loop {
                        let mut t = String::new();
                        rd.read_line(&mut t)?;
                        if t.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let mut chunk = vec![0; size];
                rd.read_exact(&mut chunk)?;
                body.extend_from_slice(&chunk);
                let mut crlf = [0u8; 2];
                rd.read_exact(&mut crlf)?;
            }
        } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(n, 0);
            rd.read_exact(&mut body)?;
        }
        if header("authorization").as_deref() != Some(expected_auth) {
            w.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
            )?;
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut cgi = Command::new("git");
        cgi.arg("http-backend")
            .env_clear()
            .envs(scrubbed_env(home))
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", &method)
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_USER", "tester")
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(v) = header("git-protocol") {
            cgi.env("HTTP_GIT_PROTOCOL", v);
        }
        if let Some(v) = header("content-encoding") {
            cgi.env("HTTP_CONTENT_ENCODING", v);
        }
        let mut child = cgi.spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let out = child.wait_with_output()?;
        let _ = writer.join();
        let raw = out.stdout;
        let (head_end, sep) = match raw.windows(4).position(|x| x == b"\r\n\r\n") {
            Some(p) => (p, 4),
            None => (
                raw.windows(2)
                    .position(|x| x == b"\n\n")
                    .unwrap_or(raw.len()),
                2,
            ),
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let resp_body = raw.get(head_end + sep..).unwrap_or_default();
        let mut status = "200 OK".to_owned();
        let mut resp = String::new();
        for l in head.lines() {
            let l = l.trim_end();
            if let Some(s) = l.strip_prefix("Status:") {
                s.trim().clone_into(&mut status);
            } else if !l.is_empty() {
                resp.push_str(l);
                resp.push_str("\r\n");
            }
        }
        w.write_all(
            format!(
                "HTTP/1.1 {status}\r\n{resp}Content-Length: {}\r\n\r\n",
                resp_body.len()
            )
            .as_bytes(),
        )?;
        w.write_all(resp_body)?;
    }
}
