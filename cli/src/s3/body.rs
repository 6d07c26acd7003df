//! Response bodies under the bounds of [`super::limits`]:
//! - [`Buffered`], an interceptor for the calls whose answer the SDK reads
//!   whole (listings, CloudTrail calls): the body is cut off with an error
//!   past a size cap (an endless body never fills memory), and a listing
//!   that does not end with its closing tag is an error, not a shorter
//!   listing;
//! - [`Paced`], for the bodies read here as a stream (GetObject): each chunk
//!   must arrive in time for the body to keep up the minimum rate.

use super::limits::{API_ANSWER_CAP, LIST_PAGE_CAP, RATE_GRACE};
use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use bytes::Bytes;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// Caps the body of a buffered answer at `cap` bytes; with `closing`, a
/// success answer must end with that tag (trailing whitespace aside).
#[derive(Debug, Clone)]
pub struct Buffered {
    /// Largest body accepted.
    cap: usize,
    /// The closing tag a complete success answer ends with
    /// (`</ListBucketResult>`).
    closing: Option<&'static str>,
    /// Only error answers are buffered (GetObject streams its success body).
    errors_only: bool,
}

impl Buffered {
    /// An API answer (CloudTrail, HeadBucket, GetBucketLocation).
    pub fn answer() -> Buffered {
        Buffered {
            cap: API_ANSWER_CAP,
            closing: None,
            errors_only: false,
        }
    }

    /// A ListObjectsV2 page: capped, and complete only with its closing tag.
    pub fn listing() -> Buffered {
        Buffered {
            cap: LIST_PAGE_CAP,
            closing: Some("</ListBucketResult>"),
            errors_only: false,
        }
    }

    /// The error answers of a streaming call (GetObject): the SDK reads
    /// them whole.
    pub fn errors() -> Buffered {
        Buffered {
            cap: API_ANSWER_CAP,
            closing: None,
            errors_only: true,
        }
    }
}

impl Intercept for Buffered {
    fn name(&self) -> &'static str {
        "ctverify::Buffered"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if self.errors_only && response.status().is_success() {
            return Ok(());
        }
        let closing = self.closing.filter(|_| response.status().is_success());
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(Capped {
            inner: body,
            seen: 0,
            cap: self.cap,
            closing: closing.map(str::as_bytes),
            tail: Vec::new(),
        });
        Ok(())
    }
}

/// The body behind [`Buffered`].
struct Capped {
    inner: SdkBody,
    seen: usize,
    cap: usize,
    closing: Option<&'static [u8]>,
    /// The last bytes seen (for the closing tag).
    tail: Vec<u8>,
}

impl Capped {
    fn remember(&mut self, data: &[u8]) {
        let Some(closing) = self.closing else { return };
        let keep = closing.len() + 64;
        self.tail.extend_from_slice(&data[data.len().saturating_sub(keep)..]);
        let excess = self.tail.len().saturating_sub(keep);
        self.tail.drain(..excess);
    }

    fn complete(&self) -> bool {
        let Some(closing) = self.closing else { return true };
        let end = self
            .tail
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        self.tail[..end].ends_with(closing)
    }
}

impl Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len());
                    if this.seen > this.cap {
                        return Poll::Ready(Some(Err(format!("answer larger than {} bytes", this.cap).into())));
                    }
                    let data = data.clone();
                    this.remember(&data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) if !this.complete() => Poll::Ready(Some(Err(format!(
                "answer cut off: it does not end with {}",
                String::from_utf8_lossy(this.closing.unwrap_or_default())
            )
            .into()))),
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false // the end is checked in poll_frame
    }
}

/// A GetObject body read chunk by chunk at no less than the minimum rate.
pub struct Paced {
    body: ByteStream,
    started: Instant,
    received: u64,
    min_rate: u64,
}

impl Paced {
    /// Starts the clock on `body`.
    pub fn new(body: ByteStream, min_rate: u64) -> Paced {
        Paced {
            body,
            started: Instant::now(),
            received: 0,
            min_rate: min_rate.max(1),
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk (`None`: the body ended, its transport checks
    /// passed). An error: the transfer broke, failed the SDK's checksum
    /// or Content-Length check, or fell below the minimum rate.
    pub async fn next(&mut self) -> Result<Option<Bytes>, String> {
        let due = self.started + RATE_GRACE + Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        match tokio::time::timeout_at(due, self.body.next()).await {
            Err(_) => Err(format!(
                "body slower than {} bytes/s ({} bytes in {:.0} s)",
                self.min_rate,
                self.received,
                self.started.elapsed().as_secs_f64()
            )),
            Ok(None) => Ok(None),
            Ok(Some(Ok(chunk))) => {
                self.received += chunk.len() as u64;
                Ok(Some(chunk))
            }
            Ok(Some(Err(e))) => Err(aws_sdk_s3::error::DisplayErrorContext(e).to_string()),
        }
    }
}
