#pragma once

// The input format of consumer_fuzz_test.cc (the ring consumer fuzzed on a real mapped file
// that its owner truncates, extends and scribbles on while the consumer reads), and a builder
// the seed-corpus generator (consumer_fuzz_corpus_main.cc) writes inputs with. Test-only; not
// part of the library.
//
// An input is (all integers little-endian):
//
//   u8  mode        bits 0-1 liveness the header claims: 0 our pid (alive: Poll drains),
//                            1 pid 0 (dead: Scan drains and reclaims), 2 the image's pid as is;
//                   bit 2    the sink refuses every other PING (ReadyToAck() false)
//                   bit 3    max_records_per_ring 64 instead of 4096
//                   bit 4    feedback producer: while Scan runs, the sink appends a record to
//                            the ring for each one it receives (a producer that keeps writing
//                            after claiming to be dead)
//   u32 image_len   bytes of the ring file that follow
//   u32 file_len    the file is then sized to this (a short image leaves zeros)
//   image           header + data area + definitions log, normally written by the real Producer
//   ops...          until the input ends; each op is one byte (taken modulo kOpCount) and its
//                   arguments (missing bytes read as 0):
//     kPoll     u8 n          Poll() n % 8 + 1 times
//     kScan                   Scan()
//     kTruncate u32 size      ftruncate to min(size, current size)
//     kExtend   u32 add       ftruncate to current size + add (bounded)
//     kWrite    u32 off u8 n  n bytes follow: pwrite() them at off (a torn write)
//     kSetWord  u8 w u8 how u64 v   header word kWords[w % n]: how 0 = set, 1 = add
//     kAppend   u16 type u16 len    len payload bytes follow: append a record the way the
//                                   producer does (PAD at the end of the area, write_pos last)
//     kWriter   u8 rounds u8 steps  then `steps` × (u32 off, u8 n, n bytes): a thread runs the
//                                   steps `rounds` % 32 + 1 times (n = 0: ftruncate to off;
//                                   off with kAppendStep set: append a record of type
//                                   off & 0xffff with the n bytes as payload, as the producer
//                                   would) while this thread keeps calling Poll()
//     kRestart                destroy the consumer and open a new one (a restarted daemon)
//     kLogDefine u16 len      len payload bytes follow: append a definitions-log entry for the
//                             ring position write_pos

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "strobe/shm/ring_abi.h"

namespace strobe::shm::fuzz {

enum Op : uint8_t {
  kPoll,
  kScan,
  kTruncate,
  kExtend,
  kWrite,
  kSetWord,
  kAppend,
  kWriter,
  kRestart,
  kLogDefine,
  kOpCount
};

enum Mode : uint8_t {
  kAlive = 0,
  kDead = 1,
  kPidAsIs = 2,
  kRefuseAcks = 1 << 2,
  kSmallBudget = 1 << 3,
  kFeedback = 1 << 4,
};

// Header words kSetWord may change.
inline constexpr uint32_t kWords[] = {
    STROBE_OFF_WRITE_POS,  STROBE_OFF_READ_POS, STROBE_OFF_RESERVE_POS,
    STROBE_OFF_CLOSED,     STROBE_OFF_DEFS_END, STROBE_OFF_CAPACITY,
    STROBE_OFF_DEFS_BYTES, STROBE_OFF_ACK_SEQ,  STROBE_OFF_REJECTED_RECORDS};
inline constexpr uint32_t kWordCount = sizeof kWords / sizeof kWords[0];
// kWriter step offsets with this bit append a record instead of writing raw bytes.
inline constexpr uint32_t kAppendStep = 1u << 31;

// Appends the pieces of an input.
class InputBuilder {
 public:
  InputBuilder(uint8_t mode, std::string_view image, uint32_t file_len) {
    out_.push_back(static_cast<char>(mode));
    U32(static_cast<uint32_t>(image.size()));
    U32(file_len);
    out_.append(image);
  }
  InputBuilder& Poll(uint8_t n = 0) { return OpByte(kPoll).U8(n); }
  InputBuilder& Scan() { return OpByte(kScan); }
  InputBuilder& Truncate(uint32_t size) { return OpByte(kTruncate).U32(size); }
  InputBuilder& Extend(uint32_t add) { return OpByte(kExtend).U32(add); }
  InputBuilder& Write(uint32_t off, std::string_view bytes) {
    OpByte(kWrite).U32(off).U8(static_cast<uint8_t>(bytes.size()));
    out_.append(bytes.substr(0, 255));
    return *this;
  }
  InputBuilder& SetWord(uint8_t word, uint64_t v, bool add = false) {
    OpByte(kSetWord).U8(word).U8(add ? 1 : 0);
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
    return *this;
  }
  InputBuilder& Append(uint16_t type, std::string_view payload) {
    OpByte(kAppend).U16(type).U16(static_cast<uint16_t>(payload.size()));
    out_.append(payload);
    return *this;
  }
  struct Step {
    uint32_t off;
    std::string bytes;
  };
  InputBuilder& Writer(uint8_t rounds, const std::initializer_list<Step>& steps) {
    OpByte(kWriter).U8(rounds).U8(static_cast<uint8_t>(steps.size()));
    for (const Step& s : steps) {
      U32(s.off).U8(static_cast<uint8_t>(s.bytes.size()));
      out_.append(s.bytes.substr(0, 255));
    }
    return *this;
  }
  InputBuilder& Restart() { return OpByte(kRestart); }
  InputBuilder& LogDefine(std::string_view payload) {
    OpByte(kLogDefine).U16(static_cast<uint16_t>(payload.size()));
    out_.append(payload);
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  InputBuilder& OpByte(Op op) { return U8(op); }
  InputBuilder& U8(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  InputBuilder& U16(uint16_t v) {
    out_.append(reinterpret_cast<const char*>(&v), 2);
    return *this;
  }
  InputBuilder& U32(uint32_t v) {
    out_.append(reinterpret_cast<const char*>(&v), 4);
    return *this;
  }
  std::string out_;
};

}  // namespace strobe::shm::fuzz
