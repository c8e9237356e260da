//! The protobuf codec for chibo's services: tonic's prost codec, with the status codes a client
//! can act on. A message that does not decode (bad wire format, a `string` that is not UTF-8) is
//! the caller's fault, so it is `INVALID_ARGUMENT` naming the field prost stopped at, not
//! tonic's `INTERNAL`; a message over [`MAX_MESSAGE_BYTES`] is `RESOURCE_EXHAUSTED` naming the
//! limit.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};

/// The largest message either side accepts, in bytes (4 MiB).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// A [`Codec`] for prost messages (see the module docs for how it differs from tonic's).
#[derive(Debug)]
pub struct StatusCodec<T, U>(PhantomData<fn(T) -> U>);

impl<T, U> Default for StatusCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for StatusCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = StatusEncoder<T>;
    type Decoder = StatusDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        StatusEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        StatusDecoder(PhantomData)
    }
}

/// Encodes prost messages.
#[derive(Debug)]
pub struct StatusEncoder<T>(PhantomData<fn(T)>);

impl<T: Message> Encoder for StatusEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // EncodeBuf grows as needed, so encoding cannot run out of space.
        item.encode(buf).map_err(|e| Status::internal(format!("encoding a reply failed: {e}")))
    }
}

/// Decodes prost messages, mapping failures to client-facing statuses.
#[derive(Debug)]
pub struct StatusDecoder<U>(PhantomData<fn() -> U>);

impl<U: Message + Default> Decoder for StatusDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        use prost::bytes::Buf;
        let len = buf.remaining();
        if len > MAX_MESSAGE_BYTES {
            return Err(Status::resource_exhausted(format!(
                "message: {len} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        U::decode(buf).map(Some).map_err(|e| Status::invalid_argument(format!("message does not decode: {e}")))
    }
}

/// A [`Codec`] for a client that sends messages it encoded itself, as they are, and decodes
/// the replies as [`StatusCodec`] does: a load encoded before it is timed, or a message a
/// typed client cannot encode (a `string` that is not UTF-8, an unknown field).
#[derive(Debug)]
pub struct EncodedCodec<U>(PhantomData<fn() -> U>);

impl<U> Default for EncodedCodec<U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<U: Message + Default + Send + 'static> Codec for EncodedCodec<U> {
    type Encode = prost::bytes::Bytes;
    type Decode = U;
    type Encoder = AsEncoded;
    type Decoder = StatusDecoder<U>;

    fn encoder(&mut self) -> AsEncoded {
        AsEncoded
    }

    fn decoder(&mut self) -> StatusDecoder<U> {
        StatusDecoder(PhantomData)
    }
}

/// Writes an encoded message's bytes as they are.
#[derive(Debug)]
pub struct AsEncoded;

impl Encoder for AsEncoded {
    type Item = prost::bytes::Bytes;
    type Error = Status;

    fn encode(&mut self, item: prost::bytes::Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use prost::bytes::BufMut;
        buf.put(item);
        Ok(())
    }
}
