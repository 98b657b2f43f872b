//! What a request may consume before a handler runs: its body is read only
//! once the request is authenticated and routed, never past a size limit
//! (inflated size for gzip), within a memory budget shared by all requests
//! in flight; then it waits a bounded time for a handler slot. Past any
//! limit the answer is 413 or 503, never an unbounded queue.
//!
//! A body costs far more memory than its bytes while it is handled: parsed
//! into JSON values, then into the writes it asks for. Measured on a POST
//! /allocations of 5,000 to 40,000 consumers, the server's resident memory
//! grew by 25 to 50 times the body's size. So each body is charged
//! [`HANDLING_COST`] times its size against the budget, from its first
//! byte until its handler returns.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Memory one body byte is charged for while its request is in flight.
pub const HANDLING_COST: usize = 32;

/// Bodies up to this size are admitted whatever the budget holds (they are
/// still charged): ordinary requests keep flowing while large ones wait.
pub const SMALL_BODY: usize = 64 * 1024;

/// The limits, from configuration.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body accepted, after inflating.
    pub max_body: usize,
    /// Memory all bodies in flight may be charged together (see
    /// [`HANDLING_COST`]).
    pub body_memory: usize,
    /// Handlers running at once (the database pool's size: each holds at
    /// most one connection).
    pub handler_slots: usize,
    /// Longest wait for a handler slot.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 4 * 1024 * 1024,
            body_memory: 128 * 1024 * 1024,
            handler_slots: 20,
            queue_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared accounting for [`Limits`].
pub struct Intake {
    pub limits: Limits,
    slots: Arc<Semaphore>,
    /// Requests waiting for a slot now (metrics).
    waiting: Arc<AtomicI64>,
    body_bytes: Arc<AtomicUsize>,
}

/// One request counted as waiting until dropped, also when the client
/// goes away while it waits.
struct Queued<'a>(&'a AtomicI64);

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicI64) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Queued(waiting)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Intake {
    pub fn new(limits: Limits) -> Self {
        let slots = Arc::new(Semaphore::new(limits.handler_slots.max(1)));
        Intake { limits, slots, waiting: Arc::default(), body_bytes: Arc::default() }
    }

    /// A handler slot, or 503 after waiting `queue_timeout`.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let queued = Queued::join(&self.waiting);
        let acquired = tokio::time::timeout(self.limits.queue_timeout, self.slots.clone().acquire_owned()).await;
        drop(queued);
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::unavailable(
                "The server is too busy to take this request; try again later.",
                format!("no handler slot came free within {:?}", self.limits.queue_timeout),
            )),
        }
    }

    /// Requests waiting for a handler slot now.
    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Read the body of a routed, authenticated request. The reservation
    /// returned holds the body's share of the memory budget until dropped.
    pub async fn read_body(
        &self,
        headers: &HeaderMap,
        mut payload: web::Payload,
    ) -> Result<(Bytes, Reservation), ApiError> {
        let max = self.limits.max_body;
        let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        if declared.is_some_and(|n: usize| n > max) {
            return Err(too_large(max));
        }
        let mut reservation =
            Reservation { bytes: self.body_bytes.clone(), held: 0, budget: self.limits.body_memory, size: 0 };
        let mut raw = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Cannot read the request body: {e}")))?;
            if raw.len() + chunk.len() > max {
                return Err(too_large(max));
            }
            reservation.grow(chunk.len())?;
            raw.extend_from_slice(&chunk);
        }
        let raw = raw.freeze();
        let encoding = encoding(headers);
        if !matches!(encoding, Encoding::Identity) {
            // What is charged from here is the inflated body (the
            // compressed one is dropped once inflated).
            reservation.reset();
        }
        let body = match encoding {
            Encoding::Identity => raw,
            Encoding::Gzip => inflate(flate2::read::GzDecoder::new(&raw[..]), max, &mut reservation)?,
            Encoding::Deflate => inflate(flate2::read::ZlibDecoder::new(&raw[..]), max, &mut reservation)?,
        };
        Ok((body, reservation))
    }
}

/// A share of the body memory budget, given back on drop.
pub struct Reservation {
    bytes: Arc<AtomicUsize>,
    held: usize,
    budget: usize,
    /// Body bytes charged so far.
    size: usize,
}

impl Reservation {
    /// Charge `n` more body bytes; a body past [`SMALL_BODY`] that does not
    /// fit in what the budget has left is refused.
    fn grow(&mut self, n: usize) -> Result<(), ApiError> {
        let cost = n.saturating_mul(HANDLING_COST);
        let before = self.bytes.fetch_add(cost, Ordering::AcqRel);
        self.held += cost;
        self.size += n;
        if self.size > SMALL_BODY && before + cost > self.budget {
            return Err(ApiError::unavailable(
                "The server is handling too many large request bodies; try again later.",
                format!("request body memory budget of {} bytes in use", self.budget),
            ));
        }
        Ok(())
    }
}

impl Reservation {
    fn reset(&mut self) {
        self.bytes.fetch_sub(self.held, Ordering::AcqRel);
        self.held = 0;
        self.size = 0;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.bytes.fetch_sub(self.held, Ordering::AcqRel);
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("Request bodies are limited to {max} bytes."))
}

enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

/// `Content-Encoding`, as actix-web's decoder read it: gzip and deflate
/// are inflated, anything else passed through as it is.
fn encoding(headers: &HeaderMap) -> Encoding {
    let value = headers.get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("");
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => Encoding::Gzip,
        "deflate" => Encoding::Deflate,
        _ => Encoding::Identity,
    }
}

/// Inflate at most `max` bytes; more is 413, however well it compresses.
fn inflate(decoder: impl Read, max: usize, reservation: &mut Reservation) -> Result<Bytes, ApiError> {
    const STEP: usize = 64 * 1024;
    let mut out = Vec::new();
    let mut limited = decoder.take(max as u64 + 1);
    let mut buf = vec![0u8; STEP];
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(|e| ApiError::bad_request(format!("Cannot inflate the request body: {e}")))?;
        if n == 0 {
            break;
        }
        if out.len() + n > max {
            return Err(too_large(max));
        }
        reservation.grow(n)?;
        out.extend_from_slice(&buf[..n]);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn reservation(budget: usize) -> Reservation {
        Reservation { bytes: Arc::default(), held: 0, budget, size: 0 }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![b'a'; 20 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let err =
            inflate(flate2::read::GzDecoder::new(&bomb[..]), 1024 * 1024, &mut reservation(usize::MAX)).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let ok = inflate(flate2::read::GzDecoder::new(&gzip(b"{}")[..]), 1024, &mut reservation(usize::MAX)).unwrap();
        assert_eq!(&ok[..], b"{}");
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let shared: Arc<AtomicUsize> = Arc::default();
        let budget = 3 * SMALL_BODY * HANDLING_COST;
        let mut a = Reservation { bytes: shared.clone(), held: 0, budget, size: 0 };
        let mut b = Reservation { bytes: shared.clone(), held: 0, budget, size: 0 };
        a.grow(2 * SMALL_BODY).unwrap();
        assert_eq!(b.grow(2 * SMALL_BODY).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        drop(b);
        assert_eq!(shared.load(Ordering::Acquire), 2 * SMALL_BODY * HANDLING_COST);
        // Small bodies are admitted even when large ones fill the budget.
        let mut c = Reservation { bytes: shared.clone(), held: 0, budget, size: 0 };
        a.grow(2 * SMALL_BODY).unwrap_err();
        c.grow(SMALL_BODY).unwrap();
        drop((a, c));
        assert_eq!(shared.load(Ordering::Acquire), 0);
    }
}
