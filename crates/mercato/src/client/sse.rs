//! A parser for server-sent events as the HTML standard defines them, fed
//! the response body in whatever chunks the network delivers.
//!
//! Lines end in LF or CRLF (the server sends LF; a bare CR as a line end is
//! not recognised). Comment lines (`:` first) and `retry` are ignored. The
//! last `id` seen persists across messages, as `Last-Event-ID` needs.

/// One dispatched message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseMessage {
    /// The `event` field; `message` when the server sent none.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The last event id seen so far, this message's own or an earlier one.
    pub last_event_id: Option<String>,
}

/// Parser state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    unfinished_line: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
    last_event_id: Option<String>,
}

impl SseParser {
    /// Feeds the next bytes of the body and returns the messages they
    /// complete.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        let mut messages = Vec::new();
        for &byte in chunk {
            if byte != b'\n' {
                self.unfinished_line.push(byte);
                continue;
            }
            let mut line = std::mem::take(&mut self.unfinished_line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(message) = self.line(&String::from_utf8_lossy(&line)) {
                messages.push(message);
            }
        }
        messages
    }

    /// Handles one complete line; a blank line ends a message.
    fn line(&mut self, line: &str) -> Option<SseMessage> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }

        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_event_id = Some(value.to_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseMessage> {
        let event = self.event.take();
        let mut data = self.data.take()?;
        data.pop();
        Some(SseMessage {
            event: event.unwrap_or_else(|| "message".to_owned()),
            data,
            last_event_id: self.last_event_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{SseMessage, SseParser};

    fn message(event: &str, data: &str, last_event_id: Option<&str>) -> SseMessage {
        SseMessage {
            event: event.to_owned(),
            data: data.to_owned(),
            last_event_id: last_event_id.map(str::to_owned),
        }
    }

    fn parse_in_chunks(body: &str, chunk_size: usize) -> Vec<SseMessage> {
        let mut parser = SseParser::default();
        body.as_bytes()
            .chunks(chunk_size)
            .flat_map(|chunk| parser.push(chunk))
            .collect()
    }

    #[test]
    fn messages_come_out_whole_however_the_body_is_cut() {
        let body = ": keep-alive\n\nid: 7\nevent: event\ndata: {\"id\":\"evt_1\"}\n\n\
                    id: 8\r\nevent: event\r\ndata: {\"id\":\"evt_2\"}\r\n\r\n";
        let expected = vec![
            message("event", r#"{"id":"evt_1"}"#, Some("7")),
            message("event", r#"{"id":"evt_2"}"#, Some("8")),
        ];

        for chunk_size in [1, 2, 5, 16, body.len()] {
            assert_eq!(parse_in_chunks(body, chunk_size), expected, "{chunk_size}");
        }
    }

    #[test]
    fn fields_follow_the_standard() {
        let cases = [
            (
                "data: a\ndata: b\n\n",
                vec![message("message", "a\nb", None)],
            ),
            (
                "data:no space\n\n",
                vec![message("message", "no space", None)],
            ),
            ("data\n\n", vec![message("message", "", None)]),
            (
                "data:  two spaces\n\n",
                vec![message("message", " two spaces", None)],
            ),
            (
                "id: 3\n\ndata: x\n\n",
                vec![message("message", "x", Some("3"))],
            ),
            ("event: ping\n\n", vec![]),
            (
                "retry: 10\nunknown: y\ndata: z\n\n",
                vec![message("message", "z", None)],
            ),
            ("data: unterminated\n", vec![]),
            ("id: a\0b\ndata: x\n\n", vec![message("message", "x", None)]),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_in_chunks(body, body.len()), expected, "{body:?}");
        }
    }

    #[test]
    fn multibyte_text_split_across_chunks_survives() {
        let body = "data: caf\u{e9} \u{2615}\n\n";

        assert_eq!(
            parse_in_chunks(body, 1),
            vec![message("message", "caf\u{e9} \u{2615}", None)]
        );
    }
}
