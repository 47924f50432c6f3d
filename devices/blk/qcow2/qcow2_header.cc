// parse_header: the fixed header fields, then the header extensions, each checked against the
// format's limits and the file's size. What is not supported is refused by name.
#include "devices/blk/qcow2/qcow2_header.h"

#include <string>
#include <vector>

#include "devices/blk/qcow2/format.h"

namespace bulwark::qcow2 {
namespace {

using namespace format;

Error header_error(const std::string& what) { return Error("qcow2: " + what); }

std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

struct FeatureName {
  uint8_t type;
  uint8_t bit;
  std::string name;
};

// Checks a table of `bytes` at `offset`: cluster-aligned, inside the file.
Status check_table(const char* what, uint64_t offset, uint64_t bytes, uint64_t cluster_size,
                   uint64_t file_size) {
  if (offset % cluster_size != 0)
    return header_error(std::string(what) + " offset " + std::to_string(offset) +
                " is not aligned to a cluster (" + std::to_string(cluster_size) + " bytes)");
  const auto end = add(offset, bytes);
  if (!end || *end > file_size)
    return header_error(std::string(what) + " at " + std::to_string(offset) + " (" +
                std::to_string(bytes) + " bytes) lies past the end of the file (" +
                std::to_string(file_size) + " bytes)");
  return ok_status();
}

}  // namespace

Result<Header> parse_header(std::span<const uint8_t> bytes, uint64_t file_size) {
  if (bytes.size() > file_size) bytes = bytes.first(file_size);
  if (bytes.size() > kHeaderReadBytes) bytes = bytes.first(kHeaderReadBytes);
  if (bytes.size() < kV2HeaderBytes)
    return header_error("the file (" + std::to_string(bytes.size()) + " bytes) is shorter than a header");
  const uint8_t* p = bytes.data();
  if (be32(p) != kMagic) return header_error("bad magic (not a qcow2 image)");
  Header h;
  h.version = be32(p + 4);
  if (h.version != 2 && h.version != 3)
    return header_error("version " + std::to_string(h.version) + " is not supported (2 or 3)");
  const uint64_t backing_offset = be64(p + 8);
  const uint32_t backing_size = be32(p + 16);
  h.cluster_bits = be32(p + 20);
  h.virtual_size = be64(p + 24);
  const uint32_t crypt_method = be32(p + 32);
  h.l1_size = be32(p + 36);
  h.l1_table_offset = be64(p + 40);
  h.refcount_table_offset = be64(p + 48);
  h.refcount_table_clusters = be32(p + 56);
  h.nb_snapshots = be32(p + 60);
  h.snapshots_offset = be64(p + 64);

  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits)
    return header_error("cluster_bits " + std::to_string(h.cluster_bits) + " is outside " +
                std::to_string(kMinClusterBits) + ".." + std::to_string(kMaxClusterBits) +
                " (512 B to 2 MiB clusters)");
  h.cluster_size = uint64_t{1} << h.cluster_bits;
  if (crypt_method != 0)
    return header_error("encryption (crypt_method " + std::to_string(crypt_method) + ") is not supported");

  uint64_t incompat = 0;
  uint64_t compat = 0;
  uint8_t compression_type = 0;
  if (h.version == 2) {
    h.refcount_order = 4;
    h.header_length = kV2HeaderBytes;
  } else {
    if (bytes.size() < kV3MinHeaderBytes)
      return header_error("the file is shorter than a version 3 header");
    incompat = be64(p + 72);
    compat = be64(p + 80);
    h.autoclear_features = be64(p + 88);
    h.refcount_order = be32(p + 96);
    h.header_length = be32(p + 100);
    if (h.header_length < kV3MinHeaderBytes)
      return header_error("header_length " + std::to_string(h.header_length) +
                  " is below 104, the version 3 minimum");
    if (h.header_length % 8 != 0)
      return header_error("header_length " + std::to_string(h.header_length) + " is not a multiple of 8");
    if (h.header_length > h.cluster_size || h.header_length > bytes.size())
      return header_error("header_length " + std::to_string(h.header_length) +
                  " reaches past the first cluster or the file");
    if (h.header_length > 104) compression_type = p[104];
  }
  if (h.refcount_order > 6)
    return header_error("refcount_order " + std::to_string(h.refcount_order) + " is above 6 (64-bit refcounts)");

  // The extension area: from the end of the header to the backing name (or the end of the
  // first cluster), within the bytes we were given.
  uint64_t area_end = h.cluster_size;
  if (backing_offset != 0) {
    if (backing_size == 0) return header_error("the backing file name is empty");
    if (backing_size > kMaxBackingNameBytes)
      return header_error("the backing file name (" + std::to_string(backing_size) +
                  " bytes) is longer than " + std::to_string(kMaxBackingNameBytes) + " bytes");
    const auto end = add(backing_offset, backing_size);
    if (backing_offset < h.header_length || !end || *end > h.cluster_size || *end > bytes.size())
      return header_error("the backing file name at " + std::to_string(backing_offset) + " (" +
                  std::to_string(backing_size) + " bytes) lies outside the header area");
    h.backing_name.assign(reinterpret_cast<const char*>(p + backing_offset), backing_size);
    area_end = backing_offset;
  }
  if (area_end > bytes.size()) area_end = bytes.size();

