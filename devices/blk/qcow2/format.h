// Internal: qcow2's on-disk constants (QEMU docs/interop/qcow2.txt), big-endian access and
// overflow-checked arithmetic shared by the qcow2 files. Not part of the library's interface.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace bulwark::qcow2::format {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"
inline constexpr uint32_t kV2HeaderBytes = 72;
inline constexpr uint32_t kV3MinHeaderBytes = 104;

// Incompatible feature bits.
inline constexpr uint64_t kIncompatDirty = 1u << 0;
inline constexpr uint64_t kIncompatCorrupt = 1u << 1;
inline constexpr uint64_t kIncompatExternalData = 1u << 2;
inline constexpr uint64_t kIncompatCompressionType = 1u << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1u << 4;
inline constexpr uint64_t kIncompatKnown = kIncompatDirty | kIncompatCorrupt |
                                          kIncompatExternalData | kIncompatCompressionType |
                                          kIncompatExtendedL2;
inline constexpr uint64_t kCompatLazyRefcounts = 1u << 0;

// Header field offsets.
inline constexpr uint64_t kIncompatOffset = 72;
inline constexpr uint64_t kAutoclearOffset = 88;
inline constexpr uint64_t kRefcountTableOffsetField = 48;  // u64 offset, then u32 clusters

// Header extension types.
inline constexpr uint32_t kExtEnd = 0x00000000;
inline constexpr uint32_t kExtBackingFormat = 0xe2792aca;
inline constexpr uint32_t kExtFeatureNames = 0x6803f857;
inline constexpr uint32_t kExtExternalDataFile = 0x44415441;

// L1 / L2 / refcount table entries.
inline constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;  // bits 9-55
inline constexpr uint64_t kCopied = 1ull << 63;                 // refcount exactly one
inline constexpr uint64_t kCompressed = 1ull << 62;
inline constexpr uint64_t kZeroFlag = 1ull << 0;  // v3 standard descriptor: reads as zeros
inline constexpr uint64_t kRefcountTableOffsetMask = ~uint64_t{0x1ff};

// QEMU's implementation limits, which we share so that an image QEMU refuses we refuse too.
inline constexpr uint64_t kMaxL1Bytes = 32ull << 20;
inline constexpr uint64_t kMaxRefcountTableBytes = 8ull << 20;
inline constexpr uint32_t kMaxSnapshots = 65536;
inline constexpr uint64_t kMaxSnapshotTableBytes = 64ull << 20;
// A host offset must be below 2^56 (L2 entries hold bits 9-55).
inline constexpr uint64_t kMaxHostOffset = 1ull << 56;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t be64(const uint8_t* p) { return (uint64_t{be32(p)} << 32) | be32(p + 4); }
inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void put_be64(uint8_t* p, uint64_t v) {
  put_be32(p, static_cast<uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<uint32_t>(v));
}

// a + b, or nullopt when it wraps.
inline std::optional<uint64_t> add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<uint64_t> mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
inline uint64_t sat_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
inline uint64_t div_round_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }
// [a, a + alen) and [b, b + blen) share a byte (lengths already checked not to wrap).
inline bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return alen != 0 && blen != 0 && a < b + blen && b < a + alen;
}

// The number of L1 entries a virtual size needs with this cluster size.
inline uint64_t l1_entries_needed(uint64_t virtual_size, uint32_t cluster_bits) {
  const uint64_t clusters = div_round_up(virtual_size, uint64_t{1} << cluster_bits);
  const uint64_t l2_entries = (uint64_t{1} << cluster_bits) / 8;
  return div_round_up(clusters, l2_entries);
}

}  // namespace bulwark::qcow2::format
