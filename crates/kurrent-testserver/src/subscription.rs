//! Catch-up subscriptions to a stream or to `$all`, as KurrentDB serves them: a confirmation,
//! the events after the starting point, `CaughtUp` once the subscription has read to the end
//! of the log, then every new event as it is written — each event exactly once, in order.
//! Filtered subscriptions to `$all` also send checkpoints.
//!
//! A subscription ends when its client goes away (the response channel closes).

use std::sync::Arc;

use regex::Regex;
use tokio::sync::mpsc;
use tonic::Status;

use crate::{
    log::{AllFrom, Log, Record, SharedLog},
    streams::{event, invalid_position},
    wire::event_store::client::streams::{read_req::options as wire, read_resp, ReadResp},
};

/// Events read from the log per turn, as KurrentDB reads pages.
const PAGE: usize = 32;

/// Where a stream subscription starts.
#[derive(Clone, Copy, Debug)]
pub enum StreamFrom {
    Start,
    /// After this revision (exclusive).
    After(u64),
    End,
}

/// What a subscription follows. A position of `$all` is exclusive.
#[derive(Debug)]
pub enum Source {
    Stream(String, StreamFrom),
    All(AllFrom),
}

/// A subscription filter on `$all`: which events it lets through, and how often it reports a
/// checkpoint.
#[derive(Debug)]
pub struct Filter {
    on: On,
    /// A checkpoint every this many events considered (KurrentDB: the window times the
    /// checkpoint interval multiplier).
    checkpoint_interval: u64,
}

#[derive(Debug)]
enum On {
    StreamName(Match),
    EventType(Match),
}

#[derive(Debug)]
enum Match {
    Regex(Regex),
    Prefixes(Vec<String>),
}

impl Match {
    fn allows(&self, value: &str) -> bool {
        match self {
            Match::Regex(regex) => regex.is_match(value),
            Match::Prefixes(prefixes) => prefixes.iter().any(|p| value.starts_with(p.as_str())),
        }
    }
}

impl Filter {
    /// The filter a read request carries. Like KurrentDB, a regular expression takes
    /// precedence over prefixes.
    pub fn from_options(options: wire::FilterOptions) -> Result<Self, Status> {
        let wire::FilterOptions { filter, window, checkpoint_interval_multiplier } = options;
        let to_match = |expression: wire::filter_options::Expression| {
            if expression.regex.is_empty() {
                Ok(Match::Prefixes(expression.prefix))
            } else {
                Regex::new(&expression.regex)
                    .map(Match::Regex)
                    .map_err(|e| Status::invalid_argument(format!("invalid filter regex: {e}")))
            }
        };
        let on = match filter {
            Some(wire::filter_options::Filter::StreamIdentifier(e)) => On::StreamName(to_match(e)?),
            Some(wire::filter_options::Filter::EventType(e)) => On::EventType(to_match(e)?),
            None => return Err(Status::invalid_argument("'' is not a valid FilterOptions")),
        };
        let window = match window {
            Some(wire::filter_options::Window::Max(max)) => u64::from(max),
            Some(wire::filter_options::Window::Count(())) => PAGE as u64,
            None => return Err(Status::invalid_argument("'None' is not a valid WindowOneofCase")),
        };
        Ok(Filter { on, checkpoint_interval: (window * u64::from(checkpoint_interval_multiplier)).max(1) })
    }

    /// Whether the event passes (it is one `$all` shows, and it matches).
    pub fn allows(&self, record: &Record) -> bool {
        !record.hidden_from_all()
            && match &self.on {
                On::StreamName(m) => m.allows(&record.stream),
                On::EventType(m) => m.allows(&record.event_type),
            }
    }
}

