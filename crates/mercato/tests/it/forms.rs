//! Malformed and unexpected request bodies get specific 4xx errors.
