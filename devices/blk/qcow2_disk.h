// A qcow2 image and its backing chain as bulwark-dev-blk's disk. Every member arrives as an fd
// the launcher opened as the VM's user (the top one read-write unless the disk is read-only,
// every backing member read-only), with the path the VM config gave for it; nothing is opened
// here, and no path in an image header is ever opened. What a header says is checked against the
// chain the config lists: member i's backing name must name member i+1's configured path
// (resolved lexically against member i's directory when relative, never on the file system), a
// member with a backing name must have a next member and one without must be the last. A header
// naming anything else (/etc/shadow, another VM's image) refuses the disk with both names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/blk/disk_backend.h"

namespace bulwark::blk {

enum class DiskFormat { kRaw, kQcow2 };

struct ChainMember {
  UniqueFd fd;
  DiskFormat format = DiskFormat::kRaw;
  std::string path;  // as configured (absolute): for the name check and messages
};

inline constexpr size_t kMaxBackingDepth = 16;

struct Qcow2DiskOptions {
  bool read_only = false;
  size_t l2_cache_bytes = 1 << 20;
  size_t refcount_cache_bytes = 1 << 20;
  uint64_t max_virtual_size = 0;  // 0 = no ceiling; else a larger image is refused
};

// "disk.qcow2" named by /srv/a/top.qcow2 -> "/srv/a/disk.qcow2"; "." and ".." resolved
// lexically; "" when the name is empty or not a clean path.
std::string resolve_backing_name(const std::string& member_path, const std::string& name);

// `top` is a qcow2 image; `backing` its chain, nearest first (at most kMaxBackingDepth).
Result<std::unique_ptr<DiskBackend>> open_qcow2_disk(ChainMember top, std::vector<ChainMember> backing,
                                                     const Qcow2DiskOptions& options);

}  // namespace bulwark::blk
