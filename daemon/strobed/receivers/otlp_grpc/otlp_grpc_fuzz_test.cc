// Fuzzes what strobe itself does with an OTLP/gRPC request once gRPC has removed its framing:
// the message arrives as a grpc::ByteBuffer of one or more slices, FlattenByteBuffer makes one
// view of it (no copy for one slice, a copy in order otherwise) and the OTLP decoder reads it;
// and the google.rpc.Status + RetryInfo details strobe encodes for push-back, read back.
//
// Input: byte 0 picks the signal (mod 3) and the slice count (1..8, from the high bits); the
// rest is the message, cut into that many slices at points derived from bytes 1.. .
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/receivers/otlp_grpc/otlp_grpc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto signal = static_cast<strobed::otlp::Signal>(data[0] % 3);
  const size_t slices = 1 + (data[0] >> 5);  // 1..8
  std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<grpc::Slice> parts;
  size_t at = 0;
  for (size_t i = 0; i + 1 < slices && at < message.size(); ++i) {
    size_t len = static_cast<uint8_t>(message[at]) % (message.size() - at + 1);
    parts.emplace_back(message.data() + at, len);
    at += len;
  }
  parts.emplace_back(message.data() + at, message.size() - at);
  grpc::ByteBuffer buffer(parts.data(), parts.size());
  grpc::Slice single;
  std::string copy;
  std::string_view bytes;
  if (!strobed::receivers::FlattenByteBuffer(buffer, single, copy, bytes)) std::abort();
  if (bytes != message) std::abort();  // every byte, in order, whatever the slicing
  strobed::event::Batch batch(nullptr, 4096, 1 << 20);
  auto decoded = strobed::otlp::Decode(signal, strobed::otlp::Encoding::kProtobuf, bytes, batch);
  (void)decoded;

  // The status details strobe sends round-trip exactly, whatever the message and delay.
  uint64_t delay = 0;
  for (size_t i = 1; i < size && i < 9; ++i) delay = (delay << 8) | data[i];
  delay %= uint64_t{1} << 62;
  const auto code = static_cast<int32_t>(data[0] % 17);
  std::string details = strobed::otlp::EncodeRpcStatusWithRetry(code, message, delay);
  auto back = strobed::otlp::DecodeRpcStatus(details);
  if (!back.ok() || back->code != code || back->message != message ||
      back->retry_delay_ns != delay) {
    std::abort();
  }
  // Arbitrary bytes as status details: an answer or an error, never a crash.
  (void)strobed::otlp::DecodeRpcStatus(message);
  return 0;
}
