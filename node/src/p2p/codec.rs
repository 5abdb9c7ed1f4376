//! The wire codec of `/essaim/sync/1`: libp2p's CBOR codec, behind a frame
//! reader that tells an oversized or malformed request apart from a broken
//! stream.
//!
//! libp2p's codec reads at most its size limit and then fails to decode the
//! truncated bytes, which looks like a connection cut mid-frame; and
//! request-response reports no failure at all for a request it could not
//! read. An honest node never writes a frame over [`MAX_FRAME_BYTES`] (its
//! batches are bounded well below it), so a frame over the limit is the
//! peer's doing: an inbound request is delivered as
//! `Err(BadRequest::TooLarge)` (or `Malformed`), with the peer's id, and the
//! swarm bans (or strikes) the peer; an oversized answer fails the outbound
//! request with [`FrameTooLarge`].

use std::io;

use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response::{self, Codec};

use super::sync::{MAX_FRAME_BYTES, SyncRequest, SyncResponse};

/// The error inside the `io::Error` of a read that went over the limit.
#[derive(Debug, thiserror::Error)]
#[error("sync frame over {MAX_FRAME_BYTES} bytes")]
pub(super) struct FrameTooLarge;

/// Whether an I/O error of the sync protocol is an oversized frame.
pub(super) fn is_too_large(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<FrameTooLarge>().is_some())
}

/// A request frame that could not be read as a [`SyncRequest`].
#[derive(Debug)]
pub(crate) enum BadRequest {
    /// Over [`MAX_FRAME_BYTES`].
    TooLarge,
    /// Not a sync request (and why).
    Malformed(String),
}

/// The sync protocol's codec.
#[derive(Clone)]
pub(crate) struct SyncCodec {
    cbor: request_response::cbor::codec::Codec<SyncRequest, SyncResponse>,
}

impl Default for SyncCodec {
    fn default() -> Self {
        SyncCodec {
            cbor: request_response::cbor::codec::Codec::default()
                .set_request_size_maximum(MAX_FRAME_BYTES)
                .set_response_size_maximum(MAX_FRAME_BYTES),
        }
    }
}

/// Read one whole frame, refusing it as soon as it passes the limit (at
/// most one byte over is ever held).
async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut frame = Vec::new();
    io.take(MAX_FRAME_BYTES + 1).read_to_end(&mut frame).await?;
    if frame.len() as u64 > MAX_FRAME_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, FrameTooLarge));
    }
    Ok(frame)
}

impl Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Result<SyncRequest, BadRequest>;
    type Response = SyncResponse;

    async fn read_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Result<SyncRequest, BadRequest>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = match read_frame(io).await {
            Ok(frame) => frame,
            Err(e) if is_too_large(&e) => return Ok(Err(BadRequest::TooLarge)),
            Err(e) => return Err(e),
        };
        match self
            .cbor
            .read_request(protocol, &mut frame.as_slice())
            .await
        {
            Ok(request) => Ok(Ok(request)),
            // Truncated: the stream was cut, not necessarily by the peer.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(e),
            Err(e) => Ok(Err(BadRequest::Malformed(e.to_string()))),
        }
    }

    async fn read_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let frame = read_frame(io).await?;
        self.cbor
            .read_response(protocol, &mut frame.as_slice())
            .await
    }

    async fn write_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        request: Result<SyncRequest, BadRequest>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match request {
            Ok(request) => self.cbor.write_request(protocol, io, request).await,
            Err(bad) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not sending a bad request: {bad:?}"),
            )),
        }
    }

    async fn write_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        response: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.cbor.write_response(protocol, io, response).await
    }
}
