//! A fixed-latency mock provider for the online benchmark (`benches/online.sh`).
//!
//! Answers every HTTP/1.1 request (keep-alive) after `LATENCY_MS` with a 200 shaped like the
//! answer of codex's `GET /backend-api/wham/usage` (reference §5: `plan_type`, `rate_limit`
//! with a 5-hour and a 7-day window, `credits`), so that the scan parses what it would parse
//! from the real provider. Prints `listening <addr>` on stdout, then serves until killed.
//! Loopback only. `benches/online.sh` also points `wrk` at it, for the floor.

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
            let body = concat!(
                r#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"#,
                r#""primary_window":{"used_percent":12,"limit_window_seconds":18000,"#,
                r#""reset_after_seconds":9000,"reset_at":4102444800},"#,
                r#""secondary_window":{"used_percent":3,"limit_window_seconds":604800,"#,
                r#""reset_after_seconds":302400,"reset_at":4102444800}},"#,
                r#""code_review_rate_limit":null,"additional_rate_limits":[],"#,
                r#""credits":{"has_credits":false,"unlimited":false,"balance":"0"}}"#
            );
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
