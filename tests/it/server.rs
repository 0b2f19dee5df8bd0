//! Server mode against a mock CLIProxyAPI Management API that behaves as documented.
