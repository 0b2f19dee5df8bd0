//! Remote repository mode: clone over file://, loopback smart HTTP with a token, and ssh.
