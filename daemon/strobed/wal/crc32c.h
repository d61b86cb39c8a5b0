#pragma once

// CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41, reflected): the checksum of
// every write-ahead-log record and segment header.
//
// On x86-64 CPUs with SSE4.2 the `crc32` instruction computes it (selected once, at first use,
// with __builtin_cpu_supports); elsewhere a slicing-by-8 table does (about 1 byte/cycle, a
// tenth of the instruction). Both give the same value; crc32c_test checks them against the
// RFC 3720 vectors and against each other.
//
// Thread class: thread-safe (pure functions; the tables are built at static initialisation).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strobed::wal {

// Extends `crc` (the value returned for the bytes before `data`; 0 for none) over `size`
// bytes. Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, std::size_t size) noexcept;

inline uint32_t Crc32c(std::string_view bytes) noexcept {
  return Crc32cExtend(0, bytes.data(), bytes.size());
}

// The portable implementation, whatever the CPU (tests compare it with the dispatched one).
uint32_t Crc32cExtendSoftwareForTest(uint32_t crc, const void* data, std::size_t size) noexcept;
// Whether Crc32cExtend uses the CPU instruction on this machine.
bool Crc32cHardwareAvailable() noexcept;

}  // namespace strobed::wal
