//! A fixed-latency mock provider for the online benchmark (`benches/online.sh`).
//!
//! Answers every HTTP/1.1 request (keep-alive) with `200 {"rate_limit":{"allowed":true}}` after
//! `LATENCY_MS`. Prints `listening <addr>` on stdout, then serves until killed. Loopback only.

#![allow(clippy::print_stdout)]

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let latency: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let delay = Duration::from_millis(latency);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    loop {
        let (mut sock, _) = listener.accept().await?;
        tokio::spawn(async move {
            let body = r#"{"rate_limit":{"allowed":true,"limit_reached":false}}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let mut buf = Vec::with_capacity(4096);
            let mut chunk = [0u8; 4096];
            loop {
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return;
                };
                buf.drain(..end + 4);
                tokio::time::sleep(delay).await;
                if sock.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}
