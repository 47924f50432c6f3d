#include "tests/integration/virtio_disk_image.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bulwark/common/unique_fd.h"

namespace bulwark::test {

std::string linux_disk_pattern() {
  static const std::string kWord = "BULWARK-DISK-PATTERN";
  std::string pattern;
  while (pattern.size() < kLinuxDiskPatternBytes) pattern += kWord;
  pattern.resize(kLinuxDiskPatternBytes);
  return pattern;
}

std::string make_image(const std::string& path, uint64_t bytes, uint8_t fill) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return "open " + path + ": " + std::strerror(errno);
  const std::vector<uint8_t> chunk(64 * 1024, fill);
  for (uint64_t done = 0; done < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), bytes - done));
    const ssize_t written = ::write(fd.get(), chunk.data(), n);
    if (written <= 0) {
      if (written < 0 && errno == EINTR) continue;
      return "write " + path + ": " + std::strerror(errno);
    }
    done += static_cast<uint64_t>(written);
  }
  return {};
}

std::vector<uint8_t> read_image(const std::string& path, uint64_t offset, uint64_t length) {
  std::vector<uint8_t> bytes(length);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(fd.get(), bytes.data() + got, length - got,
                              static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

namespace {

enum class Expect { kPattern, kFill, kZero };

// Describes the first byte of sectors [first, first + count) that differs from `expect`.
void check_sectors(const std::string& path, uint64_t first, uint64_t count, Expect expect,
                   std::vector<std::string>* problems) {
  const std::vector<uint8_t> bytes = read_image(path, first * kSectorBytes, count * kSectorBytes);
  if (bytes.size() != count * kSectorBytes) {
    problems->push_back("sectors " + std::to_string(first) + ".." +
                        std::to_string(first + count - 1) + ": image too short");
    return;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint64_t sector = first + i / kSectorBytes;
    const uint32_t index = static_cast<uint32_t>(i % kSectorBytes);
    uint8_t want = 0;
    const char* what = "zero";
    switch (expect) {
      case Expect::kPattern:
        want = virtio_blk_pattern_byte(sector, index);
        what = "pattern";
        break;
      case Expect::kFill:
        want = kVirtioTestImageFill;
        what = "fill (untouched)";
        break;
      case Expect::kZero:
        break;
    }
    if (bytes[i] != want) {
      problems->push_back("sector " + std::to_string(sector) + " byte " + std::to_string(index) +
                          ": " + std::to_string(bytes[i]) + ", expected " + what + " " +
                          std::to_string(want));
      return;
    }
  }
}

}  // namespace

std::vector<std::string> check_virtio_blk_image(const std::string& path,
                                                bool expect_write_zeroes) {
  std::vector<std::string> problems;
  const uint64_t last_sector = kVirtioTestImageBytes / kSectorBytes - 1;
  check_sectors(path, 0, kVirtioBlkPatternSectors, Expect::kPattern, &problems);
  check_sectors(path, kVirtioBlkPatternSectors, kVirtioBlkZeroesFirst - kVirtioBlkPatternSectors,
                Expect::kFill, &problems);
  check_sectors(path, kVirtioBlkZeroesFirst, kVirtioBlkRangeSectors,
                expect_write_zeroes ? Expect::kZero : Expect::kPattern, &problems);
  check_sectors(path, kVirtioHostileTargetSector, 1, Expect::kFill, &problems);
  check_sectors(path, last_sector, 1, Expect::kPattern, &problems);
  return problems;
}

bool sector_holds(const std::string& path, uint64_t sector, uint8_t fill) {
  const std::vector<uint8_t> bytes = read_image(path, sector * kSectorBytes, kSectorBytes);
  if (bytes.size() != kSectorBytes) return false;
  for (uint8_t b : bytes) {
    if (b != fill) return false;
  }
  return true;
}

}  // namespace bulwark::test
