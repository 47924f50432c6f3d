// Internal: compressed clusters (QEMU docs/interop/qcow2.txt, "Compressed Clusters
// Descriptor"): where the compressed bytes are, and inflating them into exactly one cluster.
#pragma once

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "devices/blk/qcow2/qcow2_header.h"

namespace bulwark::qcow2 {

struct CompressedExtent {
  uint64_t offset;  // host offset of the first compressed byte
  uint64_t length;  // bytes the descriptor covers (the data may end earlier)
};

// The host bytes an L2 entry with the compressed bit describes.
CompressedExtent compressed_extent(uint64_t l2_entry, uint32_t cluster_bits);

// Decompresses `in` (raw deflate, or zstd frames) into `out`, which is one cluster: an error
// unless the stream produces exactly out.size() bytes (short, or inflating past the cluster).
Status decompress_cluster(CompressionType type, std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace bulwark::qcow2
