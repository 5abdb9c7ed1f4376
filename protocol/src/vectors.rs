//! Test vectors (generated later).