/// Serves one subscription until its client goes away.
pub async fn run(
    log: Arc<SharedLog>,
    source: Source,
    filter: Option<Filter>,
    string_ids: bool,
    responses: mpsc::Sender<Result<ReadResp, Status>>,
) {
    let send = |content| responses.send(Ok(ReadResp { content: Some(content) }));
    // Like KurrentDB, the subscription fixes where it starts before it confirms: whatever is
    // written after the client has seen the confirmation, it sees too.
    let mut grown = log.watch();
    let cursor = log.read(|log| Cursor::new(log, &source));
    let confirmation = read_resp::SubscriptionConfirmation { subscription_id: uuid::Uuid::new_v4().to_string() };
    if send(read_resp::Content::Confirmation(confirmation)).await.is_err() {
        return;
    }
    let mut cursor = match cursor {
        Ok(cursor) => cursor,
        Err(status) => {
            let _ = responses.send(Err(status)).await;
            return;
        }
    };
    let mut caught_up = false;
    let mut considered = 0u64;
    loop {
        grown.borrow_and_update();
        let page = log.read(|log| cursor.next_page(log));
        if page.is_empty() {
            if !caught_up {
                caught_up = true;
                if let (Some(_), Some(position)) = (&filter, cursor.last_considered) {
                    if send(checkpoint(position)).await.is_err() {
                        return;
                    }
                }
                if send(read_resp::Content::CaughtUp(read_resp::CaughtUp {})).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                changed = grown.changed() => if changed.is_err() { return },
                () = responses.closed() => return,
            }
            continue;
        }
        for record in page {
            let allowed = match (&source, &filter) {
                (Source::All(_), None) => !record.hidden_from_all(),
                (Source::All(_), Some(filter)) => filter.allows(&record),
                (Source::Stream(..), _) => true,
            };
            if allowed && responses.send(Ok(event(&record, string_ids))).await.is_err() {
                return;
            }
            if let Some(filter) = &filter {
                considered += 1;
                if considered.is_multiple_of(filter.checkpoint_interval)
                    && send(checkpoint(record.position)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// A checkpoint at an event's position: every event up to it has been considered, so a
/// subscription from it (exclusive) misses nothing.
fn checkpoint(position: u64) -> read_resp::Content {
    read_resp::Content::Checkpoint(read_resp::Checkpoint { commit_position: position, prepare_position: position })
}

/// How far a subscription has read.
struct Cursor {
    at: At,
    /// The position of the last event read, for the checkpoint sent on catching up.
    last_considered: Option<u64>,
}

enum At {
    /// The revision of the stream's next event.
    Stream { stream: String, next: u64 },
    /// The index in the log of the next event; events at or before `after` are skipped (a
    /// subscription from a position past the end of the log waits for the log to pass it).
    All { next: usize, after: Option<u64> },
}

impl Cursor {
    fn new(log: &Log, source: &Source) -> Result<Cursor, Status> {
        let (at, last_considered) = match source {
            Source::Stream(stream, from) => {
                let next = match *from {
                    StreamFrom::Start => 0,
                    StreamFrom::After(revision) => revision.saturating_add(1),
                    StreamFrom::End => log.last_revision(stream).map_or(0, |r| r + 1),
                };
                let stream = stream.clone();
                (At::Stream { stream, next }, None)
            }
            Source::All(AllFrom::Start) => (At::All { next: 0, after: None }, None),
            Source::All(AllFrom::End) => (At::All { next: log.len(), after: None }, log.last_position()),
            Source::All(AllFrom::Position(position)) => {
                // Past the end is allowed: the subscription skips events up to it.
                if *position < log.end() && !log.is_boundary(*position) {
                    return Err(invalid_position());
                }
                let next = log.index_after(*position);
                (At::All { next, after: Some(*position) }, Some(*position))
            }
        };
        Ok(Cursor { at, last_considered })
    }

    /// The next events, at most a page of them.
    fn next_page(&mut self, log: &Log) -> Vec<Arc<Record>> {
        let page = match &mut self.at {
            At::Stream { stream, next } => {
                let page = log.read_stream_forwards(stream, *next, PAGE as u64).unwrap_or_default();
                *next += page.len() as u64;
                page
            }
            At::All { next, after } => loop {
                let mut page = log.page_from(*next, PAGE);
                if page.is_empty() {
                    break page;
                }
                *next += page.len();
                page.retain(|record| after.is_none_or(|after| record.position > after));
                if !page.is_empty() {
                    break page;
                }
            },
        };
        if let Some(last) = page.last() {
            self.last_considered = Some(last.position);
        }
        page
    }
}
