//! The single integration-test binary (one link for all integration tests).

mod support;

mod scan;
