// What one launch of a VM id created on the host, written by the launcher as it goes
// (<run_dir>/vms/<id>.record, root-owned) and removed when it tears down. A launcher killed
// before teardown leaves it, and the next launch of the same id removes exactly what it names
// (stale_vm.h) -- never a path it merely computes, so nothing Bulwark did not make is touched.
//
//   uid=200000                         the VM's uid (its jail roots are owned by it)
//   jail=/srv/bulwark/vm-1             a jail directory, <base>/<name>
//   cgroup=/sys/fs/cgroup/memory/bulwark/vm-1   a cgroup leaf
//   label=2049:131075:/srv/images/disk%20one.img   a tenant file sVirt relabelled (label memory,
//                                      jailer/svirt/label_memory.h): its dev, inode and resolved
//                                      path, bytes outside 0x21..0x7e and '%' as %XX
//   tap=17:bw200000n0:vmnet            a NIC's TAP (jailer/net/tap_device.h): its ifindex, name
//                                      and network namespace ("" = the launcher's own)
//
// The run directory is root's, but the parser still treats the file as untrusted (a crash can
// leave it half-written): it accepts only what format_launch_record writes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::jail {

inline constexpr size_t kMaxLaunchRecordBytes = 64 * 1024;
inline constexpr size_t kMaxLaunchRecordEntries = 256;

// A relabelled file as the record names it; the sweep reopens `path` and acts only when dev and
// inode still match.
struct RecordedLabel {
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string path;  // absolute, any bytes but NUL
  bool operator==(const RecordedLabel&) const = default;
};

// A TAP as the record names it; the sweep deletes the link only when the name still has this
// ifindex in that namespace.
struct RecordedTap {
  int ifindex = 0;
  std::string name;   // 1..15 bytes of [A-Za-z0-9_.-]
  std::string netns;  // "" or a plain name in /run/netns
  bool operator==(const RecordedTap&) const = default;
};

struct LaunchRecord {
  uid_t uid = 0;
  std::vector<std::string> jail_dirs;
  std::vector<std::string> cgroup_dirs;
  std::vector<RecordedLabel> labels;
  std::vector<RecordedTap> taps;
  bool operator==(const LaunchRecord&) const = default;
};

std::string format_launch_record(const LaunchRecord& record);
// One line, as appended while the launch goes on: "jail=<path>\n" or "cgroup=<path>\n".
std::string format_launch_record_entry(std::string_view kind, std::string_view path);
// "label=<dev>:<ino>:<encoded path>\n".
std::string format_launch_record_label(const RecordedLabel& label);
// The value of a "tap=" line: "<ifindex>:<name>:<netns>".
std::string format_recorded_tap(const RecordedTap& tap);

// A first line uid=<1..2147483646>, then jail=/cgroup= lines with absolute paths of printable
// ASCII without "//", "/./" or "/../" components, and label= lines (decimal dev and inode without
// leading zeros, an absolute path encoded exactly as format_launch_record_label does, clean
// once decoded), tap= lines (ifindex 1..2^31-1, an interface name, a netns name or nothing);
// every line newline-terminated. A last line
// cut short by a crash is ignored (the thing it named may not exist; a jail or cgroup is
// recorded before it is created, see stale_vm.h).
Result<LaunchRecord> parse_launch_record(std::string_view text);

}  // namespace bulwark::jail
