//! The client commands `mercato listen` and `mercato trigger` against a running server.
