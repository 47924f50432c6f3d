// Compressed cluster reads: raw deflate (zlib, window bits -12 as QEMU writes it) or zstd,
// with the output capped at one cluster.
#include "devices/blk/qcow2/compressed.h"

#include <zlib.h>
#include <zstd.h>

#include <string>

namespace bulwark::qcow2 {

CompressedExtent compressed_extent(uint64_t l2_entry, uint32_t cluster_bits) {
  const uint32_t x = 62 - (cluster_bits - 8);
  const uint64_t descriptor = l2_entry & ((uint64_t{1} << 62) - 1);
  const uint64_t offset = descriptor & ((uint64_t{1} << x) - 1);
  const uint64_t sectors = (descriptor >> x) + 1;  // the sector holding `offset` and the rest
  return {offset, sectors * 512 - (offset & 511)};
}

namespace {

Status inflate_raw(std::span<const uint8_t> in, std::span<uint8_t> out) {
  z_stream s{};
  if (inflateInit2(&s, -15) != Z_OK) return Error("qcow2: compressed cluster: inflateInit2 failed");
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  int ret = inflate(&s, Z_FINISH);
  if (ret != Z_STREAM_END && s.avail_out == 0 && (ret == Z_OK || ret == Z_BUF_ERROR)) {
    // The cluster is full: the stream must end here, not produce another byte.
    uint8_t extra;
    s.next_out = &extra;
    s.avail_out = 1;
    ret = inflate(&s, Z_FINISH);
    if (s.avail_out == 0) {
      inflateEnd(&s);
      return Error("qcow2: compressed cluster inflates past one cluster");
    }
  }
  const uLong produced = s.total_out;
  inflateEnd(&s);
  if (ret != Z_STREAM_END && ret != Z_BUF_ERROR && ret != Z_OK)
    return Error("qcow2: compressed cluster: corrupt deflate data (zlib " + std::to_string(ret) + ")");
  if (produced != out.size())
    return Error("qcow2: compressed cluster inflates to " + std::to_string(produced) +
                 " bytes, not one cluster (" + std::to_string(out.size()) + ")");
  return ok_status();
}

Status decompress_zstd(std::span<const uint8_t> in, std::span<uint8_t> out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return Error("qcow2: compressed cluster: ZSTD_createDCtx failed");
  // The window a frame may ask for is capped by the cluster (QEMU compresses one cluster a
  // frame), so a hostile frame header cannot make zstd allocate more.
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 22);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  uint8_t extra;
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  Status status = ok_status();
  bool frame_done = false;
  for (int hops = 0;; ++hops) {
    if (hops > 1'000'000) {
      status = Error("qcow2: compressed cluster: zstd makes no progress");
      break;
    }
    if (output.pos == output.size && frame_done) break;  // exactly one cluster, frame ended
    if (output.pos == output.size && output.dst != &extra) {
      // Full: the frame may still end without output; any further byte is too much.
      output = ZSTD_outBuffer{&extra, 1, 0};
    }
    const size_t before_in = input.pos;
    const size_t before_out = output.pos;
    const size_t ret = ZSTD_decompressStream(ctx, &output, &input);
    if (ZSTD_isError(ret)) {
      status = Error(std::string("qcow2: compressed cluster: zstd: ") + ZSTD_getErrorName(ret));
      break;
    }
    if (output.dst == &extra && output.pos != 0) {
      status = Error("qcow2: compressed cluster inflates past one cluster");
      break;
    }
    frame_done = ret == 0;
    if (output.dst == &extra && frame_done) break;
    if (input.pos == input.size && before_in == input.pos && before_out == output.pos) {
      status = Error("qcow2: compressed cluster: zstd data ends before one cluster");
      break;
    }
  }
  ZSTD_freeDCtx(ctx);
  return status;
}

}  // namespace

Status decompress_cluster(CompressionType type, std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (type == CompressionType::kZstd) return decompress_zstd(in, out);
  return inflate_raw(in, out);
}

}  // namespace bulwark::qcow2
