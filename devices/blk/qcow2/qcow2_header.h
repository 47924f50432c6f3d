// The qcow2 header and its extensions (QEMU docs/interop/qcow2.txt), parsed from the image's
// first bytes. Tenant-controlled: every field is checked against the format's limits and the
// file's size before anything uses it, and what Bulwark does not support is refused by name at
// open (never half-supported): encryption, an external data file, unknown incompatible feature
// bits, extended L2 entries (subclusters), a compression type other than deflate and zstd.
// Pure: no system calls, fuzzed (fuzz/qcow2_open_fuzzer.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "bulwark/common/result.h"

namespace bulwark::qcow2 {

inline constexpr uint32_t kMinClusterBits = 9;   // 512 B
inline constexpr uint32_t kMaxClusterBits = 21;  // 2 MiB
inline constexpr size_t kMaxBackingNameBytes = 1023;  // QEMU's limit
// A header is read from the first min(file size, 64 KiB) bytes: with extensions it may not
// reach past the first cluster, and 64 KiB covers every cluster size's header area we accept.
inline constexpr size_t kHeaderReadBytes = 64 * 1024;

enum class CompressionType : uint8_t { kDeflate = 0, kZstd = 1 };

struct Header {
  uint32_t version = 0;  // 2 or 3
  uint32_t cluster_bits = 16;
  uint64_t cluster_size = 65536;
  uint64_t virtual_size = 0;  // bytes the guest sees
  uint64_t l1_table_offset = 0;
  uint32_t l1_size = 0;  // entries
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t refcount_order = 4;  // refcount bits = 1 << refcount_order, 0..6
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint32_t header_length = 72;  // 72 for version 2, >= 104 for version 3
  // Version 3 feature bits.
  bool dirty = false;            // incompatible bit 0: refcounts may be stale (lazy refcounts)
  bool corrupt = false;          // incompatible bit 1: opened read-only or refused
  bool lazy_refcounts = false;   // compatible bit 0
  uint64_t autoclear_features = 0;
  CompressionType compression = CompressionType::kDeflate;
  // The backing file name as the header states it (bytes, not opened by anyone because of it);
  // empty when the image has none.
  std::string backing_name;
  std::string backing_format;  // from the backing-format extension, "" when absent
};

// Parses and validates `bytes` (the first bytes of the file, at most kHeaderReadBytes) of an
// image whose file is `file_size` bytes long. Errors say what is wrong and are prefixed
// "qcow2: ": `qcow2: encryption (crypt_method 1) is not supported`.
Result<Header> parse_header(std::span<const uint8_t> bytes, uint64_t file_size);

// The header bytes with `dirty` set or cleared (incompatible_features bit 0), for the writer.
// Version 3 only.
uint64_t incompatible_features(const Header& header);

}  // namespace bulwark::qcow2