  std::vector<FeatureName> feature_names;
  bool seen_backing_format = false;
  for (uint64_t off = h.header_length; off + 8 <= area_end;) {
    const uint32_t type = be32(p + off);
    const uint32_t length = be32(p + off + 4);
    if (type == kExtEnd) break;
    const uint64_t data = off + 8;
    if (length > area_end - data)
      return header_error("header extension " + hex(type) + " (" + std::to_string(length) +
                  " bytes) runs past the header area");
    if (type == kExtBackingFormat) {
      if (seen_backing_format) return header_error("two backing format extensions");
      seen_backing_format = true;
      if (length > kMaxBackingNameBytes) return header_error("the backing format name is too long");
      h.backing_format.assign(reinterpret_cast<const char*>(p + data), length);
    } else if (type == kExtFeatureNames) {
      for (uint64_t e = 0; e + 48 <= length; e += 48) {
        const uint8_t* entry = p + data + e;
        size_t n = 0;
        while (n < 46 && entry[2 + n] != 0) ++n;
        feature_names.push_back({entry[0], entry[1], std::string(reinterpret_cast<const char*>(entry + 2), n)});
      }
    }
    // Unknown extensions (bitmaps, the external data file name without its feature bit,
    // anything newer) are ignored, as the format allows.
    off = data + div_round_up(length, 8) * 8;
  }

  // Incompatible features, refused by name.
  if (incompat & kIncompatExternalData) return header_error("an external data file is not supported");
  if (incompat & kIncompatExtendedL2)
    return header_error("extended L2 entries (subclusters) are not supported");
  if (const uint64_t unknown = incompat & ~kIncompatKnown; unknown != 0) {
    std::string names;
    for (int bit = 0; bit < 64; ++bit) {
      if (!(unknown & (uint64_t{1} << bit))) continue;
      names += names.empty() ? "" : ", ";
      names += "bit " + std::to_string(bit);
      for (const auto& f : feature_names)
        if (f.type == 0 && f.bit == bit) names += " (\"" + f.name + "\")";
    }
    return header_error("unknown incompatible features: " + names);
  }
  h.dirty = incompat & kIncompatDirty;
  h.corrupt = incompat & kIncompatCorrupt;
  h.lazy_refcounts = compat & kCompatLazyRefcounts;
  if (incompat & kIncompatCompressionType) {
    if (compression_type == 0)
      return header_error("the compression type bit is set but compression_type is zlib (0)");
  } else if (compression_type != 0) {
    return header_error("compression_type " + std::to_string(compression_type) +
                " without the compression type feature bit");
  }
  if (compression_type > 1)
    return header_error("compression type " + std::to_string(compression_type) + " is not supported (zlib, zstd)");
  h.compression = compression_type == 1 ? CompressionType::kZstd : CompressionType::kDeflate;

  // Geometry: the L1 table must map exactly the virtual size, within QEMU's 32 MiB bound.
  const uint64_t needed = l1_entries_needed(h.virtual_size, h.cluster_bits);
  if (needed > kMaxL1Bytes / 8)
    return header_error("virtual size " + std::to_string(h.virtual_size) +
                " needs an L1 table larger than 32 MiB");
  if (h.l1_size < needed)
    return header_error("the L1 table (" + std::to_string(h.l1_size) + " entries) is too small for the virtual size (" +
                std::to_string(needed) + " needed)");
  if (h.l1_size > needed)
    return header_error("the L1 table (" + std::to_string(h.l1_size) + " entries) is larger than the virtual size needs (" +
                std::to_string(needed) + ")");
  if (h.l1_size > 0) {
    if (auto s = check_table("the L1 table", h.l1_table_offset, uint64_t{h.l1_size} * 8,
                             h.cluster_size, file_size); !s)
      return s.error();
    if (h.l1_table_offset == 0) return header_error("the L1 table overlaps the header");
  }
  if (h.refcount_table_clusters == 0) return header_error("the refcount table is empty");
  const uint64_t rt_bytes = uint64_t{h.refcount_table_clusters} << h.cluster_bits;
  if (rt_bytes > kMaxRefcountTableBytes)
    return header_error("the refcount table (" + std::to_string(rt_bytes) + " bytes) is larger than 8 MiB");
  if (auto s = check_table("the refcount table", h.refcount_table_offset, rt_bytes, h.cluster_size, file_size); !s)
    return s.error();
  if (h.refcount_table_offset == 0) return header_error("the refcount table overlaps the header");
  if (overlaps(h.l1_table_offset, uint64_t{h.l1_size} * 8, h.refcount_table_offset, rt_bytes))
    return header_error("the L1 table and the refcount table overlap");
  if (h.nb_snapshots > kMaxSnapshots)
    return header_error(std::to_string(h.nb_snapshots) + " snapshots are more than " + std::to_string(kMaxSnapshots));
  if (h.nb_snapshots > 0) {
    if (h.snapshots_offset == 0 || h.snapshots_offset % h.cluster_size != 0 || h.snapshots_offset >= file_size)
      return header_error("the snapshot table offset " + std::to_string(h.snapshots_offset) +
                  " is unaligned, in the header or past the end of the file");
  }
  return h;
}

uint64_t incompatible_features(const Header& header) {
  uint64_t bits = 0;
  if (header.dirty) bits |= format::kIncompatDirty;
  if (header.corrupt) bits |= format::kIncompatCorrupt;
  if (header.compression != CompressionType::kDeflate) bits |= format::kIncompatCompressionType;
  return bits;
}

}  // namespace bulwark::qcow2
