// The disk contents the virtio test guests and the Linux initramfs leave behind, and helpers
// to prepare an image file and check it afterwards. Shared by every test that attaches a
// virtio disk (under QEMU here, under bulwark-monitor in its own integration tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::test {

inline constexpr uint32_t kSectorBytes = 512;
// Size of the image the virtio_blk guest gets: 2048 sectors.
inline constexpr uint64_t kVirtioTestImageBytes = 1024 * 1024;
// Every byte of a fresh test image, so sectors nobody should write are recognisable.
inline constexpr uint8_t kVirtioTestImageFill = 0xee;

// tests/guests/virtio_blk.c's pattern: byte `index` (0..511) of sector `sector`.
inline uint8_t virtio_blk_pattern_byte(uint64_t sector, uint32_t index) {
  return static_cast<uint8_t>(sector * 31 + uint64_t{index} * 7 + 0xa5);
}

// What tests/guests/virtio_blk.c writes (see the comment at its top):
//   sectors 0..7 and the last sector: the pattern; sectors 8..15: untouched (the fill);
//   sectors 16..19: zero when the device offered WRITE_ZEROES, else the pattern;
//   sectors 20..23: DISCARDed (not checked).
inline constexpr uint64_t kVirtioBlkPatternSectors = 8;
inline constexpr uint64_t kVirtioBlkZeroesFirst = 16;
inline constexpr uint64_t kVirtioBlkRangeSectors = 4;
// tests/guests/virtio_hostile.c aims its bad requests at this sector.
inline constexpr uint64_t kVirtioHostileTargetSector = 100;

// scripts/linux-initramfs/init writes "BULWARK-DISK-PATTERN" repeated, cut to 4096 bytes,
// at byte offset 1 MiB of /dev/vda.
inline constexpr uint64_t kLinuxDiskPatternOffset = 1024 * 1024;
inline constexpr uint64_t kLinuxDiskPatternBytes = 4096;
std::string linux_disk_pattern();

// Creates (or truncates) `path` as `bytes` bytes of `fill`. Returns "" or what failed.
std::string make_image(const std::string& path, uint64_t bytes, uint8_t fill);
// The image's bytes [offset, offset + length); fewer when the file is shorter.
std::vector<uint8_t> read_image(const std::string& path, uint64_t offset, uint64_t length);

// Checks what virtio_blk left in an image made by make_image(kVirtioTestImageFill).
// Returns one line per mismatching region (empty: everything as expected).
std::vector<std::string> check_virtio_blk_image(const std::string& path,
                                                bool expect_write_zeroes);
// True when every byte of `sector` still holds `fill`.
bool sector_holds(const std::string& path, uint64_t sector, uint8_t fill);

}  // namespace bulwark::test
